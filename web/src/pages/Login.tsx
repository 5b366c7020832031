import { useState } from 'react';

export function LoginPage() {
  const [username, setUsername] = useState('');
  const [password, setPassword] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  return (
    <div className="login">
      <form
        className="login-card"
        onSubmit={async (e) => {
          e.preventDefault();
          setBusy(true);
          setError(null);
          const resp = await fetch('/api/login', {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify({ username, password }),
          });
          setBusy(false);
          if (resp.ok) {
            const next = new URLSearchParams(location.search).get('next');
            location.assign(next && next.startsWith('/') ? next : '/logs');
          } else {
            setError((await resp.json()).error ?? 'Login failed');
          }
        }}
      >
        <h1>Tether</h1>
        <p className="muted">Backend logs, linked to what your users saw.</p>
        <label>
          User name
          <input value={username} onChange={(e) => setUsername(e.target.value)} autoComplete="username" autoFocus />
        </label>
        <label>
          Password
          <input type="password" value={password} onChange={(e) => setPassword(e.target.value)} autoComplete="current-password" />
        </label>
        {error && <div className="error-banner">{error}</div>}
        <button type="submit" className="primary" disabled={busy}>
          {busy ? 'Logging in…' : 'Log in'}
        </button>
        <p className="muted small">The first user is <code>admin</code>; its password is printed once when Tether first starts (or set TETHER_ADMIN_PASSWORD). Others join through an admin's invitation link.</p>
      </form>
    </div>
  );
}
