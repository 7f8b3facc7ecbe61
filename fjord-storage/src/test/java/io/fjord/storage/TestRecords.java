package io.fjord.storage;

import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;

/**
 * Decodes the records of an uncompressed batch in the layout {@link RecordBatchBuilder} writes, so
 * tests can check what came back, not just that it validates.
 */
final class TestRecords {
    private TestRecords() {}

    record Record(long offset, long timestampMs, byte[] key, byte[] value) {}

    /** The records of the batch at {@code batchPos}; throws if the bytes do not parse exactly. */
    static List<Record> decode(ByteBuffer buf, int batchPos) {
        long base = RecordBatchHeader.baseOffset(buf, batchPos);
        long baseTimestampMs = buf.getLong(batchPos + RecordBatchHeader.BASE_TIMESTAMP_OFFSET);
        int count = RecordBatchHeader.recordsCount(buf, batchPos);
        int end = batchPos + RecordBatchHeader.sizeBytes(buf, batchPos);
        ByteBuffer in = buf.duplicate();
        in.limit(end).position(batchPos + RecordBatchHeader.HEADER_SIZE);
        List<Record> out = new ArrayList<>(count);
        for (int i = 0; i < count; i++) {
            int length = readVarint(in);
            int start = in.position();
            in.get(); // attributes
            long timestampDelta = readVarlong(in);
            int offsetDelta = readVarint(in);
            byte[] key = readBytes(in);
            byte[] value = readBytes(in);
            int headers = readVarint(in);
            for (int h = 0; h < headers; h++) {
                readBytes(in);
                readBytes(in);
            }
            if (in.position() - start != length) {
                throw new IllegalStateException("record " + i + " of batch " + base + " has a wrong length");
            }
            out.add(new Record(base + offsetDelta, baseTimestampMs + timestampDelta, key, value));
        }
        if (in.position() != end) {
            throw new IllegalStateException("batch " + base + " has bytes after its last record");
        }
        return out;
    }

    private static byte[] readBytes(ByteBuffer in) {
        int length = readVarint(in);
        if (length < 0) {
            return null;
        }
        byte[] b = new byte[length];
        in.get(b);
        return b;
    }

    private static int readVarint(ByteBuffer in) {
        long v = readUnsigned(in);
        return (int) ((v >>> 1) ^ -(v & 1));
    }

    private static long readVarlong(ByteBuffer in) {
        long v = readUnsigned(in);
        return (v >>> 1) ^ -(v & 1);
    }

    private static long readUnsigned(ByteBuffer in) {
        long v = 0;
        for (int shift = 0; shift < 64; shift += 7) {
            byte b = in.get();
            v |= (long) (b & 0x7F) << shift;
            if ((b & 0x80) == 0) {
                return v;
            }
        }
        throw new IllegalStateException("varint longer than 10 bytes");
    }
}
