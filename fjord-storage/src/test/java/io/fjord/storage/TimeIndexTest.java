package io.fjord.storage;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class TimeIndexTest {
    private static final long BASE = 500;
    private static final long T0 = 1_700_000_000_000L;
    private static final int INITIAL_ROOM_ENTRIES = 512;

    @TempDir
    Path dir;

    private Path path;
    private TimeIndex index;

    @BeforeEach
    void setUp() {
        path = TimeIndex.pathFor(dir, BASE);
        index = new TimeIndex(path, BASE);
    }

    /** Entries (T0 + 100*i, BASE + 10*i) for i = 1..n. */
    private void appendEntries(int n) {
        for (int i = 1; i <= n; i++) {
            index.ensureRoom(1);
            index.maybeAppend(T0 + 100L * i, BASE + 10L * i);
        }
    }

    @Test
    void shouldNameFileAfterBaseOffset() {
        assertThat(path.getFileName().toString()).isEqualTo("00000000000000000500.timeindex");
    }

    @Test
    void shouldReportNoTimestampWhenEmpty() {
        index.openWritable(0, 100);

        assertThat(index.lastTimestamp()).isEqualTo(Long.MIN_VALUE);
        assertThat(index.scanStartOffset(T0)).isEqualTo(BASE);
    }

    @Test
    void shouldAppendOnlyWhenTimestampAndOffsetBothGrow() {
        index.openWritable(0, 100);
        index.maybeAppend(T0 + 100, BASE + 10);

        index.maybeAppend(T0 + 100, BASE + 20); // same timestamp
        index.maybeAppend(T0 + 50, BASE + 30); // older timestamp
        index.maybeAppend(T0 + 200, BASE + 10); // same offset
        index.maybeAppend(T0 + 300, BASE + 5); // lower offset
        assertThat(index.entries()).isEqualTo(1);

        index.maybeAppend(T0 + 200, BASE + 20);
        assertThat(index.entries()).isEqualTo(2);
        assertThat(index.timestamp(1)).isEqualTo(T0 + 200);
        assertThat(index.relativeOffset(1)).isEqualTo(20);
        assertThat(index.lastTimestamp()).isEqualTo(T0 + 200);
    }

    @Test
    void shouldStartScanAtLastEntryWithTimestampBelowTarget() {
        index.openWritable(0, 100);
        appendEntries(3); // (T0+100, 510) (T0+200, 520) (T0+300, 530)

        assertThat(index.scanStartOffset(Long.MIN_VALUE)).isEqualTo(BASE);
        assertThat(index.scanStartOffset(T0 + 100)).isEqualTo(BASE);
        assertThat(index.scanStartOffset(T0 + 101)).isEqualTo(BASE + 10);
        assertThat(index.scanStartOffset(T0 + 200)).isEqualTo(BASE + 10);
        assertThat(index.scanStartOffset(T0 + 201)).isEqualTo(BASE + 20);
        assertThat(index.scanStartOffset(Long.MAX_VALUE)).isEqualTo(BASE + 30);
    }

    @Test
    void shouldDropEntriesAtOrAfterTruncationOffset() {
        index.openWritable(0, 100);
        appendEntries(4);

        index.truncateToOffset(BASE + 31);
        assertThat(index.entries()).isEqualTo(3);
        index.truncateToOffset(BASE + 30);
        assertThat(index.entries()).isEqualTo(2);
        assertThat(index.lastTimestamp()).isEqualTo(T0 + 200);

        index.maybeAppend(T0 + 250, BASE + 25);
        assertThat(index.entries()).isEqualTo(3);
        assertThat(index.scanStartOffset(Long.MAX_VALUE)).isEqualTo(BASE + 25);

        index.truncateToOffset(BASE);
        assertThat(index.entries()).isZero();
    }

    @Test
    void shouldGrowByDoublingPastInitialRoom() throws Exception {
        index.openWritable(0, 10_000);
        assertThat(Files.size(path)).isEqualTo((long) INITIAL_ROOM_ENTRIES * TimeIndex.ENTRY_SIZE);

        appendEntries(INITIAL_ROOM_ENTRIES + 100);

        assertThat(index.entries()).isEqualTo(INITIAL_ROOM_ENTRIES + 100);
        assertThat(Files.size(path)).isEqualTo(2L * INITIAL_ROOM_ENTRIES * TimeIndex.ENTRY_SIZE);
        assertThat(index.timestamp(0)).isEqualTo(T0 + 100);
        assertThat(index.scanStartOffset(T0 + 100L * 600 + 1)).isEqualTo(BASE + 10L * 600);
    }

    @Test
    void shouldSkipEntryWhenOutOfRoomRatherThanFail() {
        index.openWritable(0, 3);
        appendEntries(3);

        index.ensureRoom(1);
        index.maybeAppend(T0 + 10_000, BASE + 1_000);

        assertThat(index.isFull()).isTrue();
        assertThat(index.entries()).isEqualTo(3);
        assertThat(index.lastTimestamp()).isEqualTo(T0 + 300);
    }

    @Test
    void shouldTrimFileToEntriesWhenSealed() throws Exception {
        index.openWritable(0, 10_000);
        appendEntries(7);

        index.seal();

        assertThat(Files.size(path)).isEqualTo(7L * TimeIndex.ENTRY_SIZE);
        assertThat(index.buffer().isReadOnly()).isTrue();
    }

    @Test
    void shouldReopenSealedIndexWithItsEntries() {
        index.openWritable(0, 10_000);
        appendEntries(7);
        index.seal();

        TimeIndex reopened = new TimeIndex(path, BASE);
        reopened.openSealed(BASE);

        assertThat(reopened.entries()).isEqualTo(7);
        assertThat(reopened.lastTimestamp()).isEqualTo(T0 + 700);
        assertThat(reopened.scanStartOffset(T0 + 450)).isEqualTo(BASE + 40);
        assertThat(reopened.looksValid()).isTrue();
    }

    @Test
    void shouldFailSanityCheckOnGarbage() throws Exception {
        byte[] garbage = new byte[TimeIndex.ENTRY_SIZE * 5];
        Arrays.fill(garbage, (byte) 0x5A);
        Files.write(path, garbage);

        index.openSealed(BASE);

        assertThat(index.looksValid()).isFalse();
    }

    @Test
    void shouldFailSanityCheckWhenOffsetsDoNotIncrease() throws Exception {
        ByteBuffer b = ByteBuffer.allocate(2 * TimeIndex.ENTRY_SIZE);
        b.putLong(T0).putInt(20).putLong(T0 + 1).putInt(10);
        Files.write(path, b.array());

        index.openSealed(BASE);

        assertThat(index.looksValid()).isFalse();
    }

    @Test
    void shouldPassSanityCheckWithFewerThanTwoEntries() throws Exception {
        ByteBuffer b = ByteBuffer.allocate(TimeIndex.ENTRY_SIZE);
        b.putLong(T0).putInt(20);
        Files.write(path, b.array());

        index.openSealed(BASE);

        assertThat(index.looksValid()).isTrue();
        assertThat(index.lastTimestamp()).isEqualTo(T0);
    }
}
