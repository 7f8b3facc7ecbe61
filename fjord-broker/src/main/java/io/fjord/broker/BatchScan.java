package io.fjord.broker;

import io.fjord.storage.LogSlice;
import io.fjord.storage.ReadResult;
import io.fjord.storage.RecordBatchHeader;
import java.io.IOException;
import java.nio.ByteBuffer;

/**
 * Replays a partition batch by batch, through any reader of slices (a {@code PartitionLog} or a
 * {@link PartitionReplica}): for state rebuilt from a log at start (producer state, group offsets).
 *
 * <p>Thread-safe: stateless; the reads are lock-free.
 */
public final class BatchScan {
    /** Bytes fetched per read. */
    static final int READ_BYTES = 1024 * 1024;

    /** Reads like {@code PartitionLog.read(offset, maxBytes)}. */
    @FunctionalInterface
    public interface Reader {
        ReadResult read(long offset, int maxBytes);
    }

    /** Receives each batch that starts at or after the scan's first offset. */
    @FunctionalInterface
    public interface Visitor {
        void batch(ByteBuffer buf, int batchPos);
    }

    private BatchScan() {}

    /**
     * Visits every batch from the one starting at or after {@code from} up to {@code upTo}
     * (exclusive; in practice the high watermark).
     *
     * @return the bytes read
     */
    public static long forEach(Reader reader, long from, long upTo, Visitor visitor) throws IOException {
        long scanned = 0;
        long next = from;
        while (next < upTo) {
            if (!(reader.read(next, READ_BYTES) instanceof LogSlice slice)) {
                break;
            }
            try (slice) {
                ByteBuffer b = slice.toByteBuffer();
                long after = next;
                for (int pos = 0; pos < b.limit(); pos += RecordBatchHeader.sizeBytes(b, pos)) {
                    long base = RecordBatchHeader.baseOffset(b, pos);
                    if (base >= from) {
                        visitor.batch(b, pos);
                    }
                    after = base + RecordBatchHeader.lastOffsetDelta(b, pos) + 1;
                }
                scanned += b.limit();
                if (after <= next) {
                    break; // an empty slice: nothing more below the high watermark
                }
                next = after;
            }
        }
        return scanned;
    }
}
