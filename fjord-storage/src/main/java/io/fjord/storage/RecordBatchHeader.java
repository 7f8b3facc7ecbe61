package io.fjord.storage;

import java.nio.ByteBuffer;
import java.util.zip.CRC32C;

/**
 * Field offsets and checks for the Kafka RecordBatch v2 header, read in place from a buffer (a
 * flyweight with static accessors: no object per batch).
 *
 * <p>Layout (big-endian), as on the wire and on disk:
 *
 * <pre>
 *  offset size field
 *       0    8 baseOffset            (assigned by the log; not covered by the CRC)
 *       8    4 batchLength           (bytes after this field: total size - 12)
 *      12    4 partitionLeaderEpoch  (not covered by the CRC)
 *      16    1 magic                 (2)
 *      17    4 crc                   (CRC32C of bytes 21..end)
 *      21    2 attributes            (compression, timestamp type, transactional, control)
 *      23    4 lastOffsetDelta
 *      27    8 baseTimestamp
 *      35    8 maxTimestamp
 *      43    8 producerId
 *      51    2 producerEpoch
 *      53    4 baseSequence
 *      57    4 recordsCount
 *      61      records...
 * </pre>
 *
 * <p>Thread-safe: stateless.
 */
public final class RecordBatchHeader {
    public static final int BASE_OFFSET_OFFSET = 0;
    public static final int LENGTH_OFFSET = 8;
    public static final int PARTITION_LEADER_EPOCH_OFFSET = 12;
    public static final int MAGIC_OFFSET = 16;
    public static final int CRC_OFFSET = 17;
    public static final int ATTRIBUTES_OFFSET = 21;
    public static final int LAST_OFFSET_DELTA_OFFSET = 23;
    public static final int BASE_TIMESTAMP_OFFSET = 27;
    public static final int MAX_TIMESTAMP_OFFSET = 35;
    public static final int PRODUCER_ID_OFFSET = 43;
    public static final int PRODUCER_EPOCH_OFFSET = 51;
    public static final int BASE_SEQUENCE_OFFSET = 53;
    public static final int RECORDS_COUNT_OFFSET = 57;

    /** Bytes of the base offset and length fields, which precede what batchLength counts. */
    public static final int LOG_OVERHEAD = 12;

    /** Size of a v2 header with no records. */
    public static final int HEADER_SIZE = 61;

    public static final byte MAGIC_V2 = 2;

    /** Attribute bits: compression codec (bits 0-2), timestamp type (3), transactional (4), control (5). */
    public static final int ATTRIBUTE_COMPRESSION_MASK = 0x07;

    public static final int ATTRIBUTE_TIMESTAMP_TYPE = 0x08;
    public static final int ATTRIBUTE_TRANSACTIONAL = 0x10;
    public static final int ATTRIBUTE_CONTROL = 0x20;

    private RecordBatchHeader() {}

    public static long baseOffset(ByteBuffer buf, int batchPos) {
        return buf.getLong(batchPos + BASE_OFFSET_OFFSET);
    }

    /** Total size of the batch in bytes, including the 12 bytes of offset and length. */
    public static int sizeBytes(ByteBuffer buf, int batchPos) {
        return buf.getInt(batchPos + LENGTH_OFFSET) + LOG_OVERHEAD;
    }

    public static int lastOffsetDelta(ByteBuffer buf, int batchPos) {
        return buf.getInt(batchPos + LAST_OFFSET_DELTA_OFFSET);
    }

    public static long maxTimestamp(ByteBuffer buf, int batchPos) {
        return buf.getLong(batchPos + MAX_TIMESTAMP_OFFSET);
    }

    public static int recordsCount(ByteBuffer buf, int batchPos) {
        return buf.getInt(batchPos + RECORDS_COUNT_OFFSET);
    }

    public static short attributes(ByteBuffer buf, int batchPos) {
        return buf.getShort(batchPos + ATTRIBUTES_OFFSET);
    }

    public static long producerId(ByteBuffer buf, int batchPos) {
        return buf.getLong(batchPos + PRODUCER_ID_OFFSET);
    }

