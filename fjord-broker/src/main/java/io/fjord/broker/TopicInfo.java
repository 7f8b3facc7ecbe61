package io.fjord.broker;

import java.util.Map;
import java.util.UUID;

/**
 * A topic as the broker knows it: name, stable id, partition count and the configs set on it
 * (only overrides; defaults come from the broker config).
 */
public record TopicInfo(String name, UUID id, int partitions, Map<String, String> configs) {
    public TopicInfo {
        configs = Map.copyOf(configs);
    }
}
