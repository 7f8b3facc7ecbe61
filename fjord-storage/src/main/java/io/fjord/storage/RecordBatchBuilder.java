package io.fjord.storage;

import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;

/**
 * Builds an uncompressed RecordBatch v2 (see {@link RecordBatchHeader}) with a valid CRC. For
 * internal writers of the log (and tests and benchmarks); clients send their own batches.
 *
 * <p>Record layout inside the batch (varints are zig-zag encoded, as in Kafka):
 *
 * <pre>
 *  length varint | attributes int8 | timestampDelta varlong | offsetDelta varint
 *  keyLength varint (-1 = null) | key | valueLength varint (-1 = null) | value
 *  headerCount varint | (keyLength varint | key utf-8 | valueLength varint | value)*
 * </pre>
 *
 * <p>Not thread-safe: one builder per batch.
 */
public final class RecordBatchBuilder {
    private final ByteArrayOutputStream records = new ByteArrayOutputStream();
    private final ByteArrayOutputStream one = new ByteArrayOutputStream();
    private long baseTimestampMs = Long.MIN_VALUE;
    private long maxTimestampMs = Long.MIN_VALUE;
    private int count;
    private long producerId = -1;
    private short producerEpoch = -1;
    private int baseSequence = -1;

    /** Marks the batch as from an idempotent producer. */
    public RecordBatchBuilder producer(long producerId, short producerEpoch, int baseSequence) {
        this.producerId = producerId;
        this.producerEpoch = producerEpoch;
        this.baseSequence = baseSequence;
        return this;
    }

    public RecordBatchBuilder add(byte[] key, byte[] value, long timestampMs) {
        return add(key, value, timestampMs, new String[0], new byte[0][]);
    }

    public RecordBatchBuilder add(
            byte[] key, byte[] value, long timestampMs, String[] headerKeys, byte[][] headerValues) {
        if (count == 0) {
            baseTimestampMs = timestampMs;
        }
        maxTimestampMs = Math.max(maxTimestampMs, timestampMs);
        one.reset();
        one.write(0); // attributes
        writeVarlong(one, timestampMs - baseTimestampMs);
        writeVarint(one, count);
        writeBytes(one, key);
        writeBytes(one, value);
        writeVarint(one, headerKeys.length);
        for (int i = 0; i < headerKeys.length; i++) {
            writeBytes(one, headerKeys[i].getBytes(StandardCharsets.UTF_8));
            writeBytes(one, headerValues[i]);
        }
        writeVarint(records, one.size());
        records.writeBytes(one.toByteArray());
        count++;
        return this;
    }

    public int count() {
        return count;
    }

    /** The batch, base offset 0, position 0, limit at its end. */
    public ByteBuffer build() {
        if (count == 0) {
            throw new IllegalStateException("a batch needs at least one record");
        }
        byte[] body = records.toByteArray();
        int size = RecordBatchHeader.HEADER_SIZE + body.length;
        ByteBuffer b = ByteBuffer.allocate(size);
        b.putLong(0L);
        b.putInt(size - RecordBatchHeader.LOG_OVERHEAD);
        b.putInt(-1); // partition leader epoch
        b.put(RecordBatchHeader.MAGIC_V2);
        b.putInt(0); // crc, below
        b.putShort((short) 0); // attributes: no compression, create time
        b.putInt(count - 1);
        b.putLong(baseTimestampMs);
        b.putLong(maxTimestampMs);
        b.putLong(producerId);
        b.putShort(producerEpoch);
        b.putInt(baseSequence);
        b.putInt(count);
        b.put(body);
        b.flip();
        b.putInt(RecordBatchHeader.CRC_OFFSET, (int) RecordBatchHeader.computeCrc(b, 0, size));
        return b;
    }

    private static void writeBytes(ByteArrayOutputStream out, byte[] bytes) {
        if (bytes == null) {
            writeVarint(out, -1);
        } else {
            writeVarint(out, bytes.length);
            out.write(bytes, 0, bytes.length);
        }
    }

    static void writeVarint(ByteArrayOutputStream out, int value) {
        writeUnsigned(out, ((value << 1) ^ (value >> 31)) & 0xFFFFFFFFL);
    }

    static void writeVarlong(ByteArrayOutputStream out, long value) {
        writeUnsigned(out, (value << 1) ^ (value >> 63));
    }

    private static void writeUnsigned(ByteArrayOutputStream out, long v) {
        while ((v & ~0x7FL) != 0) {
            out.write((int) ((v & 0x7F) | 0x80));
            v >>>= 7;
        }
        out.write((int) v);
    }
}
