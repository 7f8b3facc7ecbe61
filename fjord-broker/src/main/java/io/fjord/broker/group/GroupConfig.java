package io.fjord.broker.group;

/**
 * Group coordinator settings; Kafka's names and defaults.
 *
 * @param offsetsPartitions partitions of {@code __consumer_offsets} (offsets.topic.num.partitions):
 *     groups are spread over them, and each is served by its partition's owner thread
 * @param minSessionTimeoutMs group.min.session.timeout.ms
 * @param maxSessionTimeoutMs group.max.session.timeout.ms
 * @param initialRebalanceDelayMs group.initial.rebalance.delay.ms: how long a new group waits for
 *     more members before its first generation
 * @param maxGroupSize group.max.size
 * @param offsetsRetentionMs offsets.retention.minutes: committed offsets of a group that has been
 *     empty this long are dropped
 * @param offsetMetadataMaxBytes offset.metadata.max.bytes
 * @param tickIntervalMs how often deadlines (sessions, rebalances, expiry) are checked
 * @param compactionRecords after this many offset records (and at least twice the live offsets)
 *     a shard rewrites its live offsets and drops the log before them (Fjord's stand-in for
 *     log compaction of {@code __consumer_offsets})
 */
public record GroupConfig(
        int offsetsPartitions,
        int minSessionTimeoutMs,
        int maxSessionTimeoutMs,
        int initialRebalanceDelayMs,
        int maxGroupSize,
        long offsetsRetentionMs,
        int offsetMetadataMaxBytes,
        long tickIntervalMs,
        long compactionRecords) {

    public static final GroupConfig DEFAULT =
            new GroupConfig(8, 6_000, 1_800_000, 3_000, 1_000, 7L * 24 * 60 * 60 * 1000, 4096, 50, 100_000);

    public GroupConfig {
        if (offsetsPartitions < 1 || offsetsPartitions > 1000) {
            throw new IllegalArgumentException("offsetsPartitions must be 1..1000: " + offsetsPartitions);
        }
        if (minSessionTimeoutMs < 1 || maxSessionTimeoutMs < minSessionTimeoutMs) {
            throw new IllegalArgumentException("session timeout bounds are inconsistent");
        }
        if (initialRebalanceDelayMs < 0
                || maxGroupSize < 1
                || offsetsRetentionMs < 1
                || tickIntervalMs < 1
                || compactionRecords < 1) {
            throw new IllegalArgumentException("group settings must be positive");
        }
    }

    public GroupConfig withInitialRebalanceDelayMs(int ms) {
        return new GroupConfig(
                offsetsPartitions,
                minSessionTimeoutMs,
                maxSessionTimeoutMs,
                ms,
                maxGroupSize,
                offsetsRetentionMs,
                offsetMetadataMaxBytes,
                tickIntervalMs,
                compactionRecords);
    }

    public GroupConfig withMinSessionTimeoutMs(int ms) {
        return new GroupConfig(
                offsetsPartitions,
                ms,
                maxSessionTimeoutMs,
                initialRebalanceDelayMs,
                maxGroupSize,
                offsetsRetentionMs,
                offsetMetadataMaxBytes,
                tickIntervalMs,
                compactionRecords);
    }

    public GroupConfig withCompactionRecords(long records) {
        return new GroupConfig(
                offsetsPartitions,
                minSessionTimeoutMs,
                maxSessionTimeoutMs,
                initialRebalanceDelayMs,
                maxGroupSize,
                offsetsRetentionMs,
                offsetMetadataMaxBytes,
                tickIntervalMs,
                records);
    }

    public GroupConfig withOffsetsRetentionMs(long ms) {
        return new GroupConfig(
                offsetsPartitions,
                minSessionTimeoutMs,
                maxSessionTimeoutMs,
                initialRebalanceDelayMs,
                maxGroupSize,
                ms,
                offsetMetadataMaxBytes,
                tickIntervalMs,
                compactionRecords);
    }
}
