// API payloads shaped exactly like the backend contract.

export const overview = {
  environment: 'staging',
  release: {
    id: '2026.11.26-1',
    sha: '3f9c2a1b7d4e5f60718293a4b5c6d7e8f9012345',
    branch: 'staging',
    deployed_at: '2026-11-26T19:00:00Z',
  },
  database: {
    status: 'ok',
    vendor: 'postgresql',
    name: 'cams_staging',
    server_version: '15.10',
    latency_ms: 1.2,
    migrations_pending: 0,
  },
  subject: 'alice',
  generated_at: '2026-11-26T19:30:00Z',
};

export const unavailableDatabaseOverview = {
  ...overview,
  database: {
    status: 'unavailable',
    vendor: 'postgresql',
    name: 'cams_staging',
    server_version: null,
    latency_ms: null,
    migrations_pending: null,
    detail: 'connection refused',
  },
};

export const deployments = {
  count: 3,
  results: [
    {
      release_id: '2026.11.26-1',
      sha: '3f9c2a1b7d4e5f60718293a4b5c6d7e8f9012345',
      branch: 'staging',
      deployed_by: 'alice',
      started_at: '2026-11-26T18:58:00Z',
      finished_at: '2026-11-26T19:00:00Z',
      duration_seconds: 125,
      outcome: 'success',
      message: '',
      backup: 'before-2026.11.26-1-20261126T185900Z',
    },
    {
      release_id: '2026.11.25-2',
      sha: 'aa11bb22cc33dd44ee55ff6677889900aabbccdd',
      branch: 'staging',
      deployed_by: 'bob',
      started_at: '2026-11-25T10:00:00Z',
      finished_at: '2026-11-25T10:00:40Z',
      duration_seconds: 40,
      outcome: 'failed',
      message: 'migration 0042 failed',
      backup: '',
    },
    {
      release_id: '2026.11.24-1',
      sha: '0123456789abcdef0123456789abcdef01234567',
      branch: 'staging',
      deployed_by: 'carol',
      started_at: '2026-11-24T09:00:00Z',
      finished_at: null,
      duration_seconds: null,
      outcome: 'rolled_back',
      message: 'health check failed',
      backup: '',
    },
  ],
};

// /api/alerts/: what Alertmanager has firing for the environment, pages first, then the oldest.
export const firingAlerts = {
  status: 'ok',
  environment: 'staging',
  alerts: [
    {
      name: 'EnvironmentDown',
      severity: 'page',
      summary: 'https://cams-staging.example.com/health/ does not answer',
      instance: 'cams-staging-lb-01',
      since: '2026-11-26T19:20:00Z',
      runbook: 'https://github.com/example/cams-deploy/blob/main/docs/monitoring.md#environmentdown',
    },
    {
      name: 'DiskSpaceLow',
      severity: 'ticket',
      summary: '/var/lib/postgresql fills up within 4 days',
      instance: 'cams-staging-db-01',
      since: '2026-11-26T12:00:00Z',
      runbook: 'https://github.com/example/cams-deploy/blob/main/docs/monitoring.md#diskspacelow',
    },
  ],
};
