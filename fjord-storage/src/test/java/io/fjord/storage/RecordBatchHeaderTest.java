package io.fjord.storage;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.ByteBuffer;
import org.junit.jupiter.api.Test;

class RecordBatchHeaderTest {
    private static final int NO_LIMIT = Integer.MAX_VALUE;

    private static ByteBuffer validBatch() {
        return TestBatches.batch(3, 20, 1_000);
    }

    private static BatchError validate(ByteBuffer b) {
        return RecordBatchHeader.validate(b, 0, b.limit(), NO_LIMIT);
    }

    /** Rewrites the CRC so that only the field under test is wrong. */
    private static void fixCrc(ByteBuffer b) {
        int size = RecordBatchHeader.sizeBytes(b, 0);
        b.putInt(RecordBatchHeader.CRC_OFFSET, (int) RecordBatchHeader.computeCrc(b, 0, size));
    }

    @Test
    void shouldAcceptValidBatch() {
        ByteBuffer b = validBatch();

        assertThat(validate(b)).isNull();
        assertThat(RecordBatchHeader.sizeBytes(b, 0)).isEqualTo(b.limit());
        assertThat(RecordBatchHeader.recordsCount(b, 0)).isEqualTo(3);
        assertThat(RecordBatchHeader.lastOffsetDelta(b, 0)).isEqualTo(2);
        assertThat(RecordBatchHeader.magic(b, 0)).isEqualTo(RecordBatchHeader.MAGIC_V2);
        assertThat(RecordBatchHeader.maxTimestamp(b, 0)).isEqualTo(1_002);
    }

    @Test
    void shouldValidateBatchAtNonZeroPosition() {
        ByteBuffer one = validBatch();
        ByteBuffer two = TestBatches.concat(validBatch(), one);
        int second = one.limit();

        assertThat(RecordBatchHeader.validate(two, second, two.limit(), NO_LIMIT))
                .isNull();
        assertThat(RecordBatchHeader.validate(two, 0, second, NO_LIMIT)).isNull();
    }

    @Test
    void shouldRejectFewerBytesThanLogOverheadAsTruncated() {
        ByteBuffer b = validBatch();

        assertThat(RecordBatchHeader.validate(b, 0, RecordBatchHeader.LOG_OVERHEAD - 1, NO_LIMIT))
                .isEqualTo(BatchError.TRUNCATED);
        assertThat(RecordBatchHeader.validate(b, 0, 0, NO_LIMIT)).isEqualTo(BatchError.TRUNCATED);
    }

    @Test
    void shouldRejectBatchCutShortOfItsLengthAsTruncated() {
        ByteBuffer b = validBatch();

        assertThat(RecordBatchHeader.validate(b, 0, b.limit() - 1, NO_LIMIT)).isEqualTo(BatchError.TRUNCATED);
        assertThat(RecordBatchHeader.validate(b, 0, RecordBatchHeader.HEADER_SIZE - 1, NO_LIMIT))
                .isEqualTo(BatchError.TRUNCATED);
    }

    @Test
    void shouldRejectLengthSmallerThanHeaderAsInvalidLength() {
        ByteBuffer b = validBatch();
        b.putInt(RecordBatchHeader.LENGTH_OFFSET, RecordBatchHeader.HEADER_SIZE - RecordBatchHeader.LOG_OVERHEAD - 1);

        assertThat(validate(b)).isEqualTo(BatchError.INVALID_LENGTH);
    }

    @Test
    void shouldRejectNegativeLengthAsInvalidLength() {
        ByteBuffer b = validBatch();
        b.putInt(RecordBatchHeader.LENGTH_OFFSET, -1);

        assertThat(validate(b)).isEqualTo(BatchError.INVALID_LENGTH);
    }

    @Test
    void shouldRejectHugeLengthAsTruncatedWithoutOverflow() {
        ByteBuffer b = validBatch();
        b.putInt(RecordBatchHeader.LENGTH_OFFSET, Integer.MAX_VALUE);

        assertThat(validate(b)).isEqualTo(BatchError.TRUNCATED);
    }

    @Test
    void shouldRejectMagicOtherThanTwo() {
        for (byte magic : new byte[] {0, 1, 3, -1}) {
            ByteBuffer b = validBatch();
            b.put(RecordBatchHeader.MAGIC_OFFSET, magic);

            assertThat(validate(b)).as("magic %d", magic).isEqualTo(BatchError.UNSUPPORTED_MAGIC);
        }
    }

    @Test
    void shouldRejectBatchWithBadCrc() {
        ByteBuffer b = validBatch();
        b.putInt(RecordBatchHeader.CRC_OFFSET, b.getInt(RecordBatchHeader.CRC_OFFSET) ^ 1);

        assertThat(validate(b)).isEqualTo(BatchError.CRC_MISMATCH);
    }

