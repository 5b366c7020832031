-- Error-tracking issues: one per (project, fingerprint).
CREATE TABLE issues (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    project_id    INTEGER NOT NULL REFERENCES projects(id),
    fingerprint   TEXT    NOT NULL,
    name          TEXT    NOT NULL,
    description   TEXT    NOT NULL,
    status        TEXT    NOT NULL DEFAULT 'active',
    first_seen_ms INTEGER NOT NULL,
    last_seen_ms  INTEGER NOT NULL,
    UNIQUE (project_id, fingerprint)
);

-- Persons and the distinct ids that point at them.
CREATE TABLE persons (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    project_id    INTEGER NOT NULL REFERENCES projects(id),
    properties    TEXT    NOT NULL DEFAULT '{}',
    created_at_ms INTEGER NOT NULL
);

CREATE TABLE person_distinct_ids (
    project_id  INTEGER NOT NULL,
    distinct_id TEXT    NOT NULL,
    person_id   INTEGER NOT NULL REFERENCES persons(id),
    PRIMARY KEY (project_id, distinct_id)
);
CREATE INDEX person_distinct_ids_by_person ON person_distinct_ids (person_id);
