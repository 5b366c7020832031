import { useEffect, useRef, useState } from 'react';
import type { components } from './generated/api';
import { splitProject } from './router';

// Typed access to Tether's JSON API. The session cookie authenticates; a 401 sends the
// person to the login page.

// API data types come from the server's OpenAPI document (`generated/`, made by
// `scripts/generate-api-types`); none is written by hand here.
type Schemas = components['schemas'];
export type Log = Schemas['Log'];
export type LogDetail = Schemas['LogDetail'];
export type LogPage = Schemas['LogPage'];
export type Issue = Schemas['Issue'];
export type ListedIssue = Schemas['ListedIssue'];
export type IssueList = Schemas['IssueList'];
export type IssueDetail = Schemas['IssueDetail'];
export type RelatedErrors = Schemas['RelatedErrors'];
export type Recording = Schemas['Recording'];
export type Role = Schemas['Role'];
export type User = Schemas['User'];
export type Membership = Schemas['Membership'];
export type TeamMember = Schemas['TeamMember'];
export type Retention = Schemas['Retention'];
export type Privacy = Schemas['Privacy'];
export type NetworkCapture = Schemas['NetworkCapture'];
export type NetworkRequest = Schemas['NetworkRequest'];
export type NetworkRequestList = Schemas['NetworkRequestList'];
export type LinkingHealth = Schemas['LinkingHealth'];
export type IngestLimits = Schemas['IngestLimits'];
export type ProjectSettings = Schemas['ProjectSettings'];
export type Project = Schemas['Project'];
export type Severity = Schemas['Severity'];
export type Histogram = Schemas['Histogram'];
export type Facets = Schemas['Facets'];
export type Summary = Schemas['Summary'];
export type LogPattern = Schemas['LogPattern'];
export type LogPatterns = Schemas['LogPatterns'];
export type PatternComparison = Schemas['PatternComparison'];
export type SearchSessionList = Schemas['SearchSessionList'];
export type SessionFlagsList = Schemas['SessionFlagsList'];
export type SessionFlag = Schemas['SessionFlags'];
export type TailPoll = Schemas['TailPoll'];
export type SessionLogs = Schemas['SessionLogs'];
export type SessionEvent = Schemas['SessionEvent'];
export type Snapshots = Schemas['Snapshots'];
export type Person = Schemas['Person'];
export type PersonList = Schemas['PersonList'];
export type Me = Schemas['Me'];
export type LoginSession = Schemas['LoginSession'];
export type ApiKey = Schemas['ApiKey'];
export type NewKeyAnswer = Schemas['NewKeyAnswer'];
export type Invite = Schemas['Invite'];
export type InviteOffer = Schemas['InviteOffer'];
export type NewInviteAnswer = Schemas['NewInviteAnswer'];
export type Alert = Schemas['Alert'];
export type AlertRule = Schemas['AlertRule'];
export type AlertEvent = Schemas['AlertEvent'];
export type Exception = Schemas['Exception'];
export type Frame = Schemas['Frame'];
export type InviteList = Schemas['InviteList'];
export type ProjectList = Schemas['ProjectList'];
export type UserList = Schemas['UserList'];
export type AlertList = Schemas['AlertList'];
export type AlertHistory = Schemas['AlertHistory'];
export type SessionEventList = Schemas['SessionEventList'];
export type RecordingList = Schemas['RecordingList'];
export type LoginSessionList = Schemas['LoginSessionList'];
export type KeyList = Schemas['KeyList'];

export class ApiError extends Error {
  constructor(
    public status: number,
    message: string,
  ) {
    super(message);
  }
}

/** Whether `role` is at least `needed` (viewer < member < admin), as the server checks. */
export function atLeast(role: Role | undefined, needed: Role): boolean {
  const rank = { viewer: 0, member: 1, admin: 2 };
  return role !== undefined && rank[role] >= rank[needed];
}

/** `path` of the API: as is when it starts with `/api/`, else a path of the project on
 * screen (the one in the page's URL, so a request always names the project being viewed). */
function apiUrl(path: string): string {
  if (path.startsWith('/api/')) return path;
  const { projectId } = splitProject(location.pathname);
  return `/api/projects/${projectId}/${path}`;
}

export async function api<T>(path: string, init: RequestInit = {}): Promise<T> {
  const resp = await fetch(apiUrl(path), {
    credentials: 'same-origin',
    ...init,
    headers: { 'content-type': 'application/json', ...(init.headers ?? {}) },
  });
  if (resp.status === 401 && !location.pathname.startsWith('/login') && !location.pathname.startsWith('/invite/')) {
    location.assign(`/login?next=${encodeURIComponent(location.pathname + location.search)}`);
  }
  const text = await resp.text();
  const body = text ? JSON.parse(text) : null;
  if (!resp.ok) throw new ApiError(resp.status, body?.error ?? resp.statusText);
  return body as T;
}

/**
 * Loads `path` (see `api`) whenever it changes, cancelling the request for the previous
 * one (AbortController), so a fast change of filters never shows an older answer over a
 * newer one. `null` loads nothing. `reload()` fetches the same path again.
 */
/**
 * GETs `path` whenever it changes. A new path clears the old answer at once unless
 * `keepPrevious`: then it stays on screen, `stale`, until the new one replaces it (a list
 * that blanks on every keystroke of a search is harder to read than a dimmed one).
 */
export function useApi<T>(
  path: string | null,
  keepPrevious = false,
): { data: T | null; error: string | null; stale: boolean; reload: () => void } {
  const [state, setState] = useState<{ data: T | null; error: string | null; of: string | null }>({ data: null, error: null, of: null });
  const [generation, setGeneration] = useState(0);
  const shown = useRef<string | null>(null);
  useEffect(() => {
    // A reload keeps the answer on screen until replaced.
    if (shown.current !== path) setState((s) => (keepPrevious ? { ...s, error: null } : { data: null, error: null, of: null }));
    shown.current = path;
    if (path === null) return;
    const controller = new AbortController();
    api<T>(path, { signal: controller.signal }).then(
      (data) => setState({ data, error: null, of: path }),
      (e: Error) => {
        if (!controller.signal.aborted) setState({ data: null, error: e.message, of: path });
      },
    );
    return () => controller.abort();
  }, [path, generation, keepPrevious]);
  return { data: state.data, error: state.error, stale: state.data !== null && state.of !== path, reload: () => setGeneration((g) => g + 1) };
}

/** "3 min ago", "in 2 h", "5 d ago": how long from now, for lists (the exact time goes in a tooltip). */
export function relativeTime(ms: number, now = Date.now()): string {
  const s = Math.round((ms - now) / 1000);
  const a = Math.abs(s);
  const [n, unit] =
    a < 45 ? [a, 's'] : a < 2700 ? [Math.round(a / 60), 'min'] : a < 79200 ? [Math.round(a / 3600), 'h'] : a < 86400 * 45 ? [Math.round(a / 86400), 'd'] : [Math.round(a / (86400 * 30)), 'mo'];
  if (a < 10) return 'just now';
  return s < 0 ? `${n} ${unit} ago` : `in ${n} ${unit}`;
}

export function formatTime(iso: string): string {
  const d = new Date(iso);
  return d.toLocaleString(undefined, { hour12: false }) + '.' + String(d.getMilliseconds()).padStart(3, '0');
}

export function formatDuration(ms: number): string {
  const s = Math.round(ms / 1000);
  return s >= 60 ? `${Math.floor(s / 60)}m ${s % 60}s` : `${s}s`;
}
