package io.fjord.storage;

import static org.assertj.core.api.Assertions.assertThat;

import io.fjord.storage.LogContents.BatchSpan;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * Damage a log's files the way a crash or a bad disk does, then reopen: recovery keeps every whole
 * batch before the damage and nothing from it on, the tail is clean, and the log takes appends.
 * Sealed segments with a missing or broken index after a clean shutdown get the index rebuilt.
 */
class PartitionLogTornTailTest {
    private static final long NOW_MS = 1_700_000_000_000L;
    private static final LogConfig CONFIG =
            LogConfig.DEFAULT.withSegmentBytes(64 * 1024).withIndexIntervalBytes(1024);
    /** Enough ~1 KiB batches for two full segments and a well-filled third (the active one). */
    private static final int BATCHES = 170;

    @TempDir
    Path dir;

    /** Copies of the appended batches, offsets assigned, in order. */
    private final List<ByteBuffer> appended = new ArrayList<>();

    /** What is done to the active segment after an unclean stop. */
    enum TailDamage {
        TRUNCATE_MID_BATCH,
        TRUNCATE_MID_LENGTH_FIELD,
        TRUNCATE_INSIDE_HEADER,
        GARBLE_LAST_RECORD_BYTE,
        GARBLE_ATTRIBUTES,
        GARBLE_CRC_FIELD,
        GARBLE_MAGIC,
        GARBLE_BASE_OFFSET,
        GARBLE_RECORDS_COUNT,
        LENGTH_HUGE,
        LENGTH_NEGATIVE,
        LENGTH_BELOW_HEADER,
        LENGTH_PAST_FILE_END,
        ZEROED_TAIL_PAGE,
        ZEROED_TAIL_SHORT,
        GARBLE_EARLIER_BATCH
    }

    @ParameterizedTest
    @EnumSource(TailDamage.class)
    void shouldRecoverToLastWholeBatchAfterTailDamage(TailDamage damage) throws IOException {
        PartitionLog log = open();
        appendBatches(log, BATCHES);
        assertThat(log.segmentCount()).as("segments before the damage").isGreaterThanOrEqualTo(3);
        log.abandon();

        Path active = LogContents.activeSegmentFile(dir);
        List<BatchSpan> spans = LogContents.chain(active);
        assertThat(spans).as("batches in the active segment").hasSizeGreaterThan(10);
        int cutIndex = damage(active, spans, damage);
        long sizeAfterDamage = Files.size(active);

        int keptInActive = cutIndex;
        int cutPosition = keptInActive == spans.size()
                ? spans.getLast().end()
                : spans.get(keptInActive).position();
        int keptBatches = appended.size() - spans.size() + keptInActive;
        long expectedHw = RecordBatchHeader.baseOffset(appended.get(keptBatches - 1), 0)
                + RecordBatchHeader.lastOffsetDelta(appended.get(keptBatches - 1), 0)
                + 1;

        try (PartitionLog reopened = open()) {
            assertThat(reopened.recoveredCleanly()).isFalse();
            assertThat(reopened.highWatermark()).isEqualTo(expectedHw);
            assertThat(reopened.recoveryBytesTruncated()).isEqualTo(sizeAfterDamage - cutPosition);
            assertThat(Files.size(active)).isEqualTo(cutPosition);
            LogContents.assertCleanTail(active);
            assertThat(LogContents.readAll(reopened)).isEqualTo(appended.subList(0, keptBatches));

            AppendResult r = reopened.append(TestBatches.batch(2, 100, NOW_MS));
            assertThat(r).isInstanceOf(AppendResult.Appended.class);
            assertThat(((AppendResult.Appended) r).firstOffset()).isEqualTo(expectedHw);
            assertThat(reopened.highWatermark()).isEqualTo(expectedHw + 2);
            reopened.abandon();
        }
        try (PartitionLog again = open()) {
            assertThat(again.recoveryBytesTruncated())
                    .as("a second recovery finds nothing to cut")
                    .isZero();
            assertThat(again.highWatermark()).isEqualTo(expectedHw + 2);
        }
    }

