// What the logs page shows for a query: the first page, the histogram, the summary and the
// facets (each request cancelled when the query changes, so a fast typist never sees an
// older search's answer), the live tail, and the recorded/errored marks of sessions.
import { useEffect, useRef, useState } from 'react';
import { api, ApiError, Log, LogPage, useApi } from '../../api';
import { Facets, Histogram, SessionFlagsList, Summary } from '../../api';
import { SessionFlags } from './query';

export function useLogData(query: string, live: boolean) {
  // The previous search's answers stay on screen, dimmed, until this one's arrive.
  const first = useApi<LogPage>(`logs?${query}&limit=200`, true);
  const hist = useApi<Histogram>(`logs/histogram?${query}`, true);
  const summary = useApi<Summary>(`logs/summary?${query}`, true);
  const facets = useApi<Facets>(`logs/facets?${query}`);
  const reloadCounts = useRef(() => {});
  reloadCounts.current = () => {
    hist.reload();
    summary.reload();
  };
  // The first page, then older pages and tailed logs added to it.
  const [page, setPage] = useState<LogPage | null>(null);
  const [flags, setFlags] = useState<SessionFlags>({});
  useEffect(() => setPage(first.data), [first.data]);

  // Live tail: new logs matching the filters are prepended as they arrive.
  useEffect(() => {
    if (!live) return;
    const controller = new AbortController();
    let cursor: string | null = null;
    const tailed = new Set<string>();
    const tick = async () => {
      try {
        const r: { results: Log[]; cursor: string } = await api(`logs/tail?${query}${cursor ? `&after=${cursor}` : ''}`, { signal: controller.signal });
        // A poll may repeat logs of the previous one (the server re-reads a short overlap
        // so logs committed late by another Tether process are not missed): keep each id once.
        const fresh = cursor ? r.results.filter((l) => !tailed.has(l.id)) : [];
        r.results.forEach((l) => tailed.add(l.id));
        if (fresh.length > 0) {
          setPage((p) => {
            if (!p) return p;
            const shown = new Set(p.results.map((l) => l.id));
            const added = fresh.filter((l) => !shown.has(l.id)).reverse();
            return added.length > 0 ? { ...p, results: [...added, ...p.results] } : p;
          });
          // The chart and the counts take the new logs in too (kept on screen meanwhile).
          reloadCounts.current();
        }
        cursor = r.cursor;
      } catch {
        // A failed poll is retried on the next tick.
      }
      if (!controller.signal.aborted) timer = setTimeout(tick, 2000);
    };
    let timer = setTimeout(tick, 0);
    return () => {
      controller.abort();
      clearTimeout(timer);
    };
  }, [live, query]);

  // Marks on rows: ▶ when the session was recorded, ⚠ when it hit exceptions.
  useEffect(() => {
    const ids = [...new Set((page?.results ?? []).map((l) => l.session_id).filter((s): s is string => !!s))].filter((s) => !(s in flags));
    if (ids.length === 0) return;
    const controller = new AbortController();
    api<SessionFlagsList>(`sessions/flags?ids=${ids.slice(0, 500).map(encodeURIComponent).join(',')}`, {
      signal: controller.signal,
    }).then(
      (r) => setFlags((f) => ({ ...f, ...Object.fromEntries(r.results.map((x) => [x.session_id, x])) })),
      () => {},
    );
    return () => controller.abort();
  }, [page]);

  const [moreError, setMoreError] = useState<string | null>(null);
  const current = useRef(query);
  current.current = query;
  const loadMore = async () => {
    if (!page?.next_cursor) return;
    const asked = query;
    try {
      const more = await api<LogPage>(`logs?${query}&limit=200&cursor=${page.next_cursor}`);
      // The filters changed meanwhile: these older logs belong to another search.
      if (current.current !== asked) return;
      setPage((p) => (p ? { ...more, results: [...p.results, ...more.results] } : p));
    } catch (e) {
      setMoreError((e as ApiError).message);
    }
  };

  return {
    page,
    stale: first.stale,
    error: first.error ?? moreError,
    hist: hist.data,
    summary: summary.data,
    summaryStale: summary.stale,
    facets: facets.data,
    flags,
    loadMore,
  };
}
