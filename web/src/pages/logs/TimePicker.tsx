// One time picker in the style of Grafana's: a button naming the range on screen ("Last 1
// hour", or its two ends), opening quick ranges beside From/To fields that take a relative
// time (`-30m`, `now`) or a date and time. The URL keeps `from`/`to` as the API reads them.
import { useState } from 'react';
import { setQuery } from '../../router';

const QUICK: [string, string][] = [
  ['-5m', 'Last 5 minutes'],
  ['-15m', 'Last 15 minutes'],
  ['-1h', 'Last 1 hour'],
  ['-6h', 'Last 6 hours'],
  ['-24h', 'Last 24 hours'],
  ['-7d', 'Last 7 days'],
  ['-30d', 'Last 30 days'],
];
const UNITS: Record<string, string> = { s: 'second', m: 'minute', h: 'hour', d: 'day', w: 'week' };
const RELATIVE = /^-(\d+)([smhdw])$/;

/** A `from`/`to` value as a person reads it. */
function describe(value: string): string {
  if (value === 'now') return 'now';
  const d = new Date(value);
  return Number.isNaN(d.getTime()) ? value : d.toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short', hour12: false });
}

/** "Last 30 minutes" for a relative range ending now, else "from → to". */
export function rangeLabel(from: string, to: string | null): string {
  const m = RELATIVE.exec(from);
  if (m && (!to || to === 'now')) {
    const n = Number(m[1]);
    return `Last ${n} ${UNITS[m[2]]}${n === 1 ? '' : 's'}`;
  }
  return `${RELATIVE.test(from) ? from : describe(from)} → ${to ? (RELATIVE.test(to) ? to : describe(to)) : 'now'}`;
}

/** What a From/To field holds, as the API takes it; null when it is neither relative nor a date. */
function parseField(text: string): string | null {
  const t = text.trim();
  if (t === '' || t === 'now') return 'now';
  if (RELATIVE.test(t)) return t;
  const d = new Date(t);
  return Number.isNaN(d.getTime()) ? null : d.toISOString();
}

/** A `from`/`to` value as a field shows it: relative as written, a time in local time. */
function fieldText(value: string | null): string {
  if (!value || value === 'now') return 'now';
  if (RELATIVE.test(value)) return value;
  const d = new Date(value);
  if (Number.isNaN(d.getTime())) return value;
  const local = new Date(d.getTime() - d.getTimezoneOffset() * 60000).toISOString();
  return `${local.slice(0, 10)} ${local.slice(11, 19)}`;
}

export function TimePicker({ url }: { url: URL }) {
  const from = url.searchParams.get('from') ?? '-1h';
  const to = url.searchParams.get('to');
  const [open, setOpen] = useState(false);
  const [fields, setFields] = useState({ from: '', to: '' });
  const [error, setError] = useState<string | null>(null);
  const choose = (params: { from: string; to: string | null }) => {
    setQuery(params, false);
    setOpen(false);
  };
  const apply = () => {
    const [f, t] = [parseField(fields.from), parseField(fields.to)];
    if (!f || f === 'now') return setError('From: a time like -30m, -2d, or 2026-12-06 14:00');
    if (!t) return setError('To: now, a time like -5m, or 2026-12-06 15:00');
    setError(null);
    choose({ from: f, to: t === 'now' ? null : t });
  };
  return (
    <span className="time-picker">
      <button
        className="button"
        aria-label="Time range"
        aria-expanded={open}
        onClick={() => {
          setFields({ from: fieldText(from), to: fieldText(to) });
          setError(null);
          setOpen(!open);
        }}
      >
        {rangeLabel(from, to)} ▾
      </button>
      {open && (
        <div className="popover time-popover" role="dialog" aria-label="Choose a time range">
          <form
            className="absolute"
            onSubmit={(e) => {
              e.preventDefault();
              apply();
            }}
          >
            <label>
              From <input aria-label="From" value={fields.from} onChange={(e) => setFields({ ...fields, from: e.target.value })} />
            </label>
            <label>
              To <input aria-label="To" value={fields.to} onChange={(e) => setFields({ ...fields, to: e.target.value })} />
            </label>
            {error && <div className="error-text">{error}</div>}
            <p className="muted small">-30m, -12h, -7d, now, or a date and time (local)</p>
            <button className="primary button" type="submit">
              Apply
            </button>
          </form>
          <ul className="quick">
            {QUICK.map(([value, label]) => (
              <li key={value}>
                <button className={`link-button ${value === from && !to ? 'on' : ''}`} onClick={() => choose({ from: value, to: null })}>
                  {label}
                </button>
              </li>
            ))}
          </ul>
        </div>
      )}
    </span>
  );
}
