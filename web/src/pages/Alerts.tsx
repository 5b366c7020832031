import { Fragment, useEffect, useState } from 'react';
import { Alert, AlertEvent, AlertHistory, AlertList, AlertRule, api, ApiError, formatTime, useApi } from '../api';
import { Link, setQuery, useLocation } from '../router';
import { useCan } from '../session';

type Rule = AlertRule;

/** The logs search of a threshold alert, as a link to the logs page. */
function ruleText(rule: Rule) {
  if (rule.kind === 'new_issue') return <span>a new or regressed error issue</span>;
  return (
    <span>
      more than {rule.threshold} logs in {rule.window_secs >= 60 ? `${rule.window_secs / 60} min` : `${rule.window_secs} s`} matching{' '}
      <Link to={`/logs?${rule.query}`}>
        <code>{rule.query || 'any log'}</code>
      </Link>
    </span>
  );
}

function AlertForm({ onCreated }: { onCreated: () => void }) {
  const url = useLocation();
  const [name, setName] = useState('');
  const [kind, setKind] = useState<Rule['kind']>('log_threshold');
  // "Alert on this search" on the logs page opens this form with the search filled in.
  const [query, setQueryText] = useState(url.searchParams.get('query') ?? '');
  const [threshold, setThreshold] = useState(20);
  const [windowMin, setWindowMin] = useState(5);
  const [webhook, setWebhook] = useState('');
  const [error, setError] = useState<string | null>(null);
  return (
    <form
      className="settings-form"
      onSubmit={async (e) => {
        e.preventDefault();
        const rule: Rule =
          kind === 'new_issue' ? { kind } : { kind, query, threshold, window_secs: Math.round(windowMin * 60) };
        try {
          await api('alerts', { method: 'POST', body: JSON.stringify({ name, rule, webhook_url: webhook }) });
          setError(null);
          setName('');
          setQuery({ query: null });
          onCreated();
        } catch (err) {
          setError((err as ApiError).message);
        }
      }}
    >
      <fieldset>
        <legend>New alert</legend>
        <label className="selector">
          <span>Name</span>
          <input aria-label="Alert name" required value={name} onChange={(e) => setName(e.target.value)} placeholder="Payment failures" />
        </label>
        <label className="selector">
          <span>When</span>
          <select aria-label="Alert kind" value={kind} onChange={(e) => setKind(e.target.value as Rule['kind'])}>
            <option value="log_threshold">more than N matching logs within a window</option>
            <option value="new_issue">a new or regressed error issue appears</option>
          </select>
        </label>
        {kind === 'log_threshold' && (
          <>
            <label className="selector">
              <span>Logs search (as in the logs page's URL: q, severity, service, attr)</span>
              <input aria-label="Alert query" value={query} onChange={(e) => setQueryText(e.target.value)} placeholder="q=payment failed&severity=error" />
            </label>
            <label className="days">
              <span>More than (logs)</span>
              <input type="number" min={0} aria-label="Threshold" value={threshold} onChange={(e) => setThreshold(e.target.valueAsNumber)} />
            </label>
            <label className="days">
              <span>Within (minutes)</span>
              <input type="number" min={0.1} max={1440} step="any" aria-label="Window in minutes" value={windowMin} onChange={(e) => setWindowMin(e.target.valueAsNumber)} />
            </label>
          </>
        )}
        <label className="selector">
          <span>Webhook URL (receives a JSON POST when it fires and resolves)</span>
          <input aria-label="Webhook URL" required type="url" value={webhook} onChange={(e) => setWebhook(e.target.value)} placeholder="https://hooks.example.com/…" />
        </label>
      </fieldset>
      <div className="toolbar">
        <button className="primary" type="submit">Create alert</button>
        {error && <span className="error-text" role="status">{error}</span>}
      </div>
    </form>
  );
}

function History({ alert }: { alert: Alert }) {
  const [events, setEvents] = useState<AlertEvent[] | null>(null);
  useEffect(() => {
    const controller = new AbortController();
    api<AlertHistory>(`alerts/${alert.id}/history`, { signal: controller.signal }).then(
      (r) => setEvents(r.results),
      () => setEvents([]),
    );
    return () => controller.abort();
  }, [alert.id, alert.firing]);
  if (!events) return <div className="skeleton">Loading history…</div>;
  if (events.length === 0) return <p className="muted">It has not fired yet.</p>;
  return (
    <table className="table alert-history">
      <thead>
        <tr><th>When</th><th>What</th><th>Notification</th></tr>
      </thead>
      <tbody>
        {events.map((e) => (
          <tr key={e.id}>
            <td>{formatTime(new Date(e.at_ms).toISOString())}</td>
            <td>
              <span className={`status status-${e.kind === 'fired' ? 'active' : 'resolved'}`}>{e.payload?.status ?? e.kind}</span>{' '}
              {e.payload?.text}
            </td>
            <td className={e.delivery === 'failed' ? 'error-text' : 'muted'}>
              {e.delivery} after {e.attempts} attempt{e.attempts === 1 ? '' : 's'}
              {e.last_error ? `: ${e.last_error}` : ''}
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

/** Saved alerts of the project, their state and firing history, and a form for a new one. */
export function AlertsPage() {
  const admin = useCan('admin');
  const [open, setOpen] = useState<number | null>(null);
  const listed = useApi<AlertList>('alerts');
  const alerts = listed.data?.results ?? (listed.error ? [] : null);
  const load = listed.reload;
  useEffect(() => {
    // Firing state changes in the background: refresh now and then.
    const timer = setInterval(load, 10_000);
    return () => clearInterval(timer);
  }, []);
  const save = async (a: Alert, change: Partial<Alert>) => {
    const next = { ...a, ...change };
    await api(`alerts/${a.id}`, { method: 'PUT', body: JSON.stringify({ name: next.name, rule: next.rule, webhook_url: next.webhook_url, enabled: next.enabled }) });
    load();
  };
  return (
    <div className="list-page">
      <h2>Alerts</h2>
      <p className="muted">Checked in the background (every 30 s unless <code>[alerts] interval_secs</code> says otherwise). A threshold alert notifies once when it fires and once when it resolves.</p>
      {alerts?.length === 0 && <div className="empty"><h3>No alerts</h3><p className="muted">Create one below, or from a search on the logs page.</p></div>}
      <table className="table">
        {alerts && alerts.length > 0 && (
          <thead>
            <tr><th>Name</th><th>Fires on</th><th>State</th><th>Webhook</th><th /></tr>
          </thead>
        )}
        <tbody>
          {alerts?.map((a) => (
            <Fragment key={a.id}>
              <tr data-testid={`alert-${a.id}`}>
                <td><button className="link-button" onClick={() => setOpen(open === a.id ? null : a.id)}>{a.name}</button></td>
                <td>{ruleText(a.rule)}</td>
                <td>
                  {!a.enabled ? <span className="muted">off</span> : a.firing ? <span className="status status-active">firing</span> : <span className="status status-resolved">ok</span>}
                </td>
                <td className="muted small">{a.webhook_url}</td>
                <td>
                  {admin && (
                    <>
                      <button className="link-button" onClick={() => save(a, { enabled: !a.enabled })}>{a.enabled ? 'Turn off' : 'Turn on'}</button>{' '}
                      <button
                        className="link-button"
                        onClick={async () => {
                          await api(`alerts/${a.id}`, { method: 'DELETE' });
                          load();
                        }}
                      >
                        Delete
                      </button>
                    </>
                  )}
                </td>
              </tr>
              {open === a.id && (
                <tr>
                  <td colSpan={5}><History alert={a} /></td>
                </tr>
              )}
            </Fragment>
          ))}
        </tbody>
      </table>
      {admin ? <AlertForm onCreated={load} /> : <p className="muted">Only admins create and change alerts.</p>}
    </div>
  );
}
