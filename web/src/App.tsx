import { useEffect, useState } from 'react';
import { api, loadProject } from './api';
import { Link, useLocation } from './router';
import { LoginPage } from './pages/Login';
import { LogsPage } from './pages/Logs';
import { ReplayPage, ReplaysPage } from './pages/Replay';
import { ErrorsPage, IssuePage } from './pages/Errors';
import { PersonPage } from './pages/Person';
import { AlertsPage } from './pages/Alerts';
import { GuidePage, SettingsPage } from './pages/Settings';

type Me = { user?: { username: string } };

export function App() {
  const url = useLocation();
  const [me, setMe] = useState<Me | null | 'anonymous'>(null);
  const [project, setProject] = useState<{ id: number; name: string; token: string } | null>(null);

  useEffect(() => {
    if (url.pathname === '/login') return;
    api<Me>('/api/me')
      .then(async (m) => {
        setMe(m);
        setProject(await loadProject());
      })
      .catch(() => setMe('anonymous'));
  }, [url.pathname === '/login']);

  if (url.pathname === '/login') return <LoginPage />;
  if (me === null || project === null) return <div className="loading-screen">Loading Tether…</div>;

  const path = url.pathname;
  const section = path.split('/')[1] || 'logs';
  let page;
  if (path === '/' || path === '/logs' || path.startsWith('/logs/')) page = <LogsPage />;
  else if (path === '/replay') page = <ReplaysPage />;
  else if (path.startsWith('/replay/')) page = <ReplayPage sessionId={decodeURIComponent(path.slice(8))} />;
  else if (path === '/errors') page = <ErrorsPage />;
  else if (path.startsWith('/errors/')) page = <IssuePage id={Number(path.slice(8))} />;
  else if (path.startsWith('/persons/')) page = <PersonPage distinctId={decodeURIComponent(path.slice(9))} />;
  else if (path === '/alerts') page = <AlertsPage />;
  else if (path === '/settings') page = <SettingsPage project={project} />;
  else if (path === '/guide') page = <GuidePage project={project} />;
  else page = <div className="empty"><h2>Page not found</h2><Link to="/logs">Go to logs</Link></div>;

  const nav = [
    ['logs', 'Logs'],
    ['replay', 'Replays'],
    ['errors', 'Errors'],
    ['alerts', 'Alerts'],
    ['settings', 'Settings'],
    ['guide', 'Link logs to replays'],
  ];
  return (
    <div className="shell">
      <nav className="sidebar">
        <div className="brand">Tether</div>
        <div className="project">{project.name}</div>
        {nav.map(([key, label]) => (
          <Link key={key} to={`/${key}`} className={section === key ? 'nav active' : 'nav'}>
            {label}
          </Link>
        ))}
        <div className="sidebar-foot">
          {me !== 'anonymous' && me.user?.username}
          <button
            className="link-button"
            onClick={async () => {
              await fetch('/api/logout', { method: 'POST' });
              location.assign('/login');
            }}
          >
            Log out
          </button>
        </div>
      </nav>
      <main className="main">{page}</main>
    </div>
  );
}
