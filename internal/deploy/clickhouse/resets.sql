-- The table of rstscope's verdicts, one row per RST, as Vector writes them
-- (internal/deploy/vector/rstscope.yaml): the columns are the keys of a verdict line
-- (docs/json.md), and the host that captured it.
CREATE DATABASE IF NOT EXISTS rstscope;

CREATE TABLE IF NOT EXISTS rstscope.resets
(
    host       LowCardinality(String),
    file       String,
    frame      UInt64,
    ts         DateTime64(9, 'UTC'),
    client     String,
    server     String,
    `from`     LowCardinality(String),
    origin     LowCardinality(String),
    confidence Float32,
    phase      LowCardinality(String),
    cause      LowCardinality(String),
    evidence   Array(String),
    findings   Array(Tuple(rule LowCardinality(String), weight Float32, text String, frames Array(UInt64))),
    flags      LowCardinality(String),
    ttl        UInt8,
    seq        UInt32,
    ack        UInt32,
    rtt_ms     Nullable(Float64),
    midstream  Bool,
    request    String,
    response   String,
    event      UInt64,
    relation   String,
    vantage    LowCardinality(String),
    conn_state LowCardinality(String),
    history    String,
    filter     String
)
ENGINE = MergeTree
PARTITION BY toDate(ts)
ORDER BY (host, ts)
TTL toDateTime(ts) + INTERVAL 30 DAY;
