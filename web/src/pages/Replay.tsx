import { useEffect, useRef, useState } from 'react';
import { Replayer } from 'rrweb';
import 'rrweb/dist/style.css';
import { api, ApiError, formatDuration, formatTime, Log, Recording, RecordingList, SessionEvent, SessionEventList, SessionLogs, Snapshots, useApi } from '../api';
import { Column, SortableTable } from '../table';
import { Ago } from '../time';
import { Link, setQuery, useLocation } from '../router';
import { NetworkTab } from './NetworkTab';
import { StackTrace } from './StackTrace';
import { nextSwitch, Switch, windowAt, windowSwitches } from './windows';

/** An rrweb event as recorded (rrweb's format, which the API passes through). */
type RrwebEvent = {
  timestamp: number;
  type: number;
  data?: { plugin?: string; payload?: { level?: string; payload?: string[] }; source?: number; type?: number; href?: string };
};
type Tab = 'logs' | 'network' | 'console' | 'errors' | 'events';

/** The replay: rrweb's Replayer (its iframe is sandboxed without scripts, so recorded pages
 * never run code in Tether's origin), with the session's backend logs following playback. */
export function ReplayPage({ sessionId }: { sessionId: string }) {
  const url = useLocation();
  const startAt = Number(url.searchParams.get('t') ?? 0);
  const mark = Number(url.searchParams.get('mark') ?? 0);
  const holder = useRef<HTMLDivElement>(null);
  const players = useRef(new Map<string, { player: Replayer; root: HTMLDivElement; href: string }>());
  const switches = useRef<Switch[]>([]);
  const activeRef = useRef<string | null>(null);
  const playingRef = useRef(false);
  const [windowIds, setWindowIds] = useState<string[]>([]);
  const [active, setActive] = useState<string | null>(null);
  const [recording, setRecording] = useState<Recording | null>(null);
  const [logs, setLogs] = useState<Log[]>([]);
  const [events, setEvents] = useState<SessionEvent[]>([]);
  const [consoleLines, setConsoleLines] = useState<{ timestamp: number; level: string; text: string }[]>([]);
  // The side tab is in the URL (`?tab=errors`) like the log drawer, so a link opens it.
  const TABS: Tab[] = ['logs', 'network', 'console', 'errors', 'events'];
  // A log's "View recording" names its trace: its request in the Network tab.
  const trace = url.searchParams.get('trace');
  const tab: Tab = TABS.find((t) => t === url.searchParams.get('tab')) ?? (trace ? 'network' : 'logs');
  const setTab = (t: Tab) => setQuery({ tab: t === 'logs' ? null : t });
  const [clicks, setClicks] = useState<number[]>([]);
  const [skipInactive, setSkipInactive] = useState(true);
  const [error, setError] = useState<string | null>(null);
  const [now, setNow] = useState(0);
  const [playing, setPlaying] = useState(false);
  const [speed, setSpeed] = useState(1);

  useEffect(() => {
    // Every request of this session is cancelled when another session is opened.
    const controller = new AbortController();
    const { signal } = controller;
    const id = encodeURIComponent(sessionId);
    api<Recording>(`recordings/${id}`, { signal }).then(setRecording, (e: ApiError) => !signal.aborted && setError(e.message));
    api<SessionLogs>(`sessions/${id}/logs`, { signal }).then((r) => setLogs(r.results), () => !signal.aborted && setLogs([]));
    api<SessionEventList>(`sessions/${id}/events`, { signal }).then((r) => setEvents(r.results), () => !signal.aborted && setEvents([]));
    let disposed = false;
    api<Snapshots>(`recordings/${id}/snapshots`, { signal }).then(
      (snap) => {
        if (disposed || !holder.current) return;
        const windows = snap.windows.map((w) => ({ ...w, events: (w.events as RrwebEvent[]).slice().sort((a, b) => a.timestamp - b.timestamp) }));
        switches.current = windowSwitches(windows);
        const playable = windows.filter((w) => switches.current.some((sw) => sw.windowId === w.window_id));
        const all = playable.flatMap((w) => w.events).sort((a, b) => a.timestamp - b.timestamp);
        // MouseInteraction (source 2) of type Click (2), in any tab: markers on the timeline.
        setClicks(all.filter((e) => e.type === 3 && e.data?.source === 2 && e.data?.type === 2).map((e) => e.timestamp));
        setConsoleLines(
          all
            .filter((e) => e.type === 6 && e.data?.plugin === 'rrweb/console@1')
            .map((e) => ({ timestamp: e.timestamp, level: e.data?.payload?.level ?? 'log', text: (e.data?.payload?.payload ?? []).join(' ') })),
        );
        // One rrweb Replayer per tab, each in its own box; only the tab on screen plays.
        for (const w of playable) {
          const root = document.createElement('div');
          root.className = 'window-root';
          root.dataset.windowId = w.window_id;
          holder.current.appendChild(root);
          const player = new Replayer(w.events as never, { root, skipInactive: playable.length === 1, showWarning: false, mouseTail: false });
          const fit = () => {
            const box = holder.current;
            if (!box) return;
            const scale = Math.min(box.clientWidth / (Number(player.iframe.width) || 1), box.clientHeight / (Number(player.iframe.height) || 1), 1);
            player.wrapper.style.transform = `scale(${scale})`;
          };
          player.on('resize', fit);
          window.addEventListener('resize', fit);
          setTimeout(fit, 0);
          players.current.set(w.window_id, { player, root, href: w.events.find((e) => e.type === 4)?.data?.href ?? '' });
        }
        setWindowIds(playable.map((w) => w.window_id));
        const first = all[0]?.timestamp ?? 0;
        const at = startAt || first;
        const w = windowAt(switches.current, at);
        if (w) show(w, at, false);
        setNow(at);
      },
      (e: ApiError) => setError(e.message),
    );
    return () => {
      controller.abort();
      disposed = true;
      for (const { player, root } of players.current.values()) {
        player.destroy();
        root.remove();
      }
      players.current.clear();
      activeRef.current = null;
    };
  }, [sessionId]);

  /** Puts `windowId` on screen at session time `at`, playing or paused; every other tab pauses. */
  const show = (windowId: string, at: number, play: boolean) => {
    for (const [id, { player, root }] of players.current) {
      if (id === windowId) continue;
      player.pause();
      root.style.display = 'none';
    }
    const target = players.current.get(windowId);
    if (!target) return;
    target.root.style.display = '';
    const offset = Math.max(0, at - target.player.getMetaData().startTime);
    if (play) target.player.play(offset);
    else target.player.pause(offset);
    activeRef.current = windowId;
    setActive(windowId);
  };
  const onScreen = () => (activeRef.current ? players.current.get(activeRef.current)?.player : undefined);

  useEffect(() => {
    const timer = setInterval(() => {
      const p = onScreen();
      if (!p) return;
      const meta = p.getMetaData();
      const t = meta.startTime + p.getCurrentTime();
      setNow(t);
      if (!playingRef.current) return;
      // The person went to another tab: follow them there. A tab whose recording ended hands
      // over to the next one that comes on screen (or playback stops).
      const w = windowAt(switches.current, t);
      if (w && w !== activeRef.current) show(w, t, true);
      else if (t >= meta.endTime) {
        const next = nextSwitch(switches.current, t);
        if (next) show(next.windowId, next.at, true);
        else setPlaying(false);
      }
    }, 200);
    return () => clearInterval(timer);
  }, []);
  useEffect(() => {
    playingRef.current = playing;
  }, [playing]);

  const seek = (ms: number) => {
    const w = windowAt(switches.current, ms);
    if (!w) return;
    show(w, ms, playing);
    setNow(ms);
    setQuery({ t: String(Math.round(ms)) });
    // Rebuilding the page at `ms` can focus the replay's iframe, whose keys never reach this window.
    if (document.activeElement instanceof HTMLIFrameElement) document.activeElement.blur();
  };
  const start = recording?.start_ms ?? 0;
  const duration = recording ? Math.max(recording.duration_ms, 1) : 1;
  const togglePlay = () => {
    const p = onScreen();
    if (!p) return;
    playingRef.current = !playing;
    if (playing) p.pause();
    else p.play(p.getCurrentTime());
    setPlaying(!playing);
  };
  const changeSpeed = (s: number) => {
    setSpeed(s);
    for (const { player } of players.current.values()) player.setConfig({ speed: s });
  };
  // Keyboard: space plays or pauses, ← and → step 5 s, 1 2 4 8 set the speed.
  const keys = useRef<(e: KeyboardEvent) => void>(() => {});
  keys.current = (e) => {
    const target = e.target as HTMLElement;
    if (['INPUT', 'SELECT', 'TEXTAREA', 'BUTTON'].includes(target.tagName) || e.metaKey || e.ctrlKey || e.altKey) return;
    const end = start + duration;
    if (e.key === ' ') togglePlay();
    else if (e.key === 'ArrowLeft') seek(Math.max(start, now - 5000));
    else if (e.key === 'ArrowRight') seek(Math.min(end, now + 5000));
    else if (['1', '2', '4', '8'].includes(e.key)) changeSpeed(Number(e.key));
    else return;
    e.preventDefault();
  };
  useEffect(() => {
    const onKey = (e: KeyboardEvent) => keys.current(e);
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, []);
  const current = logs.filter((l) => Date.parse(l.timestamp) <= now).length - 1;
  // The panel scrolls with playback: the current log stays in view.
  const panel = useRef<HTMLElement>(null);
  useEffect(() => {
    if (tab !== 'logs' || current < 0) return;
    panel.current?.querySelectorAll('.panel-log')[current]?.scrollIntoView({ block: 'nearest' });
  }, [current, tab]);

  return (
    <div className="replay-page">
      <div className="replay-head">
        <h2>Session replay</h2>
        {recording && (
          <div className="muted">
            {recording.distinct_id && <Link to={`/persons/${encodeURIComponent(recording.distinct_id)}`}>{recording.distinct_id}</Link>} · started{' '}
            {formatTime(recording.start_time)} · {formatDuration(recording.duration_ms)} · {recording.first_url}
          </div>
        )}
      </div>
      {error && <div className="error-banner">{error === 'No recording for this session' ? 'No recording for this session' : `Could not load the recording: ${error}`}</div>}
      <div className="replay-body">
        <div className="player-column">
          {windowIds.length > 1 && (
            <div className="window-tabs" data-testid="tab-indicator">
              <span className="muted small">{windowIds.length} tabs · on screen:</span>
              {windowIds.map((id, i) => (
                <button
                  key={id}
                  className={`chip ${id === active ? 'on' : ''}`}
                  aria-pressed={id === active}
                  title={players.current.get(id)?.href}
                  onClick={() => show(id, now, playing)}
                >
                  Tab {i + 1}
                </button>
              ))}
            </div>
          )}
          <div className="player" ref={holder} data-testid="player" />
          <div className="controls">
            <button className="primary" onClick={togglePlay} title="Play or pause (space)">
              {playing ? 'Pause' : 'Play'}
            </button>
            <select value={speed} onChange={(e) => changeSpeed(Number(e.target.value))} aria-label="Speed" title="Speed (keys 1, 2, 4, 8)">
              {[1, 2, 4, 8].map((s) => (
                <option key={s} value={s}>
                  {s}×
                </option>
              ))}
            </select>
            {/* rrweb skips one tab's idle time, which is when the person is in another tab: off for several tabs. */}
            <label className="check small" title={windowIds.length > 1 ? 'Not with several tabs: a tab is idle while the person is in another' : undefined}>
              <input
                type="checkbox"
                checked={skipInactive && windowIds.length <= 1}
                disabled={windowIds.length > 1}
                onChange={(e) => {
                  setSkipInactive(e.target.checked);
                  onScreen()?.setConfig({ skipInactive: e.target.checked });
                }}
              />
              Skip inactivity
            </label>
            <span className="muted" data-testid="elapsed" title="← and → step 5 seconds">
              {recording ? `${formatDuration(Math.max(0, now - start))} / ${formatDuration(recording.duration_ms)}` : ''}
            </span>
          </div>
          <div
            className="timeline"
            onClick={(e) => {
              const r = (e.currentTarget as HTMLDivElement).getBoundingClientRect();
              seek(start + ((e.clientX - r.left) / r.width) * duration);
            }}
          >
            <div className="progress" style={{ width: `${Math.min(100, ((now - start) / duration) * 100)}%` }} />
            {mark > 0 && (
              <div className="marker log-mark" title="The log you came from" style={{ left: `${((mark - start) / duration) * 100}%` }}>
                <span className="mark-label">log</span>
              </div>
            )}
            {clicks.map((t, i) => (
              <div key={`c${i}`} className="marker click-mark" title="Click" style={{ left: `${((t - start) / duration) * 100}%` }} />
            ))}
            {events
              .filter((e) => e.event === '$exception')
              .map((e) => (
                <div key={e.uuid} className="marker exception-mark" title={e.exception?.value ?? 'exception'} style={{ left: `${((e.timestamp_ms - start) / duration) * 100}%` }} />
              ))}
            {logs
              .filter((l) => l.severity === 'error' || l.severity === 'fatal')
              .map((l) => (
                <div key={l.id} className="marker error-mark" title={l.body} style={{ left: `${((Date.parse(l.timestamp) - start) / duration) * 100}%` }} />
              ))}
          </div>
        </div>
        <aside className="side-panel" ref={panel}>
          <div className="tabs small-tabs" role="tablist">
            {(
              [
                ['logs', `Backend logs (${logs.length})`],
                ['network', 'Network'],
                ['console', `Console (${consoleLines.length})`],
                ['errors', `Errors (${events.filter((e) => e.event === '$exception').length})`],
                ['events', `Events (${events.length})`],
              ] as [Tab, string][]
            ).map(([key, label]) => (
              <button key={key} role="tab" className={tab === key ? 'tab active' : 'tab'} onClick={() => setTab(key)}>
                {label}
              </button>
            ))}
          </div>
          {tab === 'logs' && (
            <>
              {logs.length === 0 && <p className="muted">No backend logs carried this session's id.</p>}
              {logs.map((l, i) => (
                <div
                  key={l.id}
                  className={`panel-log ${i === current ? 'current' : ''} ${i > current ? 'future' : ''} sev-row-${l.severity}`}
                  onClick={() => seek(Date.parse(l.timestamp))}
                >
                  <span className={`sev sev-${l.severity}`}>{l.severity}</span> <span className="muted small">{formatTime(l.timestamp)}</span>
                  <div>{l.body}</div>
                </div>
              ))}
            </>
          )}
          {tab === 'network' && (
            <NetworkTab sessionId={sessionId} now={now} playing={playing} pageHost={hostOf(recording?.first_url)} trace={trace} seek={seek} />
          )}
          {tab === 'console' &&
            (consoleLines.length === 0 ? (
              <p className="muted">No console output was recorded.</p>
            ) : (
              consoleLines.map((c, i) => (
                <div key={i} className={`panel-log ${c.timestamp > now ? 'future' : ''} ${c.level === 'error' ? 'sev-row-error' : ''}`} onClick={() => seek(c.timestamp)}>
                  <span className="muted small">{c.level}</span> <code>{c.text}</code>
                </div>
              ))
            ))}
          {tab === 'errors' &&
            (events.filter((e) => e.event === '$exception').length === 0 ? (
              <p className="muted">No exceptions in this session.</p>
            ) : (
              events
                .filter((e) => e.event === '$exception')
                .map((e) => (
                  <div key={e.uuid} className={`panel-log sev-row-error ${e.timestamp_ms > now ? 'future' : ''}`} onClick={() => seek(e.timestamp_ms)}>
                    {e.exception ? <StackTrace exceptions={[e.exception]} /> : <strong>Error</strong>}
                  </div>
                ))
            ))}
          {tab === 'events' &&
            events.map((e) => (
              <div key={e.uuid} className={`panel-log event-row ${e.timestamp_ms > now ? 'future' : ''}`} onClick={() => seek(e.timestamp_ms)}>
                <span className="muted small event-time" title={formatTime(e.timestamp)}>{formatClock(e.timestamp_ms - start)}</span>{' '}
                <code>{e.event}</code> {e.label && <span className="event-label">{e.label}</span>}
              </div>
            ))}
        </aside>
      </div>
    </div>
  );
}

/** A moment of the recording as m:ss from its start. */
function formatClock(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, '0')}`;
}

function hostOf(url: string | null | undefined): string {
  try {
    return url ? new URL(url).host : '';
  } catch {
    return '';
  }
}

/** How busy a session was: the share of its time the person was active, and what they did. */
function Activity({ r }: { r: Recording }) {
  const share = r.duration_ms > 0 ? Math.min(1, r.active_ms / r.duration_ms) : 0;
  return (
    <span className="activity" title={`Active ${formatDuration(r.active_ms)} of ${formatDuration(r.duration_ms)}`}>
      <span className="activity-bar"><span style={{ width: `${Math.round(share * 100)}%` }} /></span>
      <span className="muted small">{r.clicks} clicks · {r.keypresses} keys{r.console_errors > 0 ? ` · ${r.console_errors} console errors` : ''}</span>
    </span>
  );
}

const RECORDING_COLUMNS: Column<Recording>[] = [
  { key: 'start', label: 'Started', sortBy: (r) => r.start_ms, render: (r) => <Link to={`/replay/${encodeURIComponent(r.session_id)}`}><Ago ms={r.start_ms} /></Link> },
  { key: 'person', label: 'Person', sortBy: (r) => r.distinct_id, render: (r) => r.distinct_id && <Link to={`/persons/${encodeURIComponent(r.distinct_id)}`}>{r.distinct_id}</Link> },
  { key: 'duration', label: 'Duration', sortBy: (r) => r.duration_ms, render: (r) => formatDuration(r.duration_ms), className: 'num' },
  { key: 'activity', label: 'Activity', sortBy: (r) => r.active_ms, render: (r) => <Activity r={r} /> },
  { key: 'errors', label: 'Errors', sortBy: (r) => r.exceptions, render: (r) => (r.exceptions > 0 ? <span className="sev sev-error">{r.exceptions === 1 ? '1 error' : `${r.exceptions} errors`}</span> : null) },
  { key: 'url', label: 'First page', render: (r) => <span className="muted">{r.first_url}</span> },
];

export function ReplaysPage() {
  const url = useLocation();
  const [person, setPerson] = useState(url.searchParams.get('distinct_id') ?? '');
  const params = new URLSearchParams(url.searchParams);
  params.delete('sort');
  const list = useApi<RecordingList>(`recordings?${params}`);
  return (
    <div className="list-page">
      <h2>Replays</h2>
      <div className="toolbar">
        <form
          onSubmit={(e) => {
            e.preventDefault();
            setQuery({ distinct_id: person.trim() || null });
          }}
        >
          <input placeholder="Person (distinct id)" value={person} onChange={(e) => setPerson(e.target.value)} aria-label="Person" />
        </form>
        <select value={url.searchParams.get('from') ?? ''} onChange={(e) => setQuery({ from: e.target.value || null })} aria-label="Since">
          <option value="">Any time</option>
          <option value="-1h">Last hour</option>
          <option value="-24h">Last 24 hours</option>
          <option value="-7d">Last 7 days</option>
        </select>
        <select value={url.searchParams.get('min_duration') ?? ''} onChange={(e) => setQuery({ min_duration: e.target.value || null })} aria-label="Minimum duration">
          <option value="">Any length</option>
          <option value="10">≥ 10 s</option>
          <option value="60">≥ 1 min</option>
          <option value="300">≥ 5 min</option>
        </select>
        <label className="check">
          <input type="checkbox" checked={url.searchParams.get('has_errors') === 'true'} onChange={(e) => setQuery({ has_errors: e.target.checked ? 'true' : null })} />
          Only sessions with errors
        </label>
      </div>
      {list.error && <div className="error-banner">Could not load recordings: {list.error}</div>}
      {!list.data && !list.error && <div className="skeleton">Loading recordings…</div>}
      {list.data?.results.length === 0 && <div className="empty"><h3>No recordings match</h3><p className="muted">Point posthog-js at this server to record sessions, or widen the filters.</p></div>}
      {list.data && list.data.results.length > 0 && (
        <SortableTable label="Recordings" rows={list.data.results} columns={RECORDING_COLUMNS} rowKey={(r) => r.session_id} defaultSort="-start" />
      )}
    </div>
  );
}
