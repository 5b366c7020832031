-- The keys of the attribute slots in one column: `attribute_keys`, the slots' keys in
-- order joined by U+001F (NULL when the slots are empty), instead of a column per slot.
-- A record's keys are nearly always one of a producer's few key lists, so the column is a
-- dictionary of a few entries; twelve key columns cost at least a bit per row each in
-- DuckDB even when constant (~1 byte per log on the benchmark data). A filter finds a
-- key's slot with `list_position(string_split(attribute_keys, chr(31)), key)`, which
-- DuckDB evaluates once per dictionary entry, not per row.
-- A key holding U+001F cannot be joined: such a record keeps all its entries in
-- `more_attributes` (no slots; its session and distinct id values given back).
CREATE TABLE logs_keys (
    project_id          BIGINT   NOT NULL,
    id                  BIGINT   NOT NULL,
    ts                  BIGINT   NOT NULL,
    observed_delta      BIGINT   NOT NULL,
    severity            UTINYINT NOT NULL,
    severity_text       VARCHAR, -- NULL: the level's OTLP name (INFO)
    severity_number     INTEGER, -- NULL: the level's first OTLP number (9)
    service             VARCHAR  NOT NULL,
    body                VARCHAR  USING COMPRESSION zstd NOT NULL,
    session_id          VARCHAR,
    distinct_id         VARCHAR,
    trace_id_high       UBIGINT,
    trace_id_low        UBIGINT,
    span_id             UBIGINT,
    trace_flags         UINTEGER NOT NULL,
    event_name          VARCHAR, -- NULL: empty, as are the next two
    scope_name          VARCHAR,
    scope_version       VARCHAR,
    attribute_keys      VARCHAR, -- the slots' keys joined by U+001F; NULL: no slots
    attr_value_1        VARCHAR,
    attr_value_2        VARCHAR,
    attr_value_3        VARCHAR,
    attr_value_4        VARCHAR,
    attr_value_5        VARCHAR,
    attr_value_6        VARCHAR,
    attr_value_7        VARCHAR,
    attr_value_8        VARCHAR,
    attr_value_9        VARCHAR,
    attr_value_10       VARCHAR,
    attr_value_11       VARCHAR,
    attr_value_12       VARCHAR,
    more_attributes     MAP(VARCHAR, VARCHAR), -- NULL when the slots hold every entry
    attribute_types     VARCHAR  NOT NULL,
    resource_attributes VARCHAR, -- NULL: none, as for the next
    scope_attributes    VARCHAR
);
INSERT INTO logs_keys
SELECT project_id, id, ts, observed_delta, severity, severity_text, severity_number, service,
       body, session_id, distinct_id, trace_id_high, trace_id_low, span_id, trace_flags,
       event_name, scope_name, scope_version,
       CASE WHEN NOT bad AND attr_key_1 IS NOT NULL THEN concat_ws(chr(31), attr_key_1, attr_key_2, attr_key_3, attr_key_4, attr_key_5, attr_key_6, attr_key_7, attr_key_8, attr_key_9, attr_key_10, attr_key_11, attr_key_12) END,
       CASE WHEN NOT bad THEN attr_value_1 END,
       CASE WHEN NOT bad THEN attr_value_2 END,
       CASE WHEN NOT bad THEN attr_value_3 END,
       CASE WHEN NOT bad THEN attr_value_4 END,
       CASE WHEN NOT bad THEN attr_value_5 END,
       CASE WHEN NOT bad THEN attr_value_6 END,
       CASE WHEN NOT bad THEN attr_value_7 END,
       CASE WHEN NOT bad THEN attr_value_8 END,
       CASE WHEN NOT bad THEN attr_value_9 END,
       CASE WHEN NOT bad THEN attr_value_10 END,
       CASE WHEN NOT bad THEN attr_value_11 END,
       CASE WHEN NOT bad THEN attr_value_12 END,
       CASE WHEN NOT bad THEN more_attributes
            ELSE map_from_entries(list_concat(list_filter([
               struct_pack(key := attr_key_1, value := CASE substr(attribute_types, 1, 1) WHEN 'S' THEN session_id WHEN 'P' THEN distinct_id ELSE attr_value_1 END),
               struct_pack(key := attr_key_2, value := CASE substr(attribute_types, 2, 1) WHEN 'S' THEN session_id WHEN 'P' THEN distinct_id ELSE attr_value_2 END),
               struct_pack(key := attr_key_3, value := CASE substr(attribute_types, 3, 1) WHEN 'S' THEN session_id WHEN 'P' THEN distinct_id ELSE attr_value_3 END),
               struct_pack(key := attr_key_4, value := CASE substr(attribute_types, 4, 1) WHEN 'S' THEN session_id WHEN 'P' THEN distinct_id ELSE attr_value_4 END),
               struct_pack(key := attr_key_5, value := CASE substr(attribute_types, 5, 1) WHEN 'S' THEN session_id WHEN 'P' THEN distinct_id ELSE attr_value_5 END),
               struct_pack(key := attr_key_6, value := CASE substr(attribute_types, 6, 1) WHEN 'S' THEN session_id WHEN 'P' THEN distinct_id ELSE attr_value_6 END),
               struct_pack(key := attr_key_7, value := CASE substr(attribute_types, 7, 1) WHEN 'S' THEN session_id WHEN 'P' THEN distinct_id ELSE attr_value_7 END),
               struct_pack(key := attr_key_8, value := CASE substr(attribute_types, 8, 1) WHEN 'S' THEN session_id WHEN 'P' THEN distinct_id ELSE attr_value_8 END),
               struct_pack(key := attr_key_9, value := CASE substr(attribute_types, 9, 1) WHEN 'S' THEN session_id WHEN 'P' THEN distinct_id ELSE attr_value_9 END),
               struct_pack(key := attr_key_10, value := CASE substr(attribute_types, 10, 1) WHEN 'S' THEN session_id WHEN 'P' THEN distinct_id ELSE attr_value_10 END),
               struct_pack(key := attr_key_11, value := CASE substr(attribute_types, 11, 1) WHEN 'S' THEN session_id WHEN 'P' THEN distinct_id ELSE attr_value_11 END),
               struct_pack(key := attr_key_12, value := CASE substr(attribute_types, 12, 1) WHEN 'S' THEN session_id WHEN 'P' THEN distinct_id ELSE attr_value_12 END)
            ], lambda e: e.key IS NOT NULL), map_entries(more_attributes))) END,
       CASE WHEN NOT bad THEN attribute_types
            ELSE replace(replace(attribute_types, 'S', 's'), 'P', 's') END,
       resource_attributes, scope_attributes
FROM (SELECT *, len(list_filter([attr_key_1, attr_key_2, attr_key_3, attr_key_4, attr_key_5, attr_key_6, attr_key_7, attr_key_8, attr_key_9, attr_key_10, attr_key_11, attr_key_12], lambda k: contains(k, chr(31)))) > 0 AS bad FROM logs) ORDER BY id;
DROP TABLE logs;
ALTER TABLE logs_keys RENAME TO logs;
