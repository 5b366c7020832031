// The Patterns view of the logs page: the templates the search's logs come in, most frequent
// first, with a sparkline, share, errors, the sessions and people each hit, and its examples
// on expand. "Show logs" filters the list by the pattern (`pattern:"…"` in the query).
import { Fragment, useState } from 'react';
import { type LogPattern, type LogPatterns, type PatternComparison, useApi } from '../../api';
import { Link, navigate, setQuery } from '../../router';
import { Ago } from '../../time';
import { SearchSessions } from './Sessions';
import { Sparkline } from '../Errors';
import { addTerm, alertQuery, patternTerm, withTerm } from './query';

/** A template with its placeholders (`<num>`, `<*>` …) set apart from its words. */
export function TemplateText({ template }: { template: string }) {
  // A template is at most 64 tokens, but tokens can be long: the start says which it is.
  const shown = template.length > 400 ? `${template.slice(0, 400)}…` : template;
  const parts = shown.split(/(<(?:num|ip|uuid|hex|time|path|url|id|\*)>)/);
  return (
    <code className="template" title={shown === template ? undefined : template}>
      {parts.map((p, i) => (i % 2 === 1 ? <span key={i} className="placeholder">{p}</span> : p))}
    </code>
  );
}

/** Back to the list, filtered by the pattern. */
function ShowLogs({ url, template }: { url: URL; template: string }) {
  return (
    <button className="link-button" onClick={() => addTerm(url, patternTerm(template), { view: null, compare: null })}>
      Show logs
    </button>
  );
}

function PatternRow({ url, query, pattern, open, onToggle }: { url: URL; query: string; pattern: LogPattern; open: boolean; onToggle: () => void }) {
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
        <td onClick={(e) => e.stopPropagation()} className="pattern-actions">
          <ShowLogs url={url} template={pattern.template} />
          <Link to={`/alerts?query=${encodeURIComponent(alertQuery(withTerm(url.searchParams, patternTerm(pattern.template))))}`} title="Be notified when this pattern's logs pass a threshold">
            Alert
          </Link>
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
            <h5>Sessions it hit</h5>
            <SearchSessions params={withTerm(new URLSearchParams(query), patternTerm(pattern.template))} limit={10} label="Sessions this pattern hit" />
          </td>
        </tr>
      )}
    </Fragment>
  );
}

/** What the patterns can be compared against (`compare=` in the URL). */
const BASELINES: [string, string][] = [
  ['', 'No comparison'],
  ['previous', 'Compare with the range before'],
  ['sessions', 'Sessions with errors vs the others'],
];

export function PatternsView({ url, query }: { url: URL; query: string }) {
  const against = url.searchParams.get('compare') ?? '';
  return (
    <div className="patterns">
      <div className="patterns-head">
        <select value={against} onChange={(e) => setQuery({ compare: e.target.value || null }, false)} aria-label="Compare patterns">
          {BASELINES.map(([value, label]) => (
            <option key={value} value={value}>{label}</option>
          ))}
        </select>
      </div>
      {against ? <ComparisonTable url={url} query={`${query}&against=${against}`} /> : <PatternTable url={url} query={query} />}
    </div>
  );
}

/** A change as a word people read at a glance. */
const CHANGE_LABELS: Record<string, string> = { new: 'New', gone: 'Gone', up: '▲ Up', down: '▼ Down', same: 'Same' };

function ComparisonTable({ url, query }: { url: URL; query: string }) {
  const { data, error, stale } = useApi<PatternComparison>(`logs/patterns/compare?${query}`, true);
  if (error) return <div className="error-banner">{error}</div>;
  if (!data) return <div className="skeleton">Comparing…</div>;
  const top = Math.max(1, ...data.results.map((p) => p.surprise));
  const pct = (share: number) => `${Math.round(share * 1000) / 10}%`;
  return (
    <div className={stale ? 'stale' : ''}>
      <p className="muted small" data-testid="comparison-note">
        {data.current_label} ({data.current_total.toLocaleString()} logs) against {data.baseline_label} ({data.baseline_total.toLocaleString()} logs) · most surprising change first
      </p>
      <table className="table" aria-label="Pattern changes">
        <thead>
          <tr>
            <th>Change</th>
            <th>Pattern</th>
            <th className="num">Now</th>
            <th className="num">Baseline</th>
            <th title="How unlikely the two counts are if nothing changed">Surprise</th>
            <th />
          </tr>
        </thead>
        <tbody>
          {data.results.map((p) => (
            <tr key={p.id} data-testid="change-row">
              <td><span className={`change change-${p.change}`}>{CHANGE_LABELS[p.change] ?? p.change}</span></td>
              <td className="pattern-template"><TemplateText template={p.template} /></td>
              <td className="num" title={pct(p.current_share)}>{p.current.toLocaleString()}</td>
              <td className="num" title={pct(p.baseline_share)}>{p.baseline.toLocaleString()}</td>
              <td title={`${p.surprise.toFixed(1)} bits`}><span className="share-bar" style={{ width: `${Math.max((p.surprise / top) * 60, 1)}px` }} /></td>
              <td>
                <ShowLogs url={url} template={p.template} />
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

function PatternTable({ url, query }: { url: URL; query: string }) {
  const { data, error, stale } = useApi<LogPatterns>(`logs/patterns?${query}`, true);
  const [open, setOpen] = useState<string | null>(null);
  if (error) return <div className="error-banner">{error}</div>;
  if (!data) return <div className="skeleton">Finding patterns…</div>;
  if (data.results.length === 0) return <div className="empty"><h3>No logs match this search</h3></div>;
  const sampled = data.sampled < data.total;
  return (
    <div className={stale ? 'stale' : ''}>
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
            <PatternRow key={p.id} url={url} query={query} pattern={p} open={open === p.id} onToggle={() => setOpen(open === p.id ? null : p.id)} />
          ))}
        </tbody>
      </table>
    </div>
  );
}
