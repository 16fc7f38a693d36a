// The token lives in sessionStorage: it survives a reload but not closing the
// tab, which limits how long a pasted credential lingers on a shared machine.

const STORAGE_KEY = 'cams.token';
const FRAGMENT_KEY = 'token';

export function loadToken() {
  return sessionStorage.getItem(STORAGE_KEY);
}

export function saveToken(token) {
  sessionStorage.setItem(STORAGE_KEY, token);
}

export function clearToken() {
  sessionStorage.removeItem(STORAGE_KEY);
}

/**
 * Takes a token from a `#token=...` link, then removes it from the address bar
 * so it does not end up in history, bookmarks or screenshots.
 * Parsed by hand rather than with URLSearchParams, which would turn a "+" in
 * the token into a space.
 */
export function takeTokenFromFragment() {
  const { hash, pathname, search } = window.location;
  const parts = hash.replace(/^#/, '').split('&').filter(Boolean);
  const tokenPart = parts.find((part) => part.startsWith(`${FRAGMENT_KEY}=`));
  if (!tokenPart) return null;

  const rest = parts.filter((part) => part !== tokenPart).join('&');
  window.history.replaceState(window.history.state, '', `${pathname}${search}${rest ? `#${rest}` : ''}`);

  let token;
  try {
    token = decodeURIComponent(tokenPart.slice(FRAGMENT_KEY.length + 1)).trim();
  } catch {
    return null; // malformed percent-encoding: fall back to the sign-in form
  }
  return token || null;
}

/** The token to start with: a fresh one from the link wins over a stored one. */
export function readInitialToken() {
  const fromLink = takeTokenFromFragment();
  if (fromLink) {
    saveToken(fromLink);
    return fromLink;
  }
  return loadToken();
}
