-- Project membership: a user's role in each project they may see. Instance admins see every
-- project as admins and need no rows. Everyone who could see every project before keeps
-- that: each other user becomes a member of every project with the role they had.
CREATE TABLE project_members (
    user_id    INTEGER NOT NULL,
    project_id INTEGER NOT NULL,
    role       TEXT    NOT NULL,
    PRIMARY KEY (user_id, project_id)
);
INSERT INTO project_members (user_id, project_id, role)
    SELECT u.id, p.id, u.role FROM users u CROSS JOIN projects p WHERE u.role <> 'admin';
-- The projects an invitation grants (a JSON list of {project_id, role}); NULL: every
-- project, with the invitation's role.
ALTER TABLE invites ADD COLUMN projects TEXT;
-- A key may expire, and may act with less than its owner's role (NULL: never; the owner's).
ALTER TABLE api_keys ADD COLUMN expires_at_ms INTEGER;
ALTER TABLE api_keys ADD COLUMN role TEXT;
