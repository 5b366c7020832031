import { formatTime, relativeTime } from './api';

/** A time as "3 min ago", the exact local time on hover. */
export function Ago({ ms }: { ms: number }) {
  const iso = new Date(ms).toISOString();
  return (
    <time dateTime={iso} title={formatTime(iso)}>
      {relativeTime(ms)}
    </time>
  );
}
