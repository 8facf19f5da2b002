-- Events: replicated within a shard, de-duplicated by id (ReplacingMergeTree
-- keeps the latest ingested_at), partitioned by month as in the scaling guide.
CREATE DATABASE IF NOT EXISTS wotr ON CLUSTER wotr_cluster;
CREATE TABLE IF NOT EXISTS wotr.events ON CLUSTER wotr_cluster (
    id String,
    source String,
    type String,
    created_at DateTime,
    payload String,
    ingested_at DateTime DEFAULT now(),
    kafka_partition Int32 DEFAULT -1,
    kafka_offset Int64 DEFAULT -1
) ENGINE = ReplicatedReplacingMergeTree('/clickhouse/tables/{shard}/events', '{replica}', ingested_at)
PARTITION BY toYYYYMM(created_at)
ORDER BY (source, created_at, id);
-- Writes and reads go through this table; a row lives on the shard of cityHash64(id),
-- so every copy of an id meets the same ReplacingMergeTree.
CREATE TABLE IF NOT EXISTS wotr.events_all ON CLUSTER wotr_cluster AS wotr.events
ENGINE = Distributed(wotr_cluster, wotr, events, cityHash64(id));
