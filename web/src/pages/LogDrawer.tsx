import { useEffect, useState } from 'react';
import { api, formatTime, LogDetail, RelatedErrors as Related, Summary, useApi } from '../api';
import { Link, setQuery, useLocation } from '../router';
import { LogBody, LongText } from './logs/LogBody';
import { TemplateText } from './logs/Patterns';
import { addFilter, apiQuery, patternTerm } from './logs/query';

/** The log's pattern and how many logs of the page's time range share it, linking to them. */
function PatternRow({ template }: { template: string }) {
  const url = useLocation();
  const range = new URLSearchParams([...apiQuery(url).entries()].filter(([k]) => k === 'from' || k === 'to'));
  range.set('q', patternTerm(template));
  const { data } = useApi<Summary>(`logs/summary?${range}`);
  return (
    <tr>
      <td className="key">pattern</td>
      <td className="value">
        <TemplateText template={template} />{' '}
        <Link to={`/logs?${range}`} title="The logs of this pattern in the time range">
          {data ? `${data.approximate ? '≈' : ''}${data.logs.toLocaleString()} similar logs` : 'Similar logs'}
        </Link>
      </td>
    </tr>
  );
}


function AttributeTable({ title, attrs }: { title: string; attrs: Record<string, unknown> }) {
  const entries = Object.entries(attrs);
  if (entries.length === 0) return null;
  return (
    <section>
      <h4>{title}</h4>
      <table className="attrs">
        <tbody>
          {entries.map(([k, v]) => {
            const text = typeof v === 'string' ? v : JSON.stringify(v);
            return (
              <tr key={k}>
                <td className="key">{k}</td>
                <td className="value">{text.length > 300 ? <LongText text={text} lines={3} /> : text}</td>
                <td className="actions">
                  <button className="link-button" title="Copy value" onClick={() => navigator.clipboard?.writeText(text)}>
                    copy
                  </button>
                  <button className="link-button" title="Filter by this value" onClick={() => addFilter('attr', `${k}=${text}`)}>
                    filter
                  </button>
                </td>
              </tr>
            );
          })}
        </tbody>
      </table>
    </section>
  );
}

export function RelatedErrors({ logId }: { logId: string }) {
  const { data: related, error, reload: load } = useApi<Related>(`logs/${logId}/related_errors`);
  if (error)
    return (
      <div className="error-banner">
        Failed to load related errors. <button className="link-button" onClick={load}>Retry</button>
      </div>
    );
  if (!related) return <div className="skeleton">Loading related errors…</div>;
  if (related.status === 'no_session')
    return (
      <div className="empty" data-testid="no-session">
        <h3>No session ID found</h3>
        <p className="muted">
          To see related errors, link your logs to session replay by including a session ID (the <code>sessionId</code> attribute).
        </p>
        <Link to="/guide">How to link logs to session replay</Link>
      </div>
    );
  if (related.results.length === 0)
    return (
      <div className="empty">
        <h3>No related errors</h3>
        <p className="muted">No exceptions were found in this session within 6 hours of this log.</p>
      </div>
    );
  const occurrences = related.results.reduce((n, i) => n + (i.occurrences_in_session ?? 0), 0);
  return (
    <div>
      <p className="muted">
        {related.results.length} issue{related.results.length === 1 ? '' : 's'} with {occurrences} occurrence{occurrences === 1 ? '' : 's'} in this session
      </p>
      {related.results.map((issue) => (
        <Link key={issue.id} to={`/errors/${issue.id}`} className="issue-card">
          <div className="issue-name">{issue.name}</div>
          <div className="issue-desc">{issue.description}</div>
          <div className="muted small">
            {issue.occurrences_in_session} in this session · last seen {formatTime(issue.last_seen)} · {issue.status}
          </div>
        </Link>
      ))}
    </div>
  );
}

