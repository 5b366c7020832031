// The logs page's filters: search (in the query language, with its help), the time picker,
// service, attribute, live tail, severities, and the chips of active filters. Everything is
// written to the URL, each change as a history entry so Back steps back through searches.
import { useEffect, useState } from 'react';
import { editQuery, Link, setQuery as setUrlQuery } from '../../router';
import type { Facets } from '../../api';
import { addFilter, alertQuery, CHIP_FILTERS, SEVERITIES } from './query';
import { TimePicker } from './TimePicker';
import { QueryHelp } from './QueryHelp';

/** Sets the page's filters as a new history entry (empty values are removed). */
const setQuery = (params: Record<string, string | null>) => setUrlQuery(params, false);

export function Toolbar({ url, facets, services }: { url: URL; facets: Facets | null; services: Facets | null }) {
  const urlQuery = url.searchParams.get('q') ?? '';
  const [search, setSearch] = useState(urlQuery);
  // The box shows the query of the list: after Back, or a link that sets another.
  useEffect(() => setSearch(urlQuery), [urlQuery]);
  const [attrInput, setAttrInput] = useState('');
  const live = url.searchParams.get('live') === '1';
  const severityFilter = url.searchParams.getAll('severity').flatMap((s) => s.split(','));
  const chips = [...url.searchParams.entries()].filter(([k]) => CHIP_FILTERS.includes(k));
  return (
    <>
      <div className="toolbar">
        <form
          onSubmit={(e) => {
            e.preventDefault();
            setQuery({ q: search });
          }}
          className="search"
        >
          <input
            placeholder='Search… e.g. timeout service:api level>=warn -healthcheck (press / )'
            value={search}
            onChange={(e) => setSearch(e.target.value)}
            aria-label="Search logs"
          />
        </form>
        <QueryHelp />
        <TimePicker url={url} />
        <select value={url.searchParams.get('service') ?? ''} onChange={(e) => setQuery({ service: e.target.value || null })} aria-label="Service">
          <option value="">All services</option>
          {serviceChoices(url, services).map((f) => (
            <option key={f.value} value={f.value}>
              {f.value || '(none)'} {f.count === null ? '' : `(${f.count.toLocaleString()} in range${services?.sampled ? ', sampled' : ''})`}
            </option>
          ))}
        </select>
        <form
          onSubmit={(e) => {
            e.preventDefault();
            if (attrInput.trim()) addFilter('attr', attrInput.trim());
            setAttrInput('');
          }}
        >
          <input list="attr-suggestions" placeholder="attribute=value" value={attrInput} onChange={(e) => setAttrInput(e.target.value)} aria-label="Attribute filter" />
          <datalist id="attr-suggestions">
            {facets?.attributes.flatMap((a) => [
              <option key={a.key} value={a.key} />,
              ...a.values.map((v) => <option key={`${a.key}=${v.value}`} value={`${a.key}=${v.value}`} />),
            ])}
          </datalist>
        </form>
        <button className={`chip ${live ? 'on live' : ''}`} onClick={() => setQuery({ live: live ? null : '1' })} title="Show new logs as they arrive">
          {live ? '● Live' : 'Live tail'}
        </button>
        <Link className="chip" to={`/alerts?query=${encodeURIComponent(alertQuery(url.searchParams))}`} title="Be notified when this search matches too many logs">
          Alert on this search
        </Link>
        <div className="severity-filter">
          {SEVERITIES.map((s) => (
            <button
              key={s}
              className={`chip sev-${s} ${severityFilter.includes(s) ? 'on' : ''}`}
              onClick={() => {
                const next = severityFilter.includes(s) ? severityFilter.filter((x) => x !== s) : [...severityFilter, s];
                setQuery({ severity: next.join(',') || null });
              }}
            >
              {s}
            </button>
          ))}
        </div>
      </div>
      {chips.length > 0 && (
        <div className="active-filters">
          {chips.map(([k, v]) => (
            <button
              key={`${k}=${v}`}
              className="chip on"
              title="Remove this filter"
              onClick={() => editQuery((q) => q.delete(k, v))}
            >
              {k} = {v} ✕
            </button>
          ))}
        </div>
      )}
    </>
  );
}

/** Every service of the range, and the chosen one even when the range has none of its logs. */
function serviceChoices(url: URL, services: Facets | null): { value: string; count: number | null }[] {
  const choices: { value: string; count: number | null }[] = services?.services ?? [];
  const chosen = url.searchParams.get('service');
  return chosen && !choices.some((c) => c.value === chosen) ? [...choices, { value: chosen, count: null }] : choices;
}
