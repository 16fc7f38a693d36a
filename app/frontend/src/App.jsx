import { useCallback, useEffect, useState } from 'react';
import Dashboard from './components/Dashboard.jsx';
import SignInForm from './components/SignInForm.jsx';
import { clearToken, readInitialToken, saveToken, takeTokenFromFragment } from './tokenStore.js';

export default function App() {
  const [token, setToken] = useState(readInitialToken);
  const [signInNotice, setSignInNotice] = useState(null);

  const signIn = useCallback((newToken) => {
    saveToken(newToken);
    setSignInNotice(null);
    setToken(newToken);
  }, []);

  const signOut = useCallback(() => {
    clearToken();
    setToken(null);
  }, []);

  const rejectToken = useCallback((detail) => {
    clearToken();
    setSignInNotice(`Your token was rejected: ${detail}`);
    setToken(null);
  }, []);

  // A #token= link opened in a tab already showing the app only changes the hash.
  useEffect(() => {
    function signInFromLink() {
      const tokenFromLink = takeTokenFromFragment();
      if (tokenFromLink) signIn(tokenFromLink);
    }
    window.addEventListener('hashchange', signInFromLink);
    return () => window.removeEventListener('hashchange', signInFromLink);
  }, [signIn]);

  if (!token) return <SignInForm notice={signInNotice} onSignIn={signIn} />;
  // Keyed by token so a new sign-in never shows the previous session's data.
  return <Dashboard key={token} token={token} onSignOut={signOut} onUnauthorized={rejectToken} />;
}
