-- Node numbers: one per process start, so log ids minted by two processes never collide.
CREATE TABLE nodes (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    started_at_ms INTEGER NOT NULL
);

-- One row once the first start created the default project: a second process starting
-- at the same moment finds it and creates nothing.
CREATE TABLE bootstrap (
    id            INTEGER PRIMARY KEY CHECK (id = 1),
    created_at_ms INTEGER NOT NULL
);
INSERT INTO bootstrap (id, created_at_ms) SELECT 1, min(created_at_ms) FROM projects HAVING count(*) > 0;
