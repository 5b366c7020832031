// Your account: password, where you are logged in, and your personal API keys (they act
// with your role; removing you revokes them).
import { useState } from 'react';
import { Outcome, useAction } from '../action';
import { api, KeyList, LoginSessionList, NewKeyAnswer, useApi } from '../api';
import { useSession } from '../session';
import { Ago } from '../time';

export function AccountPage() {
  const { user } = useSession();
  return (
    <div className="list-page">
      <h2>Your account</h2>
      <p className="muted">
        Logged in as <strong>{user.username}</strong>, role <strong>{user.role}</strong>.
      </p>
      <PasswordForm />
      <Sessions />
      <ApiKeys />
    </div>
  );
}

function PasswordForm() {
  const [current, setCurrent] = useState('');
  const [next, setNext] = useState('');
  const { outcome, run } = useAction();
  return (
    <section>
      <h3>Change password</h3>
      <form
        className="toolbar"
        onSubmit={async (e) => {
          e.preventDefault();
          const body = JSON.stringify({ current_password: current, new_password: next });
          if (await run(() => api('/api/me/password', { method: 'POST', body }), 'Password changed. Your other sessions were logged out.')) {
            setCurrent('');
            setNext('');
          }
        }}
      >
        <input type="password" aria-label="Current password" placeholder="Current password" autoComplete="current-password" value={current} onChange={(e) => setCurrent(e.target.value)} required />
        <input type="password" aria-label="New password" placeholder="New password (8+ characters)" autoComplete="new-password" minLength={8} value={next} onChange={(e) => setNext(e.target.value)} required />
        <button className="primary" type="submit">Change password</button>
        <Outcome outcome={outcome} />
      </form>
    </section>
  );
}

const BROWSERS: [RegExp, string][] = [
  [/Edg\/(\d+)/, 'Edge'],
  [/Firefox\/(\d+)/, 'Firefox'],
  [/Chrome\/(\d+)/, 'Chrome'],
  [/Version\/(\d+).*Safari/, 'Safari'],
];
const SYSTEMS: [string, string][] = [['Windows', 'Windows'], ['Mac OS X', 'macOS'], ['Android', 'Android'], ['iPhone', 'iOS'], ['Linux', 'Linux']];

/** "Chrome 156 on Linux" from a User-Agent header (the whole header is in the tooltip). */
function describeAgent(ua: string): string {
  if (!ua) return 'unknown browser';
  const browser = BROWSERS.map(([re, name]) => re.exec(ua) && `${name} ${re.exec(ua)![1]}`).find(Boolean) ?? 'a browser';
  const os = SYSTEMS.find(([k]) => ua.includes(k))?.[1];
  return os ? `${browser} on ${os}` : browser;
}