    @Test
    void shouldRejectBatchWithFlippedBitInCoveredBytes() {
        int size = validBatch().limit();
        for (int pos = RecordBatchHeader.ATTRIBUTES_OFFSET; pos < size; pos++) {
            if (pos >= RecordBatchHeader.LAST_OFFSET_DELTA_OFFSET && pos < RecordBatchHeader.BASE_TIMESTAMP_OFFSET) {
                continue; // checked before the CRC: gives INVALID_RECORD_COUNT
            }
            if (pos >= RecordBatchHeader.RECORDS_COUNT_OFFSET && pos < RecordBatchHeader.HEADER_SIZE) {
                continue; // likewise
            }
            ByteBuffer b = validBatch();
            b.put(pos, (byte) (b.get(pos) ^ 0x10));

            assertThat(validate(b)).as("byte %d", pos).isEqualTo(BatchError.CRC_MISMATCH);
        }
    }

    @Test
    void shouldNotCoverBaseOffsetOrPartitionLeaderEpochWithCrc() {
        ByteBuffer b = validBatch();
        long crc = RecordBatchHeader.storedCrc(b, 0);
        b.putLong(RecordBatchHeader.BASE_OFFSET_OFFSET, 123_456_789L);
        b.putInt(RecordBatchHeader.PARTITION_LEADER_EPOCH_OFFSET, 42);

        assertThat(validate(b)).isNull();
        assertThat(RecordBatchHeader.computeCrc(b, 0, b.limit())).isEqualTo(crc);
        assertThat(RecordBatchHeader.baseOffset(b, 0)).isEqualTo(123_456_789L);
    }

    @Test
    void shouldRejectRecordCountThatIsNotLastOffsetDeltaPlusOne() {
        ByteBuffer b = validBatch();
        b.putInt(RecordBatchHeader.RECORDS_COUNT_OFFSET, 2);
        fixCrc(b);

        assertThat(validate(b)).isEqualTo(BatchError.INVALID_RECORD_COUNT);

        ByteBuffer c = validBatch();
        c.putInt(RecordBatchHeader.LAST_OFFSET_DELTA_OFFSET, 3);
        fixCrc(c);

        assertThat(validate(c)).isEqualTo(BatchError.INVALID_RECORD_COUNT);
    }

    @Test
    void shouldRejectZeroOrNegativeRecordCount() {
        for (int count : new int[] {0, -1, Integer.MIN_VALUE}) {
            ByteBuffer b = validBatch();
            b.putInt(RecordBatchHeader.RECORDS_COUNT_OFFSET, count);
            b.putInt(RecordBatchHeader.LAST_OFFSET_DELTA_OFFSET, count - 1);
            fixCrc(b);

            assertThat(validate(b)).as("count %d", count).isEqualTo(BatchError.INVALID_RECORD_COUNT);
        }
    }

    @Test
    void shouldRejectRecordCountThatMatchesLastOffsetDeltaOnlyByOverflow() {
        ByteBuffer b = validBatch();
        b.putInt(RecordBatchHeader.RECORDS_COUNT_OFFSET, Integer.MIN_VALUE);
        b.putInt(RecordBatchHeader.LAST_OFFSET_DELTA_OFFSET, Integer.MAX_VALUE);
        fixCrc(b);

        assertThat(validate(b)).isEqualTo(BatchError.INVALID_RECORD_COUNT);
    }

    @Test
    void shouldRejectBatchLargerThanMaxBatchBytes() {
        ByteBuffer b = validBatch();
        int size = b.limit();

        assertThat(RecordBatchHeader.validate(b, 0, size, size)).isNull();
        assertThat(RecordBatchHeader.validate(b, 0, size, size - 1)).isEqualTo(BatchError.BATCH_TOO_LARGE);
    }

    @Test
    void shouldNotMoveBufferPositionOrLimit() {
        ByteBuffer b = TestBatches.concat(validBatch(), validBatch());
        b.position(5).limit(b.capacity() - 3);

        RecordBatchHeader.validate(b, 0, b.capacity(), NO_LIMIT);
        RecordBatchHeader.validate(b, 0, 10, NO_LIMIT);
        b.putInt(RecordBatchHeader.CRC_OFFSET, 0);
        RecordBatchHeader.validate(b, 0, b.capacity(), NO_LIMIT);

        assertThat(b.position()).isEqualTo(5);
        assertThat(b.limit()).isEqualTo(b.capacity() - 3);
    }

    @Test
    void shouldComputeCrcWithoutMovingBufferPositionOrLimit() {
        ByteBuffer b = validBatch();
        b.position(7).limit(40);

        long crc = RecordBatchHeader.computeCrc(b, 0, b.capacity());

        assertThat(crc).isEqualTo(RecordBatchHeader.storedCrc(b, 0));
        assertThat(b.position()).isEqualTo(7);
        assertThat(b.limit()).isEqualTo(40);
    }

    @Test
    void shouldReadStoredCrcAsUnsigned() {
        ByteBuffer b = validBatch();
        b.putInt(RecordBatchHeader.CRC_OFFSET, -1);

        assertThat(RecordBatchHeader.storedCrc(b, 0)).isEqualTo(0xFFFF_FFFFL);
    }
}
