import { useState } from 'react';
import { api, formatTime, IssueDetail, IssueList, ListedIssue, useApi } from '../api';
import { Column, SortableTable } from '../table';
import { Ago } from '../time';
import { Link, setQuery, useLocation } from '../router';
import { useCan } from '../session';
import { StackTrace } from './StackTrace';

export function Sparkline({ counts, label = 'Occurrences per day, last 14 days', step = 5, className = '' }: { counts: number[]; label?: string; step?: number; className?: string }) {
  const max = Math.max(1, ...counts);
  return (
    <svg className={`sparkline ${className}`} width={counts.length * step} height={20} aria-label={label}>
      {counts.map((n, i) => (
        <rect key={i} x={i * step} y={20 - (n / max) * 20} width={step - 1} height={Math.max((n / max) * 20, n > 0 ? 2 : 0.5)} />
      ))}
    </svg>
  );
}

const ISSUE_COLUMNS: Column<ListedIssue>[] = [
  {
    key: 'name',
    label: 'Issue',
    sortBy: (i) => i.name.toLowerCase(),
    render: (i) => (
      <Link to={`/errors/${i.id}`}>
        <strong>{i.name}</strong> <span className="muted">{i.description}</span>
      </Link>
    ),
  },
  { key: 'trend', label: 'Last 14 days', render: (i) => <Sparkline counts={i.sparkline} /> },
  { key: 'occurrences', label: 'Occurrences', sortBy: (i) => i.occurrences, render: (i) => i.occurrences.toLocaleString(), className: 'num' },
  { key: 'sessions', label: 'Sessions', sortBy: (i) => i.sessions, render: (i) => i.sessions.toLocaleString(), className: 'num' },
  { key: 'users', label: 'Users', sortBy: (i) => i.users, render: (i) => i.users.toLocaleString(), className: 'num' },
  { key: 'first_seen', label: 'First seen', sortBy: (i) => Date.parse(i.first_seen), render: (i) => <Ago ms={Date.parse(i.first_seen)} />, className: 'muted' },
  { key: 'last_seen', label: 'Last seen', sortBy: (i) => Date.parse(i.last_seen), render: (i) => <Ago ms={Date.parse(i.last_seen)} />, className: 'muted' },
  { key: 'status', label: 'Status', sortBy: (i) => i.status, render: (i) => <span className={`status status-${i.status}`}>{i.status}</span> },
];

export function ErrorsPage() {
  const url = useLocation();
  const params = new URLSearchParams(url.searchParams);
  params.delete('sort');
  const issues = useApi<IssueList>(`error_tracking/issues?${params}`);
  const status = url.searchParams.get('status') ?? '';
  return (
    <div className="list-page">
      <h2>Errors</h2>
      <div className="toolbar">
        <select value={status} onChange={(e) => setQuery({ status: e.target.value || null })} aria-label="Status">
          <option value="">All statuses</option>
          <option value="active">Active</option>
          <option value="resolved">Resolved</option>
          <option value="suppressed">Suppressed</option>
        </select>
      </div>
      {issues.error && <div className="error-banner">Could not load issues: {issues.error}</div>}
      {!issues.data && !issues.error && <div className="skeleton">Loading issues…</div>}
      {issues.data?.results.length === 0 && <div className="empty"><h3>No issues</h3><p className="muted">Exceptions captured by posthog-js or a backend SDK appear here.</p></div>}
      {issues.data && issues.data.results.length > 0 && (
        <SortableTable label="Issues" rows={issues.data.results} columns={ISSUE_COLUMNS} rowKey={(i) => i.id} defaultSort="-last_seen" />
      )}
    </div>
  );
}

/** Where the newest occurrence happened: browser, OS, device, page, SDK and release, then
 * every property the SDK sent with it. */
