import { useCallback, useEffect, useState } from 'react';
import { AuthError, fetchAlerts, fetchDeployments, fetchOverview } from './api.js';

/**
 * Loads the overview, the recent deployments and the firing alerts for `token`.
 * A rejected token is handed to `onUnauthorized`; other failures become
 * `error` while the last good data stays on screen, except the alerts': the
 * rest of the picture matters most when monitoring fails, so that failure
 * only shows in the alerts panel.
 * `onUnauthorized` must be stable (useCallback) or every render refetches.
 */
export function useDashboardData(token, onUnauthorized) {
  const [data, setData] = useState(null);
  const [loading, setLoading] = useState(true);
  const [error, setError] = useState(null);
  const [reloadCount, setReloadCount] = useState(0);

  useEffect(() => {
    // Aborting on cleanup keeps a slow response from an older request (or
    // from before sign-out) from overwriting newer state.
    const controller = new AbortController();
    setLoading(true);
    setError(null);

    const alertsOrTheirFailure = fetchAlerts(token, controller.signal).catch((failure) => {
      if (failure instanceof AuthError || controller.signal.aborted) throw failure;
      return { status: 'error', alerts: [], detail: failure.message };
    });
    Promise.all([fetchOverview(token, controller.signal), fetchDeployments(token, controller.signal), alertsOrTheirFailure])
      .then(([overview, deployments, alerts]) => {
        setData({ overview, deployments, alerts });
        setLoading(false);
      })
      .catch((failure) => {
        if (controller.signal.aborted) return;
        if (failure instanceof AuthError) {
          onUnauthorized(failure.message);
          return;
        }
        setError(failure.message);
        setLoading(false);
      });

    return () => controller.abort();
  }, [token, onUnauthorized, reloadCount]);

  const reload = useCallback(() => setReloadCount((count) => count + 1), []);

  return { data, loading, error, reload };
}
