-- Alerts (saved rules the background evaluator checks), their history and each
-- notification's delivery; and when an issue last regressed, for "new or regressed" alerts.
ALTER TABLE issues ADD COLUMN reopened_at_ms INTEGER;

CREATE TABLE alerts (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    project_id       INTEGER NOT NULL REFERENCES projects(id),
    name             TEXT    NOT NULL,
    rule             TEXT    NOT NULL, -- JSON of AlertRule
    webhook_url      TEXT    NOT NULL,
    link_base        TEXT    NOT NULL,
    enabled          INTEGER NOT NULL,
    firing           INTEGER NOT NULL DEFAULT 0,
    last_issue_id    INTEGER NOT NULL DEFAULT 0,
    checked_until_ms INTEGER NOT NULL,
    created_at_ms    INTEGER NOT NULL
);

CREATE TABLE alert_events (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    alert_id    INTEGER NOT NULL REFERENCES alerts(id) ON DELETE CASCADE,
    project_id  INTEGER NOT NULL,
    kind        TEXT    NOT NULL,
    at_ms       INTEGER NOT NULL,
    value       INTEGER NOT NULL,
    payload     TEXT    NOT NULL,
    delivery    TEXT    NOT NULL DEFAULT 'pending',
    attempts    INTEGER NOT NULL DEFAULT 0,
    last_error  TEXT
);
CREATE INDEX alert_events_by_alert ON alert_events (alert_id, id);
