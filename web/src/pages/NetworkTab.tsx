import { useEffect, useRef, useState } from 'react';
import { api, formatTime, NetworkRequest, NetworkRequestList } from '../api';
import { Link } from '../router';

const MATCH_LABEL: Record<string, string> = {
  trace: 'trace',
  session_route_time: 'session + route + time',
};
const MATCH_TITLE: Record<string, string> = {
  trace: 'The backend named this trace in the response (Server-Timing), and these logs carry it',
  session_route_time: "Logs of this session that mention the request's path, within 2 s of it",
};

/** A URL as a row shows it: the path and query on the page's host, else host and path. */
function shortUrl(url: string, pageHost: string): string {
  try {
    const u = new URL(url);
    return u.host === pageHost ? u.pathname + u.search : u.host + u.pathname + u.search;
  } catch {
    return url;
  }
}

function Payload({ label, value }: { label: string; value: unknown }) {
  if (value === null || value === undefined) return null;
  return (
    <div className="payload">
      <span className="muted small">{label}</span>
      <pre>{typeof value === 'string' ? value : JSON.stringify(value, null, 2)}</pre>
    </div>
  );
}

/** What one request caused: its backend logs and issues, and what was recorded of it. */
function RequestDetail({ r }: { r: NetworkRequest }) {
  return (
    <div className="request-detail">
      {r.matched ? (
        <p className="small">
          {r.logs.length} backend {r.logs.length === 1 ? 'log' : 'logs'}, matched by{' '}
          <span className="badge match" title={MATCH_TITLE[r.matched]}>{MATCH_LABEL[r.matched] ?? r.matched}</span>
          {r.trace_id && <span className="muted small"> · trace <code>{r.trace_id}</code></span>}
        </p>
      ) : (
        <p className="muted small">
          No backend log found for this request{r.trace_id ? ` (trace ${r.trace_id})` : ''}. <Link to="/guide">How to link them</Link>
        </p>
      )}
      {r.logs.map((l) => (
        <Link key={l.id} to={`/logs/${l.id}`} className={`panel-log sev-row-${l.severity}`}>
          <span className={`sev sev-${l.severity}`}>{l.severity}</span> <span className="muted small">{l.service}</span>
          <div>{l.body}</div>
        </Link>
      ))}
      {r.issues.map((i) => (
        <Link key={i.id} to={`/errors/${i.id}`} className="issue-card">
          <strong>{i.name}</strong> <span className="muted">{i.description}</span>
        </Link>
      ))}
      <Payload label="Request headers" value={r.request_headers} />
      <Payload label="Request body" value={r.request_body} />
      <Payload label="Response headers" value={r.response_headers} />
      <Payload label="Response body" value={r.response_body} />
    </div>
  );
}

/** The replay's Network tab: the session's requests in step with playback (those still to
 * come are dimmed), each opening the backend logs and issues it caused. `trace` (from a
 * log's "View recording") opens and highlights that request. */
export function NetworkTab({
  sessionId,
  now,
  playing,
  pageHost,
  trace,
  seek,
}: {
  sessionId: string;
  now: number;
  /** While the replay plays, the latest request started stays in view. */
  playing: boolean;
  pageHost: string;
  trace: string | null;
  seek: (ms: number) => void;
}) {
  const [requests, setRequests] = useState<NetworkRequest[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [open, setOpen] = useState<number | null>(null);
  const [onlyBackend, setOnlyBackend] = useState(true);
  const list = useRef<HTMLDivElement>(null);
  useEffect(() => {
    const controller = new AbortController();
    api<NetworkRequestList>(`sessions/${encodeURIComponent(sessionId)}/requests`, { signal: controller.signal }).then(
      (r) => setRequests(r.results),
      (e: Error) => !controller.signal.aborted && setError(e.message),
    );
    return () => controller.abort();
  }, [sessionId]);
  const shown = (requests ?? []).filter((r) => !onlyBackend || r.backend_call || r.trace_id === trace);
  useEffect(() => {
    if (!trace || !requests) return;
    const i = shown.findIndex((r) => r.trace_id === trace);
    if (i < 0) return;
    setOpen(i);
    list.current?.querySelectorAll('.request-row')[i]?.scrollIntoView({ block: 'center' });
  }, [trace, requests]);
  const latest = shown.filter((r) => r.start_ms <= now).length - 1;
  useEffect(() => {
    if (playing && latest >= 0) list.current?.querySelectorAll('.request-row')[latest]?.scrollIntoView({ block: 'nearest' });
  }, [latest, playing]);
  if (error) return <p className="error-text">Could not load the requests: {error}</p>;
  if (!requests) return <p className="muted">Loading requests…</p>;
  return (
    <div ref={list} data-testid="network">
      <label className="check small">
        <input type="checkbox" checked={onlyBackend} onChange={(e) => setOnlyBackend(e.target.checked)} />
        Only page loads, fetch and XHR
      </label>
      {shown.length === 0 && (
        <p className="muted">
          No network requests were recorded. Turn on &quot;Record network requests&quot; in the project&apos;s settings (posthog-js records
          none on localhost).
        </p>
      )}
      {shown.map((r, i) => (
        <div
          key={`${r.window_id}${r.start_ms}${r.url}`}
          className={`request-row ${r.start_ms > now ? 'future' : ''} ${r.trace_id && r.trace_id === trace ? 'highlight' : ''} ${
            (r.status ?? 0) >= 400 ? 'sev-row-error' : ''
          }`}
        >
          <button
            className="request-line"
            aria-expanded={open === i}
            onClick={() => {
              setOpen(open === i ? null : i);
              seek(r.start_ms);
            }}
            title={`${r.url}\n${formatTime(r.start)}`}
          >
            <span className="method">{r.method ?? (r.initiator === 'navigation' ? 'PAGE' : r.initiator.toUpperCase().slice(0, 5))}</span>
            <span className="path">{shortUrl(r.url, pageHost)}</span>
            <span className={`status ${(r.status ?? 0) >= 400 ? 'bad' : ''}`}>{r.status ?? '—'}</span>
            <span className="muted small">{r.duration_ms} ms</span>
            {r.matched && <span className="badge match">{r.logs.length} logs · {MATCH_LABEL[r.matched] ?? r.matched}</span>}
            {r.issues.length > 0 && <span className="sev sev-error">{r.issues.length === 1 ? '1 issue' : `${r.issues.length} issues`}</span>}
          </button>
          {open === i && <RequestDetail r={r} />}
        </div>
      ))}
    </div>
  );
}
