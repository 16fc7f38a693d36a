// Each tier gets its own colour so nobody mistakes production for staging.
const TIER_BY_ENVIRONMENT = {
  dev: 'dev',
  development: 'dev',
  local: 'dev',
  staging: 'staging',
  prod: 'prod',
  production: 'prod',
};

export default function EnvironmentBadge({ environment }) {
  const tier = TIER_BY_ENVIRONMENT[String(environment).toLowerCase()] ?? 'other';
  return (
    <>
      <span className="visually-hidden">Environment: </span>
      <span className={`badge env-badge env-${tier}`} data-testid="environment-badge" data-tier={tier}>
        {environment}
      </span>
    </>
  );
}
