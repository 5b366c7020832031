-- Releases and source map uploads: the same tables and meaning as SQLite's migration 0006.
CREATE TABLE releases (
    id            TEXT   PRIMARY KEY,
    project_id    BIGINT NOT NULL REFERENCES projects(id),
    hash_id       TEXT   NOT NULL,
    name          TEXT   NOT NULL,
    version       TEXT   NOT NULL,
    metadata      TEXT   NOT NULL DEFAULT '{}',
    created_at_ms BIGINT NOT NULL,
    UNIQUE (project_id, hash_id)
);

CREATE TABLE symbol_sets (
    id                 TEXT   PRIMARY KEY,
    project_id         BIGINT NOT NULL REFERENCES projects(id),
    chunk_id           TEXT   NOT NULL,
    release_id         TEXT,
    content_hash       TEXT   NOT NULL,
    content_length     BIGINT NOT NULL,
    upload_secret_hash TEXT   NOT NULL,
    created_at_ms      BIGINT NOT NULL,
    finished_at_ms     BIGINT,
    UNIQUE (project_id, chunk_id)
);
