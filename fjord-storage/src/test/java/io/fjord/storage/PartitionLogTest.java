package io.fjord.storage;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class PartitionLogTest {
    private static final long T0 = 1_700_000_000_000L;

    /** Small segments, so that a few dozen batches make several of them. */
    private static final LogConfig SMALL =
            LogConfig.DEFAULT.withSegmentBytes(4096).withIndexIntervalBytes(512);

    @TempDir
    Path dir;

    private final AtomicLong nowMs = new AtomicLong(T0);
    private final List<PartitionLog> opened = new ArrayList<>();
    private final List<LogSlice> slices = new ArrayList<>();

    @AfterEach
    void closeAll() {
        slices.forEach(LogSlice::close);
        for (PartitionLog log : opened) {
            try {
                log.close();
            } catch (IllegalStateException | StorageException e) {
                // already closed or abandoned by the test
            }
        }
    }

    private PartitionLog open(LogConfig config) {
        PartitionLog log = PartitionLog.open(dir, config, nowMs::get);
        opened.add(log);
        return log;
    }

    private static AppendResult.Appended appended(AppendResult r) {
        assertThat(r).isInstanceOf(AppendResult.Appended.class);
        return (AppendResult.Appended) r;
    }

    /** Appends {@code n} batches of {@code records} records of about {@code valueBytes} each, stamped now. */
    private void appendBatches(PartitionLog log, int n, int records, int valueBytes) {
        for (int i = 0; i < n; i++) {
            appended(log.append(TestBatches.batch(records, valueBytes, nowMs.get())));
        }
    }

    private LogSlice slice(ReadResult r) {
        assertThat(r).isInstanceOf(LogSlice.class);
        LogSlice s = (LogSlice) r;
        slices.add(s);
        return s;
    }

    /**
     * Checks that {@code bytes} holds whole, valid batches with dense offsets, and returns their
     * base offsets.
     */
    private static List<Long> batchBases(ByteBuffer bytes) {
        List<Long> bases = new ArrayList<>();
        int pos = 0;
        long expected = -1;
        while (pos < bytes.limit()) {
            assertThat(RecordBatchHeader.validate(bytes, pos, bytes.limit(), Integer.MAX_VALUE))
                    .as("batch at %d", pos)
                    .isNull();
            long base = RecordBatchHeader.baseOffset(bytes, pos);
            if (expected >= 0) {
                assertThat(base).as("offsets are dense").isEqualTo(expected);
            }
            bases.add(base);
            expected = base + RecordBatchHeader.lastOffsetDelta(bytes, pos) + 1;
            pos += RecordBatchHeader.sizeBytes(bytes, pos);
        }
        assertThat(pos).as("the slice ends at a batch boundary").isEqualTo(bytes.limit());
        return bases;
    }

    private static long lastOffsetIn(ByteBuffer bytes) {
        int pos = 0;
        long last = -1;
        while (pos < bytes.limit()) {
            last = RecordBatchHeader.baseOffset(bytes, pos) + RecordBatchHeader.lastOffsetDelta(bytes, pos);
            pos += RecordBatchHeader.sizeBytes(bytes, pos);
        }
        return last;
    }

    // ---- append ----

    @Test
    void shouldAssignDenseOffsetsFromZero() {
        PartitionLog log = open(LogConfig.DEFAULT);

        ByteBuffer first = TestBatches.batch(3, 10, T0);
        assertThat(log.append(first)).isEqualTo(new AppendResult.Appended(0, 2, T0 + 2, 1));
        assertThat(log.append(TestBatches.batch(1, 10, T0 + 100)))
                .isEqualTo(new AppendResult.Appended(3, 3, T0 + 100, 1));
        ByteBuffer two = TestBatches.concat(TestBatches.batch(2, 10, T0 + 7), TestBatches.batch(5, 10, T0 + 1));
        assertThat(log.append(two)).isEqualTo(new AppendResult.Appended(4, 10, T0 + 8, 2));

        assertThat(log.highWatermark()).isEqualTo(11);
        assertThat(log.logStartOffset()).isZero();
        assertThat(RecordBatchHeader.baseOffset(first, 0))
                .as("the offset is written into the caller's buffer")
                .isZero();
        assertThat(RecordBatchHeader.baseOffset(two, RecordBatchHeader.sizeBytes(two, 0)))
                .isEqualTo(6);
    }

    @Test
    void shouldOverwriteWhateverBaseOffsetTheClientSent() throws Exception {
        PartitionLog log = open(LogConfig.DEFAULT);
        appendBatches(log, 1, 2, 10);
        ByteBuffer b = TestBatches.batch(2, 10, T0);
        b.putLong(0, 999_999L);

        assertThat(appended(log.append(b)).firstOffset()).isEqualTo(2);

        assertThat(batchBases(slice(log.read(0, Integer.MAX_VALUE)).toByteBuffer()))
                .containsExactly(0L, 2L);
    }

    @Test
    void shouldRejectWholeAppendWhenBatchInTheMiddleIsBad() throws Exception {
        PartitionLog log = open(SMALL);
        appendBatches(log, 2, 2, 10);
        long size = log.sizeBytes();
        ByteBuffer bad = TestBatches.batch(2, 10, T0);
        bad.put(bad.limit() - 1, (byte) (bad.get(bad.limit() - 1) ^ 1));
        ByteBuffer three = TestBatches.concat(TestBatches.batch(2, 10, T0), bad, TestBatches.batch(2, 10, T0));

        assertThat(log.append(three)).isEqualTo(new AppendResult.Rejected(BatchError.CRC_MISMATCH, 1));

        assertThat(log.highWatermark()).isEqualTo(4);
        assertThat(log.sizeBytes()).isEqualTo(size);
        assertThat(Files.size(dir.resolve(Segment.fileName(0, Segment.LOG_SUFFIX))))
                .isEqualTo(size);
        assertThat(log.read(4, Integer.MAX_VALUE))
                .isInstanceOfSatisfying(
                        LogSlice.class, s -> assertThat(s.isEmpty()).isTrue());
        assertThat(appended(log.append(TestBatches.batch(1, 10, T0))).firstOffset())
                .isEqualTo(4);
    }

    @Test
    void shouldRejectTruncatedTooLargeAndEmptyAppends() {
        PartitionLog log = open(LogConfig.DEFAULT.withMaxBatchBytes(200));
        ByteBuffer good = TestBatches.batch(1, 10, T0);
        ByteBuffer torn = TestBatches.concat(good, TestBatches.batch(1, 10, T0));
        torn.limit(torn.limit() - 1);

        assertThat(log.append(torn)).isEqualTo(new AppendResult.Rejected(BatchError.TRUNCATED, 1));
        assertThat(log.append(TestBatches.batch(1, 300, T0)))
                .isEqualTo(new AppendResult.Rejected(BatchError.BATCH_TOO_LARGE, 0));
        assertThat(log.append(ByteBuffer.allocate(0))).isEqualTo(new AppendResult.Rejected(BatchError.EMPTY, 0));
        assertThat(log.highWatermark()).isZero();
        assertThat(log.sizeBytes()).isZero();
    }

    @Test
    void shouldAppendFromBufferPositionToLimit() throws Exception {
        PartitionLog log = open(LogConfig.DEFAULT);
        ByteBuffer b = TestBatches.batch(2, 10, T0);
        ByteBuffer padded = ByteBuffer.allocate(b.limit() + 20);
        padded.position(7);
        padded.put(b.duplicate());
        padded.flip().position(7);

        assertThat(appended(log.append(padded)).lastOffset()).isEqualTo(1);
        assertThat(log.sizeBytes()).isEqualTo(b.limit());
    }

    // ---- read ----

    @Test
    void shouldReadAtLeastOneWholeBatchEvenIfLargerThanMaxBytes() throws Exception {
        PartitionLog log = open(LogConfig.DEFAULT);
        appendBatches(log, 3, 4, 1_000);

        LogSlice s = slice(log.read(0, 1));

        assertThat(s.length()).isGreaterThan(1);
        assertThat(batchBases(s.toByteBuffer())).containsExactly(0L);
        assertThat(s.firstBatchOffset()).isZero();
    }

    @Test
    void shouldNeverSplitBatch() throws Exception {
        PartitionLog log = open(LogConfig.DEFAULT);
        appendBatches(log, 5, 2, 100);
        int batchBytes = (int) log.sizeBytes() / 5;

        LogSlice s = slice(log.read(0, batchBytes * 2 + batchBytes / 2));

        assertThat(s.length()).isEqualTo(batchBytes * 2);
        assertThat(batchBases(s.toByteBuffer())).containsExactly(0L, 2L);
    }

    @Test
    void shouldNeverReadAcrossSegmentBoundary() throws Exception {
        PartitionLog log = open(LogConfig.DEFAULT);
        appendBatches(log, 3, 2, 10);
        log.roll();
        appendBatches(log, 3, 2, 10);

        LogSlice s = slice(log.read(2, Integer.MAX_VALUE));

        assertThat(batchBases(s.toByteBuffer())).containsExactly(2L, 4L);
        assertThat(batchBases(slice(log.read(6, Integer.MAX_VALUE)).toByteBuffer()))
                .containsExactly(6L, 8L, 10L);
    }

    @Test
    void shouldReturnBatchHoldingAnOffsetInsideIt() throws Exception {
        PartitionLog log = open(LogConfig.DEFAULT);
        appendBatches(log, 4, 5, 10);

        LogSlice s = slice(log.read(13, 1));

        assertThat(s.firstBatchOffset()).isEqualTo(10);
        assertThat(batchBases(s.toByteBuffer())).containsExactly(10L);
    }

    @Test
    void shouldReturnEmptySliceAtHighWatermark() throws Exception {
        PartitionLog log = open(LogConfig.DEFAULT);
        assertThat(slice(log.read(0, 100)).isEmpty()).as("empty log").isTrue();
        appendBatches(log, 2, 3, 10);

        LogSlice s = slice(log.read(6, 100));

        assertThat(s.isEmpty()).isTrue();
        assertThat(s.length()).isZero();
        assertThat(s.channel()).isNull();
        assertThat(s.highWatermark()).isEqualTo(6);
        assertThat(s.toByteBuffer().remaining()).isZero();
    }

    @Test
    void shouldReportOffsetOutOfRangeBelowLogStartOrAboveHighWatermark() {
        PartitionLog log = open(LogConfig.DEFAULT);
        appendBatches(log, 4, 5, 10);
        log.advanceLogStartOffset(5);

        assertThat(log.read(21, 100)).isEqualTo(new ReadResult.OffsetOutOfRange(21, 5, 20));
        assertThat(log.read(4, 100)).isEqualTo(new ReadResult.OffsetOutOfRange(4, 5, 20));
        assertThat(log.read(-1, 100)).isEqualTo(new ReadResult.OffsetOutOfRange(-1, 5, 20));
        assertThat(slice(log.read(5, 100)).firstBatchOffset()).isEqualTo(5);
    }

    @Test
    void shouldReadEveryOffsetAfterReopen() throws Exception {
        PartitionLog log = open(SMALL);
        appendBatches(log, 40, 3, 50);
        log.close();

        PartitionLog reopened = open(SMALL);

        assertThat(reopened.recoveredCleanly()).isTrue();
        for (long offset = 0; offset < 120; offset++) {
            ByteBuffer b = slice(reopened.read(offset, 1)).toByteBuffer();
            assertThat(batchBases(b)).containsExactly(offset / 3 * 3);
        }
    }

    // ---- roll ----

    @Test
    void shouldRollBeforeSegmentWouldExceedSegmentBytes() throws Exception {
        PartitionLog log = open(SMALL);

        appendBatches(log, 30, 3, 100);

        assertThat(log.segmentCount()).isEqualTo(3);
        for (long base : log.segmentBaseOffsets()) {
            Path file = dir.resolve(Segment.fileName(base, Segment.LOG_SUFFIX));
            assertThat(Files.size(file)).isLessThanOrEqualTo(SMALL.segmentBytes());
            assertThat(base % 3).as("segments start at batch boundaries").isZero();
        }
        assertThat(log.sizeBytes())
                .isEqualTo(30L * TestBatches.batch(3, 100, T0).limit());
    }

    @Test
    void shouldPutOversizedBatchAloneInItsSegment() {
        PartitionLog log = open(SMALL.withMaxBatchBytes(64 * 1024));
        appendBatches(log, 1, 1, 10);

        appendBatches(log, 1, 2, 5_000);
        appendBatches(log, 1, 1, 10);

        assertThat(log.segmentBaseOffsets()).containsExactly(0L, 1L, 3L);
    }

    @Test
    void shouldRollWhenSegmentMsHasPassed() {
        PartitionLog log = open(LogConfig.DEFAULT.withSegmentMs(60_000));
        appendBatches(log, 2, 1, 10);
        nowMs.addAndGet(59_999);
        appendBatches(log, 1, 1, 10);
        assertThat(log.segmentCount()).isEqualTo(1);

        nowMs.addAndGet(1);
        appendBatches(log, 1, 1, 10);

        assertThat(log.segmentBaseOffsets()).containsExactly(0L, 3L);
        assertThat(log.flushedOffset()).as("a rolled segment is fsynced").isEqualTo(3);
    }

    @Test
    void shouldNotRollEmptyActiveSegment() {
        PartitionLog log = open(LogConfig.DEFAULT);

        log.roll();
        appendBatches(log, 1, 1, 10);
        log.roll();
        log.roll();

        assertThat(log.segmentBaseOffsets()).containsExactly(0L, 1L);
    }

    // ---- retention ----

    @Test
    void shouldDeleteSegmentsOlderThanRetentionMs() {
        PartitionLog log = open(SMALL.withRetentionMs(10_000));
        for (int round = 0; round < 4; round++) {
            nowMs.set(T0 + 5_000L * round);
            appendBatches(log, 3, 3, 200); // newest record of round r: T0 + 5000 r + 2
            log.roll();
        }
        assertThat(log.segmentBaseOffsets()).containsExactly(0L, 9L, 18L, 27L, 36L);

        assertThat(log.applyRetention(T0 + 10_002))
                .as("nothing is older than 10 s")
                .isZero();
        assertThat(log.applyRetention(T0 + 15_002)).isEqualTo(1);

        assertThat(log.segmentBaseOffsets()).containsExactly(9L, 18L, 27L, 36L);
        assertThat(log.logStartOffset()).isEqualTo(9);
        assertThat(dir.resolve(Segment.fileName(0, Segment.LOG_SUFFIX))).doesNotExist();
        assertThat(log.read(8, 100)).isEqualTo(new ReadResult.OffsetOutOfRange(8, 9, 36));
        assertThat(slice(log.read(9, 100)).firstBatchOffset()).isEqualTo(9);

        assertThat(log.applyRetention(T0 + 25_003)).isEqualTo(3);
        assertThat(log.logStartOffset()).isEqualTo(36);
        assertThat(log.highWatermark()).isEqualTo(36);
    }

    @Test
    void shouldDeleteWholeLogIncludingActiveSegmentWhenAllExpired() {
        PartitionLog log = open(SMALL.withRetentionMs(1_000));
        appendBatches(log, 10, 3, 200);
        assertThat(log.segmentCount()).isGreaterThan(1);
        nowMs.addAndGet(1_003); // the newest record is T0 + 2

        log.applyRetention(nowMs.get());

        assertThat(log.segmentBaseOffsets()).containsExactly(30L);
        assertThat(log.logStartOffset()).isEqualTo(30);
        assertThat(log.highWatermark()).isEqualTo(30);
        assertThat(log.sizeBytes()).isZero();
        assertThat(slice(log.read(30, 100)).isEmpty()).isTrue();
        assertThat(appended(log.append(TestBatches.batch(1, 1, nowMs.get()))).firstOffset())
                .isEqualTo(30);
    }

    @Test
    void shouldKeepActiveSegmentWhenItHoldsUnexpiredData() {
        PartitionLog log = open(SMALL.withRetentionMs(1_000));
        appendBatches(log, 6, 3, 200);
        nowMs.addAndGet(2_000);
        appendBatches(log, 1, 1, 10);

        log.applyRetention(nowMs.get());

        assertThat(log.segmentCount()).isEqualTo(1);
        assertThat(log.logStartOffset()).isEqualTo(log.segmentBaseOffsets().get(0));
        assertThat(log.highWatermark()).isEqualTo(19);
    }

    @Test
    void shouldDeleteOldestSegmentsWhileLogStaysAtLeastRetentionBytes() throws Exception {
        PartitionLog log = open(SMALL);
        appendBatches(log, 40, 3, 200);
        long retentionBytes = log.sizeBytes() / 3;
        log.updateConfig(SMALL.withRetentionBytes(retentionBytes));
        int before = log.segmentCount();

        int deleted = log.applyRetention(nowMs.get());

        assertThat(deleted).isPositive();
        assertThat(log.segmentCount()).isEqualTo(before - deleted);
        assertThat(log.sizeBytes()).isGreaterThanOrEqualTo(retentionBytes);
        long oldestBytes = Files.size(dir.resolve(Segment.fileName(log.logStartOffset(), Segment.LOG_SUFFIX))) * 1L;
        assertThat(log.sizeBytes() - oldestBytes).isLessThan(retentionBytes);
        assertThat(log.logStartOffset()).isEqualTo(log.segmentBaseOffsets().get(0));
        assertThat(log.applyRetention(nowMs.get())).as("stable").isZero();
    }

    @Test
    void shouldLetReaderHoldingSliceFinishAfterRetentionDeletesSegment() throws Exception {
        PartitionLog log = open(SMALL.withRetentionMs(1_000));
        appendBatches(log, 10, 3, 200);
        LogSlice held = slice(log.read(0, Integer.MAX_VALUE));
        int length = held.length();
        nowMs.addAndGet(5_000);

        log.applyRetention(nowMs.get());
        assertThat(log.logStartOffset()).isEqualTo(30);
        assertThat(dir.resolve(Segment.fileName(0, Segment.LOG_SUFFIX))).doesNotExist();

        ByteBuffer bytes = held.toByteBuffer();
        assertThat(bytes.remaining()).isEqualTo(length);
        assertThat(batchBases(bytes)).startsWith(0L, 3L);
        assertThat(deletedFilesOf(0)).as("renamed, still open for the reader").hasSize(1);

        held.close();
        held.close(); // harmless

        assertThat(deletedFilesOf(0)).as("deleted once the reader let go").isEmpty();
    }

    /** The renamed {@code .log} files of a retired segment ({@code <base>.log.<n>.deleted}). */
    private java.util.List<Path> deletedFilesOf(long base) throws java.io.IOException {
        String prefix = Segment.fileName(base, Segment.LOG_SUFFIX) + ".";
        try (var files = java.nio.file.Files.list(dir)) {
            return files.filter(f -> f.getFileName().toString().startsWith(prefix)
                            && f.getFileName().toString().endsWith(Segment.DELETED_SUFFIX))
                    .toList();
        }
    }

    @Test
    void shouldAdvanceLogStartOffsetDurably() {
        PartitionLog log = open(SMALL);
        appendBatches(log, 20, 3, 200);
        List<Long> bases = log.segmentBaseOffsets();
        long target = bases.get(2) + 1; // inside the third segment

        assertThat(log.advanceLogStartOffset(target)).isEqualTo(target);
        assertThat(log.advanceLogStartOffset(target - 1)).as("never backwards").isEqualTo(target);

        assertThat(log.segmentBaseOffsets()).isEqualTo(bases.subList(2, bases.size()));
        assertThat(log.read(target - 1, 100)).isInstanceOf(ReadResult.OffsetOutOfRange.class);
        assertThat(slice(log.read(target, 100)).firstBatchOffset()).isEqualTo(bases.get(2));
        log.close();

        PartitionLog reopened = open(SMALL);
        assertThat(reopened.logStartOffset()).isEqualTo(target);
        assertThat(reopened.highWatermark()).isEqualTo(60);
        reopened.abandon();

        PartitionLog recovered = open(SMALL);
        assertThat(recovered.recoveredCleanly()).isFalse();
        assertThat(recovered.logStartOffset()).isEqualTo(target);
    }

    @Test
    void shouldClampLogStartOffsetToHighWatermark() {
        PartitionLog log = open(SMALL);
        appendBatches(log, 20, 3, 200);

        assertThat(log.advanceLogStartOffset(1_000)).isEqualTo(60);

        assertThat(log.segmentCount()).isEqualTo(1);
        assertThat(slice(log.read(60, 100)).isEmpty()).isTrue();
        assertThat(appended(log.append(TestBatches.batch(1, 1, T0))).firstOffset())
                .isEqualTo(60);
    }

    // ---- truncation ----

    @Test
    void shouldTruncateWholeBatchWhenOffsetIsInsideIt() throws Exception {
        PartitionLog log = open(LogConfig.DEFAULT);
        appendBatches(log, 4, 5, 10);

        assertThat(log.truncateTo(12)).isEqualTo(10);

        assertThat(log.highWatermark()).isEqualTo(10);
        assertThat(log.read(12, 100)).isInstanceOf(ReadResult.OffsetOutOfRange.class);
        assertThat(batchBases(slice(log.read(0, Integer.MAX_VALUE)).toByteBuffer()))
                .containsExactly(0L, 5L);
        assertThat(appended(log.append(TestBatches.batch(1, 10, T0))).firstOffset())
                .isEqualTo(10);
    }

    @Test
    void shouldIgnoreTruncationAtOrAboveHighWatermark() {
        PartitionLog log = open(LogConfig.DEFAULT);
        appendBatches(log, 2, 5, 10);

        assertThat(log.truncateTo(10)).isEqualTo(10);
        assertThat(log.truncateTo(1_000)).isEqualTo(10);
        assertThat(log.highWatermark()).isEqualTo(10);
    }

    @Test
    void shouldTruncateToZero() throws Exception {
        PartitionLog log = open(SMALL);
        appendBatches(log, 20, 3, 200);

        assertThat(log.truncateTo(0)).isZero();

        assertThat(log.highWatermark()).isZero();
        assertThat(log.logStartOffset()).isZero();
        assertThat(log.segmentBaseOffsets()).containsExactly(0L);
        assertThat(log.sizeBytes()).isZero();
        try (var files = Files.list(dir)) {
            assertThat(files.filter(p -> p.toString().endsWith(".log")))
                    .containsExactly(dir.resolve(Segment.fileName(0, ".log")));
        }
        assertThat(appended(log.append(TestBatches.batch(2, 10, T0))).firstOffset())
                .isZero();
        log.close();
        PartitionLog reopened = open(SMALL);
        assertThat(reopened.highWatermark()).isEqualTo(2);
        assertThat(reopened.logStartOffset()).isZero();
    }

    @Test
    void shouldTruncateAcrossSegments() throws Exception {
        PartitionLog log = open(SMALL);
        appendBatches(log, 30, 3, 200);
        List<Long> bases = log.segmentBaseOffsets();
        assertThat(bases.size()).isGreaterThan(3);
        long cut = bases.get(1) + 4; // inside the second batch of the second segment

        assertThat(log.truncateTo(cut)).isEqualTo(bases.get(1) + 3);

        assertThat(log.segmentBaseOffsets()).containsExactly(bases.get(0), bases.get(1));
        for (long base : bases.subList(2, bases.size())) {
            assertThat(dir.resolve(Segment.fileName(base, Segment.LOG_SUFFIX))).doesNotExist();
        }
        assertThat(log.highWatermark()).isEqualTo(bases.get(1) + 3);
        assertThat(log.flushedOffset()).isLessThanOrEqualTo(log.highWatermark());
        appendBatches(log, 30, 3, 200);
        assertThat(log.highWatermark()).isEqualTo(bases.get(1) + 3 + 90);
        for (long offset = 0; offset < log.highWatermark(); offset += 7) {
            assertThat(batchBases(slice(log.read(offset, 1)).toByteBuffer())).containsExactly(offset / 3 * 3);
        }
        log.close();
        PartitionLog reopened = open(SMALL);
        assertThat(reopened.highWatermark()).isEqualTo(bases.get(1) + 3 + 90);
    }

    @Test
    void shouldTruncateToSegmentBoundary() {
        PartitionLog log = open(SMALL);
        appendBatches(log, 20, 3, 200);
        List<Long> bases = log.segmentBaseOffsets();

        assertThat(log.truncateTo(bases.get(2))).isEqualTo(bases.get(2));

        assertThat(log.segmentBaseOffsets()).containsExactly(bases.get(0), bases.get(1), bases.get(2));
        assertThat(log.highWatermark()).isEqualTo(bases.get(2));
    }

    // ---- flush policy ----

    @Test
    void shouldFlushEveryNBatches() {
        PartitionLog log = open(LogConfig.DEFAULT.withFlushEveryBatches(3));
        assertThat(log.flushedOffset()).isZero();

        appendBatches(log, 2, 2, 10);
        assertThat(log.flushedOffset()).isZero();
        appendBatches(log, 1, 2, 10);
        assertThat(log.flushedOffset()).isEqualTo(6);
        appendBatches(log, 2, 2, 10);
        assertThat(log.flushedOffset()).isEqualTo(6);
        log.append(TestBatches.concat(TestBatches.batch(1, 1, T0), TestBatches.batch(1, 1, T0)));
        assertThat(log.flushedOffset()).as("batches of one append count").isEqualTo(12);
    }

    @Test
    void shouldFlushWhenFlushIntervalMsHasPassed() {
        PartitionLog log = open(LogConfig.DEFAULT.withFlushEveryMs(100));
        appendBatches(log, 1, 2, 10);
        nowMs.addAndGet(99);
        appendBatches(log, 1, 2, 10);
        assertThat(log.flushedOffset()).isZero();

        nowMs.addAndGet(1);
        appendBatches(log, 1, 2, 10);
        assertThat(log.flushedOffset()).isEqualTo(6);

        appendBatches(log, 1, 2, 10);
        log.maybeFlush(nowMs.get() + 99);
        assertThat(log.flushedOffset()).isEqualTo(6);
        log.maybeFlush(nowMs.get() + 100);
        assertThat(log.flushedOffset()).isEqualTo(8);
    }

    @Test
    void shouldNotFlushByDefaultButFlushOnRequest() {
        PartitionLog log = open(LogConfig.DEFAULT);
        appendBatches(log, 50, 1, 10);
        nowMs.addAndGet(TimeUnit.DAYS.toMillis(1));
        appendBatches(log, 1, 1, 10);
        log.maybeFlush(nowMs.get());
        assertThat(log.flushedOffset()).isZero();

        log.flush();

        assertThat(log.flushedOffset()).isEqualTo(51);
    }

    // ---- config ----

    @Test
    void shouldApplyUpdatedConfigToLaterAppends() {
        PartitionLog log = open(LogConfig.DEFAULT);
        appendBatches(log, 10, 3, 200);
        assertThat(log.segmentCount()).isEqualTo(1);

        LogConfig updated = SMALL.withMaxBatchBytes(500).withRetentionMs(1_000);
        log.updateConfig(updated);

        assertThat(log.config()).isEqualTo(updated);
        appendBatches(log, 1, 1, 10);
        assertThat(log.segmentCount())
                .as("the big segment rolls at the new size")
                .isEqualTo(2);
        assertThat(log.append(TestBatches.batch(3, 200, T0)))
                .isEqualTo(new AppendResult.Rejected(BatchError.BATCH_TOO_LARGE, 0));
        nowMs.addAndGet(2_000);
        appendBatches(log, 1, 1, 10);
        log.applyRetention(nowMs.get());
        assertThat(log.logStartOffset()).isEqualTo(30);
    }

    // ---- timestamps ----

    @Test
    void shouldFindOffsetForTimestampAcrossSegments() {
        PartitionLog log = open(SMALL);
        for (int i = 0; i < 30; i++) {
            log.append(TestBatches.batch(3, 200, T0 + 1_000L * i)); // batch i: offsets 3i.., max ts T0+1000i+2
        }
        assertThat(log.segmentCount()).isGreaterThan(3);

        assertThat(log.offsetForTimestamp(0)).contains(new PartitionLog.TimestampOffset(0, T0 + 2));
        for (int i = 0; i < 30; i++) {
            assertThat(log.offsetForTimestamp(T0 + 1_000L * i + 2))
                    .contains(new PartitionLog.TimestampOffset(3L * i, T0 + 1_000L * i + 2));
            assertThat(log.offsetForTimestamp(T0 + 1_000L * i + 3).map(PartitionLog.TimestampOffset::offset))
                    .isEqualTo(i == 29 ? java.util.Optional.empty() : java.util.Optional.of(3L * (i + 1)));
        }
    }

    @Test
    void shouldNotFindTimestampBelowLogStartOffset() {
        PartitionLog log = open(SMALL);
        for (int i = 0; i < 20; i++) {
            log.append(TestBatches.batch(3, 200, T0 + 1_000L * i));
        }
        log.advanceLogStartOffset(31);

        assertThat(log.offsetForTimestamp(0)).contains(new PartitionLog.TimestampOffset(31, T0 + 10_002));
    }

    @Test
    void shouldFindTimestampsAfterCleanReopen() {
        PartitionLog log = open(SMALL);
        for (int i = 0; i < 20; i++) {
            log.append(TestBatches.batch(3, 200, T0 + 1_000L * i));
        }
        log.close();

        PartitionLog reopened = open(SMALL);

        assertThat(reopened.offsetForTimestamp(T0 + 7_500).orElseThrow().offset())
                .isEqualTo(24);
        assertThat(reopened.offsetForTimestamp(T0 + 19_003)).isEmpty();
    }

    // ---- lifecycle ----

    @Test
    void shouldWriteCleanShutdownMarkerOnCloseAndRemoveItOnOpen() {
        PartitionLog log = open(LogConfig.DEFAULT);
        appendBatches(log, 1, 1, 10);
        assertThat(dir.resolve(PartitionLog.CLEAN_SHUTDOWN_FILE)).doesNotExist();

        log.close();
        log.close(); // harmless
        assertThat(dir.resolve(PartitionLog.CLEAN_SHUTDOWN_FILE)).exists();
        assertThatThrownBy(() -> log.append(TestBatches.batch(1, 1, T0))).isInstanceOf(IllegalStateException.class);

        PartitionLog reopened = open(LogConfig.DEFAULT);
        assertThat(reopened.recoveredCleanly()).isTrue();
        assertThat(dir.resolve(PartitionLog.CLEAN_SHUTDOWN_FILE)).doesNotExist();
    }

    // ---- concurrency ----

    /**
     * One writer appends (rolling segments and applying size retention) while readers read random
     * offsets below the published high watermark without locks. Every slice must be whole, valid,
     * dense batches that hold the requested offset and stop below the slice's high watermark.
     */
    @Test
    void shouldLetReadersReadLockFreeWhileWriterAppends() throws Exception {
        long seed = System.nanoTime();
        int readerCount = 3;
        int batchesToWrite = 10_000;
        LogConfig cfg = LogConfig.DEFAULT
                .withSegmentBytes(32 * 1024)
                .withIndexIntervalBytes(1024)
                .withRetentionBytes(256 * 1024);
        PartitionLog log = open(cfg);
        AtomicReference<Throwable> failure = new AtomicReference<>();
        AtomicBoolean writerDone = new AtomicBoolean();
        AtomicLong slicesChecked = new AtomicLong();
        CountDownLatch start = new CountDownLatch(1);

        Thread writer = new Thread(
                () -> {
                    Random random = new Random(seed);
                    try {
                        start.await();
                        for (int i = 0; i < batchesToWrite && failure.get() == null; i++) {
                            ByteBuffer b = TestBatches.batch(1 + random.nextInt(5), random.nextInt(300), T0 + i);
                            appended(log.append(b));
                            if (i % 200 == 0) {
                                log.applyRetention(T0 + i);
                            }
                        }
                    } catch (Throwable t) {
                        failure.compareAndSet(null, t);
                    } finally {
                        writerDone.set(true);
                    }
                },
                "writer");
        List<Thread> readers = new ArrayList<>();
        for (int r = 0; r < readerCount; r++) {
            long readerSeed = seed + r + 1;
            readers.add(new Thread(
                    () -> {
                        Random random = new Random(readerSeed);
                        long deadlineNs = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
                        try {
                            start.await();
                            while (!writerDone.get() && failure.get() == null && System.nanoTime() < deadlineNs) {
                                long hwm = log.highWatermark();
                                long logStart = log.logStartOffset();
                                if (hwm <= logStart) {
                                    Thread.onSpinWait();
                                    continue;
                                }
                                long offset = logStart + (long) (random.nextDouble() * (hwm - logStart));
                                int maxBytes = 1 + random.nextInt(8 * 1024);
                                ReadResult result = log.read(offset, maxBytes);
                                if (result instanceof ReadResult.OffsetOutOfRange oor) {
                                    // Only retention may move the start past an offset we saw as readable.
                                    assertThat(oor.logStartOffset()).isGreaterThan(offset);
                                    continue;
                                }
                                try (LogSlice s = (LogSlice) result) {
                                    assertThat(s.isEmpty()).isFalse();
                                    ByteBuffer bytes = s.toByteBuffer();
                                    List<Long> bases = batchBases(bytes);
                                    assertThat(bases.get(0)).isEqualTo(s.firstBatchOffset());
                                    assertThat(s.firstBatchOffset()).isLessThanOrEqualTo(offset);
                                    long last = lastOffsetIn(bytes);
                                    assertThat(last).isGreaterThanOrEqualTo(offset);
                                    assertThat(last).isLessThan(s.highWatermark());
                                    assertThat(s.highWatermark()).isGreaterThanOrEqualTo(hwm);
                                    if (bases.size() > 1) {
                                        assertThat(s.length()).isLessThanOrEqualTo(maxBytes);
                                    }
                                }
                                slicesChecked.incrementAndGet();
                            }
                        } catch (Throwable t) {
                            failure.compareAndSet(null, t);
                        }
                    },
                    "reader-" + r));
        }
        writer.start();
        readers.forEach(Thread::start);
        start.countDown();
        writer.join(TimeUnit.SECONDS.toMillis(30));
        for (Thread t : readers) {
            t.join(TimeUnit.SECONDS.toMillis(30));
        }

        if (failure.get() != null) {
            throw new AssertionError("failed with seed " + seed, failure.get());
        }
        assertThat(writer.isAlive()).isFalse();
        assertThat(log.segmentCount()).isGreaterThan(1);
        assertThat(log.logStartOffset()).as("retention ran during the reads").isPositive();
        assertThat(slicesChecked.get()).isPositive();
    }

    @Test
    void shouldAnswerAStorageErrorWhenADamagedIndexPointsIntoABatch() throws Exception {
        LogConfig config = LogConfig.DEFAULT.withSegmentBytes(64 * 1024).withIndexIntervalBytes(512);
        PartitionLog log = open(config);
        appendBatches(log, 60, 2, 100);
        log.close();
        opened.remove(log);
        // A middle entry now points one byte into its batch; the cheap check at open only looks at
        // the last two entries, so the damage surfaces at read time.
        Path index = dir.resolve(Segment.fileName(0, ".index"));
        try (java.nio.channels.FileChannel ch = java.nio.channels.FileChannel.open(
                index, java.nio.file.StandardOpenOption.READ, java.nio.file.StandardOpenOption.WRITE)) {
            long entries = ch.size() / OffsetIndex.ENTRY_SIZE;
            assertThat(entries).isGreaterThan(4);
            ByteBuffer e = ByteBuffer.allocate(OffsetIndex.ENTRY_SIZE);
            ch.read(e, OffsetIndex.ENTRY_SIZE);
            e.flip();
            int relOffset = e.getInt();
            int position = e.getInt();
            ch.write(ByteBuffer.allocate(4).putInt(0, position + 1), OffsetIndex.ENTRY_SIZE + 4);
            PartitionLog reopened = open(config);
            assertThat(reopened.recoveredCleanly()).isTrue();
            assertThatThrownBy(() -> reopened.read(relOffset, 1024))
                    .isInstanceOf(CorruptSegmentException.class)
                    .hasMessageContaining("damaged index");
            // Other offsets are still served.
            assertThat(batchBases(slice(reopened.read(0, 1)).toByteBuffer())).containsExactly(0L);
        }
    }
}
