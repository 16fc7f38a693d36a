import { formatDuration, shortSha } from '../format.js';
import Timestamp from './Timestamp.jsx';

const OUTCOME_LABELS = {
  success: 'Success',
  failed: 'Failed',
  rolled_back: 'Rolled back',
};

function OutcomeBadge({ outcome }) {
  return (
    <span className={`badge outcome-${outcome}`} data-testid="deployment-outcome">
      {OUTCOME_LABELS[outcome] ?? outcome}
    </span>
  );
}

function DeploymentRow({ deployment }) {
  const isProblem = deployment.outcome === 'failed' || deployment.outcome === 'rolled_back';
  return (
    <tr className={isProblem ? 'row-problem' : undefined} data-testid="deployment-row" data-outcome={deployment.outcome}>
      <th scope="row">
        {deployment.release_id}
        {deployment.message && <div className="row-message">{deployment.message}</div>}
      </th>
      <td>
        <code title={deployment.sha}>{shortSha(deployment.sha)}</code>
      </td>
      <td>{deployment.branch}</td>
      <td>{deployment.deployed_by}</td>
      <td>
        <Timestamp value={deployment.started_at} />
      </td>
      <td className="numeric">{formatDuration(deployment.duration_seconds)}</td>
      <td>
        <OutcomeBadge outcome={deployment.outcome} />
      </td>
      <td data-testid="deployment-backup">
        {deployment.backup && (
          <code title="What playbooks/restore.yml returns the database to: -e cams_restore_target=<this>">
            {deployment.backup}
          </code>
        )}
      </td>
    </tr>
  );
}

export default function DeploymentsTable({ deployments }) {
  const { count, results } = deployments;
  return (
    <section className="panel panel-wide" aria-labelledby="deployments-heading">
      <h2 id="deployments-heading">Recent deployments</h2>
      {results.length === 0 ? (
        <p data-testid="deployments-empty">No deployments recorded yet.</p>
      ) : (
        <div className="table-scroll">
          <table data-testid="deployments-table">
            <caption>
              Newest first; showing {results.length} of {count}.
            </caption>
            <thead>
              <tr>
                <th scope="col">Release</th>
                <th scope="col">SHA</th>
                <th scope="col">Branch</th>
                <th scope="col">Deployed by</th>
                <th scope="col">Started</th>
                <th scope="col">Duration</th>
                <th scope="col">Outcome</th>
                <th scope="col">Backup</th>
              </tr>
            </thead>
            <tbody>
              {results.map((deployment) => (
                <DeploymentRow key={`${deployment.release_id}-${deployment.started_at}`} deployment={deployment} />
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}
