import { useState } from 'react';

export default function SignInForm({ notice, onSignIn }) {
  const [token, setToken] = useState('');
  const trimmedToken = token.trim();

  function handleSubmit(event) {
    event.preventDefault();
    if (trimmedToken) onSignIn(trimmedToken);
  }

  return (
    <main className="sign-in">
      <h1 className="app-title">CAMS</h1>
      <form className="panel sign-in-form" aria-labelledby="sign-in-heading" data-testid="sign-in-form" onSubmit={handleSubmit}>
        <h2 id="sign-in-heading">Sign in</h2>
        {notice && (
          <p className="notice notice-error" role="alert" data-testid="sign-in-notice">
            {notice}
          </p>
        )}
        <label htmlFor="token-input">Access token</label>
        {/* A password field keeps the token off screen shares and out of autofill. */}
        <input
          id="token-input"
          data-testid="token-input"
          type="password"
          autoComplete="off"
          spellCheck={false}
          value={token}
          onChange={(event) => setToken(event.target.value)}
          aria-describedby="token-help"
          required
        />
        <p id="token-help" className="hint">
          Operators mint a token on a host with <code>python manage.py mint_token --subject NAME</code>. It is kept
          only for this browser tab.
        </p>
        <button type="submit" className="button button-primary" disabled={!trimmedToken}>
          Sign in
        </button>
      </form>
    </main>
  );
}
