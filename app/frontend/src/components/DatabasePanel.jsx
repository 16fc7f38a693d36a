export default function DatabasePanel({ database }) {
  const isOk = database.status === 'ok';
  const pending = database.migrations_pending;

  return (
    <section className="panel" aria-labelledby="database-heading" data-testid="database-panel">
      <h2 id="database-heading">Database</h2>
      <p>
        <span className={`badge status-${isOk ? 'ok' : 'down'}`} data-testid="database-status">
          {isOk ? 'OK' : 'Unavailable'}
        </span>
      </p>
      {!isOk && database.detail && (
        <p className="notice notice-error" data-testid="database-detail">
          {database.detail}
        </p>
      )}
      <dl className="facts">
        <dt>Name</dt>
        <dd data-testid="database-name">{database.name ?? '—'}</dd>
        <dt>Server</dt>
        <dd>{[database.vendor, database.server_version].filter(Boolean).join(' ') || '—'}</dd>
        <dt>Latency</dt>
        <dd>{typeof database.latency_ms === 'number' ? `${database.latency_ms} ms` : '—'}</dd>
        <dt>Pending migrations</dt>
        <dd className={pending > 0 ? 'text-warning' : undefined} data-testid="database-migrations-pending">
          {pending ?? '—'}
        </dd>
      </dl>
    </section>
  );
}
