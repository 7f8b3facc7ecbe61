package io.fjord.storage;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SegmentTest {
    private static final long BASE = 100;
    private static final long T0 = 1_700_000_000_000L;
    private static final LogConfig CONFIG =
            LogConfig.DEFAULT.withSegmentBytes(1 << 20).withIndexIntervalBytes(1024);

    @TempDir
    Path dir;

    private final List<Segment> opened = new ArrayList<>();
    private final ByteBuffer header = ByteBuffer.allocate(RecordBatchHeader.HEADER_SIZE);

    /** Where each appended batch starts, and its base offset. */
    private final List<Integer> positions = new ArrayList<>();

    private final List<Long> baseOffsets = new ArrayList<>();

    @AfterEach
    void closeSegments() {
        opened.forEach(Segment::closeQuietly);
    }

    private Segment create(long nowMs) {
        Segment s = Segment.create(dir, BASE, CONFIG, nowMs);
        opened.add(s);
        return s;
    }

    /** Appends one batch of {@code records} records with timestamps from {@code timestampMs}. */
    private ByteBuffer append(Segment s, int records, int valueBytes, long timestampMs) {
        ByteBuffer b = TestBatches.batch(records, valueBytes, timestampMs);
        long base = s.nextOffset();
        b.putLong(RecordBatchHeader.BASE_OFFSET_OFFSET, base);
        positions.add(s.sizeBytes());
        baseOffsets.add(base);
        ByteBuffer copy = b.duplicate();
        s.append(b, 1, base + records - 1);
        return copy;
    }

    /** Ten batches of three records of about 300 bytes each; batch i has timestamps T0 + 10*i + 0..2. */
    private Segment segmentWithTenBatches() {
        Segment s = create(T0);
        for (int i = 0; i < 10; i++) {
            append(s, 3, 100, T0 + 10L * i);
        }
        return s;
    }

    @Test
    void shouldCreateEmptySegmentAndItsIndexFiles() {
        Segment s = create(T0);

        assertThat(s.logPath()).isEqualTo(dir.resolve("00000000000000000100.log"));
        assertThat(dir.resolve("00000000000000000100.log")).exists().isEmptyFile();
        assertThat(dir.resolve("00000000000000000100.index")).exists();
        assertThat(dir.resolve("00000000000000000100.timeindex")).exists();
        assertThat(s.sizeBytes()).isZero();
        assertThat(s.nextOffset()).isEqualTo(BASE);
        assertThat(s.maxTimestampMs()).isEqualTo(Long.MIN_VALUE);
        assertThat(s.isSealed()).isFalse();
    }

    @Test
    void shouldRefuseToCreateOverAnExistingSegment() {
        create(T0);

        assertThatThrownBy(() -> Segment.create(dir, BASE, CONFIG, T0))
                .isInstanceOfSatisfying(
                        StorageException.class,
                        e -> assertThat(e.path()).isEqualTo(dir.resolve("00000000000000000100.log")));
    }

    @Test
    void shouldParseBaseOffsetFromLogFileNameOnly() {
        assertThat(Segment.parseBaseOffset("00000000000000000100.log")).isEqualTo(100);
        assertThat(Segment.parseBaseOffset(Segment.fileName(Long.MAX_VALUE, ".log")))
                .isEqualTo(Long.MAX_VALUE);
        assertThat(Segment.parseBaseOffset("00000000000000000100.index")).isEqualTo(-1);
        assertThat(Segment.parseBaseOffset("00000000000000000100.log.deleted")).isEqualTo(-1);
        assertThat(Segment.parseBaseOffset("100.log")).isEqualTo(-1);
        assertThat(Segment.parseBaseOffset("0000000000000000010x.log")).isEqualTo(-1);
    }

    @Test
    void shouldAppendBatchesAsTheyAreAndAdvanceNextOffset() throws Exception {
        Segment s = create(T0);

        ByteBuffer first = append(s, 3, 10, T0);
        ByteBuffer second = append(s, 2, 10, T0 + 50);

        assertThat(s.nextOffset()).isEqualTo(BASE + 5);
        assertThat(s.sizeBytes()).isEqualTo(first.remaining() + second.remaining());
        assertThat(s.maxTimestampMs()).isEqualTo(T0 + 51);
        byte[] onDisk = Files.readAllBytes(s.logPath());
        assertThat(ByteBuffer.wrap(onDisk)).isEqualTo(TestBatches.concat(first, second));
    }

    @Test
    void shouldAppendSeveralBatchesInOneWrite() {
        Segment s = create(T0);
        ByteBuffer a = TestBatches.batch(2, 10, T0);
        ByteBuffer b = TestBatches.batch(3, 10, T0 + 9);
        a.putLong(0, BASE);
        b.putLong(0, BASE + 2);

        s.append(TestBatches.concat(a, b), 2, BASE + 4);

        assertThat(s.nextOffset()).isEqualTo(BASE + 5);
        assertThat(s.maxTimestampMs()).isEqualTo(T0 + 11);
        assertThat(s.findBatchPosition(BASE + 3, s.sizeBytes(), header)).isEqualTo(a.remaining());
    }

    @Test
    void shouldAddOffsetIndexEntryPerIndexInterval() {
        Segment s = segmentWithTenBatches();
        int batchBytes = positions.get(1);
        assertThat(batchBytes).isBetween(300, 1024);

        int perEntry = (1024 + batchBytes - 1) / batchBytes; // batches between two entries
        assertThat(s.offsetIndex.entries()).isEqualTo((10 - 1) / perEntry);
        for (int i = 0; i < s.offsetIndex.entries(); i++) {
            int batch = (i + 1) * perEntry;
            assertThat(s.offsetIndex.position(i)).isEqualTo(positions.get(batch));
            assertThat(BASE + s.offsetIndex.relativeOffset(i)).isEqualTo(baseOffsets.get(batch));
        }
    }

    @Test
    void shouldFindBatchHoldingEachOffset() {
        Segment s = segmentWithTenBatches();

        for (long offset = BASE; offset < s.nextOffset(); offset++) {
            int batch = (int) ((offset - BASE) / 3);
            assertThat(s.findBatchPosition(offset, s.sizeBytes(), header))
                    .as("offset %d", offset)
                    .isEqualTo(positions.get(batch));
            assertThat(RecordBatchHeader.baseOffset(header, 0)).isEqualTo(baseOffsets.get(batch));
        }
    }

    @Test
    void shouldNotFindOffsetsAtOrPastEndPosition() {
        Segment s = segmentWithTenBatches();

        assertThat(s.findBatchPosition(s.nextOffset(), s.sizeBytes(), header)).isEqualTo(-1);
        // A writer's end that has not been published yet: batches from position 5 on are invisible.
        int end = positions.get(5);
        assertThat(s.findBatchPosition(baseOffsets.get(4) + 2, end, header)).isEqualTo(positions.get(4));
        assertThat(s.findBatchPosition(baseOffsets.get(5), end, header)).isEqualTo(-1);
        assertThat(s.findBatchPosition(baseOffsets.get(9), end, header)).isEqualTo(-1);
    }

    @Test
    void shouldReadWholeBatchesUpToMaxBytes() {
        Segment s = segmentWithTenBatches();
        int batchBytes = positions.get(1);
        int start = positions.get(2);

        assertThat(s.readEndPosition(start, 1, s.sizeBytes(), header))
                .as("at least one whole batch")
                .isEqualTo(positions.get(3));
        assertThat(s.readEndPosition(start, batchBytes * 3, s.sizeBytes(), header))
                .isEqualTo(positions.get(5));
        assertThat(s.readEndPosition(start, batchBytes * 3 - 1, s.sizeBytes(), header))
                .as("never a partial batch")
                .isEqualTo(positions.get(4));
        assertThat(s.readEndPosition(start, batchBytes * 3 + 1, s.sizeBytes(), header))
                .isEqualTo(positions.get(5));
        assertThat(s.readEndPosition(start, Integer.MAX_VALUE, s.sizeBytes(), header))
                .isEqualTo(s.sizeBytes());
        assertThat(s.readEndPosition(start, Integer.MAX_VALUE, positions.get(7), header))
                .as("never past the end position")
                .isEqualTo(positions.get(7));
    }

    @Test
    void shouldFindFirstBatchWithTimestampAtOrAfterTarget() {
        Segment s = segmentWithTenBatches();

        assertThat(s.findByTimestamp(Long.MIN_VALUE, s.sizeBytes(), header)).containsExactly(BASE, T0 + 2);
        assertThat(s.findByTimestamp(T0 + 2, s.sizeBytes(), header)).containsExactly(BASE, T0 + 2);
        assertThat(s.findByTimestamp(T0 + 3, s.sizeBytes(), header)).containsExactly(BASE + 3, T0 + 12);
        assertThat(s.findByTimestamp(T0 + 85, s.sizeBytes(), header)).containsExactly(BASE + 27, T0 + 92);
        assertThat(s.findByTimestamp(T0 + 93, s.sizeBytes(), header)).isNull();
        assertThat(s.findByTimestamp(T0 + 85, positions.get(9), header)).isNull();
    }

    @Test
    void shouldFindByTimestampWhenTimestampsAreNotMonotonic() {
        Segment s = create(T0);
        append(s, 1, 600, T0 + 500);
        append(s, 1, 600, T0 + 100);
        append(s, 1, 600, T0 + 300);
        append(s, 1, 600, T0 + 900);
        append(s, 1, 600, T0 + 200);

        assertThat(s.findByTimestamp(T0 + 400, s.sizeBytes(), header)).containsExactly(BASE, T0 + 500);
        assertThat(s.findByTimestamp(T0 + 600, s.sizeBytes(), header)).containsExactly(BASE + 3, T0 + 900);
        assertThat(s.findByTimestamp(T0 + 901, s.sizeBytes(), header)).isNull();
    }

    @Test
    void shouldTruncateWholeBatchHoldingOffset() throws Exception {
        Segment s = segmentWithTenBatches();

        long newNext = s.truncateTo(baseOffsets.get(6) + 1, CONFIG);

        assertThat(newNext).isEqualTo(baseOffsets.get(6));
        assertThat(s.nextOffset()).isEqualTo(baseOffsets.get(6));
        assertThat(s.sizeBytes()).isEqualTo(positions.get(6));
        assertThat(Files.size(s.logPath())).isEqualTo((long) positions.get(6));
        assertThat(s.maxTimestampMs()).isEqualTo(T0 + 52);
        assertThat(s.findBatchPosition(baseOffsets.get(6), s.sizeBytes(), header))
                .isEqualTo(-1);
        for (int i = 0; i < s.offsetIndex.entries(); i++) {
            assertThat(BASE + s.offsetIndex.relativeOffset(i)).isLessThan(baseOffsets.get(6));
        }
        assertThat(s.findByTimestamp(T0 + 53, s.sizeBytes(), header)).isNull();
    }

    @Test
    void shouldTruncateToBaseOffsetLeavingEmptySegment() {
        Segment s = segmentWithTenBatches();

        assertThat(s.truncateTo(BASE, CONFIG)).isEqualTo(BASE);

        assertThat(s.sizeBytes()).isZero();
        assertThat(s.offsetIndex.entries()).isZero();
        assertThat(s.timeIndex.entries()).isZero();
        assertThat(s.maxTimestampMs()).isEqualTo(Long.MIN_VALUE);
    }

    @Test
    void shouldIgnoreTruncationPastTheEnd() {
        Segment s = segmentWithTenBatches();
        int size = s.sizeBytes();

        assertThat(s.truncateTo(s.nextOffset() + 5, CONFIG)).isEqualTo(BASE + 30);
        assertThat(s.sizeBytes()).isEqualTo(size);
    }

    @Test
    void shouldAppendAfterTruncationAndKeepLookupsRight() {
        Segment s = segmentWithTenBatches();
        s.truncateTo(baseOffsets.get(4), CONFIG);
        positions.subList(4, positions.size()).clear();
        baseOffsets.subList(4, baseOffsets.size()).clear();

        for (int i = 0; i < 6; i++) {
            append(s, 3, 100, T0 + 1_000 + i);
        }

        assertThat(s.nextOffset()).isEqualTo(BASE + 30);
        for (long offset = BASE; offset < s.nextOffset(); offset++) {
            int batch = (int) ((offset - BASE) / 3);
            assertThat(s.findBatchPosition(offset, s.sizeBytes(), header)).isEqualTo(positions.get(batch));
        }
        assertThat(s.findByTimestamp(T0 + 1_000, s.sizeBytes(), header)).containsExactly(BASE + 12, T0 + 1_002);
    }

    @Test
    void shouldReopenSealedSegmentForAppendsWhenTruncated() {
        Segment s = segmentWithTenBatches();
        s.seal();

        s.truncateTo(baseOffsets.get(8), CONFIG);

        assertThat(s.isSealed()).isFalse();
        append(s, 3, 100, T0 + 500);
        assertThat(s.nextOffset()).isEqualTo(BASE + 27);
        assertThat(s.maxTimestampMs()).isEqualTo(T0 + 502);
    }

    @Test
    void shouldSealByTrimmingIndexesAndRecordingLargestTimestamp() throws Exception {
        Segment s = segmentWithTenBatches();
        int offsetEntries = s.offsetIndex.entries();

        s.seal();
        s.seal(); // idempotent

        assertThat(s.isSealed()).isTrue();
        assertThat(Files.size(OffsetIndex.pathFor(dir, BASE))).isEqualTo(offsetEntries * (long) OffsetIndex.ENTRY_SIZE);
        assertThat(Files.size(TimeIndex.pathFor(dir, BASE)))
                .isEqualTo(s.timeIndex.entries() * (long) TimeIndex.ENTRY_SIZE);
        assertThat(s.timeIndex.lastTimestamp()).isEqualTo(T0 + 92);
        assertThat(BASE + s.timeIndex.relativeOffset(s.timeIndex.entries() - 1)).isEqualTo(s.nextOffset());
    }

    @Test
    void shouldReopenSealedSegmentFromItsIndexesWithoutScanning() {
        Segment s = segmentWithTenBatches();
        int size = s.sizeBytes();
        s.seal();
        s.close();
        opened.remove(s);

        Segment.RecoveryStats stats = new Segment.RecoveryStats();
        Segment reopened = Segment.open(dir, BASE, CONFIG, false, false, T0, stats);
        opened.add(reopened);

        assertThat(stats.bytesScanned).isZero();
        assertThat(reopened.isSealed()).isTrue();
        assertThat(reopened.sizeBytes()).isEqualTo(size);
        assertThat(reopened.nextOffset()).isEqualTo(BASE + 30);
        assertThat(reopened.maxTimestampMs()).isEqualTo(T0 + 92);
        assertThat(reopened.findBatchPosition(BASE + 20, reopened.sizeBytes(), header))
                .isEqualTo(positions.get(6));
    }

    @Test
    void shouldRollWhenFullOrOldButNeverWhenEmpty() {
        Segment s = create(T0);
        LogConfig cfg = CONFIG.withSegmentBytes(4096).withSegmentMs(1_000);

        assertThat(s.shouldRoll(cfg, 1 << 20, BASE, T0 + 10_000)).as("empty").isFalse();

        append(s, 3, 100, T0);
        int size = s.sizeBytes();
        assertThat(s.shouldRoll(cfg, 4096 - size, BASE + 5, T0)).isFalse();
        assertThat(s.shouldRoll(cfg, 4096 - size + 1, BASE + 5, T0)).isTrue();
        assertThat(s.shouldRoll(cfg, 10, BASE + 5, T0 + 999)).isFalse();
        assertThat(s.shouldRoll(cfg, 10, BASE + 5, T0 + 1_000)).isTrue();
        assertThat(s.shouldRoll(cfg, 10, BASE + Integer.MAX_VALUE, T0)).isFalse();
        assertThat(s.shouldRoll(cfg, 10, BASE + Integer.MAX_VALUE + 1L, T0))
                .as("relative offsets must fit in an int")
                .isTrue();
    }

    @Test
    void shouldKeepRetainedSegmentReadableAfterMarkDeleted() throws Exception {
        Segment s = segmentWithTenBatches();
        s.seal();
        assertThat(s.retain()).isTrue();

        s.markDeleted();

        assertThat(s.isDeleted()).isTrue();
        String suffix = s.logPath().getFileName().toString().substring("00000000000000000100.log".length());
        assertThat(suffix).matches("\\.\\d+\\.deleted");
        assertThat(dir.resolve("00000000000000000100.log")).doesNotExist();
        assertThat(dir.resolve("00000000000000000100.index" + suffix)).exists();
        assertThat(dir.resolve("00000000000000000100.timeindex" + suffix)).exists();
        ByteBuffer all = ByteBuffer.allocate(s.sizeBytes());
        s.readFully(all, 0);
        assertThat(RecordBatchHeader.validate(all, positions.get(9), all.limit(), Integer.MAX_VALUE))
                .isNull();
        assertThat(s.retain()).as("another reader may still join").isTrue();
        s.release();

        s.release();

        try (var files = Files.list(dir)) {
            assertThat(files).isEmpty();
        }
        assertThat(s.channel().isOpen()).isFalse();
        assertThat(s.retain()).isFalse();
    }

    @Test
    void shouldDeleteFilesAtOnceWhenNoReaderHoldsSegment() throws Exception {
        Segment s = segmentWithTenBatches();

        s.markDeleted();

        try (var files = Files.list(dir)) {
            assertThat(files).isEmpty();
        }
        assertThat(s.retain()).isFalse();
    }

    @Test
    void shouldCloseButKeepFilesWhenLastReferenceGoesWithoutDelete() {
        Segment s = segmentWithTenBatches();
        assertThat(s.retain()).isTrue();

        s.close();
        assertThat(s.channel().isOpen()).as("a reader still holds it").isTrue();
        s.release();

        assertThat(s.channel().isOpen()).isFalse();
        assertThat(s.logPath()).exists();
    }
}
