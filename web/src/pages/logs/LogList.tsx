// The log lines: only the rows in view are in the DOM (rows have a fixed height), the
// cursor moves with ↑/↓, Enter opens the line under it and Esc closes the drawer.
import { useEffect, useRef, useState, type ReactNode } from 'react';
import { formatTime, Log, LogPage } from '../../api';
import { SessionFlags } from './query';

const ROW_HEIGHT = 24;
/** A row shows one line: longer bodies are cut before they reach the DOM (the drawer has all). */
const ROW_TEXT = 2000;
const OVERSCAN = 20;

export function LogList(props: {
  page: LogPage | null;
  /** The page is the previous search's, shown dimmed while this one runs. */
  stale: boolean;
  error: string | null;
  flags: SessionFlags;
  selected: string | null;
  onOpen: (log: Log) => void;
  onClose: () => void;
  onMore: () => void;
}) {
  const { page, flags, selected } = props;
  const [cursorIndex, setCursorIndex] = useState(0);
  const [scroll, setScroll] = useState({ top: 0, height: 800 });
  const listRef = useRef<HTMLDivElement>(null);
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
      else if (e.key === 'Enter' && page.results[cursorIndex]) props.onOpen(page.results[cursorIndex]);
      else if (e.key === 'Escape' && selected) props.onClose();
    };
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  });
  // Only the rows in view (plus some overscan) are rendered; spacers keep the scroll size.
  const first = Math.max(0, Math.floor(scroll.top / ROW_HEIGHT) - OVERSCAN);
  const last = Math.min(page?.results.length ?? 0, Math.ceil((scroll.top + scroll.height) / ROW_HEIGHT) + OVERSCAN);
  return (
    <div
      className={`log-list ${props.stale ? 'stale' : ''}`}
      aria-busy={props.stale}
      ref={listRef}
      role="list"
      onScroll={(e) => setScroll({ top: e.currentTarget.scrollTop, height: e.currentTarget.clientHeight })}
    >
      {props.error && <div className="error-banner">Could not load logs: {props.error}</div>}
      {!page && !props.error && <div className="skeleton">Loading logs…</div>}
      {page && page.results.length === 0 && (
        <div className="empty">
          <h3>No logs match</h3>
          <p className="muted">Widen the time range or clear filters. New here? See the guide to send logs with OpenTelemetry.</p>
        </div>
      )}
      {page && (
        <>
          <div style={{ height: first * ROW_HEIGHT }} />
          {page.results.slice(first, last).map((log, k) => {
            const i = first + k;
            const previous = page.results[i - 1];
            const flag = log.session_id ? flags[log.session_id] : undefined;
            return (
              <div
                key={log.id}
                role="listitem"
                className={`log-row ${i === cursorIndex ? 'cursor' : ''} ${selected === log.id ? 'selected' : ''}`}
                onClick={() => {
                  setCursorIndex(i);
                  props.onOpen(log);
                }}
              >
                <span className="time" title={formatTime(log.timestamp)}>
                  {rowTime(log.timestamp, previous?.timestamp)}
                </span>
                <span className={`sev sev-${log.severity}`}>{log.severity}</span>
                <span className="service">{log.service || '—'}</span>
                <span className="badges">
                  {flag?.has_recording ? <span title="This session was recorded">▶</span> : null}
                  {flag?.exceptions ? (
                    <span className="warn-badge" title={`${flag.exceptions} error occurrences in this session`}>⚠</span>
                  ) : null}
                </span>
                <span className="body">{marked(log.body.slice(0, ROW_TEXT), page.highlight)}</span>
              </div>
            );
          })}
          <div style={{ height: (page.results.length - last) * ROW_HEIGHT }} />
        </>
      )}
      {page?.has_more && (
        <button className="load-more" onClick={props.onMore}>
          Load older logs
        </button>
      )}
    </div>
  );
}

/** `text` with every case-insensitive occurrence of `terms` in a <mark>. */
function marked(text: string, terms: string[]): ReactNode {
  const wanted = terms.map((t) => t.toLowerCase()).filter((t) => t.length > 0);
  if (wanted.length === 0) return text;
  const lower = text.toLowerCase();
  // Lowercasing a few letters changes the length; their lines go unmarked rather than wrong.
  if (lower.length !== text.length) return text;
  const parts: ReactNode[] = [];
  let at = 0;
  while (at < text.length) {
    let next = -1;
    let length = 0;
    for (const t of wanted) {
      const i = lower.indexOf(t, at);
      if (i >= 0 && (next < 0 || i < next || (i === next && t.length > length))) [next, length] = [i, t.length];
    }
    if (next < 0) break;
    parts.push(text.slice(at, next), <mark key={next}>{text.slice(next, next + length)}</mark>);
    at = next + length;
  }
  parts.push(text.slice(at));
  return parts;
}

/** The time of day of a row (to the millisecond); where the date differs from the row above
 * (for the first row: from today), the date and the minute instead (the full time is the
 * row's tooltip), so the column stays narrow and the message starts near the left. */
function rowTime(iso: string, previousIso: string | undefined): string {
  const d = new Date(iso);
  const day = d.toDateString();
  const sameDay = previousIso ? new Date(previousIso).toDateString() === day : day === new Date().toDateString();
  if (sameDay) return `${d.toLocaleTimeString(undefined, { hour12: false })}.${String(d.getMilliseconds()).padStart(3, '0')}`;
  const minute = d.toLocaleTimeString(undefined, { hour12: false, hour: '2-digit', minute: '2-digit' });
  return `${d.toLocaleDateString(undefined, { month: 'short', day: 'numeric' })} ${minute}`;
}
