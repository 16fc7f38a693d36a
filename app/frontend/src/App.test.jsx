import { render, screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { describe, expect, it } from 'vitest';
import App from './App.jsx';
import { jsonResponse, stubApi } from './test/fakeApi.js';
import { deployments, firingAlerts, overview, unavailableDatabaseOverview } from './test/fixtures.js';

const TOKEN_KEY = 'cams.token';

function signedInAs(token) {
  sessionStorage.setItem(TOKEN_KEY, token);
}

async function waitForDashboard() {
  return screen.findByTestId('environment-badge');
}

function authorizationHeaders(fetchMock) {
  return fetchMock.mock.calls.map(([, init]) => init.headers.Authorization);
}

describe('sign-in', () => {
  it('shows the sign-in form when no token is stored', () => {
    stubApi();
    render(<App />);

    expect(screen.getByRole('heading', { name: 'Sign in' })).toBeInTheDocument();
    expect(screen.getByLabelText('Access token')).toBeInTheDocument();
    expect(fetch).not.toHaveBeenCalled();
  });

  it('stores the pasted token and calls the API with it as a Bearer token', async () => {
    const fetchMock = stubApi();
    const user = userEvent.setup();
    render(<App />);

    await user.type(screen.getByLabelText('Access token'), '  tok-123  ');
    await user.click(screen.getByRole('button', { name: 'Sign in' }));
    await waitForDashboard();

    expect(sessionStorage.getItem(TOKEN_KEY)).toBe('tok-123');
    expect(fetchMock.mock.calls.map(([url]) => url).sort()).toEqual([
      '/api/alerts/',
      '/api/deployments/?limit=20',
      '/api/overview/',
    ]);
    expect(authorizationHeaders(fetchMock)).toEqual(['Bearer tok-123', 'Bearer tok-123', 'Bearer tok-123']);
  });

  it('takes the token from a #token= link and strips it from the address bar', async () => {
    window.history.replaceState(null, '', '/?view=1#token=abc%2Bdef');
    const fetchMock = stubApi();
    render(<App />);
    await waitForDashboard();

    expect(sessionStorage.getItem(TOKEN_KEY)).toBe('abc+def');
    expect(window.location.hash).toBe('');
    expect(window.location.search).toBe('?view=1');
    expect(authorizationHeaders(fetchMock)).toEqual(['Bearer abc+def', 'Bearer abc+def', 'Bearer abc+def']);
  });

  it('signs in from a #token= link opened in a tab already showing the app', async () => {
    const fetchMock = stubApi();
    render(<App />);
    expect(screen.getByRole('heading', { name: 'Sign in' })).toBeInTheDocument();

    window.location.hash = '#token=linked-token';
    await waitForDashboard();

    expect(sessionStorage.getItem(TOKEN_KEY)).toBe('linked-token');
    expect(window.location.hash).toBe('');
    expect(authorizationHeaders(fetchMock)).toEqual(['Bearer linked-token', 'Bearer linked-token', 'Bearer linked-token']);
  });

  it('prefers a token from the link over the stored one', async () => {
    signedInAs('old-token');
    window.history.replaceState(null, '', '/#token=new-token');
    const fetchMock = stubApi();
    render(<App />);
    await waitForDashboard();

    expect(sessionStorage.getItem(TOKEN_KEY)).toBe('new-token');
    expect(authorizationHeaders(fetchMock)).toEqual(['Bearer new-token', 'Bearer new-token', 'Bearer new-token']);
  });

  it('signs out: forgets the token and shows the sign-in form', async () => {
    signedInAs('tok-123');
    stubApi();
    const user = userEvent.setup();
    render(<App />);
    await waitForDashboard();

    await user.click(screen.getByRole('button', { name: 'Sign out' }));

    expect(screen.getByRole('heading', { name: 'Sign in' })).toBeInTheDocument();
    expect(screen.queryByTestId('sign-in-notice')).not.toBeInTheDocument();
    expect(sessionStorage.getItem(TOKEN_KEY)).toBeNull();
  });
});

describe('dashboard', () => {
  it('shows a loading state until the data arrives', async () => {
    signedInAs('tok-123');
    stubApi();
    render(<App />);

    expect(screen.getByRole('status')).toHaveTextContent('Loading');
    await waitForDashboard();
    expect(screen.queryByRole('status')).not.toBeInTheDocument();
  });

  it('renders the environment, running release and database', async () => {
    signedInAs('tok-123');
    stubApi();
    render(<App />);

    const badge = await waitForDashboard();
    expect(badge).toHaveTextContent('staging');
    expect(badge).toHaveAttribute('data-tier', 'staging');
    expect(screen.getByText('Signed in as alice')).toBeInTheDocument();

    expect(screen.getByTestId('release-id')).toHaveTextContent('2026.11.26-1');
    expect(screen.getByTestId('release-sha')).toHaveTextContent(/^3f9c2a1$/);
    expect(screen.getByTestId('release-sha')).toHaveAttribute('title', overview.release.sha);
    expect(screen.getByTestId('release-branch')).toHaveTextContent('staging');
    expect(screen.getByTestId('release-deployed-at')).toHaveTextContent('2026-11-26 19:00:00 UTC');

    const database = screen.getByTestId('database-panel');
    expect(within(database).getByTestId('database-status')).toHaveTextContent('OK');
    expect(within(database).getByText('cams_staging')).toBeInTheDocument();
    expect(within(database).getByText('postgresql 15.10')).toBeInTheDocument();
    expect(within(database).getByText('1.2 ms')).toBeInTheDocument();
    expect(within(database).getByTestId('database-migrations-pending')).toHaveTextContent('0');
  });

  it.each([
    ['dev', 'dev'],
    ['production', 'prod'],
    ['qa', 'other'],
  ])('gives environment %s the %s badge style', async (environment, tier) => {
    signedInAs('tok-123');
    stubApi({ overview: () => jsonResponse(200, { ...overview, environment }) });
    render(<App />);

    expect(await waitForDashboard()).toHaveAttribute('data-tier', tier);
  });

  it('shows an unknown deployment time as it is', async () => {
    signedInAs('tok-123');
    stubApi({
      overview: () => jsonResponse(200, { ...overview, release: { ...overview.release, deployed_at: 'unknown' } }),
    });
    render(<App />);
    await waitForDashboard();

    expect(screen.getByTestId('release-deployed-at')).toHaveTextContent('unknown');
  });

  it('shows an unavailable database with its detail', async () => {
    signedInAs('tok-123');
    stubApi({ overview: () => jsonResponse(200, unavailableDatabaseOverview) });
    render(<App />);
    await waitForDashboard();

    expect(screen.getByTestId('database-status')).toHaveTextContent('Unavailable');
    expect(screen.getByTestId('database-status')).toHaveClass('status-down');
    expect(screen.getByTestId('database-detail')).toHaveTextContent('connection refused');
  });

  it('renders the deployments table, flagging failed and rolled-back ones', async () => {
    signedInAs('tok-123');
    stubApi();
    render(<App />);
    await waitForDashboard();

    const table = screen.getByRole('table');
    const headers = within(table).getAllByRole('columnheader').map((cell) => cell.textContent);
    expect(headers).toEqual(['Release', 'SHA', 'Branch', 'Deployed by', 'Started', 'Duration', 'Outcome', 'Backup']);

    const rows = screen.getAllByTestId('deployment-row');
    expect(rows).toHaveLength(3);

    const [succeeded, failed, rolledBack] = rows;
    expect(succeeded).toHaveTextContent('2026.11.26-1');
    expect(succeeded).toHaveTextContent('alice');
    expect(succeeded).toHaveTextContent('2m 05s');
    expect(succeeded).not.toHaveClass('row-problem');
    // The restore point the deploy took before migrating: what restore.yml can return the database to.
    expect(within(succeeded).getByTestId('deployment-backup')).toHaveTextContent('before-2026.11.26-1-20261126T185900Z');
    expect(within(rows[1]).getByTestId('deployment-backup')).toBeEmptyDOMElement();

    expect(failed).toHaveClass('row-problem');
    expect(within(failed).getByTestId('deployment-outcome')).toHaveTextContent('Failed');
    expect(within(failed).getByTestId('deployment-outcome')).toHaveClass('outcome-failed');
    expect(failed).toHaveTextContent('migration 0042 failed');
    expect(failed).toHaveTextContent('aa11bb2');

    expect(rolledBack).toHaveClass('row-problem');
    expect(within(rolledBack).getByTestId('deployment-outcome')).toHaveTextContent('Rolled back');
    expect(rolledBack).toHaveTextContent('—');
  });

  it('says so when there are no deployments yet', async () => {
    signedInAs('tok-123');
    stubApi({ deployments: () => jsonResponse(200, { count: 0, results: [] }) });
    render(<App />);
    await waitForDashboard();

    expect(screen.getByTestId('deployments-empty')).toBeInTheDocument();
    expect(screen.queryByRole('table')).not.toBeInTheDocument();
  });

  it('refetches every endpoint on Refresh', async () => {
    signedInAs('tok-123');
    const fetchMock = stubApi();
    const user = userEvent.setup();
    render(<App />);
    await waitForDashboard();

    await user.click(screen.getByRole('button', { name: 'Refresh' }));

    await waitFor(() => expect(fetchMock).toHaveBeenCalledTimes(6));
    expect(await screen.findByRole('button', { name: 'Refresh' })).toBeEnabled();
  });
});

describe('firing alerts', () => {
  async function alertsPanel() {
    await waitForDashboard();
    return screen.getByTestId('alerts-panel');
  }

  it("lists the environment's firing alerts as the API orders them, pages first", async () => {
    signedInAs('tok-123');
    stubApi();
    render(<App />);
    const panel = await alertsPanel();

    const items = within(panel).getAllByTestId('alert');
    expect(items.map((item) => item.dataset.severity)).toEqual(['page', 'ticket']);
    const [page, ticket] = items;
    expect(page).toHaveTextContent('Page');
    expect(page).toHaveTextContent('EnvironmentDown');
    expect(page).toHaveTextContent('cams-staging-lb-01');
    expect(page).toHaveTextContent('https://cams-staging.example.com/health/ does not answer');
    expect(page).toHaveTextContent('Firing since 2026-11-26 19:20:00 UTC');
    expect(within(page).getByRole('link', { name: 'Runbook' })).toHaveAttribute('href', firingAlerts.alerts[0].runbook);
    expect(ticket).toHaveTextContent('Ticket');
    expect(ticket).toHaveTextContent('DiskSpaceLow');
    expect(within(panel).getByRole('list')).toHaveAccessibleName('Alerts firing for staging');
  });

  it('says so when no alert is firing', async () => {
    signedInAs('tok-123');
    stubApi({ alerts: () => jsonResponse(200, { ...firingAlerts, alerts: [] }) });
    render(<App />);
    const panel = await alertsPanel();

    expect(within(panel).getByTestId('alerts-state')).toHaveTextContent('No alert is firing for staging.');
    expect(within(panel).queryByTestId('alert')).not.toBeInTheDocument();
  });

  it('says when monitoring is not configured', async () => {
    signedInAs('tok-123');
    stubApi({ alerts: () => jsonResponse(200, { status: 'not_configured', environment: 'staging', alerts: [] }) });
    render(<App />);
    const panel = await alertsPanel();

    expect(within(panel).getByTestId('alerts-state')).toHaveTextContent(
      'Monitoring is not configured for this environment.',
    );
    expect(within(panel).getByTestId('alerts-state')).not.toHaveClass('notice-error');
  });

  it('says when Alertmanager is unreachable, and why', async () => {
    signedInAs('tok-123');
    stubApi({
      alerts: () =>
        jsonResponse(200, {
          status: 'unreachable',
          environment: 'staging',
          alerts: [],
          detail: 'http://192.0.2.23:9093: no answer within 2 s',
        }),
    });
    render(<App />);
    const panel = await alertsPanel();

    expect(within(panel).getByTestId('alerts-state')).toHaveTextContent(
      'Alertmanager is unreachable: http://192.0.2.23:9093: no answer within 2 s',
    );
    expect(within(panel).getByTestId('alerts-state')).toHaveClass('notice-error');
  });

  it('shows a failed alerts request in the panel only, with the rest of the dashboard', async () => {
    signedInAs('tok-123');
    stubApi({ alerts: () => new Response('<h1>Not Found</h1>', { status: 404 }) });
    render(<App />);
    const panel = await alertsPanel();

    expect(within(panel).getByTestId('alerts-state')).toHaveTextContent(
      'The alerts could not be loaded: The CAMS API answered 404 for /api/alerts/.',
    );
    expect(screen.queryByTestId('error-banner')).not.toBeInTheDocument();
    expect(screen.getAllByTestId('deployment-row')).toHaveLength(3);
  });

  it('returns to sign-in when the alerts request rejects the token', async () => {
    signedInAs('expired-token');
    stubApi({ alerts: () => jsonResponse(401, { error: 'invalid_token', detail: 'Token has expired.' }) });
    render(<App />);

    expect(await screen.findByTestId('sign-in-notice')).toHaveTextContent('Your token was rejected: Token has expired.');
    expect(sessionStorage.getItem(TOKEN_KEY)).toBeNull();
  });
});

describe('failures', () => {
  it('on 401 drops the token and returns to sign-in with the server detail', async () => {
    signedInAs('expired-token');
    stubApi({
      overview: () => jsonResponse(401, { error: 'invalid_token', detail: 'Token has expired.' }),
    });
    render(<App />);

    expect(await screen.findByTestId('sign-in-notice')).toHaveTextContent(
      'Your token was rejected: Token has expired.',
    );
    expect(screen.getByRole('heading', { name: 'Sign in' })).toBeInTheDocument();
    expect(sessionStorage.getItem(TOKEN_KEY)).toBeNull();
  });

  it('clears the rejection notice after a successful sign-in', async () => {
    signedInAs('expired-token');
    let tokenRejected = true;
    stubApi({
      overview: () =>
        tokenRejected
          ? jsonResponse(401, { error: 'invalid_token', detail: 'Token has expired.' })
          : jsonResponse(200, overview),
    });
    const user = userEvent.setup();
    render(<App />);
    await screen.findByTestId('sign-in-notice');

    tokenRejected = false;
    await user.type(screen.getByLabelText('Access token'), 'fresh-token');
    await user.click(screen.getByRole('button', { name: 'Sign in' }));
    await waitForDashboard();

    await user.click(screen.getByRole('button', { name: 'Sign out' }));
    expect(screen.queryByTestId('sign-in-notice')).not.toBeInTheDocument();
  });

  it('on a network error keeps the token, shows a banner, and Retry recovers', async () => {
    signedInAs('tok-123');
    let networkDown = true;
    stubApi({
      overview: () => {
        if (networkDown) throw new TypeError('Failed to fetch');
        return jsonResponse(200, overview);
      },
    });
    const user = userEvent.setup();
    render(<App />);

    const banner = await screen.findByTestId('error-banner');
    expect(banner).toHaveTextContent('Could not reach the CAMS API (Failed to fetch).');
    expect(sessionStorage.getItem(TOKEN_KEY)).toBe('tok-123');
    expect(screen.queryByRole('heading', { name: 'Sign in' })).not.toBeInTheDocument();

    networkDown = false;
    await user.click(within(banner).getByRole('button', { name: 'Retry' }));

    expect(await waitForDashboard()).toHaveTextContent('staging');
    expect(screen.queryByTestId('error-banner')).not.toBeInTheDocument();
  });

  it('on a 5xx shows the status and detail in the banner', async () => {
    signedInAs('tok-123');
    stubApi({ deployments: () => jsonResponse(503, { detail: 'database is starting' }) });
    render(<App />);

    expect(await screen.findByTestId('error-banner')).toHaveTextContent(
      'The CAMS API answered 503 for /api/deployments/?limit=20: database is starting',
    );
    expect(sessionStorage.getItem(TOKEN_KEY)).toBe('tok-123');
  });

  it('keeps the last good data on screen when a refresh fails', async () => {
    signedInAs('tok-123');
    let serverBroken = false;
    stubApi({
      deployments: () =>
        serverBroken ? new Response('<h1>Bad Gateway</h1>', { status: 502 }) : jsonResponse(200, deployments),
    });
    const user = userEvent.setup();
    render(<App />);
    await waitForDashboard();

    serverBroken = true;
    await user.click(screen.getByRole('button', { name: 'Refresh' }));

    expect(await screen.findByTestId('error-banner')).toHaveTextContent('The CAMS API answered 502');
    expect(screen.getByTestId('environment-badge')).toHaveTextContent('staging');
    expect(screen.getAllByTestId('deployment-row')).toHaveLength(3);
  });
});
