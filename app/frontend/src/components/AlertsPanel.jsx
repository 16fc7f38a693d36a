import Timestamp from './Timestamp.jsx';

const SEVERITY_LABELS = { page: 'Page', ticket: 'Ticket' };

function AlertItem({ alert }) {
  return (
    <li className={`alert alert-${alert.severity}`} data-testid="alert" data-severity={alert.severity}>
      <div className="alert-title">
        <span className={`badge severity-${alert.severity}`}>{SEVERITY_LABELS[alert.severity] ?? alert.severity}</span>
        <strong>{alert.name}</strong>
        {alert.instance && <code>{alert.instance}</code>}
      </div>
      {alert.summary && <div className="alert-summary">{alert.summary}</div>}
      <div className="alert-meta">
        Firing since <Timestamp value={alert.since} />
        {alert.runbook && (
          <>
            {' · '}
            <a href={alert.runbook} target="_blank" rel="noreferrer">
              Runbook
            </a>
          </>
        )}
      </div>
    </li>
  );
}

/** What is wrong when the alerts could not be read: monitoring absent, unreachable, or the request itself failing. */
function AlertsUnknown({ alerts }) {
  if (alerts.status === 'not_configured') {
    return <p data-testid="alerts-state">Monitoring is not configured for this environment.</p>;
  }
  const what = alerts.status === 'unreachable' ? 'Alertmanager is unreachable' : 'The alerts could not be loaded';
  return (
    <p className="notice notice-error" data-testid="alerts-state">
      {what}
      {alerts.detail ? `: ${alerts.detail}` : '.'}
    </p>
  );
}

export default function AlertsPanel({ alerts, environment }) {
  const firing = alerts.status === 'ok' ? alerts.alerts : null;
  return (
    <section className="panel panel-wide" aria-labelledby="alerts-heading" data-testid="alerts-panel">
      <h2 id="alerts-heading">Firing alerts</h2>
      {firing === null && <AlertsUnknown alerts={alerts} />}
      {firing?.length === 0 && (
        <p data-testid="alerts-state">
          <span className="badge status-ok">None</span> No alert is firing for {environment}.
        </p>
      )}
      {firing?.length > 0 && (
        <ul className="alerts" aria-label={`Alerts firing for ${environment}`}>
          {firing.map((alert) => (
            <AlertItem key={`${alert.name}-${alert.instance}-${alert.since}`} alert={alert} />
          ))}
        </ul>
      )}
    </section>
  );
}
