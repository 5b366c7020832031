// The Patterns view of the logs page: the templates the search's logs come in, most frequent
// first, with a sparkline, share, errors, the sessions and people each hit, and its examples
// on expand. "Show logs" filters the list by the pattern (`pattern:"…"` in the query).
import { Fragment, useState } from 'react';
import { type LogPattern, type LogPatterns, useApi } from '../../api';
import { navigate } from '../../router';
import { Ago } from '../../time';
import { Sparkline } from '../Errors';
import { addTerm, patternTerm } from './query';

/** A template with its placeholders (`<num>`, `<*>` …) set apart from its words. */
export function TemplateText({ template }: { template: string }) {
  const parts = template.split(/(<(?:num|ip|uuid|hex|time|path|url|id|\*)>)/);
  return (
    <code className="template">
      {parts.map((p, i) => (i % 2 === 1 ? <span key={i} className="placeholder">{p}</span> : p))}
    </code>
  );
}

function PatternRow({ url, pattern, open, onToggle }: { url: URL; pattern: LogPattern; open: boolean; onToggle: () => void }) {
  const share = Math.round(pattern.share * 1000) / 10;
  return (
    <Fragment>
      <tr className={open ? 'open' : ''} onClick={onToggle} data-testid="pattern-row">
        <td><Sparkline counts={pattern.sparkline} label="Logs of this pattern over the range" step={3} className="volume" /></td>
        <td className="pattern-template"><TemplateText template={pattern.template} /></td>
        <td className="num">{pattern.count.toLocaleString()}</td>
        <td className="share" title={`${share}% of the search's logs`}>
          <span className="share-bar" style={{ width: `${Math.max(pattern.share * 60, 1)}px` }} /> {share}%
        </td>
        <td className={`num ${pattern.errors > 0 ? 'sev-error' : 'muted'}`}>{pattern.errors.toLocaleString()}</td>
        <td className="num">{pattern.sessions.toLocaleString()} / {pattern.people.toLocaleString()}</td>
        <td className="muted">{pattern.services.join(', ')}</td>
        <td className="muted"><Ago ms={Date.parse(pattern.last_seen)} /></td>
        <td onClick={(e) => e.stopPropagation()}>
          <button className="link-button" onClick={() => addTerm(url, patternTerm(pattern.template), { view: null })}>
            Show logs
          </button>
        </td>
      </tr>
      {open && (
        <tr className="pattern-examples">
          <td />
          <td colSpan={8}>
            {pattern.examples.map((log) => (
              <div key={log.id} className="example">
                <span className="muted">{log.timestamp}</span>{' '}
                <button className="link-button" onClick={() => navigate(`/logs/${log.id}${url.search}`)}>
                  {log.body.split('\n')[0].slice(0, 400)}
                </button>
              </div>
            ))}
            <div className="muted small">id {pattern.id} · first seen <Ago ms={Date.parse(pattern.first_seen)} /></div>
          </td>
        </tr>
      )}
    </Fragment>
  );
}

export function PatternsView({ url, query }: { url: URL; query: string }) {
  const { data, error, stale } = useApi<LogPatterns>(`logs/patterns?${query}`, true);
  const [open, setOpen] = useState<string | null>(null);
  if (error) return <div className="error-banner">{error}</div>;
  if (!data) return <div className="skeleton">Finding patterns…</div>;
  if (data.results.length === 0) return <div className="empty"><h3>No logs match this search</h3></div>;
  const sampled = data.sampled < data.total;
  return (
    <div className={`patterns ${stale ? 'stale' : ''}`}>
      <p className="muted small" data-testid="patterns-note">
        {data.results.length} patterns of {data.total.toLocaleString()} logs
        {sampled ? ` · counts estimated from ${data.sampled.toLocaleString()} logs read across the range` : ''}
      </p>
      <table className="table" aria-label="Log patterns">
        <thead>
          <tr>
            <th>Trend</th>
            <th>Pattern</th>
            <th className="num">Logs</th>
            <th>Share</th>
            <th className="num">Errors</th>
            <th className="num" title="Distinct sessions / people among the pattern's logs">Sessions / people</th>
            <th>Services</th>
            <th>Last seen</th>
            <th />
          </tr>
        </thead>
        <tbody>
          {data.results.map((p) => (
            <PatternRow key={p.id} url={url} pattern={p} open={open === p.id} onToggle={() => setOpen(open === p.id ? null : p.id)} />
          ))}
        </tbody>
      </table>
    </div>
  );
}
