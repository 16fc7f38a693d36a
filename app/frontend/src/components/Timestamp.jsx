import { formatTimestamp, isTimestamp } from '../format.js';

/** A UTC timestamp; values that are not dates (such as "unknown") are shown as they are. */
export default function Timestamp({ value, ...props }) {
  if (!isTimestamp(value)) return <span {...props}>{formatTimestamp(value)}</span>;
  return (
    <time dateTime={value} {...props}>
      {formatTimestamp(value)}
    </time>
  );
}
