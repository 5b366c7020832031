// The logs page: filters (all in the URL), the volume histogram, the counts of the search,
// the fields of the search beside the list, and the drawer of the log in the URL (`/logs/{id}`).
import { navigate, setQuery, splitProject, useLocation } from '../router';
import { LogDrawer } from './LogDrawer';
import { FieldSidebar } from './logs/FieldSidebar';
import { Histogram } from './logs/Histogram';
import { LogList } from './logs/LogList';
import { PatternsView } from './logs/Patterns';
import { SearchSessions } from './logs/Sessions';
import { apiQuery, rangeQuery, summaryText } from './logs/query';
import { Toolbar } from './logs/Toolbar';
import { useLogData } from './logs/useLogData';
import { useApi, type Facets } from '../api';

export function LogsPage() {
  const url = useLocation();
  const query = apiQuery(url).toString();
  const { page: pagePath } = splitProject(url.pathname);
  const selected = pagePath.startsWith('/logs/') ? decodeURIComponent(pagePath.slice(6)) : null;
  const data = useLogData(query, url.searchParams.get('live') === '1');
  // The service menu offers every service of the time range, not only those of the results.
  const rangeFacets = useApi<Facets>(`logs/facets?${rangeQuery(url)}`);
  const close = () => navigate(`/logs${url.search}`);
  const VIEWS = ['logs', 'patterns', 'sessions'] as const;
  const view = VIEWS.find((v) => v === url.searchParams.get('view')) ?? 'logs';
  return (
    <div className="logs-page">
      <Toolbar url={url} facets={data.facets} services={rangeFacets.data} />
      <Histogram data={data.hist} />
      <div className="strip-row">
        <div className="tabs" role="tablist" aria-label="View">
          {VIEWS.map((v) => (
            <button key={v} role="tab" aria-selected={view === v} className={view === v ? 'tab active' : 'tab'} onClick={() => setQuery({ view: v === 'logs' ? null : v }, false)}>
              {{ logs: 'Logs', patterns: 'Patterns', sessions: 'Sessions' }[v]}
            </button>
          ))}
        </div>
        <div className={`strip ${data.summaryStale ? 'stale' : ''}`} data-testid="impact">
          {data.summary ? summaryText(data.summary) : ' '}
        </div>
      </div>
      <div className="logs-main">
        <FieldSidebar url={url} facets={data.facets} />
        {view === 'patterns' && <PatternsView url={url} query={query} />}
        {view === 'sessions' && (
          <div className="sessions-view">
            <p className="muted">The sessions and people whose logs match, the latest match first; each recording opens at its first matching log.</p>
            <SearchSessions params={new URLSearchParams(query)} limit={100} label="Sessions of this search" />
          </div>
        )}
        {view === 'logs' && (
        <LogList
          page={data.page}
          stale={data.stale}
          error={data.error}
          flags={data.flags}
          selected={selected}
          onOpen={(log) => navigate(`/logs/${log.id}${url.search}`)}
          onClose={close}
          onMore={data.loadMore}
        />
        )}
      </div>
      {selected && <LogDrawer id={selected} onClose={close} />}
    </div>
  );
}