    public static short producerEpoch(ByteBuffer buf, int batchPos) {
        return buf.getShort(batchPos + PRODUCER_EPOCH_OFFSET);
    }

    public static int baseSequence(ByteBuffer buf, int batchPos) {
        return buf.getInt(batchPos + BASE_SEQUENCE_OFFSET);
    }

    /** Compression codec id in the attributes: 0 none, 1 gzip, 2 snappy, 3 lz4, 4 zstd. */
    public static int compression(ByteBuffer buf, int batchPos) {
        return attributes(buf, batchPos) & ATTRIBUTE_COMPRESSION_MASK;
    }

    public static boolean isTransactional(ByteBuffer buf, int batchPos) {
        return (attributes(buf, batchPos) & ATTRIBUTE_TRANSACTIONAL) != 0;
    }

    public static boolean isControl(ByteBuffer buf, int batchPos) {
        return (attributes(buf, batchPos) & ATTRIBUTE_CONTROL) != 0;
    }

    public static byte magic(ByteBuffer buf, int batchPos) {
        return buf.get(batchPos + MAGIC_OFFSET);
    }

    /**
     * Checks one batch that starts at {@code batchPos} and must end at or before {@code limit}.
     * Reads the buffer with absolute gets only: its position and limit are untouched.
     *
     * @param maxBatchBytes the largest batch accepted, in bytes including the log overhead
     * @return null when the batch is whole and valid, otherwise why not
     */
    public static BatchError validate(ByteBuffer buf, int batchPos, int limit, int maxBatchBytes) {
        return validate(buf, batchPos, limit, maxBatchBytes, false);
    }

    /**
     * As {@link #validate}, for a batch as a log may store it after compaction: it may hold fewer
     * records than its offset range (none at all for a range whose records were all removed).
     */
    public static BatchError validateStored(ByteBuffer buf, int batchPos, int limit, int maxBatchBytes) {
        return validate(buf, batchPos, limit, maxBatchBytes, true);
    }

    private static BatchError validate(ByteBuffer buf, int batchPos, int limit, int maxBatchBytes, boolean stored) {
        if (limit - batchPos < LOG_OVERHEAD) {
            return BatchError.TRUNCATED;
        }
        int batchLength = buf.getInt(batchPos + LENGTH_OFFSET);
        if (batchLength < HEADER_SIZE - LOG_OVERHEAD) {
            return BatchError.INVALID_LENGTH;
        }
        long size = (long) batchLength + LOG_OVERHEAD;
        if (size > limit - batchPos) {
            return BatchError.TRUNCATED;
        }
        if (size > maxBatchBytes) {
            return BatchError.BATCH_TOO_LARGE;
        }
        if (buf.get(batchPos + MAGIC_OFFSET) != MAGIC_V2) {
            return BatchError.UNSUPPORTED_MAGIC;
        }
        int count = buf.getInt(batchPos + RECORDS_COUNT_OFFSET);
        int lastOffsetDelta = buf.getInt(batchPos + LAST_OFFSET_DELTA_OFFSET);
        boolean countFits =
                stored ? count >= 0 && count <= lastOffsetDelta + 1L : count > 0 && count == lastOffsetDelta + 1L;
        if (lastOffsetDelta < 0 || !countFits) {
            return BatchError.INVALID_RECORD_COUNT;
        }
        if (storedCrc(buf, batchPos) != computeCrc(buf, batchPos, (int) size)) {
            return BatchError.CRC_MISMATCH;
        }
        return null;
    }

    /** The CRC stored in the header, as an unsigned value. */
    public static long storedCrc(ByteBuffer buf, int batchPos) {
        return Integer.toUnsignedLong(buf.getInt(batchPos + CRC_OFFSET));
    }

    /** CRC32C over attributes..end of a batch of {@code sizeBytes} bytes at {@code batchPos}. */
    public static long computeCrc(ByteBuffer buf, int batchPos, int sizeBytes) {
        CRC32C crc = new CRC32C();
        ByteBuffer covered = buf.duplicate();
        covered.limit(batchPos + sizeBytes).position(batchPos + ATTRIBUTES_OFFSET);
        crc.update(covered);
        return crc.getValue();
    }
}
