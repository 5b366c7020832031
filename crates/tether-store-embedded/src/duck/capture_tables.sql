-- Migration 3: what the PostHog-compatible capture path stores.

-- Every captured posthog-js event, de-duplicated by (project_id, uuid).
CREATE TABLE events (
    project_id  BIGINT  NOT NULL,
    uuid        VARCHAR NOT NULL,
    event       VARCHAR NOT NULL,
    distinct_id VARCHAR NOT NULL,
    session_id  VARCHAR,
    window_id   VARCHAR,
    ts_ms       BIGINT  NOT NULL,
    current_url VARCHAR,
    properties  VARCHAR NOT NULL -- JSON object
);

-- $exception occurrences with the issue their fingerprint maps to.
CREATE TABLE exceptions (
    project_id     BIGINT  NOT NULL,
    uuid           VARCHAR NOT NULL,
    issue_id       BIGINT  NOT NULL,
    session_id     VARCHAR,
    window_id      VARCHAR,
    distinct_id    VARCHAR NOT NULL,
    ts_ms          BIGINT  NOT NULL,
    url            VARCHAR,
    name           VARCHAR NOT NULL,
    message        VARCHAR NOT NULL,
    exception_list VARCHAR NOT NULL -- JSON array
);

-- Where each recording chunk's blob is; chunk_id (a content hash) drops SDK retries.
CREATE TABLE recording_chunks (
    project_id BIGINT  NOT NULL,
    session_id VARCHAR NOT NULL,
    window_id  VARCHAR NOT NULL,
    chunk_id   VARCHAR NOT NULL,
    first_ms   BIGINT  NOT NULL,
    last_ms    BIGINT  NOT NULL,
    blob_key   VARCHAR NOT NULL,
    size       BIGINT  NOT NULL
);

-- One summary per recorded session, folded forward as chunks arrive.
CREATE TABLE recordings (
    project_id        BIGINT  NOT NULL,
    session_id        VARCHAR NOT NULL,
    distinct_id       VARCHAR NOT NULL,
    start_ms          BIGINT  NOT NULL,
    end_ms            BIGINT  NOT NULL,
    active_ms         BIGINT  NOT NULL,
    first_url         VARCHAR,
    clicks            BIGINT  NOT NULL,
    keypresses        BIGINT  NOT NULL,
    console_errors    BIGINT  NOT NULL,
    size              BIGINT  NOT NULL,
    has_full_snapshot BOOLEAN NOT NULL,
    PRIMARY KEY (project_id, session_id)
);
