import { useEffect, useRef, useState } from 'react';
import { splitProject } from './router';

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
  /** The rest are sent for one log (`logs/{id}`), not in lists. */
  observed_timestamp?: string;
  severity_text?: string;
  severity_number?: number;
  trace_flags?: number;
  event_name?: string;
}

export interface LogPage {
  results: Log[];
  has_more: boolean;
  next_cursor: string | null;
}

export interface Issue {
  id: number;
  fingerprint: string;
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
  end_time: string;
  /** Bytes of snapshot data stored. */
  size: number;
  has_full_snapshot: boolean;
}

export class ApiError extends Error {
  constructor(
    public status: number,
    message: string,
  ) {
    super(message);
  }
}

export type Role = 'admin' | 'member' | 'viewer';

export interface User {
  id: number;
  username: string;
  role: Role;
  created_at_ms: number;
}

export interface Retention {
  logs_days: number;
  events_days: number;
  recordings_days: number;
}

export interface Privacy {
  mask_all_inputs: boolean;
  mask_text_selector: string;
  block_selector: string;
}

/** How fast the project's SDKs may send, per Tether process; 0 is no limit. */
export interface IngestLimits {
  events_per_second: number;
  recording_bytes_per_second: number;
}

export interface ProjectSettings {
  session_recording: boolean;
  console_log_recording: boolean;
  exception_autocapture: boolean;
  privacy: Privacy;
  retention: Retention;
  ingest_limits: IngestLimits;
}

export interface Project {
  id: number;
  name: string;
  token: string;
  created_at_ms: number;
  settings: ProjectSettings;
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
export function useApi<T>(path: string | null): { data: T | null; error: string | null; reload: () => void } {
  const [state, setState] = useState<{ data: T | null; error: string | null }>({ data: null, error: null });
  const [generation, setGeneration] = useState(0);
  const shown = useRef<string | null>(null);
  useEffect(() => {
    // A new path clears the old answer at once; a reload keeps it on screen until replaced.
    if (shown.current !== path) setState({ data: null, error: null });
    shown.current = path;
    if (path === null) return;
    const controller = new AbortController();
    api<T>(path, { signal: controller.signal }).then(
      (data) => setState({ data, error: null }),
      (e: Error) => {
        if (!controller.signal.aborted) setState({ data: null, error: e.message });
      },
    );
    return () => controller.abort();
  }, [path, generation]);
  return { ...state, reload: () => setGeneration((g) => g + 1) };
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
