// Persons: the site's users as posthog-js identified them (not Tether's own team, which is
// Members), newest first, searchable by any distinct id or property; each opens the person's
// page with their sessions, logs and errors.
import { useEffect, useState } from 'react';
import { formatTime, type PersonList, useApi } from '../api';
import { Link, setQuery, useLocation } from '../router';

/** The properties a row shows, most telling first. */
const SHOWN = ['email', 'name', '$browser', '$os', '$initial_referring_domain'];

export function PersonsPage() {
  const url = useLocation();
  const search = url.searchParams.get('search') ?? '';
  const [text, setText] = useState(search);
  useEffect(() => setText(search), [search]);
  const { data, error, stale } = useApi<PersonList>(`persons?limit=200${search ? `&search=${encodeURIComponent(search)}` : ''}`, true);
  return (
    <div className="list-page">
      <h2>Persons</h2>
      <p className="muted">The people using your site, as posthog-js identified them.</p>
      <form
        className="toolbar"
        onSubmit={(e) => {
          e.preventDefault();
          setQuery({ search: text.trim() || null }, false);
        }}
      >
        <input aria-label="Search persons" placeholder="Search by distinct id, email or any property" value={text} onChange={(e) => setText(e.target.value)} />
        <button type="submit">Search</button>
      </form>
      {error && <div className="error-banner">{error}</div>}
      {data && data.results.length === 0 && <p className="muted">{search ? `No person matches “${search}”.` : 'No persons yet: they appear once posthog-js sends events.'}</p>}
      {data && data.results.length > 0 && (
        <table className={`table ${stale ? 'stale' : ''}`}>
          <thead>
            <tr>
              <th>Person</th>
              <th>Properties</th>
              <th>First seen</th>
            </tr>
          </thead>
          <tbody>
            {data.results.map((p) => {
              const main = p.distinct_ids.find((id) => id.includes('@')) ?? p.distinct_ids[0] ?? String(p.id);
              return (
                <tr key={p.id}>
                  <td>
                    <Link to={`/persons/${encodeURIComponent(main)}`}>{main}</Link>
                    {p.distinct_ids.length > 1 && <div className="muted small">+{p.distinct_ids.length - 1} more ids</div>}
                  </td>
                  <td className="muted small">
                    {SHOWN.filter((k) => p.properties[k] !== undefined)
                      .map((k) => `${k.replace(/^\$/, '')}: ${String(p.properties[k])}`)
                      .join(' · ')}
                  </td>
                  <td className="muted">{formatTime(p.created_at)}</td>
                </tr>
              );
            })}
          </tbody>
        </table>
      )}
    </div>
  );
}