function Sessions() {
  const sessions = useApi<LoginSessionList>('/api/me/sessions');
  const { outcome, run } = useAction(sessions.reload);
  return (
    <section>
      <h3>Where you are logged in</h3>
      <Outcome outcome={outcome} banner />
      <table className="table" aria-label="Sessions">
        <thead>
          <tr>
            <th>Browser</th>
            <th>Logged in</th>
            <th>Expires</th>
            <th />
          </tr>
        </thead>
        <tbody>
          {sessions.data?.results.map((s) => (
            <tr key={s.id}>
              <td title={s.user_agent}>{describeAgent(s.user_agent)} {s.current && <span className="role-badge">this browser</span>}</td>
              <td className="muted"><Ago ms={s.created_at_ms} /></td>
              <td className="muted"><Ago ms={s.expires_at_ms} /></td>
              <td>
                {!s.current && (
                  <button
                    className="link-button"
                    onClick={() => run(() => api(`/api/me/sessions/${s.id}`, { method: 'DELETE' }))}
                  >
                    Log out there
                  </button>
                )}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}


function ApiKeys() {
  const { projects, user } = useSession();
  const keys = useApi<KeyList>('/api/api_keys');
  const [name, setName] = useState('');
  const [scope, setScope] = useState('');
  const [cap, setCap] = useState('');
  const [days, setDays] = useState('');
  const [secret, setSecret] = useState<string | null>(null);
  const { outcome, run } = useAction(keys.reload);
  const projectName = (id: number | null) => (id === null ? 'all projects' : projects.find((p) => p.id === id)?.name ?? `project ${id}`);
  return (
    <section>
      <h3>Personal API keys</h3>
      <p className="muted">
        Secret keys for the API and posthog-cli (<code>Authorization: Bearer phx_…</code>), acting with your role in each project
        you may see (or less, if you cap it), until revoked or expired. Keys cannot make keys. A new key is shown once.
        {user.role === 'admin' && ' As an admin you see everyone’s keys.'}
      </p>
      {keys.error && <div className="error-banner">{keys.error}</div>}
      <Outcome outcome={outcome} banner />
      <form
        className="toolbar"
        onSubmit={async (e) => {
          e.preventDefault();
          const body = JSON.stringify({
            name: name || 'unnamed key',
            project_id: scope === '' ? null : Number(scope),
            role: cap || undefined,
            expires_in_days: days === '' ? undefined : Number(days),
          });
          const created = await run(async () => {
            setSecret((await api<NewKeyAnswer>('/api/api_keys', { method: 'POST', body })).secret);
          });
          if (created) setName('');
        }}
      >
        <input placeholder="Key name, e.g. CI" value={name} onChange={(e) => setName(e.target.value)} aria-label="Key name" />
        <select aria-label="Key scope" value={scope} onChange={(e) => setScope(e.target.value)}>
          <option value="">All projects</option>
          {projects.map((p) => (
            <option key={p.id} value={p.id}>Only {p.name}</option>
          ))}
        </select>
        <select aria-label="Key role" value={cap} onChange={(e) => setCap(e.target.value)}>
          <option value="">With your role</option>
          <option value="viewer">Read only (viewer)</option>
          <option value="member">At most member</option>
        </select>
        <select aria-label="Key expiry" value={days} onChange={(e) => setDays(e.target.value)}>
          <option value="">Until revoked</option>
          <option value="30">Expires in 30 days</option>
          <option value="90">Expires in 90 days</option>
          <option value="365">Expires in a year</option>
        </select>
        <button className="primary" type="submit">Create key</button>
      </form>
      {secret && (
        <div className="notice">
          New key (copy it now, it is not shown again): <code data-testid="new-key">{secret}</code>
        </div>
      )}
      {keys.data?.results.length === 0 && <p className="muted">No keys yet.</p>}
      <table className="table" aria-label="API keys" hidden={keys.data?.results.length === 0}>
        <thead>
          <tr>
            <th>Name</th>
            <th>Key</th>
            <th>May read</th>
            <th>Owner</th>
            <th>Role</th>
            <th>Expires</th>
            <th>Created</th>
            <th>Last used</th>
            <th />
          </tr>
        </thead>
        <tbody>
          {keys.data?.results.map((k) => (
            <tr key={k.id}>
              <td>{k.name}</td>
              <td><code>{k.prefix}…</code></td>
              <td className="muted">{projectName(k.project_id ?? null)}</td>
              <td className="muted">{k.username ?? 'operator key'}</td>
              <td className="muted">{k.role ?? 'owner’s'}</td>
              <td className="muted">{k.expires_at_ms ? <Ago ms={k.expires_at_ms} /> : 'never'}</td>
              <td className="muted"><Ago ms={k.created_at_ms} /></td>
              <td className="muted">{k.last_used_at_ms ? <Ago ms={k.last_used_at_ms} /> : 'never'}</td>
              <td>
                <button
                  className="link-button"
                  onClick={() => run(() => api(`/api/api_keys/${k.id}`, { method: 'DELETE' }))}
                >
                  Revoke
                </button>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}
