import { shortSha } from '../format.js';
import Timestamp from './Timestamp.jsx';

export default function ReleasePanel({ release }) {
  return (
    <section className="panel" aria-labelledby="release-heading" data-testid="release-panel">
      <h2 id="release-heading">Running release</h2>
      <dl className="facts">
        <dt>Release</dt>
        <dd data-testid="release-id">{release.id}</dd>
        <dt>Commit</dt>
        <dd>
          <code data-testid="release-sha" title={release.sha}>
            {shortSha(release.sha)}
          </code>
        </dd>
        <dt>Branch</dt>
        <dd data-testid="release-branch">{release.branch}</dd>
        <dt>Deployed at</dt>
        <dd>
          <Timestamp value={release.deployed_at} data-testid="release-deployed-at" />
        </dd>
      </dl>
    </section>
  );
}
