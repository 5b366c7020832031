// People (admins only; the server refuses everyone else): users and their roles, and
// invitations — one-time links with an expiry, handed over by any channel.
import { useState } from 'react';
import { Outcome, useAction } from '../action';
import { api, ApiError, InviteList, NewInviteAnswer, Role, useApi, UserList } from '../api';
import { useSession } from '../session';
import { Ago } from '../time';


const ROLES: [Role, string][] = [
  ['viewer', 'Viewer — reads everything'],
  ['member', 'Member — also triages issues, uploads source maps'],
  ['admin', 'Admin — also manages people, projects, settings, alerts'],
];

export function PeoplePage() {
  const me = useSession().user;
  const users = useApi<UserList>('/api/users');
  const invites = useApi<InviteList>('/api/invites');
  const { outcome, run: act } = useAction(() => {
    users.reload();
    invites.reload();
  });
  if (users.error) {
    return (
      <div className="list-page">
        <h2>People</h2>
        <div className="error-banner" role="alert">{users.error}</div>
      </div>
    );
  }
  const name = (id: number) => users.data?.results.find((u) => u.id === id)?.username ?? `user ${id}`;
  return (
    <div className="list-page">
      <h2>People</h2>
      <p className="muted">Everyone here sees every project. Roles are checked by the server on every request.</p>
      <Outcome outcome={outcome} banner />
      <table className="table" aria-label="Users">
        <thead>
          <tr>
            <th>User</th>
            <th>Role</th>
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
      <InviteForm onCreated={invites.reload} />
      <h3>Pending invitations</h3>
      {invites.data?.results.length === 0 && <p className="muted">None.</p>}
      <table className="table" aria-label="Pending invitations">
        <tbody>
          {invites.data?.results.map((i) => (
            <tr key={i.id}>
              <td>{i.role}</td>
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

function InviteForm({ onCreated }: { onCreated: () => void }) {
  const [role, setRole] = useState<Role>('member');
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
            const r = await api<NewInviteAnswer>('/api/invites', { method: 'POST', body: JSON.stringify({ role, expires_in_hours: hours }) });
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