export function LogDrawer({ id, onClose }: { id: string; onClose: () => void }) {
  const url = useLocation();
  const tab = url.searchParams.get('tab') ?? 'details';
  const { data: log, error } = useApi<LogDetail>(`logs/${id}`);
  const [recording, setRecording] = useState<'yes' | 'no' | 'unknown'>('unknown');
  useEffect(() => {
    setRecording('unknown');
    if (!log?.session_id) return;
    const controller = new AbortController();
    api(`recordings/${encodeURIComponent(log.session_id)}`, { signal: controller.signal }).then(
      () => setRecording('yes'),
      () => !controller.signal.aborted && setRecording('no'),
    );
    return () => controller.abort();
  }, [log?.session_id]);

  return (
    <aside className="drawer" aria-label="Log details">
      {/* The header, the actions and the tabs stay in view, however long what is below. */}
      <div className="drawer-top">
        <div className="drawer-head">
          <div className="drawer-summary">
            {log ? (
              <>
                <span className={`sev sev-${log.severity}`}>{log.severity}</span> <span className="muted">{formatTime(log.timestamp)}</span>{' '}
                <span className="service">{log.service}</span>
              </>
            ) : (
              <h3>Log details</h3>
            )}
          </div>
          <button className="link-button" onClick={onClose} aria-label="Close">
            ✕
          </button>
        </div>
        {log && (
          <>
            <div className="drawer-actions">
              {log.session_id ? (
                recording === 'no' ? (
                  <span className="muted">No recording for this session</span>
                ) : (
                  <Link
                    className="primary button"
                    to={`/replay/${encodeURIComponent(log.session_id)}?t=${Date.parse(log.timestamp)}&mark=${Date.parse(log.timestamp)}${
                      log.trace_id ? `&trace=${log.trace_id}` : ''
                    }`}
                  >
                    ▶ View recording
                  </Link>
                )
              ) : (
                <span className="muted" title="No session ID associated with this log">No session ID on this log</span>
              )}
              {log.distinct_id && (
                <Link className="button" to={`/persons/${encodeURIComponent(log.distinct_id)}`}>
                  Person: {log.distinct_id}
                </Link>
              )}
              {log.session_id && (
                <Link className="button" to={`/logs?session_id=${encodeURIComponent(log.session_id)}&from=-7d`}>
                  Session logs
                </Link>
              )}
            </div>
            <div className="tabs" role="tablist">
              {[
                ['details', 'Details'],
                ['raw', 'Raw'],
                ['related', 'Related errors'],
              ].map(([key, label]) => (
                <button key={key} role="tab" className={tab === key ? 'tab active' : 'tab'} onClick={() => setQuery({ tab: key === 'details' ? null : key })}>
                  {label}
                </button>
              ))}
            </div>
          </>
        )}
      </div>
      {error && <div className="error-banner">{error}</div>}
      {!log && !error && <div className="skeleton">Loading…</div>}
      {log && (
        <>
          {tab === 'details' && <LogBody body={log.body} />}
          {tab === 'details' && (
            <div className="tab-body">
              <table className="attrs">
                <tbody>
                  <tr><td className="key">time</td><td className="value">{log.timestamp}</td></tr>
                  <PatternRow template={log.pattern.template} />
                  <tr><td className="key">session id</td><td className="value">{log.session_id ?? '—'}</td></tr>
                  <tr><td className="key">distinct id</td><td className="value">{log.distinct_id ?? '—'}</td></tr>
                  <tr><td className="key">trace id</td><td className="value">{log.trace_id || '—'}</td></tr>
                  <tr><td className="key">span id</td><td className="value">{log.span_id || '—'}</td></tr>
                </tbody>
              </table>
              <AttributeTable title="Log attributes" attrs={log.attributes} />
              <AttributeTable title="Resource attributes" attrs={log.resource_attributes} />
              {log.scope && <AttributeTable title={`Scope ${log.scope.name} ${log.scope.version}`} attrs={log.scope.attributes} />}
            </div>
          )}
          {tab === 'raw' && <LongText className="tab-body raw" text={JSON.stringify(log, null, 2)} lines={200} />}
          {tab === 'related' && (
            <div className="tab-body">
              <RelatedErrors logId={log.id} />
            </div>
          )}
        </>
      )}
    </aside>
  );
}
