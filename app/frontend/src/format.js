// Display formatting. Times are shown in UTC so operators in different time
// zones read the same value as the server logs.

const SHORT_SHA_LENGTH = 7;

export function shortSha(sha) {
  return sha ? sha.slice(0, SHORT_SHA_LENGTH) : '—';
}

/** "2026-11-26 19:00:00 UTC", or the input unchanged if it is not a date (e.g. "unknown"). */
export function formatTimestamp(value) {
  if (!value) return '—';
  const date = new Date(value);
  if (Number.isNaN(date.getTime())) return String(value);
  return `${date.toISOString().slice(0, 19).replace('T', ' ')} UTC`;
}

/** Whether formatTimestamp produced a real date, so it can go in a <time> element. */
export function isTimestamp(value) {
  return Boolean(value) && !Number.isNaN(new Date(value).getTime());
}

/** "42s", "3m 05s", "1h 02m"; null means the deployment has no known end. */
export function formatDuration(seconds) {
  if (seconds === null || seconds === undefined) return '—';
  const total = Math.round(seconds);
  if (total < 60) return `${total}s`;
  const minutes = Math.floor(total / 60);
  if (minutes < 60) return `${minutes}m ${String(total % 60).padStart(2, '0')}s`;
  return `${Math.floor(minutes / 60)}h ${String(minutes % 60).padStart(2, '0')}m`;
}
