import { useState } from 'react';
import { formatDuration, formatTime, IssueList, LogPage, Person, RecordingList, useApi } from '../api';
import { Link } from '../router';


export function PersonPage({ distinctId }: { distinctId: string }) {
  const id = encodeURIComponent(distinctId);
  const { data: person, error } = useApi<Person>(`persons/${id}`);
  const recordings = useApi<RecordingList>(`recordings?distinct_id=${id}`).data?.results ?? [];
  const issues = useApi<IssueList>(`error_tracking/issues?distinct_id=${id}`).data?.results ?? [];
  const logs = useApi<LogPage>(`logs?distinct_id=${id}&from=-30d&limit=20`).data?.results ?? [];
  const [allProps, setAllProps] = useState(false);
  if (error) return <div className="empty"><h3>{error}</h3></div>;
  if (!person) return <div className="skeleton">Loading person…</div>;
  return (
    <div className="list-page">
      <h2>{distinctId}</h2>
      <p className="muted">
        {person.counts.sessions} sessions · {person.counts.logs_30d} logs (30 days) · {person.counts.errors} errors
        {person.created_at && ` · first seen ${formatTime(person.created_at)}`}
      </p>
      <div className="toolbar">
        <Link className="button" to={`/logs?distinct_id=${encodeURIComponent(distinctId)}&from=-30d`}>Recent logs</Link>
      </div>
      <h3>Errors</h3>
      {issues.length === 0 && <p className="muted">No exceptions from this person.</p>}
      <table className="table">
        <tbody>
          {issues.map((i) => (
            <tr key={i.id}>
              <td><Link to={`/errors/${i.id}`}><strong>{i.name}</strong> <span className="muted">{i.description}</span></Link></td>
              <td>{i.occurrences} occurrences</td>
              <td className="muted">last {formatTime(i.last_seen)}</td>
            </tr>
          ))}
        </tbody>
      </table>
      <h3>Recordings</h3>
      <table className="table">
        <tbody>
          {recordings.map((r) => (
            <tr key={r.session_id}>
              <td><Link to={`/replay/${encodeURIComponent(r.session_id)}`}>{formatTime(r.start_time)}</Link></td>
              <td>{formatDuration(r.duration_ms)}</td>
              <td className="muted">{r.first_url}</td>
            </tr>
          ))}
        </tbody>
      </table>
      <h3>Recent logs</h3>
      {logs.length === 0 && <p className="muted">No logs carried this person's id in the last 30 days.</p>}
      <table className="table">
        <tbody>
          {logs.map((l) => (
            <tr key={l.id}>
              <td className="time"><Link to={`/logs/${l.id}?distinct_id=${encodeURIComponent(distinctId)}&from=-30d`}>{formatTime(l.timestamp)}</Link></td>
              <td><span className={`sev sev-${l.severity}`}>{l.severity}</span></td>
              <td className="service">{l.service}</td>
              <td>{l.body}</td>
            </tr>
          ))}
        </tbody>
      </table>
      <h3>Properties</h3>
      <table className="attrs">
        <tbody>
          {Object.entries(person.properties)
            .filter(([, v]) => allProps || (v !== null && v !== ''))
            .map(([k, v]) => (
              <tr key={k}><td className="key">{k}</td><td className="value">{typeof v === 'string' ? v : JSON.stringify(v)}</td></tr>
            ))}
        </tbody>
      </table>
      <button className="link-button" onClick={() => setAllProps(!allProps)}>{allProps ? 'Hide empty properties' : 'Show empty properties'}</button>
      <h3>Distinct ids</h3>
      <ul>{person.distinct_ids.map((d) => <li key={d}><code>{d}</code></li>)}</ul>
    </div>
  );
}
