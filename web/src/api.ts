// Typed access to Tether's JSON API. The session cookie authenticates; a 401 sends the
// person to the login page.

export interface Log {
  id: string;
  timestamp: string;
  severity: 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'fatal';
  service: string;
  body: string;
  session_id: string | null;
  distinct_id: string | null;
  trace_id: string;
  span_id: string;
  attributes: Record<string, unknown>;
  resource_attributes: Record<string, unknown>;
  scope?: { name: string; version: string; attributes: Record<string, unknown> };
  observed_timestamp?: string;
  severity_text?: string;
}

export interface LogPage {
  results: Log[];
  has_more: boolean;
  next_cursor: string | null;
}

export interface Issue {
  id: number;
  name: string;
  description: string;
  status: 'active' | 'resolved' | 'suppressed';
  first_seen: string;
  last_seen: string;
  occurrences: number;
  sessions: number;
  users: number;
  occurrences_in_session?: number;
  /** Occurrences per day over the last 14 days, oldest first. */
  sparkline?: number[];
  last_seen_in_session?: string;
}

export interface Recording {
  session_id: string;
  distinct_id: string;
  start_ms: number;
  end_ms: number;
  duration_ms: number;
  active_ms: number;
  first_url: string | null;
  clicks: number;
  keypresses: number;
  console_errors: number;
  exceptions: number;
  start_time: string;
}

export class ApiError extends Error {
  constructor(
    public status: number,
    message: string,
  ) {
    super(message);
  }
}

export let projectId = 1;

export async function api<T>(path: string, init: RequestInit = {}): Promise<T> {
  const resp = await fetch(path.startsWith('/api/') ? path : `/api/projects/${projectId}/${path}`, {
    credentials: 'same-origin',
    ...init,
    headers: { 'content-type': 'application/json', ...(init.headers ?? {}) },
  });
  if (resp.status === 401 && !location.pathname.startsWith('/login')) {
    location.assign(`/login?next=${encodeURIComponent(location.pathname + location.search)}`);
  }
  const text = await resp.text();
  const body = text ? JSON.parse(text) : null;
  if (!resp.ok) throw new ApiError(resp.status, body?.error ?? resp.statusText);
  return body as T;
}

export async function loadProject(): Promise<{ id: number; name: string; token: string }> {
  const projects = await api<{ results: { id: number; name: string; token: string }[] }>('/api/projects');
  const first = projects.results[0];
  projectId = first.id;
  return first;
}

export function formatTime(iso: string): string {
  const d = new Date(iso);
  return d.toLocaleString(undefined, { hour12: false }) + '.' + String(d.getMilliseconds()).padStart(3, '0');
}

export function formatDuration(ms: number): string {
  const s = Math.round(ms / 1000);
  return s >= 60 ? `${Math.floor(s / 60)}m ${s % 60}s` : `${s}s`;
}
