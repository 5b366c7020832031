-- Projects own every row Tether stores; tokens are the public write keys SDKs use.
CREATE TABLE projects (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    name          TEXT    NOT NULL,
    token         TEXT    NOT NULL UNIQUE,
    created_at_ms INTEGER NOT NULL
);

-- Personal API keys: only a SHA-256 of the secret is kept. project_id NULL = all projects.
CREATE TABLE api_keys (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    name          TEXT    NOT NULL,
    project_id    INTEGER REFERENCES projects(id),
    secret_hash   TEXT    NOT NULL UNIQUE,
    prefix        TEXT    NOT NULL,
    created_at_ms INTEGER NOT NULL,
    revoked_at_ms INTEGER
);
