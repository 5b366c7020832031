-- Releases and source map uploads (posthog-cli `sourcemap inject` / `upload`). The bytes of a
-- symbol set are in the blob store under its id; one current set per chunk id.
CREATE TABLE releases (
    id            TEXT    PRIMARY KEY,
    project_id    INTEGER NOT NULL REFERENCES projects(id),
    hash_id       TEXT    NOT NULL,
    name          TEXT    NOT NULL,
    version       TEXT    NOT NULL,
    metadata      TEXT    NOT NULL DEFAULT '{}',
    created_at_ms INTEGER NOT NULL,
    UNIQUE (project_id, hash_id)
);

CREATE TABLE symbol_sets (
    id                 TEXT    PRIMARY KEY,
    project_id         INTEGER NOT NULL REFERENCES projects(id),
    chunk_id           TEXT    NOT NULL,
    release_id         TEXT,
    content_hash       TEXT    NOT NULL,
    content_length     INTEGER NOT NULL,
    upload_secret_hash TEXT    NOT NULL,
    created_at_ms      INTEGER NOT NULL,
    finished_at_ms     INTEGER,
    UNIQUE (project_id, chunk_id)
);
