// The logs page's URL ⇄ the API's query, and the shapes of the answers it shows.
import type { SessionFlag, Summary } from '../../api';
import { editQuery, setQuery } from '../../router';

/** The filters of the logs page's URL without its time range, as an alert's saved search. */
export function alertQuery(params: URLSearchParams): string {
  const keep = ['q', 'severity', 'service', 'attr', 'session_id', 'distinct_id', 'trace_id'];
  return new URLSearchParams([...params.entries()].filter(([k]) => keep.includes(k))).toString();
}

const PASSED_ON = ['q', 'severity', 'service', 'session_id', 'distinct_id', 'trace_id', 'from', 'to', 'attr'];
export const SEVERITIES = ['trace', 'debug', 'info', 'warn', 'error', 'fatal'];
/** Filters shown as removable chips above the list. */
export const CHIP_FILTERS = ['session_id', 'distinct_id', 'service', 'trace_id', 'attr'];

/** The ▶ and ⚠ marks of the sessions on screen, by session id. */
export type SessionFlags = Record<string, SessionFlag>;

/** "N logs · N sessions · N users", each marked ≈ when estimated. */
export function summaryText(s: Summary): string {
  const n = (v: number) => `${s.approximate ? '≈' : ''}${v.toLocaleString()}`;
  return `${n(s.logs)} logs · ${n(s.sessions)} sessions · ${n(s.users)} users`;
}

/** The API query of the page's time range alone (what every service of the range is counted over). */
export function rangeQuery(url: URL): string {
  const all = apiQuery(url);
  return new URLSearchParams([...all.entries()].filter(([k]) => k === 'from' || k === 'to')).toString();
}

/** The API query for the page's URL: every filter is in the URL, so links reproduce views. */
export function apiQuery(url: URL): URLSearchParams {
  const q = new URLSearchParams();
  for (const key of PASSED_ON) for (const v of url.searchParams.getAll(key)) if (v) q.append(key, v);
  if (!q.has('from')) q.set('from', '-1h');
  return q;
}

/** Adds a filter to the page's (as a new history entry); filters of one key combine. */
export function addFilter(key: string, value: string) {
  editQuery((q) => {
    if (!q.getAll(key).includes(value)) q.append(key, value);
  });
}

/** `value` as the query language reads it: quoted unless it is one plain word. */
export function queryValue(value: string): string {
  return /^[^\s"()]+$/.test(value) ? value : `"${value.replace(/[\\"]/g, (c) => `\\${c}`)}"`;
}

/** `params` with `term` added to its query (`q`). */
export function withTerm(params: URLSearchParams, term: string): URLSearchParams {
  const next = new URLSearchParams(params);
  const q = (next.get('q') ?? '').trim();
  next.set('q', q ? `${q} ${term}` : term);
  return next;
}

/** The current query with `term` added (as a new history entry); `extra` sets other parameters too. */
export function addTerm(url: URL, term: string, extra: Record<string, string | null> = {}) {
  setQuery({ ...extra, q: withTerm(url.searchParams, term).get('q') }, false);
}

/** The query term selecting a log pattern's logs. */
export function patternTerm(template: string): string {
  return `pattern:${queryValue(template)}`;
}
