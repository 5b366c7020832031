// The sessions and people behind a search: whose logs match, the latest match first, each
// opening its recording at its first matching log. The logs page's Sessions view, and a
// pattern's sessions in the Patterns view.
import { type SearchSessionList, useApi } from '../../api';
import { Link } from '../../router';
import { Ago } from '../../time';

/** The sessions of the logs `params` select, at most `limit`, as a list named `label`. */
export function SearchSessions({ params, limit, label }: { params: URLSearchParams; limit: number; label: string }) {
  const query = new URLSearchParams(params);
  query.set('limit', String(limit));
  const { data, error } = useApi<SearchSessionList>(`logs/sessions?${query}`);
  if (error) return <div className="error-banner">{error}</div>;
  if (!data) return <div className="muted small">Finding the sessions…</div>;
  if (data.results.length === 0) return <div className="muted small">None of these logs carries a session.</div>;
  return (
    <ul className="pattern-sessions" aria-label={label}>
      {data.results.map((s) => {
        const at = Date.parse(s.first_seen);
        return (
          <li key={s.session_id}>
            {s.has_recording ? (
              <Link to={`/replay/${encodeURIComponent(s.session_id)}?t=${at}&mark=${at}`}>▶ {s.session_id}</Link>
            ) : (
              <span title="Not recorded">{s.session_id}</span>
            )}{' '}
            {s.distinct_id && <Link to={`/persons/${encodeURIComponent(s.distinct_id)}`}>{s.distinct_id}</Link>}{' '}
            <span className="muted">
              {s.logs.toLocaleString()} log{s.logs === 1 ? '' : 's'} · last <Ago ms={Date.parse(s.last_seen)} />
              {s.exceptions > 0 ? ` · ⚠ ${s.exceptions}` : ''}
            </span>
          </li>
        );
      })}
    </ul>
  );
}
