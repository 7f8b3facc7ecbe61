package io.fjord.storage;

/**
 * Settings of one partition log. Names follow Kafka's topic configs where one exists ({@code
 * segment.bytes} is {@code segmentBytes}, and so on); units are last in each name.
 *
 * @param segmentBytes roll the active segment before it would grow past this size
 * @param segmentMs roll the active segment once it has taken appends for this long
 * @param indexIntervalBytes bytes of batches between two offset-index entries
 * @param retentionMs delete sealed segments whose newest timestamp is older than this; -1 = never
 * @param retentionBytes delete the oldest sealed segments while the log is larger; -1 = no limit
 * @param maxBatchBytes the largest batch an append accepts, including the 12-byte log overhead
 * @param flushIntervalBatches fsync after this many appended batches; {@link Long#MAX_VALUE} =
 *     never by count
 * @param flushIntervalMs fsync when an append (or {@link PartitionLog#maybeFlush}) finds this much
 *     time has passed since the last fsync; {@link Long#MAX_VALUE} = never by time
 * @param cleanup {@code cleanup.policy} and the compaction settings
 */
public record LogConfig(
        int segmentBytes,
        long segmentMs,
        int indexIntervalBytes,
        long retentionMs,
        long retentionBytes,
        int maxBatchBytes,
        long flushIntervalBatches,
        long flushIntervalMs,
        Cleanup cleanup) {

    /** Kafka's defaults: 1 GiB segments, 7 days, 4 KiB index interval, no fsync (replication). */
    public static final LogConfig DEFAULT = new LogConfig(
            1 << 30,
            7L * 24 * 60 * 60 * 1000,
            4096,
            7L * 24 * 60 * 60 * 1000,
            -1,
            1024 * 1024 + 12,
            Long.MAX_VALUE,
            Long.MAX_VALUE,
            Cleanup.DELETE);

    /** Smallest segment size accepted: a segment must hold at least a header. */
    public static final int SEGMENT_BYTES_MIN = 1024;

    public LogConfig {
        if (segmentBytes < SEGMENT_BYTES_MIN) {
            throw new IllegalArgumentException("segmentBytes must be >= " + SEGMENT_BYTES_MIN + ": " + segmentBytes);
        }
        if (segmentMs <= 0) {
            throw new IllegalArgumentException("segmentMs must be > 0: " + segmentMs);
        }
        if (indexIntervalBytes <= 0) {
            throw new IllegalArgumentException("indexIntervalBytes must be > 0: " + indexIntervalBytes);
        }
        if (retentionMs < -1 || retentionBytes < -1) {
            throw new IllegalArgumentException("retention must be -1 (unlimited) or >= 0");
        }
        if (maxBatchBytes < RecordBatchHeader.HEADER_SIZE) {
            throw new IllegalArgumentException("maxBatchBytes too small: " + maxBatchBytes);
        }
        if (flushIntervalBatches <= 0 || flushIntervalMs < 0) {
            throw new IllegalArgumentException("flush intervals must be positive");
        }
        if (cleanup == null) {
            throw new IllegalArgumentException("cleanup must not be null");
        }
    }

    /** The settings with {@code cleanup.policy=delete} (retention only). */
    public LogConfig(
            int segmentBytes,
            long segmentMs,
            int indexIntervalBytes,
            long retentionMs,
            long retentionBytes,
            int maxBatchBytes,
            long flushIntervalBatches,
            long flushIntervalMs) {
        this(
                segmentBytes,
                segmentMs,
                indexIntervalBytes,
                retentionMs,
                retentionBytes,
                maxBatchBytes,
                flushIntervalBatches,
                flushIntervalMs,
                Cleanup.DELETE);
    }

    /**
     * What happens to old records: deleted by retention ({@code delete}), compacted to the latest
     * record per key ({@code compact}), or both. Names follow Kafka's topic configs.
     *
     * @param delete retention by time and size applies
     * @param compact the log cleaner keeps only the latest record of each key
     * @param minCleanableDirtyRatio clean when the bytes written since the last pass are at least
     *     this share of the cleanable bytes ({@code min.cleanable.dirty.ratio})
     * @param minCompactionLagMs a segment whose newest record is younger than this is not cleaned
     * @param maxCompactionLagMs a segment older than this is cleaned whatever the dirty ratio
     * @param deleteRetentionMs a tombstone stays at least this long after its segment was written
     */
    public record Cleanup(
            boolean delete,
            boolean compact,
            double minCleanableDirtyRatio,
            long minCompactionLagMs,
            long maxCompactionLagMs,
            long deleteRetentionMs) {
        /** Kafka's defaults for a topic with {@code cleanup.policy=delete}. */
        public static final Cleanup DELETE = new Cleanup(true, false, 0.5, 0, Long.MAX_VALUE, 24L * 60 * 60 * 1000);

        public Cleanup {
            if (!delete && !compact) {
                throw new IllegalArgumentException("cleanup.policy needs delete, compact or both");
            }
            if (!(minCleanableDirtyRatio >= 0 && minCleanableDirtyRatio <= 1)) {
                throw new IllegalArgumentException(
                        "min.cleanable.dirty.ratio must be between 0 and 1: " + minCleanableDirtyRatio);
            }
            if (minCompactionLagMs < 0 || maxCompactionLagMs < 1 || deleteRetentionMs < 0) {
                throw new IllegalArgumentException("compaction lags and delete.retention.ms must not be negative");
            }
            if (minCompactionLagMs > maxCompactionLagMs) {
                throw new IllegalArgumentException("min.compaction.lag.ms must not exceed max.compaction.lag.ms");
            }
        }

        public Cleanup withPolicy(boolean delete, boolean compact) {
            return new Cleanup(
                    delete, compact, minCleanableDirtyRatio, minCompactionLagMs, maxCompactionLagMs, deleteRetentionMs);
        }

        public Cleanup withMinCleanableDirtyRatio(double v) {
            return new Cleanup(delete, compact, v, minCompactionLagMs, maxCompactionLagMs, deleteRetentionMs);
        }

        public Cleanup withMinCompactionLagMs(long v) {
            return new Cleanup(delete, compact, minCleanableDirtyRatio, v, maxCompactionLagMs, deleteRetentionMs);
        }

        public Cleanup withMaxCompactionLagMs(long v) {
            return new Cleanup(delete, compact, minCleanableDirtyRatio, minCompactionLagMs, v, deleteRetentionMs);
        }

        public Cleanup withDeleteRetentionMs(long v) {
            return new Cleanup(delete, compact, minCleanableDirtyRatio, minCompactionLagMs, maxCompactionLagMs, v);
        }

        /** The policy as Kafka spells it. */
        public String policy() {
            return delete && compact ? "compact,delete" : compact ? "compact" : "delete";
        }
    }

    public LogConfig withCleanup(Cleanup value) {
        return new LogConfig(
                segmentBytes,
                segmentMs,
                indexIntervalBytes,
                retentionMs,
                retentionBytes,
                maxBatchBytes,
                flushIntervalBatches,
                flushIntervalMs,
                value);
    }

    /**
     * Index entries a segment can need: one per {@code indexIntervalBytes} of a full segment, plus
     * one for a final oversized batch. The index files are preallocated to this.
     */
    public int indexEntriesMax() {
        return segmentBytes / indexIntervalBytes + 2;
    }

    public LogConfig withSegmentBytes(int value) {
        return new LogConfig(
                value,
                segmentMs,
                indexIntervalBytes,
                retentionMs,
                retentionBytes,
                maxBatchBytes,
                flushIntervalBatches,
                flushIntervalMs,
                cleanup);
    }

    public LogConfig withSegmentMs(long value) {
        return new LogConfig(
                segmentBytes,
                value,
                indexIntervalBytes,
                retentionMs,
                retentionBytes,
                maxBatchBytes,
                flushIntervalBatches,
                flushIntervalMs,
                cleanup);
    }

    public LogConfig withIndexIntervalBytes(int value) {
        return new LogConfig(
                segmentBytes,
                segmentMs,
                value,
                retentionMs,
                retentionBytes,
                maxBatchBytes,
                flushIntervalBatches,
                flushIntervalMs,
                cleanup);
    }

    public LogConfig withRetentionMs(long value) {
        return new LogConfig(
                segmentBytes,
                segmentMs,
                indexIntervalBytes,
                value,
                retentionBytes,
                maxBatchBytes,
                flushIntervalBatches,
                flushIntervalMs,
                cleanup);
    }

    public LogConfig withRetentionBytes(long value) {
        return new LogConfig(
                segmentBytes,
                segmentMs,
                indexIntervalBytes,
                retentionMs,
                value,
                maxBatchBytes,
                flushIntervalBatches,
                flushIntervalMs,
                cleanup);
    }

    public LogConfig withMaxBatchBytes(int value) {
        return new LogConfig(
                segmentBytes,
                segmentMs,
                indexIntervalBytes,
                retentionMs,
                retentionBytes,
                value,
                flushIntervalBatches,
                flushIntervalMs,
                cleanup);
    }

    /** fsync after every {@code batches} appended batches. */
    public LogConfig withFlushEveryBatches(long batches) {
        return new LogConfig(
                segmentBytes,
                segmentMs,
                indexIntervalBytes,
                retentionMs,
                retentionBytes,
                maxBatchBytes,
                batches,
                flushIntervalMs,
                cleanup);
    }

    /** fsync when {@code ms} have passed since the last fsync. */
    public LogConfig withFlushEveryMs(long ms) {
        return new LogConfig(
                segmentBytes,
                segmentMs,
                indexIntervalBytes,
                retentionMs,
                retentionBytes,
                maxBatchBytes,
                flushIntervalBatches,
                ms,
                cleanup);
    }
}
