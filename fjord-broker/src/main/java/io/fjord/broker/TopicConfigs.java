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
    public static final String MIN_CLEANABLE_DIRTY_RATIO = "min.cleanable.dirty.ratio";
    public static final String MIN_COMPACTION_LAG_MS = "min.compaction.lag.ms";
    public static final String MAX_COMPACTION_LAG_MS = "max.compaction.lag.ms";
    public static final String DELETE_RETENTION_MS = "delete.retention.ms";
    /** Only CreateTime (the producer's timestamps are kept), which Kafka Streams asks for explicitly. */
    public static final String MESSAGE_TIMESTAMP_TYPE = "message.timestamp.type";

    /** Every supported config with its default as text, in a stable order (DescribeConfigs). */
    public static Map<String, String> defaults(LogConfig d) {
        Map<String, String> m = new LinkedHashMap<>();
        m.put(CLEANUP_POLICY, d.cleanup().policy());
        m.put(RETENTION_MS, Long.toString(d.retentionMs()));
        m.put(RETENTION_BYTES, Long.toString(d.retentionBytes()));
        m.put(SEGMENT_BYTES, Integer.toString(d.segmentBytes()));
        m.put(SEGMENT_MS, Long.toString(d.segmentMs()));
        m.put(MAX_MESSAGE_BYTES, Integer.toString(d.maxBatchBytes()));
        m.put(INDEX_INTERVAL_BYTES, Integer.toString(d.indexIntervalBytes()));
        m.put(FLUSH_MESSAGES, Long.toString(d.flushIntervalBatches()));
        m.put(FLUSH_MS, Long.toString(d.flushIntervalMs()));
        m.put(MIN_CLEANABLE_DIRTY_RATIO, Double.toString(d.cleanup().minCleanableDirtyRatio()));
        m.put(MIN_COMPACTION_LAG_MS, Long.toString(d.cleanup().minCompactionLagMs()));
        m.put(MAX_COMPACTION_LAG_MS, Long.toString(d.cleanup().maxCompactionLagMs()));
        m.put(DELETE_RETENTION_MS, Long.toString(d.cleanup().deleteRetentionMs()));
        m.put(MESSAGE_TIMESTAMP_TYPE, "CreateTime");
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
                if (policy(value) == null) {
                    return "cleanup.policy must be delete, compact or compact,delete: " + value;
                }
                continue;
            }
            if (key.equals(MESSAGE_TIMESTAMP_TYPE)) {
                if (!value.trim().equals("CreateTime")) {
                    return "message.timestamp.type=" + value + " is not supported: Fjord keeps the producer's"
                            + " timestamps (CreateTime)";
                }
                continue;
            }
            if (key.equals(MIN_CLEANABLE_DIRTY_RATIO)) {
                try {
                    double r = Double.parseDouble(value.trim());
                    if (!(r >= 0 && r <= 1)) {
                        return "min.cleanable.dirty.ratio must be between 0 and 1: " + value;
                    }
                } catch (NumberFormatException ex) {
                    return "min.cleanable.dirty.ratio must be a number: " + value;
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
        LogConfig.Cleanup cleanup = c.cleanup();
        if (get.apply(CLEANUP_POLICY) != null) {
            boolean[] p = policy(get.apply(CLEANUP_POLICY));
            cleanup = cleanup.withPolicy(p[0], p[1]);
        }
        if (get.apply(MIN_CLEANABLE_DIRTY_RATIO) != null) {
            cleanup = cleanup.withMinCleanableDirtyRatio(
                    Double.parseDouble(get.apply(MIN_CLEANABLE_DIRTY_RATIO).trim()));
        }
        if (get.apply(MIN_COMPACTION_LAG_MS) != null) {
            cleanup = cleanup.withMinCompactionLagMs(
                    Long.parseLong(get.apply(MIN_COMPACTION_LAG_MS).trim()));
        }
        if (get.apply(MAX_COMPACTION_LAG_MS) != null) {
            cleanup = cleanup.withMaxCompactionLagMs(
                    Long.parseLong(get.apply(MAX_COMPACTION_LAG_MS).trim()));
        }
        if (get.apply(DELETE_RETENTION_MS) != null) {
            cleanup = cleanup.withDeleteRetentionMs(
                    Long.parseLong(get.apply(DELETE_RETENTION_MS).trim()));
        }
        return c.withCleanup(cleanup);
    }

    /** Whether a topic with these configs is compacted ({@code cleanup.policy} names compact). */
    public static boolean isCompacted(Map<String, String> configs) {
        String v = configs.get(CLEANUP_POLICY);
        boolean[] p = v == null ? null : policy(v);
        return p != null && p[1];
    }

    /**
     * {delete, compact} for a {@code cleanup.policy} value (a comma-separated list, as Kafka takes
     * it), or null when it names anything else or nothing.
     */
    static boolean[] policy(String value) {
        boolean delete = false;
        boolean compact = false;
        for (String part : value.split(",", -1)) {
            switch (part.trim()) {
                case "delete" -> delete = true;
                case "compact" -> compact = true;
                default -> {
                    return null;
                }
            }
        }
        return delete || compact ? new boolean[] {delete, compact} : null;
    }
}
