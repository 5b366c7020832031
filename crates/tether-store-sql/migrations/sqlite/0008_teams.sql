-- Teams: a role per user (every user so far could manage everything, so they stay admins),
-- which client a login session came from, who owns an API key and when it was last used,
-- and one-time invitations (only a SHA-256 of the link's secret is kept).
ALTER TABLE users ADD COLUMN role TEXT NOT NULL DEFAULT 'admin';
ALTER TABLE user_sessions ADD COLUMN user_agent TEXT NOT NULL DEFAULT '';
CREATE INDEX user_sessions_by_user ON user_sessions (user_id);
-- No foreign key: a removed user's revoked keys keep naming who they belonged to.
ALTER TABLE api_keys ADD COLUMN user_id INTEGER;
ALTER TABLE api_keys ADD COLUMN last_used_at_ms INTEGER;

CREATE TABLE invites (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    token_hash    TEXT    NOT NULL UNIQUE,
    role          TEXT    NOT NULL,
    created_by    INTEGER NOT NULL,
    created_at_ms INTEGER NOT NULL,
    expires_at_ms INTEGER NOT NULL,
    used_at_ms    INTEGER,
    revoked_at_ms INTEGER
);
