import { useEffect, useMemo, useRef, useState } from 'react';
import { api, ApiError, formatTime, Log, LogPage } from '../api';
import { Link, navigate, setQuery, splitProject, useLocation } from '../router';
import { LogDrawer } from './LogDrawer';

/** The filters of the logs page's URL without its time range, as an alert's saved search. */
function alertQuery(params: URLSearchParams): string {
  const keep = ['q', 'severity', 'service', 'attr', 'session_id', 'distinct_id', 'trace_id'];
  return new URLSearchParams([...params.entries()].filter(([k]) => keep.includes(k))).toString();
}

const PASSED_ON = ['q', 'severity', 'service', 'session_id', 'distinct_id', 'trace_id', 'from', 'to', 'attr'];
const RANGES = [
  ['-15m', 'Last 15 minutes'],
  ['-1h', 'Last hour'],
  ['-24h', 'Last 24 hours'],
  ['-7d', 'Last 7 days'],
  ['-30d', 'Last 30 days'],
];
const SEVERITIES = ['trace', 'debug', 'info', 'warn', 'error', 'fatal'];
/** Rows have a fixed height so only the visible ones need to be in the DOM. */
const ROW_HEIGHT = 29;
const OVERSCAN = 20;

interface Histogram {
  bucket_seconds: number;
  buckets: { start: string; total: number; counts: Record<string, number> }[];
}

interface Facets {
  services: { value: string; count: number }[];
  /** Service counts are of the newest matching logs only. */
  sampled: boolean;
  attributes: { key: string; count: number; values: { value: string; count: number }[] }[];
}

/** Counts of a search; `approximate` when the server estimated them from a sample. */
interface Summary {
  logs: number;
  sessions: number;
  users: number;
  approximate: boolean;
}

/** "N logs · N sessions · N users", each marked ≈ when estimated. */
function summaryText(s: Summary): string {
  const n = (v: number) => `${s.approximate ? '≈' : ''}${v.toLocaleString()}`;
  return `${n(s.logs)} logs · ${n(s.sessions)} sessions · ${n(s.users)} users`;
}

/** `2026-11-27T01:02` in local time, for datetime-local inputs. */
function localInput(iso: string | null): string {
  if (!iso || iso.startsWith('-') || iso === 'now') return '';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return '';
  return new Date(d.getTime() - d.getTimezoneOffset() * 60000).toISOString().slice(0, 16);
}

/** The API query for the page's URL: every filter is in the URL, so links reproduce views. */
function apiQuery(url: URL): URLSearchParams {
  const q = new URLSearchParams();
  for (const key of PASSED_ON) for (const v of url.searchParams.getAll(key)) if (v) q.append(key, v);
  if (!q.has('from')) q.set('from', '-1h');
  return q;
}

