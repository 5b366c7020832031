import { useCallback, useEffect, useState } from 'react';
import { api, ApiError, Me, Project, ProjectList, User } from './api';
import { Link, navigate, splitProject, useLocation } from './router';
import { SessionContext, Session, useSession } from './session';
import { LoginPage } from './pages/Login';
import { InvitePage } from './pages/Invite';
import { LogsPage } from './pages/Logs';
import { ReplayPage, ReplaysPage } from './pages/Replay';
import { ErrorsPage, IssuePage } from './pages/Errors';
import { PersonPage } from './pages/Person';
import { PersonsPage } from './pages/Persons';
import { AlertsPage } from './pages/Alerts';
import { GuidePage } from './pages/Guide';
import { SettingsPage } from './pages/Settings';
import { PeoplePage } from './pages/People';
import { AccountPage } from './pages/Account';
import { ShortcutHelp, useShortcuts } from './shortcuts';

/** Sections of a project, as the first segment of its page path. */
const SECTIONS = ['logs', 'replay', 'errors', 'persons', 'alerts', 'settings', 'guide'];

export function App() {
  const url = useLocation();
  if (url.pathname === '/login') return <LoginPage />;
  if (url.pathname.startsWith('/invite/')) return <InvitePage token={decodeURIComponent(url.pathname.slice(8))} />;
  return <LoggedIn url={url} />;
}

/** Where a URL without a project (an old link such as `/logs/…`, or `/`) goes: the same
 * page of the first project. */
function redirectTarget(url: URL, projects: Project[] | null): string | null {
  if (!projects || projects.length === 0) return null;
  const { projectId, page } = splitProject(url.pathname);
  if (projectId !== null || page.startsWith('/users') || page.startsWith('/account')) return null;
  const section = page.split('/')[1];
  const rest = SECTIONS.includes(section) ? page : '/logs';
  return `/project/${projects[0].id}${rest}${url.search}`;
}

