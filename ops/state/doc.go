// Package state is the console's snapshot of the platform: the types every
// view, command and check reads (instances, deployments, nodes, Kafka, replication,
// pools, regions, backups), their freshness (Meta) and statuses. It has no logic
// beyond small accessors and depends on nothing of ours.
package state