function OccurrenceContext({ properties }: { properties: Record<string, unknown> }) {
  const text = (...keys: string[]) =>
    keys
      .map((k) => properties[k])
      .filter((v) => v !== undefined && v !== null && v !== '')
      .join(' ');
  const facts: [string, string][] = (
    [
      ['Browser', text('$browser', '$browser_version')],
      ['OS', text('$os', '$os_version')],
      ['Device', text('$device_type')],
      ['Page', text('$current_url')],
      ['SDK', text('$lib', '$lib_version')],
      ['Release', text('$release', 'release', '$app_version')],
    ] as [string, string][]
  ).filter(([, v]) => v);
  const keys = Object.keys(properties).sort();
  if (keys.length === 0) return null;
  return (
    <section className="occurrence-context" aria-label="Newest occurrence">
      <h3>Newest occurrence</h3>
      <dl className="facts">
        {facts.map(([label, value]) => (
          <div key={label}>
            <dt>{label}</dt>
            <dd>{value}</dd>
          </div>
        ))}
      </dl>
      <details>
        <summary>All {keys.length} properties sent with it</summary>
        <table className="table attrs">
          <tbody>
            {keys.map((k) => {
              const v = properties[k];
              return (
                <tr key={k}>
                  <td><code>{k}</code></td>
                  <td className="value">{typeof v === 'string' ? v : JSON.stringify(v)}</td>
                </tr>
              );
            })}
          </tbody>
        </table>
      </details>
    </section>
  );
}

export function IssuePage({ id }: { id: number }) {
  const { data: issue, error, reload } = useApi<IssueDetail>(`error_tracking/issues/${id}`);
  const [changeError, setChangeError] = useState<string | null>(null);
  const canTriage = useCan('member');
  if (error) return <div className="error-banner">{error}</div>;
  if (!issue) return <div className="skeleton">Loading issue…</div>;
  return (
    <div className="list-page">
      <h2>
        {issue.name}: <span className="muted">{issue.description}</span>
      </h2>
      <div className="toolbar">
        <span>
          {issue.occurrences} occurrences · {issue.sessions} sessions · {issue.users} users · first seen {formatTime(issue.first_seen)}
        </span>
        <select
          value={issue.status}
          aria-label="Change status"
          disabled={!canTriage}
          title={canTriage ? undefined : 'Viewers cannot change the status'}
          onChange={async (e) => {
            try {
              await api(`error_tracking/issues/${id}`, { method: 'PATCH', body: JSON.stringify({ status: e.target.value }) });
              setChangeError(null);
            } catch (err) {
              setChangeError((err as Error).message);
            }
            reload();
          }}
        >
          <option value="active">Active</option>
          <option value="resolved">Resolved</option>
          <option value="suppressed">Suppressed</option>
        </select>
      </div>
      {changeError && <div className="error-banner">{changeError}</div>}
      <h3>Stack trace</h3>
      <StackTrace exceptions={issue.latest_exception ?? []} />
      <OccurrenceContext properties={issue.latest_properties} />
      <h3>Occurrences</h3>
      <table className="table">
        <tbody>
          {issue.occurrences_list.map((o) => {
            const at = Date.parse(o.timestamp);
            return (
              <tr key={o.uuid}>
                <td>{formatTime(o.timestamp)}</td>
                <td>{o.distinct_id && <Link to={`/persons/${encodeURIComponent(o.distinct_id)}`}>{o.distinct_id}</Link>}</td>
                <td className="muted">{o.url}</td>
                <td>
                  {o.session_id && (
                    <>
                      <Link className="button" to={`/replay/${encodeURIComponent(o.session_id)}?t=${at - 5000}&mark=${at}`}>▶ Watch recording</Link>{' '}
                      <Link
                        className="button"
                        to={`/logs?session_id=${encodeURIComponent(o.session_id)}&from=${new Date(at - 30 * 60000).toISOString()}&to=${new Date(at + 30 * 60000).toISOString()}`}
                      >
                        View logs
                      </Link>
                    </>
                  )}
                </td>
              </tr>
            );
          })}
        </tbody>
      </table>
    </div>
  );
}
