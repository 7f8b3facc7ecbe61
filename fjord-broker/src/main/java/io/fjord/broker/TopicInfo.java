package io.fjord.broker;

import java.util.List;
import java.util.Map;
import java.util.UUID;

/**
 * A topic as the cluster knows it: name, stable id, partition count, the configs set on it (only
 * overrides; defaults come from the broker config), its replication factor and, for each
 * partition, the data group that carries it.
 */
public record TopicInfo(
        String name,
        UUID id,
        int partitions,
        Map<String, String> configs,
        int replicationFactor,
        List<Integer> groups) {
    public TopicInfo {
        configs = Map.copyOf(configs);
        groups = List.copyOf(groups);
        if (!groups.isEmpty() && groups.size() != partitions) {
            throw new IllegalArgumentException(
                    "topic " + name + ": " + partitions + " partitions but " + groups.size() + " group assignments");
        }
    }

    /** A topic without placement (the single-node registry format). */
    public TopicInfo(String name, UUID id, int partitions, Map<String, String> configs) {
        this(name, id, partitions, configs, 1, List.of());
    }

    /** The data group of {@code partition}, or -1 when unplaced. */
    public int groupOf(int partition) {
        return partition < groups.size() ? groups.get(partition) : -1;
    }
}
