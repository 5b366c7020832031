-- Attribute entries in their own columns: the first 12 of a record as key and value
-- columns (`attr_key_N`, `attr_value_N`, in the record's order), the rest in the
-- `more_attributes` MAP. A MAP keeps every value in one column, so a random request id
-- and a three-valued method shared one compression method per segment (FSST, 30 bytes per
-- log on the benchmark data); a producer writes its keys in a stable order, so a slot
-- column mostly holds one key's values and DuckDB compresses each as suits it (a
-- dictionary for a method or route, FSST for an id): 16 bytes per log, keys included.
-- `attribute_types` keeps one letter per entry, slots first; `S` and `P` (a value standing
-- for the log's session or distinct id) occur in the slots only, so entries moved to
-- `more_attributes` get their value back.
-- Columns that nearly always hold one value are NULL for it (even a constant text costs a
-- bit per row, a NULL next to nothing): the severity text and number when they are the
-- level's OTLP name and first number, event and scope names and version when empty,
-- resource and scope attributes when there are none.
CREATE TABLE logs_slots (
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
    attr_key_1          VARCHAR,
    attr_value_1        VARCHAR,
    attr_key_2          VARCHAR,
    attr_value_2        VARCHAR,
    attr_key_3          VARCHAR,
    attr_value_3        VARCHAR,
    attr_key_4          VARCHAR,
    attr_value_4        VARCHAR,
    attr_key_5          VARCHAR,
    attr_value_5        VARCHAR,
    attr_key_6          VARCHAR,
    attr_value_6        VARCHAR,
    attr_key_7          VARCHAR,
    attr_value_7        VARCHAR,
    attr_key_8          VARCHAR,
    attr_value_8        VARCHAR,
    attr_key_9          VARCHAR,
    attr_value_9        VARCHAR,
    attr_key_10         VARCHAR,
    attr_value_10       VARCHAR,
    attr_key_11         VARCHAR,
    attr_value_11       VARCHAR,
    attr_key_12         VARCHAR,
    attr_value_12       VARCHAR,
    more_attributes     MAP(VARCHAR, VARCHAR), -- NULL when the slots hold every entry
    attribute_types     VARCHAR  NOT NULL,
    resource_attributes VARCHAR, -- NULL: none, as for the next
    scope_attributes    VARCHAR
);
INSERT INTO logs_slots
SELECT project_id, id, ts, observed_delta, severity,
       nullif(severity_text, ['TRACE', 'DEBUG', 'INFO', 'WARN', 'ERROR', 'FATAL'][severity]),
       nullif(severity_number, 4 * severity - 3), service,
       body, session_id, distinct_id, trace_id_high, trace_id_low, span_id, trace_flags,
       nullif(event_name, ''), nullif(scope_name, ''), nullif(scope_version, ''),
       map_keys(attributes)[1], map_values(attributes)[1],
       map_keys(attributes)[2], map_values(attributes)[2],
       map_keys(attributes)[3], map_values(attributes)[3],
       map_keys(attributes)[4], map_values(attributes)[4],
       map_keys(attributes)[5], map_values(attributes)[5],
       map_keys(attributes)[6], map_values(attributes)[6],
       map_keys(attributes)[7], map_values(attributes)[7],
       map_keys(attributes)[8], map_values(attributes)[8],
       map_keys(attributes)[9], map_values(attributes)[9],
       map_keys(attributes)[10], map_values(attributes)[10],
       map_keys(attributes)[11], map_values(attributes)[11],
       map_keys(attributes)[12], map_values(attributes)[12],
       CASE WHEN cardinality(attributes) > 12 THEN map_from_entries(list_transform(
           list_slice(map_entries(attributes), 13, 2147483647),
           lambda e, i: struct_pack(key := e.key, value :=
               CASE substr(attribute_types, 12 + i, 1) WHEN 'S' THEN session_id
                   WHEN 'P' THEN distinct_id ELSE e.value END))) END,
       substr(attribute_types, 1, 12)
           || replace(replace(substr(attribute_types, 13), 'S', 's'), 'P', 's'),
       nullif(resource_attributes, '{}'), nullif(scope_attributes, '{}')
FROM logs ORDER BY id;
DROP TABLE logs;
ALTER TABLE logs_slots RENAME TO logs;
