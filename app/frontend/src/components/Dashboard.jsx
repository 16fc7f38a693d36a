import { useDashboardData } from '../useDashboardData.js';
import AlertsPanel from './AlertsPanel.jsx';
import DatabasePanel from './DatabasePanel.jsx';
import DeploymentsTable from './DeploymentsTable.jsx';
import EnvironmentBadge from './EnvironmentBadge.jsx';
import ErrorBanner from './ErrorBanner.jsx';
import ReleasePanel from './ReleasePanel.jsx';
import Timestamp from './Timestamp.jsx';

export default function Dashboard({ token, onSignOut, onUnauthorized }) {
  const { data, loading, error, reload } = useDashboardData(token, onUnauthorized);
  const overview = data?.overview;

  return (
    <div className="dashboard" data-testid="dashboard">
      <header className="topbar">
        <h1 className="app-title">CAMS</h1>
        {overview && <EnvironmentBadge environment={overview.environment} />}
        <div className="topbar-actions">
          {overview && <span className="subject">Signed in as {overview.subject}</span>}
          <button type="button" className="button" onClick={reload} disabled={loading}>
            {loading && data ? 'Refreshing…' : 'Refresh'}
          </button>
          <button type="button" className="button" onClick={onSignOut}>
            Sign out
          </button>
        </div>
      </header>

      <main className="content" aria-busy={loading}>
        {error && <ErrorBanner message={error} onRetry={reload} />}
        {loading && !data && (
          <p role="status" className="loading">
            Loading the operational picture…
          </p>
        )}
        {data && (
          <>
            <AlertsPanel alerts={data.alerts} environment={overview.environment} />
            <div className="panels">
              <ReleasePanel release={overview.release} />
              <DatabasePanel database={overview.database} />
            </div>
            <DeploymentsTable deployments={data.deployments} />
            <p className="generated-at">
              Data generated at <Timestamp value={overview.generated_at} />.
            </p>
          </>
        )}
      </main>
    </div>
  );
}
