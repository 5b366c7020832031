// The page an invitation link opens: the invited person chooses a username and password,
// and is logged in. No login is needed to see it; the link's secret is the permission.
import { useEffect, useState } from 'react';
import { api, ApiError, InviteOffer as Offer, relativeTime } from '../api';

export function InvitePage({ token }: { token: string }) {
  const [offer, setOffer] = useState<Offer | null>(null);
  const [gone, setGone] = useState<string | null>(null);
  const [username, setUsername] = useState('');
  const [password, setPassword] = useState('');
  const [repeat, setRepeat] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  useEffect(() => {
    const controller = new AbortController();
    api<Offer>(`/api/invite/${encodeURIComponent(token)}`, { signal: controller.signal }).then(setOffer, (e: ApiError) => {
      if (!controller.signal.aborted) setGone(e.message);
    });
    return () => controller.abort();
  }, [token]);
  return (
    <div className="login">
      <form
        className="login-card"
        onSubmit={async (e) => {
          e.preventDefault();
          if (password !== repeat) return setError('The two passwords differ');
          setBusy(true);
          setError(null);
          try {
            await api(`/api/invite/${encodeURIComponent(token)}/accept`, { method: 'POST', body: JSON.stringify({ username, password }) });
            location.assign('/');
          } catch (err) {
            setError((err as ApiError).message);
            setBusy(false);
          }
        }}
      >
        <h1>Tether</h1>
        {gone && <div className="error-banner">{gone}</div>}
        {offer && (
          <>
            <p>
              {offer.invited_by ?? 'An admin'} invited you to join as <strong>{offer.role}</strong>. The link works once and
              expires {relativeTime(offer.expires_at_ms)}.
            </p>
            <label>
              Choose a user name
              <input value={username} onChange={(e) => setUsername(e.target.value)} autoComplete="username" autoFocus required />
            </label>
            <label>
              Choose a password (at least 8 characters)
              <input type="password" value={password} onChange={(e) => setPassword(e.target.value)} autoComplete="new-password" required minLength={8} />
            </label>
            <label>
              The password again
              <input type="password" value={repeat} onChange={(e) => setRepeat(e.target.value)} autoComplete="new-password" required />
            </label>
            {error && <div className="error-banner">{error}</div>}
            <button type="submit" className="primary" disabled={busy}>
              {busy ? 'Creating your account…' : 'Create account and log in'}
            </button>
          </>
        )}
      </form>
    </div>
  );
}