function LoggedIn({ url }: { url: URL }) {
  const [user, setUser] = useState<User | null>(null);
  const [projects, setProjects] = useState<Project[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [help, setHelp] = useState(false);
  const reloadProjects = useCallback(async () => {
    setProjects((await api<ProjectList>('/api/projects')).results);
  }, []);
  useEffect(() => {
    api<Me>('/api/me').then(
      (m) => (m.user ? setUser(m.user) : setError('Log in to use the UI (this browser sent an API key)')),
      (e: ApiError) => setError(e.message),
    );
    reloadProjects().catch((e: ApiError) => setError(e.message));
  }, [reloadProjects]);
  const redirect = redirectTarget(url, projects);
  useEffect(() => {
    if (redirect) navigate(redirect, true);
  }, [redirect]);
  const toggleHelp = useCallback(() => setHelp((h) => !h), []);
  useShortcuts(toggleHelp);

  if (error) return <div className="loading-screen">{error}</div>;
  if (!user || !projects || redirect) return <div className="loading-screen">Loading Tether…</div>;
  const { projectId, page } = splitProject(url.pathname);
  const project = projects.find((p) => p.id === projectId) ?? null;
  const instancePage = page.startsWith('/users') ? <PeoplePage /> : page.startsWith('/account') ? <AccountPage /> : null;
  const shown = project ?? projects[0];
  if (!shown) return <div className="loading-screen">No projects yet.</div>;
  const session: Session = { user, projects, project: shown, reloadProjects };
  return (
    <SessionContext.Provider value={session}>
      <div className="shell">
        <Sidebar page={page} inProject={project !== null} />
        <main className="main">
          {instancePage ??
            (project ? (
              <ProjectPage key={project.id} page={page} project={project} />
            ) : (
              <div className="empty">
                <h2>Project {projectId} not found</h2>
                <p className="muted">It may have been removed, or the link is wrong.</p>
                <Link to={`/project/${projects[0].id}/logs`}>Go to {projects[0].name}</Link>
              </div>
            ))}
        </main>
      </div>
      {help && <ShortcutHelp onClose={toggleHelp} />}
    </SessionContext.Provider>
  );
}

/** A project's page; keyed by the project so that switching projects starts every page fresh. */
function ProjectPage({ page, project }: { page: string; project: Project }) {
  if (page === '/logs' || page.startsWith('/logs/')) return <LogsPage />;
  if (page === '/replay') return <ReplaysPage />;
  if (page.startsWith('/replay/')) return <ReplayPage sessionId={decodeURIComponent(page.slice(8))} />;
  if (page === '/errors') return <ErrorsPage />;
  if (page.startsWith('/errors/')) return <IssuePage id={Number(page.slice(8))} />;
  if (page === '/persons') return <PersonsPage />;
  if (page.startsWith('/persons/')) return <PersonPage distinctId={decodeURIComponent(page.slice(9))} />;
  if (page === '/alerts') return <AlertsPage />;
  if (page === '/settings') return <SettingsPage project={project} />;
  if (page === '/guide') return <GuidePage project={project} />;
  return (
    <div className="empty">
      <h2>Page not found</h2>
      <Link to="/logs">Go to logs</Link>
    </div>
  );
}

const NAV = [
  ['logs', 'Logs'],
  ['replay', 'Replays'],
  ['errors', 'Errors'],
  ['persons', 'Persons'],
  ['alerts', 'Alerts'],
  ['settings', 'Settings'],
  ['guide', 'Link logs to replays'],
];

function Sidebar({ page, inProject }: { page: string; inProject: boolean }) {
  const { user, projects, project, reloadProjects } = useSession();
  const [creating, setCreating] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const section = page.split('/')[1] || 'logs';
  return (
    <nav className="sidebar">
      <div className="brand">Tether</div>
      <label className="project-switcher">
        <span className="sr-only">Project</span>
        <select
          aria-label="Project"
          value={project.id}
          onChange={(e) => {
            if (e.target.value === 'new') return setCreating('');
            // The same section in the other project (a detail page's id means nothing there).
            const keep = inProject && NAV.some(([k]) => k === section) ? section : 'logs';
            navigate(`/project/${e.target.value}/${keep}`);
          }}
        >
          {projects.map((p) => (
            <option key={p.id} value={p.id}>
              {p.name}
            </option>
          ))}
          {user.role === 'admin' && <option value="new">+ New project…</option>}
        </select>
      </label>
      {creating !== null && (
        <form
          className="new-project"
          onSubmit={async (e) => {
            e.preventDefault();
            try {
              const created = await api<Project>('/api/projects', { method: 'POST', body: JSON.stringify({ name: creating }) });
              await reloadProjects();
              setCreating(null);
              setError(null);
              navigate(`/project/${created.id}/settings`);
            } catch (err) {
              setError((err as ApiError).message);
            }
          }}
        >
          <input autoFocus aria-label="New project name" placeholder="Project name, e.g. Staging" value={creating} onChange={(e) => setCreating(e.target.value)} />
          <button className="primary" type="submit">Create</button>
          <button type="button" className="link-button" onClick={() => setCreating(null)}>Cancel</button>
          {error && <div className="error-text">{error}</div>}
        </form>
      )}
      {NAV.map(([key, label]) => (
        <Link key={key} to={`/project/${project.id}/${key}`} className={inProject && section === key ? 'nav active' : 'nav'}>
          {label}
        </Link>
      ))}
      <div className="nav-group">Team</div>
      {user.role === 'admin' && (
        <Link to="/users" className={page.startsWith('/users') ? 'nav active' : 'nav'}>
          Members
        </Link>
      )}
      <Link to="/account" className={page.startsWith('/account') ? 'nav active' : 'nav'}>
        Your account
      </Link>
      <div className="sidebar-foot">
        <span title={`Role: ${user.role}`}>
          {user.username} <span className="role-badge">{user.role}</span>
        </span>
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
      <button className="link-button shortcut-hint" onClick={() => window.dispatchEvent(new KeyboardEvent('keydown', { key: '?' }))}>
        Keyboard shortcuts <kbd>?</kbd>
      </button>
    </nav>
  );
}
