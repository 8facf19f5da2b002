-- Single-node schema for docker compose (no ZooKeeper): same columns and
-- de-duplication as the cluster, without replication.
CREATE DATABASE IF NOT EXISTS wotr;
CREATE TABLE IF NOT EXISTS wotr.events (
    id String,
    source String,
    type String,
    created_at DateTime,
    payload String,
    ingested_at DateTime DEFAULT now(),
    kafka_partition Int32 DEFAULT -1,
    kafka_offset Int64 DEFAULT -1
) ENGINE = ReplacingMergeTree(ingested_at)
PARTITION BY toYYYYMM(created_at)
ORDER BY (source, created_at, id);
