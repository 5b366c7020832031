// A small router over the History API: every view's state lives in the URL.
import { useEffect, useState } from 'react';

/** Pages of the whole instance; every other page is a project's, under `/project/{id}`. */
const INSTANCE_PAGES = ['/project/', '/users', '/account', '/login', '/invite/'];

/** The project of a path (`/project/3/logs` → 3) and the page within it (`/logs`). */
export function splitProject(pathname: string): { projectId: number | null; page: string } {
  const m = /^\/project\/(\d+)(\/.*)?$/.exec(pathname);
  if (!m) return { projectId: null, page: pathname };
  return { projectId: Number(m[1]), page: m[2] || '/logs' };
}

/** A project page's link in the project on screen: `/logs?q=x` → `/project/3/logs?q=x`, so
 * pages write their links without knowing the project, and a copied link names it. */
export function withProject(to: string): string {
  if (INSTANCE_PAGES.some((p) => to.startsWith(p)) || !to.startsWith('/')) return to;
  const { projectId } = splitProject(location.pathname);
  return projectId === null ? to : `/project/${projectId}${to}`;
}

export function navigate(to: string, replace = false) {
  const target = withProject(to);
  if (replace) history.replaceState(null, '', target);
  else history.pushState(null, '', target);
  window.dispatchEvent(new PopStateEvent('popstate'));
}

export function useLocation(): URL {
  const [url, setUrl] = useState(() => new URL(location.href));
  useEffect(() => {
    const update = () => setUrl(new URL(location.href));
    window.addEventListener('popstate', update);
    return () => window.removeEventListener('popstate', update);
  }, []);
  return url;
}

/** Sets query parameters of the current URL (empty values are removed). */
export function setQuery(params: Record<string, string | null>, replace = true) {
  editQuery((q) => {
    for (const [k, v] of Object.entries(params)) {
      if (v === null || v === '') q.delete(k);
      else q.set(k, v);
    }
  }, replace);
}

/** Changes the current URL's query in place, as a new history entry unless `replace`. */
export function editQuery(edit: (params: URLSearchParams) => void, replace = false) {
  const url = new URL(location.href);
  edit(url.searchParams);
  if (url.search === location.search) return;
  history[replace ? 'replaceState' : 'pushState'](null, '', url.pathname + url.search);
  window.dispatchEvent(new PopStateEvent('popstate'));
}

export function Link(props: { to: string; children: React.ReactNode; className?: string; title?: string }) {
  return (
    <a
      href={withProject(props.to)}
      className={props.className}
      title={props.title}
      onClick={(e) => {
        if (e.metaKey || e.ctrlKey || e.shiftKey || e.button !== 0) return;
        e.preventDefault();
        navigate(props.to);
      }}
    >
      {props.children}
    </a>
  );
}
