import { useEffect, useState } from 'react';
import { api, formatTime, Issue } from '../api';
import { Link, setQuery, useLocation } from '../router';
import { useCan } from '../session';
import { Exception, StackTrace } from './StackTrace';

type IssueDetail = Issue & {
  latest_exception: Exception[] | null;
  occurrences_list: { uuid: string; timestamp: string; session_id: string | null; distinct_id: string; url: string | null }[];
};

export function Sparkline({ counts }: { counts: number[] }) {
  const max = Math.max(1, ...counts);
  return (
    <svg className="sparkline" width={counts.length * 5} height={20} aria-label="Occurrences per day, last 14 days">
      {counts.map((n, i) => (
        <rect key={i} x={i * 5} y={20 - (n / max) * 20} width={4} height={Math.max((n / max) * 20, n > 0 ? 2 : 0.5)} />
      ))}
    </svg>
  );
}

export function ErrorsPage() {
  const url = useLocation();
  const [issues, setIssues] = useState<Issue[] | null>(null);
  const q = url.searchParams.toString();
  useEffect(() => {
    api<{ results: Issue[] }>(`error_tracking/issues?${q}`).then((r) => setIssues(r.results), () => setIssues([]));
  }, [q]);
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
      {!issues && <div className="skeleton">Loading issues…</div>}
      {issues?.length === 0 && <div className="empty"><h3>No issues</h3><p className="muted">Exceptions captured by posthog-js or a backend SDK appear here.</p></div>}
      <table className="table">
        <tbody>
          {issues?.map((i) => (
            <tr key={i.id}>
              <td>
                <Link to={`/errors/${i.id}`}>
                  <strong>{i.name}</strong> <span className="muted">{i.description}</span>
                </Link>
              </td>
              <td>{i.sparkline && <Sparkline counts={i.sparkline} />}</td>
              <td>{i.occurrences} occurrences</td>
              <td>{i.sessions} sessions</td>
              <td>{i.users} users</td>
              <td className="muted">first {formatTime(i.first_seen)}</td>
              <td className="muted">last {formatTime(i.last_seen)}</td>
              <td><span className={`status status-${i.status}`}>{i.status}</span></td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

export function IssuePage({ id }: { id: number }) {
  const [issue, setIssue] = useState<IssueDetail | null>(null);
  const [error, setError] = useState<string | null>(null);
  const canTriage = useCan('member');
  const load = () => api<IssueDetail>(`error_tracking/issues/${id}`).then(setIssue, (e) => setError(e.message));
  useEffect(() => {
    load();
  }, [id]);
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
            await api(`error_tracking/issues/${id}`, { method: 'PATCH', body: JSON.stringify({ status: e.target.value }) });
            load();
          }}
        >
          <option value="active">Active</option>
          <option value="resolved">Resolved</option>
          <option value="suppressed">Suppressed</option>
        </select>
      </div>
      <h3>Stack trace</h3>
      <StackTrace exceptions={issue.latest_exception ?? []} />
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
