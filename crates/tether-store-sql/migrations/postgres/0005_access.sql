-- The same as the SQLite migration 0009: project membership, the projects an
-- invitation grants, and key expiry and role caps.
CREATE TABLE project_members (
    user_id    BIGINT NOT NULL,
    project_id BIGINT NOT NULL,
    role       TEXT   NOT NULL,
    PRIMARY KEY (user_id, project_id)
);
INSERT INTO project_members (user_id, project_id, role)
    SELECT u.id, p.id, u.role FROM users u CROSS JOIN projects p WHERE u.role <> 'admin';
ALTER TABLE invites ADD COLUMN projects TEXT;
ALTER TABLE api_keys ADD COLUMN expires_at_ms BIGINT;
ALTER TABLE api_keys ADD COLUMN role TEXT;
