// Team members (admins only; the server refuses everyone else): users, their instance role and
// the projects they may see with a role in each, and invitations — one-time links with an
// expiry, handed over by any channel, for every project or one.
import { useState } from 'react';
import { Outcome, useAction } from '../action';
import { api, ApiError, InviteList, NewInviteAnswer, Project, Role, TeamMember, useApi, UserList } from '../api';
import { useSession } from '../session';
import { Ago } from '../time';


const ROLES: [Role, string][] = [
  ['viewer', 'Viewer — reads everything'],
  ['member', 'Member — also triages issues, uploads source maps'],
  ['admin', 'Admin — also manages people, projects, settings, alerts'],
];

export function PeoplePage() {
  const { user: me, projects } = useSession();
  const users = useApi<UserList>('/api/users');
  const invites = useApi<InviteList>('/api/invites');
  const { outcome, run: act } = useAction(() => {
    users.reload();
    invites.reload();
  });
  if (users.error) {
    return (
      <div className="list-page">
        <h2>Team members</h2>
        <div className="error-banner" role="alert">{users.error}</div>
      </div>
    );
  }
  const name = (id: number) => users.data?.results.find((u) => u.id === id)?.username ?? `user ${id}`;
  const projectName = (id: number) => projects.find((p) => p.id === id)?.name ?? `project ${id}`;
  return (
    <div className="list-page">
      <h2>Team members</h2>
      <p className="muted">
        Admins manage people and projects and see every project. Everyone else sees only the projects they are a member of,
        with a role in each; a project they are not in does not exist for them. Checked by the server on every request.
      </p>
      <Outcome outcome={outcome} banner />
      <table className="table" aria-label="Users">
        <thead>
          <tr>
            <th>User</th>
            <th title="What they may do beyond one project: an admin manages people and projects">Instance role</th>
            <th>Projects</th>
            <th>Joined</th>
            <th />
          </tr>
        </thead>
        <tbody>
          {users.data?.results.map((u) => (
            <tr key={u.id}>
              <td>
                {u.username} {u.id === me.id && <span className="muted">(you)</span>}
              </td>
              <td>
                <select
                  aria-label={`Role of ${u.username}`}
                  value={u.role}
                  onChange={(e) => act(() => api(`/api/users/${u.id}`, { method: 'PATCH', body: JSON.stringify({ role: e.target.value }) }), `${u.username} is now ${e.target.value}.`)}
                >
                  {ROLES.map(([r]) => (
                    <option key={r} value={r}>{r}</option>
                  ))}
                </select>
              </td>
              <td>
                <ProjectAccess user={u} projects={projects} act={act} />
              </td>
              <td className="muted"><Ago ms={u.created_at_ms} /></td>
              <td>
                {u.id !== me.id && (
                  <button
                    className="link-button danger"
                    onClick={() => confirm(`Remove ${u.username}? Their sessions and API keys stop working at once.`) && act(() => api(`/api/users/${u.id}`, { method: 'DELETE' }), `${u.username} was removed.`)}
                  >
                    Remove
                  </button>
                )}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      <InviteForm projects={projects} onCreated={invites.reload} />
      <h3>Pending invitations</h3>
      {invites.data?.results.length === 0 && <p className="muted">None.</p>}
      <table className="table" aria-label="Pending invitations">
        <tbody>
          {invites.data?.results.map((i) => (
            <tr key={i.id}>
              <td>{i.role}</td>
              <td>{i.projects ? i.projects.map((m) => `${projectName(m.project_id)} (${m.role})`).join(', ') : 'every project'}</td>
              <td className="muted">by {name(i.created_by)}, <Ago ms={i.created_at_ms} /></td>
              <td className="muted">expires <Ago ms={i.expires_at_ms} /></td>
              <td>
                <button className="link-button" onClick={() => act(() => api(`/api/invites/${i.id}`, { method: 'DELETE' }), 'The invitation was revoked.')}>
                  Revoke
                </button>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

/** A user's role in each project ("—": not a member); admins see every project anyway. */
function ProjectAccess({ user, projects, act }: { user: TeamMember; projects: Project[]; act: (change: () => Promise<unknown>, done: string) => Promise<boolean> }) {
  if (user.role === 'admin') return <span className="muted">every project, as admin</span>;
  return (
    <div className="project-access">
      {projects.map((p) => {
        const role = user.projects.find((m) => m.project_id === p.id)?.role ?? '';
        return (
          <label key={p.id}>
            {p.name}{' '}
            <select
              aria-label={`Role of ${user.username} in ${p.name}`}
              value={role}
              onChange={(e) => {
                const next = e.target.value || null;
                act(
                  () => api(`/api/users/${user.id}/projects/${p.id}`, { method: 'PUT', body: JSON.stringify({ role: next }) }),
                  next ? `${user.username} is now ${next} in ${p.name}.` : `${user.username} no longer sees ${p.name}.`,
                );
              }}
            >
              <option value="">—</option>
              {ROLES.map(([r]) => (
                <option key={r} value={r}>{r}</option>
              ))}
            </select>
          </label>
        );
      })}
    </div>
  );
}

function InviteForm({ projects, onCreated }: { projects: Project[]; onCreated: () => void }) {
  const [role, setRole] = useState<Role>('member');
  // '' : every project; else one project's id.
  const [project, setProject] = useState('');
  const [hours, setHours] = useState(168);
  const [link, setLink] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  return (
    <section>
      <h3>Invite a person</h3>
      <p className="muted">Tether makes a link that works once. Send it by any channel; the person chooses their own user name and password.</p>
      <form
        className="toolbar"
        onSubmit={async (e) => {
          e.preventDefault();
          try {
            const only = project && role !== 'admin' ? [{ project_id: Number(project), role }] : undefined;
            const body = { role, expires_in_hours: hours, projects: only };
            const r = await api<NewInviteAnswer>('/api/invites', { method: 'POST', body: JSON.stringify(body) });
            setLink(r.url);
            setError(null);
            onCreated();
          } catch (err) {
            setError((err as ApiError).message);
          }
        }}
      >
        <select aria-label="Role of the invited person" value={role} onChange={(e) => setRole(e.target.value as Role)}>
          {ROLES.map(([r, label]) => (
            <option key={r} value={r}>{label}</option>
          ))}
        </select>
        {role !== 'admin' && (
          <select aria-label="Projects of the invited person" value={project} onChange={(e) => setProject(e.target.value)}>
            <option value="">in every project</option>
            {projects.map((p) => (
              <option key={p.id} value={p.id}>in {p.name} only</option>
            ))}
          </select>
        )}
        <select aria-label="Link expires after" value={hours} onChange={(e) => setHours(Number(e.target.value))}>
          <option value={24}>Expires in 1 day</option>
          <option value={168}>Expires in 7 days</option>
          <option value={720}>Expires in 30 days</option>
        </select>
        <button className="primary" type="submit">Create invitation link</button>
      </form>
      {error && <div className="error-banner">{error}</div>}
      {link && (
        <div className="notice">
          Invitation link (shown once): <code data-testid="invite-link">{link}</code>{' '}
          <button className="link-button" onClick={() => navigator.clipboard?.writeText(link)}>Copy</button>
        </div>
      )}
    </section>
  );
}