export function LogsPage() {
  const url = useLocation();
  const query = apiQuery(url).toString();
  const { page: pagePath } = splitProject(url.pathname);
  const selected = pagePath.startsWith('/logs/') ? decodeURIComponent(pagePath.slice(6)) : null;
  const [page, setPage] = useState<LogPage | null>(null);
  const [hist, setHist] = useState<Histogram | null>(null);
  const [summary, setSummary] = useState<Summary | null>(null);
  const [facets, setFacets] = useState<Facets | null>(null);
  const [attrInput, setAttrInput] = useState('');
  const [drag, setDrag] = useState<{ from: number; to: number } | null>(null);
  const [flags, setFlags] = useState<Record<string, { has_recording: boolean; exceptions: number }>>({});
  const [error, setError] = useState<string | null>(null);
  const [cursorIndex, setCursorIndex] = useState(0);
  const [scroll, setScroll] = useState({ top: 0, height: 800 });
  const [search, setSearch] = useState(url.searchParams.get('q') ?? '');
  const listRef = useRef<HTMLDivElement>(null);

  useEffect(() => {
    setPage(null);
    setError(null);
    api<LogPage>(`logs?${query}&limit=200`).then(setPage, (e: ApiError) => setError(e.message));
    api<Histogram>(`logs/histogram?${query}`).then(setHist, () => setHist(null));
    api<Summary>(`logs/summary?${query}`).then(setSummary, () => setSummary(null));
    api<Facets>(`logs/facets?${query}`).then(setFacets, () => setFacets(null));
  }, [query]);

  // Live tail: new logs matching the filters are prepended as they arrive.
  const live = url.searchParams.get('live') === '1';
  useEffect(() => {
    if (!live) return;
    let cursor: string | null = null;
    let stopped = false;
    const tick = async () => {
      try {
        const r: { results: Log[]; cursor: string } = await api(`logs/tail?${query}${cursor ? `&after=${cursor}` : ''}`);
        if (cursor && r.results.length > 0 && !stopped) {
          // A poll may repeat logs of the previous one (the server re-reads a short overlap
          // so logs committed late by another Tether process are not missed): keep each id once.
          setPage((p) => {
            if (!p) return p;
            const seen = new Set(p.results.map((l) => l.id));
            const fresh = r.results.filter((l) => !seen.has(l.id)).reverse();
            return fresh.length > 0 ? { ...p, results: [...fresh, ...p.results] } : p;
          });
        }
        cursor = r.cursor;
      } catch {
        // A failed poll is retried on the next tick.
      }
      if (!stopped) timer = setTimeout(tick, 2000);
    };
    let timer = setTimeout(tick, 0);
    return () => {
      stopped = true;
      clearTimeout(timer);
    };
  }, [live, query]);

  // Marks on rows: ▶ when the session was recorded, ⚠ when it hit exceptions.
  useEffect(() => {
    const ids = [...new Set((page?.results ?? []).map((l) => l.session_id).filter((s): s is string => !!s))].filter((s) => !(s in flags));
    if (ids.length === 0) return;
    api<{ results: { session_id: string; has_recording: boolean; exceptions: number }[] }>(`sessions/flags?ids=${ids.slice(0, 500).map(encodeURIComponent).join(',')}`).then(
      (r) => setFlags((f) => ({ ...f, ...Object.fromEntries(r.results.map((x) => [x.session_id, x])) })),
      () => {},
    );
  }, [page]);

  const open = (log: Log) => navigate(`/logs/${log.id}${url.search}`);
  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      if (!page || (e.target as HTMLElement).tagName === 'INPUT') return;
      const move = (i: number) => {
        const el = listRef.current;
        if (el && (i * ROW_HEIGHT < el.scrollTop || (i + 1) * ROW_HEIGHT > el.scrollTop + el.clientHeight)) {
          el.scrollTop = Math.max(0, i * ROW_HEIGHT - el.clientHeight / 2);
        }
        return i;
      };
      if (e.key === 'ArrowDown') setCursorIndex((i) => move(Math.min(i + 1, page.results.length - 1)));
      else if (e.key === 'ArrowUp') setCursorIndex((i) => move(Math.max(i - 1, 0)));
      else if (e.key === 'Enter' && page.results[cursorIndex]) open(page.results[cursorIndex]);
      else if (e.key === 'Escape' && selected) navigate(`/logs${url.search}`);
    };
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  });

  const loadMore = async () => {
    if (!page?.next_cursor) return;
    const more = await api<LogPage>(`logs?${query}&limit=200&cursor=${page.next_cursor}`);
    setPage({ ...more, results: [...page.results, ...more.results] });
  };
  const max = useMemo(() => Math.max(1, ...(hist?.buckets.map((b) => b.total) ?? [1])), [hist]);
  const severityFilter = url.searchParams.getAll('severity');

  return (
    <div className="logs-page">
      <div className="toolbar">
        <form
          onSubmit={(e) => {
            e.preventDefault();
            setQuery({ q: search });
          }}
          className="search"
        >
          <input placeholder="Search log messages…" value={search} onChange={(e) => setSearch(e.target.value)} aria-label="Search logs" />
        </form>
        <select
          value={RANGES.some(([v]) => v === (url.searchParams.get('from') ?? '-1h')) ? (url.searchParams.get('from') ?? '-1h') : 'custom'}
          onChange={(e) => e.target.value !== 'custom' && setQuery({ from: e.target.value, to: null })}
          aria-label="Time range"
        >
          {RANGES.map(([v, label]) => (
            <option key={v} value={v}>
              {label}
            </option>
          ))}
          <option value="custom">Custom range</option>
        </select>
        <input
          type="datetime-local"
          aria-label="From"
          value={localInput(url.searchParams.get('from'))}
          onChange={(e) => e.target.value && setQuery({ from: new Date(e.target.value).toISOString() })}
        />
        <input
          type="datetime-local"
          aria-label="To"
          value={localInput(url.searchParams.get('to'))}
          onChange={(e) => setQuery({ to: e.target.value ? new Date(e.target.value).toISOString() : null })}
        />
        <select value={url.searchParams.get('service') ?? ''} onChange={(e) => setQuery({ service: e.target.value || null })} aria-label="Service">
          <option value="">All services</option>
          {facets?.services.map((f) => (
            <option key={f.value} value={f.value}>
              {f.value || '(none)'} ({facets.sampled ? `${f.count} of the newest matches` : f.count})
            </option>
          ))}
        </select>
        <form
          onSubmit={(e) => {
            e.preventDefault();
            if (attrInput.trim()) setQuery({ attr: attrInput.trim() });
            setAttrInput('');
          }}
        >
          <input list="attr-suggestions" placeholder="attribute=value" value={attrInput} onChange={(e) => setAttrInput(e.target.value)} aria-label="Attribute filter" />
          <datalist id="attr-suggestions">
            {facets?.attributes.flatMap((a) => [
              <option key={a.key} value={a.key} />,
              ...a.values.map((v) => <option key={`${a.key}=${v.value}`} value={`${a.key}=${v.value}`} />),
            ])}
          </datalist>
        </form>
        <button className={`chip ${live ? 'on live' : ''}`} onClick={() => setQuery({ live: live ? null : '1' })} title="Show new logs as they arrive">
          {live ? '● Live' : 'Live tail'}
        </button>
        <Link className="chip" to={`/alerts?query=${encodeURIComponent(alertQuery(url.searchParams))}`} title="Be notified when this search matches too many logs">
          Alert on this search
        </Link>
        <div className="severity-filter">
          {SEVERITIES.map((s) => (
            <button
              key={s}
              className={`chip sev-${s} ${severityFilter.includes(s) ? 'on' : ''}`}
              onClick={() => {
                const next = severityFilter.includes(s) ? severityFilter.filter((x) => x !== s) : [...severityFilter, s];
                setQuery({ severity: next.join(',') || null });
              }}
            >
              {s}
            </button>
          ))}
        </div>
      </div>
      {[...url.searchParams.entries()].filter(([k]) => ['session_id', 'distinct_id', 'service', 'trace_id', 'attr'].includes(k)).length > 0 && (
        <div className="active-filters">
          {[...url.searchParams.entries()]
            .filter(([k]) => ['session_id', 'distinct_id', 'service', 'trace_id', 'attr'].includes(k))
            .map(([k, v]) => (
              <button key={k} className="chip on" onClick={() => setQuery({ [k]: null })}>
                {k} = {v} ✕
              </button>
            ))}
        </div>
      )}
      <div className="histogram" aria-label="Log volume" onMouseLeave={() => setDrag(null)}>
        {hist?.buckets.map((b, i) => (
          <div
            key={b.start}
            className={`bar ${drag && i >= Math.min(drag.from, drag.to) && i <= Math.max(drag.from, drag.to) ? 'dragged' : ''}`}
            title={`${formatTime(b.start)}: ${b.total} logs (drag to zoom)`}
            onMouseDown={() => setDrag({ from: i, to: i })}
            onMouseEnter={() => drag && setDrag({ ...drag, to: i })}
            onMouseUp={() => {
              if (!drag || !hist) return;
              const [a, z] = [Math.min(drag.from, i), Math.max(drag.from, i)];
              const from = new Date(Date.parse(hist.buckets[a].start));
              const to = new Date(Date.parse(hist.buckets[z].start) + hist.bucket_seconds * 1000);
              setDrag(null);
              setQuery({ from: from.toISOString(), to: to.toISOString() }, false);
            }}
          >
            {SEVERITIES.slice()
              .reverse()
              .map((s) =>
                b.counts[s] ? <div key={s} className={`seg sev-${s}`} style={{ height: `${(b.counts[s] / max) * 100}%` }} /> : null,
              )}
          </div>
        ))}
      </div>
      <div className="strip" data-testid="impact">
        {summary ? summaryText(summary) : ' '}
      </div>
      <div
        className="log-list"
        ref={listRef}
        role="list"
        onScroll={(e) => setScroll({ top: e.currentTarget.scrollTop, height: e.currentTarget.clientHeight })}
      >
        {error && <div className="error-banner">Could not load logs: {error}</div>}
        {!page && !error && <div className="skeleton">Loading logs…</div>}
        {page && page.results.length === 0 && (
          <div className="empty">
            <h3>No logs match</h3>
            <p className="muted">Widen the time range or clear filters. New here? See the guide to send logs with OpenTelemetry.</p>
          </div>
        )}
        {page && (() => {
          // Only the rows in view (plus some overscan) are rendered; spacers keep the scroll size.
          const first = Math.max(0, Math.floor(scroll.top / ROW_HEIGHT) - OVERSCAN);
          const last = Math.min(page.results.length, Math.ceil((scroll.top + scroll.height) / ROW_HEIGHT) + OVERSCAN);
          return (
            <>
              <div style={{ height: first * ROW_HEIGHT }} />
              {page.results.slice(first, last).map((log, k) => {
                const i = first + k;
                return (
                  <div
                    key={log.id}
                    role="listitem"
                    className={`log-row ${i === cursorIndex ? 'cursor' : ''} ${selected === log.id ? 'selected' : ''}`}
                    onClick={() => {
                      setCursorIndex(i);
                      open(log);
                    }}
                  >
                    <span className="time">{formatTime(log.timestamp)}</span>
                    <span className={`sev sev-${log.severity}`}>{log.severity}</span>
                    <span className="service">{log.service || '—'}</span>
                    <span className="badges">
                      {log.session_id && flags[log.session_id]?.has_recording ? <span title="This session was recorded">▶</span> : null}
                      {log.session_id && flags[log.session_id]?.exceptions ? (
                        <span className="warn-badge" title={`${flags[log.session_id].exceptions} error occurrences in this session`}>⚠</span>
                      ) : null}
                    </span>
                    <span className="body">{log.body}</span>
                  </div>
                );
              })}
              <div style={{ height: (page.results.length - last) * ROW_HEIGHT }} />
            </>
          );
        })()}
        {page?.has_more && (
          <button className="load-more" onClick={loadMore}>
            Load older logs
          </button>
        )}
      </div>
      {selected && <LogDrawer id={selected} onClose={() => navigate(`/logs${url.search}`)} />}
    </div>
  );
}
