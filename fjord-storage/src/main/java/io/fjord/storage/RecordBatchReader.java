package io.fjord.storage;

import java.nio.ByteBuffer;

/**
 * Reads the records of an uncompressed RecordBatch v2, the twin of {@link RecordBatchBuilder} (the
 * record layout is documented there). For Fjord's own internal logs, which are never compressed;
 * compressed batches from clients are the wire layer's business.
 *
 * <p>Thread-safe: stateless.
 */
public final class RecordBatchReader {

    /** Receives each record: its offset, and key and value as buffer views (null when absent). */
    @FunctionalInterface
    public interface RecordVisitor {
        void record(long offset, long timestampMs, ByteBuffer key, ByteBuffer value);
    }

    /** As {@link RecordVisitor}, with where the record lies: {@code [start, end)} of the buffer. */
    @FunctionalInterface
    interface PlacedRecordVisitor {
        void record(long offset, long timestampMs, ByteBuffer key, ByteBuffer value, int start, int end);
    }

    private RecordBatchReader() {}

    /**
     * Visits every record of the batch at {@code batchPos} (which must be whole and valid).
     *
     * @throws IllegalArgumentException when the batch is compressed or its records are malformed
     */
    public static void forEachRecord(ByteBuffer buf, int batchPos, RecordVisitor visitor) {
        forEachPlacedRecord(
                buf, batchPos, (offset, ts, key, value, start, end) -> visitor.record(offset, ts, key, value));
    }

    /** As {@link #forEachRecord}, also giving each record's bytes' place in the buffer. */
    static void forEachPlacedRecord(ByteBuffer buf, int batchPos, PlacedRecordVisitor visitor) {
        if (RecordBatchHeader.compression(buf, batchPos) != 0) {
            throw new IllegalArgumentException("compressed batch: only uncompressed internal batches can be read");
        }
        long baseOffset = RecordBatchHeader.baseOffset(buf, batchPos);
        long baseTimestamp = buf.getLong(batchPos + RecordBatchHeader.BASE_TIMESTAMP_OFFSET);
        int end = batchPos + RecordBatchHeader.sizeBytes(buf, batchPos);
        int count = RecordBatchHeader.recordsCount(buf, batchPos);
        int[] pos = {batchPos + RecordBatchHeader.HEADER_SIZE};
        for (int i = 0; i < count; i++) {
            int recordStart = pos[0];
            int length = (int) readVarlong(buf, pos);
            int recordEnd = pos[0] + length;
            if (length < 0 || recordEnd > end) {
                throw new IllegalArgumentException("record " + i + " runs past its batch");
            }
            pos[0]++; // attributes
            long timestampDelta = readVarlong(buf, pos);
            int offsetDelta = (int) readVarlong(buf, pos);
            ByteBuffer key = bytes(buf, pos);
            ByteBuffer value = bytes(buf, pos);
            visitor.record(
                    baseOffset + offsetDelta, baseTimestamp + timestampDelta, key, value, recordStart, recordEnd);
            pos[0] = recordEnd; // headers are skipped
        }
    }

    private static ByteBuffer bytes(ByteBuffer buf, int[] pos) {
        int len = (int) readVarlong(buf, pos);
        if (len < 0) {
            return null;
        }
        ByteBuffer view = buf.duplicate();
        view.limit(pos[0] + len).position(pos[0]);
        pos[0] += len;
        return view.slice();
    }

    /** A zig-zag varint or varlong at {@code pos[0]}, advancing it. */
    private static long readVarlong(ByteBuffer buf, int[] pos) {
        long raw = 0;
        int shift = 0;
        while (true) {
            byte b = buf.get(pos[0]++);
            raw |= (long) (b & 0x7F) << shift;
            if ((b & 0x80) == 0) {
                break;
            }
            shift += 7;
            if (shift > 63) {
                throw new IllegalArgumentException("varint too long");
            }
        }
        return (raw >>> 1) ^ -(raw & 1);
    }
}