    /** Applies the damage; returns the index (in {@code spans}) of the first batch recovery must cut. */
    private static int damage(Path file, List<BatchSpan> spans, TailDamage damage) throws IOException {
        int lastIndex = spans.size() - 1;
        BatchSpan last = spans.get(lastIndex);
        int lastPos = last.position();
        switch (damage) {
            case TRUNCATE_MID_BATCH -> LogContents.truncate(file, lastPos + last.sizeBytes() / 2);
            case TRUNCATE_MID_LENGTH_FIELD -> LogContents.truncate(file, lastPos + 10);
            case TRUNCATE_INSIDE_HEADER -> LogContents.truncate(file, lastPos + 30);
            case GARBLE_LAST_RECORD_BYTE -> LogContents.flipByte(file, last.end() - 1);
            case GARBLE_ATTRIBUTES -> LogContents.flipByte(file, lastPos + RecordBatchHeader.ATTRIBUTES_OFFSET);
            case GARBLE_CRC_FIELD -> LogContents.flipByte(file, lastPos + RecordBatchHeader.CRC_OFFSET + 2);
            case GARBLE_MAGIC -> LogContents.flipByte(file, lastPos + RecordBatchHeader.MAGIC_OFFSET);
            case GARBLE_BASE_OFFSET ->
                // Not covered by the CRC: only the density check can catch it.
                LogContents.overwrite(file, lastPos, longBytes(last.baseOffset() + 1));
            case GARBLE_RECORDS_COUNT ->
                LogContents.flipByte(file, lastPos + RecordBatchHeader.RECORDS_COUNT_OFFSET + 3);
            case LENGTH_HUGE ->
                LogContents.overwrite(file, lastPos + RecordBatchHeader.LENGTH_OFFSET, intBytes(0x7FFF_FFF0));
            case LENGTH_NEGATIVE ->
                LogContents.overwrite(file, lastPos + RecordBatchHeader.LENGTH_OFFSET, intBytes(-7));
            case LENGTH_BELOW_HEADER ->
                LogContents.overwrite(file, lastPos + RecordBatchHeader.LENGTH_OFFSET, intBytes(20));
            case LENGTH_PAST_FILE_END ->
                LogContents.overwrite(
                        file,
                        lastPos + RecordBatchHeader.LENGTH_OFFSET,
                        intBytes(last.sizeBytes() - RecordBatchHeader.LOG_OVERHEAD + 100));
            case ZEROED_TAIL_PAGE -> {
                // What a file system can leave after a crash: the size grew, the data did not land.
                LogContents.appendZeros(file, 4096);
                return spans.size();
            }
            case ZEROED_TAIL_SHORT -> {
                LogContents.appendZeros(file, 5);
                return spans.size();
            }
            case GARBLE_EARLIER_BATCH -> {
                int victim = spans.size() / 2;
                BatchSpan v = spans.get(victim);
                LogContents.flipByte(file, v.position() + RecordBatchHeader.HEADER_SIZE + 3);
                return victim;
            }
        }
        return lastIndex;
    }

    @Test
    void shouldScanNothingAfterCleanShutdown() throws IOException {
        try (PartitionLog log = open()) {
            appendBatches(log, BATCHES);
        }
        try (PartitionLog reopened = open()) {
            assertThat(reopened.recoveredCleanly()).isTrue();
            assertThat(reopened.recoveryBytesScanned()).isZero();
            assertThat(reopened.recoveryBytesTruncated()).isZero();
            assertThat(LogContents.readAll(reopened)).isEqualTo(appended);
        }
    }

    /** What is done to the first (sealed) segment's index files after a clean shutdown. */
    enum IndexDamage {
        DELETE_OFFSET_INDEX,
        DELETE_TIME_INDEX,
        GARBLE_LAST_OFFSET_ENTRY,
        ZERO_LAST_OFFSET_ENTRY,
        GARBLE_LAST_TIME_ENTRY,
        OFFSET_INDEX_SIZE_NOT_WHOLE_ENTRIES,
        TIME_INDEX_SIZE_NOT_WHOLE_ENTRIES
    }

