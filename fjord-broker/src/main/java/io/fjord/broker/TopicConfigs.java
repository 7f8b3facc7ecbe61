package io.fjord.broker;

import io.fjord.storage.LogConfig;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.function.Function;

/**
 * The topic configs Fjord understands, their validation, and how they become a {@link LogConfig}.
 * A config Fjord does not act on is refused with a clear message instead of being silently
 * ignored.
 */
public final class TopicConfigs {
    public static final String CLEANUP_POLICY = "cleanup.policy";
    public static final String RETENTION_MS = "retention.ms";
    public static final String RETENTION_BYTES = "retention.bytes";
    public static final String SEGMENT_BYTES = "segment.bytes";
    public static final String SEGMENT_MS = "segment.ms";
    public static final String MAX_MESSAGE_BYTES = "max.message.bytes";
    public static final String INDEX_INTERVAL_BYTES = "index.interval.bytes";
    public static final String FLUSH_MESSAGES = "flush.messages";
    public static final String FLUSH_MS = "flush.ms";

    /** Every supported config with its default as text, in a stable order (DescribeConfigs). */
    public static Map<String, String> defaults(LogConfig d) {
        Map<String, String> m = new LinkedHashMap<>();
        m.put(CLEANUP_POLICY, "delete");
        m.put(RETENTION_MS, Long.toString(d.retentionMs()));
        m.put(RETENTION_BYTES, Long.toString(d.retentionBytes()));
        m.put(SEGMENT_BYTES, Integer.toString(d.segmentBytes()));
        m.put(SEGMENT_MS, Long.toString(d.segmentMs()));
        m.put(MAX_MESSAGE_BYTES, Integer.toString(d.maxBatchBytes()));
        m.put(INDEX_INTERVAL_BYTES, Integer.toString(d.indexIntervalBytes()));
        m.put(FLUSH_MESSAGES, Long.toString(d.flushIntervalBatches()));
        m.put(FLUSH_MS, Long.toString(d.flushIntervalMs()));
        return m;
    }

    private TopicConfigs() {}

    /** Null when every config is valid; otherwise the reason, naming the config. */
    public static String validate(Map<String, String> configs, LogConfig defaults) {
        for (Map.Entry<String, String> e : configs.entrySet()) {
            String key = e.getKey();
            String value = e.getValue();
            if (value == null) {
                // CreateTopics and IncrementalAlterConfigs may carry a null value; Kafka refuses it.
                return "topic config " + key + " has no value (null is not supported)";
            }
            if (!defaults(defaults).containsKey(key)) {
                return "topic config " + key + " is not supported by Fjord";
            }
            if (key.equals(CLEANUP_POLICY)) {
                if (!value.equals("delete")) {
                    return "cleanup.policy=" + value + " is not supported: Fjord has no log compaction yet; use delete";
                }
                continue;
            }
            try {
                long v = Long.parseLong(value.trim());
                if (v < -1 || (v == -1 && !(key.equals(RETENTION_MS) || key.equals(RETENTION_BYTES)))) {
                    return "topic config " + key + " must not be negative: " + value;
                }
            } catch (NumberFormatException ex) {
                return "topic config " + key + " must be a number: " + value;
            }
        }
        try {
            toLogConfig(configs, defaults);
        } catch (IllegalArgumentException | ArithmeticException ex) {
            return "invalid topic configs: " + ex.getMessage();
        }
        return null;
    }

    /** The log settings of a topic: its overrides on top of the broker's defaults. */
    public static LogConfig toLogConfig(Map<String, String> configs, LogConfig d) {
        Function<String, String> get = configs::get;
        LogConfig c = d;
        if (get.apply(RETENTION_MS) != null) {
            c = c.withRetentionMs(Long.parseLong(get.apply(RETENTION_MS).trim()));
        }
        if (get.apply(RETENTION_BYTES) != null) {
            c = c.withRetentionBytes(Long.parseLong(get.apply(RETENTION_BYTES).trim()));
        }
        if (get.apply(SEGMENT_BYTES) != null) {
            c = c.withSegmentBytes(
                    Math.toIntExact(Long.parseLong(get.apply(SEGMENT_BYTES).trim())));
        }
        if (get.apply(SEGMENT_MS) != null) {
            c = c.withSegmentMs(Long.parseLong(get.apply(SEGMENT_MS).trim()));
        }
        if (get.apply(MAX_MESSAGE_BYTES) != null) {
            c = c.withMaxBatchBytes(
                    Math.toIntExact(Long.parseLong(get.apply(MAX_MESSAGE_BYTES).trim())));
        }
        if (get.apply(INDEX_INTERVAL_BYTES) != null) {
            c = c.withIndexIntervalBytes(Math.toIntExact(
                    Long.parseLong(get.apply(INDEX_INTERVAL_BYTES).trim())));
        }
        if (get.apply(FLUSH_MESSAGES) != null) {
            c = c.withFlushEveryBatches(Long.parseLong(get.apply(FLUSH_MESSAGES).trim()));
        }
        if (get.apply(FLUSH_MS) != null) {
            c = c.withFlushEveryMs(Long.parseLong(get.apply(FLUSH_MS).trim()));
        }
        return c;
    }
}
