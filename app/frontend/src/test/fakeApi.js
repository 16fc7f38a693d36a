import { vi } from 'vitest';
import { deployments, firingAlerts, overview } from './fixtures.js';

export function jsonResponse(status, body) {
  return new Response(JSON.stringify(body), {
    status,
    headers: { 'Content-Type': 'application/json' },
  });
}

/**
 * Replaces global fetch with a mock answering the three dashboard endpoints.
 * `answers` overrides a route with a function returning a fresh Response
 * (a body can be read only once) or throwing to simulate a network failure.
 */
export function stubApi(answers = {}) {
  const routes = {
    overview: () => jsonResponse(200, overview),
    deployments: () => jsonResponse(200, deployments),
    alerts: () => jsonResponse(200, firingAlerts),
    ...answers,
  };
  const fetchMock = vi.fn(async (url) => {
    const route = ['overview', 'deployments', 'alerts'].find((name) => url.startsWith(`/api/${name}/`));
    if (!route) throw new Error(`unexpected request to ${url}`);
    return routes[route]();
  });
  vi.stubGlobal('fetch', fetchMock);
  return fetchMock;
}