    @ParameterizedTest
    @EnumSource(IndexDamage.class)
    void shouldRebuildDamagedIndexOfSealedSegment(IndexDamage damage) throws IOException {
        try (PartitionLog log = open()) {
            appendBatches(log, BATCHES);
        }
        Path first = LogContents.segmentFiles(dir).getFirst();
        Path offsetIndex = OffsetIndex.pathFor(dir, 0);
        Path timeIndex = TimeIndex.pathFor(dir, 0);
        byte[] offsetIndexBefore = LogContents.readBytes(offsetIndex);
        byte[] timeIndexBefore = LogContents.readBytes(timeIndex);
        assertThat(offsetIndexBefore.length / OffsetIndex.ENTRY_SIZE).isGreaterThan(10);
        assertThat(timeIndexBefore.length / TimeIndex.ENTRY_SIZE).isGreaterThan(10);

        switch (damage) {
            case DELETE_OFFSET_INDEX -> Files.delete(offsetIndex);
            case DELETE_TIME_INDEX -> Files.delete(timeIndex);
            case GARBLE_LAST_OFFSET_ENTRY ->
                // A position past the end of the log file.
                LogContents.overwrite(offsetIndex, offsetIndexBefore.length - 4, intBytes(0x00FF_FFFF));
            case ZERO_LAST_OFFSET_ENTRY ->
                LogContents.overwrite(offsetIndex, offsetIndexBefore.length - 8, new byte[8]);
            case GARBLE_LAST_TIME_ENTRY -> LogContents.overwrite(timeIndex, timeIndexBefore.length - 12, longBytes(0));
            case OFFSET_INDEX_SIZE_NOT_WHOLE_ENTRIES -> LogContents.appendZeros(offsetIndex, 3);
            case TIME_INDEX_SIZE_NOT_WHOLE_ENTRIES -> LogContents.appendZeros(timeIndex, 5);
        }

        try (PartitionLog reopened = open()) {
            assertThat(reopened.recoveredCleanly()).isTrue();
            assertThat(reopened.recoveryBytesScanned())
                    .as("only the damaged segment is scanned")
                    .isEqualTo(Files.size(first));
            assertThat(reopened.recoveryBytesTruncated()).isZero();
            assertThat(LogContents.readBytes(offsetIndex)).isEqualTo(offsetIndexBefore);
            assertThat(LogContents.readBytes(timeIndex)).isEqualTo(timeIndexBefore);
            assertThat(LogContents.readAll(reopened)).isEqualTo(appended);
            assertEveryOffsetReadable(reopened);
            assertThat(reopened.offsetForTimestamp(NOW_MS).orElseThrow().offset())
                    .isZero();
        }
    }

    /**
     * A batch larger than the 1 MiB buffer recovery scans with, at the start of the active segment
     * (where a roll puts a batch that does not fit the previous segment).
     */
    @Test
    void shouldKeepBatchLargerThanScanBufferAtSegmentStart() throws IOException {
        LogConfig big = CONFIG.withSegmentBytes(4 * 1024 * 1024).withMaxBatchBytes(4 * 1024 * 1024);
        PartitionLog log = PartitionLog.open(dir, big, () -> NOW_MS);
        ByteBuffer large = TestBatches.batch(3, 512 * 1024, NOW_MS);
        assertThat(large.remaining()).isGreaterThan(1024 * 1024);
        append(log, large);
        append(log, TestBatches.batch(2, 100, NOW_MS));
        long hw = log.highWatermark();
        log.abandon();

        try (PartitionLog reopened = PartitionLog.open(dir, big, () -> NOW_MS)) {
            assertThat(reopened.recoveryBytesTruncated()).isZero();
            assertThat(reopened.highWatermark()).isEqualTo(hw);
            assertThat(LogContents.readAll(reopened)).isEqualTo(appended);
        }
    }

    private PartitionLog open() {
        return PartitionLog.open(dir, CONFIG, () -> NOW_MS);
    }

    /** Batches of 1 to 4 records with values of 100 to 1000 bytes: about 1 KiB each on average. */
    private void appendBatches(PartitionLog log, int count) {
        for (int i = 0; i < count; i++) {
            append(log, TestBatches.batch(1 + i % 4, 100 + (i * 37) % 900, NOW_MS + i));
        }
    }

    private void append(PartitionLog log, ByteBuffer batch) {
        long expected = log.highWatermark();
        AppendResult r = log.append(batch);
        assertThat(r).isInstanceOf(AppendResult.Appended.class);
        assertThat(((AppendResult.Appended) r).firstOffset()).isEqualTo(expected);
        appended.add(batch.flip().slice());
    }

    /** A one-byte read of each offset finds the batch that holds it: the index lookups work. */
    private static void assertEveryOffsetReadable(PartitionLog log) throws IOException {
        for (long o = log.logStartOffset(); o < log.highWatermark(); o++) {
            try (LogSlice s = (LogSlice) log.read(o, 1)) {
                ByteBuffer b = s.toByteBuffer();
                long base = RecordBatchHeader.baseOffset(b, 0);
                assertThat(base).as("batch for offset %d", o).isLessThanOrEqualTo(o);
                assertThat(base + RecordBatchHeader.lastOffsetDelta(b, 0))
                        .as("batch for offset %d", o)
                        .isGreaterThanOrEqualTo(o);
            }
        }
    }

    private static byte[] intBytes(int v) {
        return ByteBuffer.allocate(4).putInt(v).array();
    }

    private static byte[] longBytes(long v) {
        return ByteBuffer.allocate(8).putLong(v).array();
    }
}
