// Client for the CAMS API (same origin, under /api/). Every call carries the
// operator's bearer token; failures are split into two kinds because the UI
// reacts differently: a rejected token ends the session, anything else is
// worth retrying with the same token.

export const DEPLOYMENTS_LIMIT = 20;

/** The server refused the token (HTTP 401). */
export class AuthError extends Error {
  constructor(detail, code) {
    super(detail);
    this.name = 'AuthError';
    this.code = code;
  }
}

/** The API could not be reached or answered with an error other than 401. */
export class ApiError extends Error {
  constructor(message) {
    super(message);
    this.name = 'ApiError';
  }
}

async function readJsonBody(response) {
  try {
    return await response.json();
  } catch {
    return null;
  }
}

async function getJson(path, token, signal) {
  let response;
  try {
    response = await fetch(path, {
      headers: { Authorization: `Bearer ${token}`, Accept: 'application/json' },
      // The dashboard must show the live state, never a cached copy.
      cache: 'no-store',
      signal,
    });
  } catch (error) {
    if (error.name === 'AbortError') throw error;
    throw new ApiError(`Could not reach the CAMS API (${error.message}).`);
  }

  if (response.status === 401) {
    const body = await readJsonBody(response);
    throw new AuthError(body?.detail || 'the server gave no reason.', body?.error);
  }
  if (!response.ok) {
    const body = await readJsonBody(response);
    const reason = body?.detail ? `: ${body.detail}` : '.';
    throw new ApiError(`The CAMS API answered ${response.status} for ${path}${reason}`);
  }

  const body = await readJsonBody(response);
  if (body === null) {
    throw new ApiError(`The CAMS API sent a response for ${path} that is not JSON.`);
  }
  return body;
}

export function fetchOverview(token, signal) {
  return getJson('/api/overview/', token, signal);
}

export function fetchDeployments(token, signal) {
  return getJson(`/api/deployments/?limit=${DEPLOYMENTS_LIMIT}`, token, signal);
}

export function fetchAlerts(token, signal) {
  return getJson('/api/alerts/', token, signal);
}
