package io.fjord.storage;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class OffsetIndexTest {
    private static final long BASE = 1_000;
    private static final int INITIAL_ROOM_ENTRIES = 512;

    @TempDir
    Path dir;

    private Path path;
    private OffsetIndex index;

    @BeforeEach
    void setUp() {
        path = OffsetIndex.pathFor(dir, BASE);
        index = new OffsetIndex(path, BASE);
    }

    /** Appends n entries, continuing the pattern (BASE + 10*i, 100*i) for i = 1, 2, ... */
    private void appendEntries(int n) {
        int from = index.entries() + 1;
        for (int i = from; i < from + n; i++) {
            index.ensureRoom(1);
            index.append(BASE + 10L * i, 100 * i);
        }
    }

    @Test
    void shouldNameFileAfterBaseOffset() {
        assertThat(path.getFileName().toString()).isEqualTo("00000000000000001000.index");
    }

    @Test
    void shouldImplyPositionZeroWhenEmpty() {
        index.openWritable(0, 100);

        assertThat(index.entries()).isZero();
        assertThat(index.floorPosition(BASE)).isZero();
        assertThat(index.floorPosition(BASE + 1_000_000)).isZero();
        assertThat(index.floorPositionByPosition(1_000_000)).isZero();
    }

    @Test
    void shouldFindLastEntryAtOrBeforeOffset() {
        index.openWritable(0, 100);
        appendEntries(3); // (1010, 100) (1020, 200) (1030, 300)

        assertThat(index.floorPosition(BASE)).isZero();
        assertThat(index.floorPosition(BASE + 9)).isZero();
        assertThat(index.floorPosition(BASE + 10)).isEqualTo(100);
        assertThat(index.floorPosition(BASE + 19)).isEqualTo(100);
        assertThat(index.floorPosition(BASE + 20)).isEqualTo(200);
        assertThat(index.floorPosition(BASE + 30)).isEqualTo(300);
        assertThat(index.floorPosition(Long.MAX_VALUE / 2)).isEqualTo(300);
    }

    @Test
    void shouldFindLastEntryAtOrBeforePosition() {
        index.openWritable(0, 100);
        appendEntries(3);

        assertThat(index.floorPositionByPosition(99)).isZero();
        assertThat(index.floorPositionByPosition(100)).isEqualTo(100);
        assertThat(index.floorPositionByPosition(299)).isEqualTo(200);
        assertThat(index.floorPositionByPosition(300)).isEqualTo(300);
        assertThat(index.floorPositionByPosition(1 << 30)).isEqualTo(300);
    }

    @Test
    void shouldStoreEntriesAsRelativeOffsetAndPosition() {
        index.openWritable(0, 100);
        appendEntries(2);

        assertThat(index.relativeOffset(0)).isEqualTo(10);
        assertThat(index.position(0)).isEqualTo(100);
        assertThat(index.relativeOffset(1)).isEqualTo(20);
        assertThat(index.position(1)).isEqualTo(200);
    }

    @Test
    void shouldDropEntriesAtOrAfterTruncationOffset() {
        index.openWritable(0, 100);
        appendEntries(5);

        index.truncateToOffset(BASE + 31);
        assertThat(index.entries()).isEqualTo(3);
        index.truncateToOffset(BASE + 30);
        assertThat(index.entries()).isEqualTo(2);
        assertThat(index.floorPosition(BASE + 1_000)).isEqualTo(200);
        index.truncateToOffset(BASE);
        assertThat(index.entries()).isZero();
    }

    @Test
    void shouldAppendAfterTruncationOverwritingDroppedEntries() {
        index.openWritable(0, 100);
        appendEntries(5);
        index.truncateToOffset(BASE + 20);

        index.append(BASE + 15, 150);

        assertThat(index.entries()).isEqualTo(2);
        assertThat(index.floorPosition(BASE + 40)).isEqualTo(150);
    }

    @Test
    void shouldPreallocateZeroFilledRoomForInitialEntries() throws Exception {
        index.openWritable(0, 10_000);

        assertThat(Files.size(path)).isEqualTo((long) INITIAL_ROOM_ENTRIES * OffsetIndex.ENTRY_SIZE);
        byte[] bytes = Files.readAllBytes(path);
        assertThat(bytes).containsOnly(0);
    }

    @Test
    void shouldGrowByDoublingPastInitialRoom() throws Exception {
        index.openWritable(0, 10_000);
        appendEntries(INITIAL_ROOM_ENTRIES);
        assertThat(Files.size(path)).isEqualTo((long) INITIAL_ROOM_ENTRIES * OffsetIndex.ENTRY_SIZE);
        assertThat(index.hasRoom()).isFalse();

        index.ensureRoom(1);
        assertThat(index.hasRoom()).isTrue();
        assertThat(Files.size(path)).isEqualTo(2L * INITIAL_ROOM_ENTRIES * OffsetIndex.ENTRY_SIZE);

        appendEntries(700);
        assertThat(index.entries()).isEqualTo(INITIAL_ROOM_ENTRIES + 700);
        assertThat(Files.size(path)).isEqualTo(4L * INITIAL_ROOM_ENTRIES * OffsetIndex.ENTRY_SIZE);
        // Entries written before each remap are still there.
        assertThat(index.relativeOffset(0)).isEqualTo(10);
        assertThat(index.relativeOffset(INITIAL_ROOM_ENTRIES - 1)).isEqualTo(10 * INITIAL_ROOM_ENTRIES);
        assertThat(index.floorPosition(BASE + 10L * 1_000 + 5)).isEqualTo(100 * 1_000);
    }

    @Test
    void shouldNotGrowPastMaxEntries() throws Exception {
        index.openWritable(0, 20);
        assertThat(Files.size(path)).isEqualTo(20L * OffsetIndex.ENTRY_SIZE);

        appendEntries(20);
        index.ensureRoom(5);

        assertThat(index.isFull()).isTrue();
        assertThat(index.hasRoom()).isFalse();
        assertThat(Files.size(path)).isEqualTo(20L * OffsetIndex.ENTRY_SIZE);
    }

    @Test
    void shouldTrimFileToEntriesWhenSealed() throws Exception {
        index.openWritable(0, 10_000);
        appendEntries(600);

        index.seal();

        assertThat(Files.size(path)).isEqualTo(600L * OffsetIndex.ENTRY_SIZE);
        assertThat(index.buffer().isReadOnly()).isTrue();
        assertThat(index.isFull()).isTrue();
        assertThat(index.floorPosition(BASE + 10L * 600)).isEqualTo(100 * 600);
    }

    @Test
    void shouldTrimEmptyIndexToZeroBytesWhenSealed() throws Exception {
        index.openWritable(0, 10_000);

        index.seal();

        assertThat(Files.size(path)).isZero();
        assertThat(index.floorPosition(BASE + 5)).isZero();
    }

    @Test
    void shouldReopenSealedIndexWithItsEntries() {
        index.openWritable(0, 10_000);
        appendEntries(3);
        index.seal();

        OffsetIndex reopened = new OffsetIndex(path, BASE);
        reopened.openSealed(BASE);

        assertThat(reopened.entries()).isEqualTo(3);
        assertThat(reopened.floorPosition(BASE + 25)).isEqualTo(200);
        assertThat(reopened.looksValid(1_000)).isTrue();
    }

    @Test
    void shouldKeepRequestedEntriesWhenReopeningForAppends() throws Exception {
        index.openWritable(0, 10_000);
        appendEntries(3);
        index.seal();

        OffsetIndex reopened = new OffsetIndex(path, BASE);
        reopened.openWritable(2, 10_000);
        reopened.append(BASE + 25, 250);

        assertThat(reopened.entries()).isEqualTo(3);
        assertThat(reopened.floorPosition(BASE + 1_000)).isEqualTo(250);
        assertThat(Files.size(path)).isEqualTo((2L + INITIAL_ROOM_ENTRIES) * OffsetIndex.ENTRY_SIZE);
    }

    @Test
    void shouldRejectSealedFileThatIsNotWholeEntries() throws Exception {
        Files.write(path, new byte[OffsetIndex.ENTRY_SIZE * 2 + 3]);

        assertThatThrownBy(() -> index.openSealed(BASE)).isInstanceOfSatisfying(CorruptSegmentException.class, e -> {
            assertThat(e.path()).isEqualTo(path);
            assertThat(e.baseOffset()).isEqualTo(BASE);
        });
    }

    @Test
    void shouldFailSanityCheckOnGarbage() throws Exception {
        byte[] garbage = new byte[OffsetIndex.ENTRY_SIZE * 4];
        Arrays.fill(garbage, (byte) 0xFF);
        Files.write(path, garbage);

        index.openSealed(BASE);

        assertThat(index.looksValid(1 << 20)).isFalse();
    }

    @Test
    void shouldFailSanityCheckWhenLastPositionIsPastLogEnd() {
        index.openWritable(0, 100);
        appendEntries(3);

        assertThat(index.looksValid(301)).isTrue();
        assertThat(index.looksValid(300)).isFalse();
    }

    @Test
    void shouldFailSanityCheckWhenLastEntriesDoNotIncrease() throws Exception {
        Files.write(path, entries(10, 100, 20, 200, 15, 300));
        index.openSealed(BASE);
        assertThat(index.looksValid(1_000)).isFalse();

        OffsetIndex second = new OffsetIndex(path, BASE);
        Files.write(path, entries(10, 100, 20, 200, 30, 150));
        second.openSealed(BASE);
        assertThat(second.looksValid(1_000)).isFalse();

        OffsetIndex zeros = new OffsetIndex(path, BASE);
        Files.write(path, new byte[OffsetIndex.ENTRY_SIZE * 3]);
        zeros.openSealed(BASE);
        assertThat(zeros.looksValid(1_000)).as("a zero-filled, unsealed tail").isFalse();
    }

    @Test
    void shouldPassSanityCheckWhenEmpty() throws Exception {
        Files.write(path, new byte[0]);
        index.openSealed(BASE);

        assertThat(index.looksValid(0)).isTrue();
    }

    private static byte[] entries(int... relAndPos) {
        java.nio.ByteBuffer b = java.nio.ByteBuffer.allocate(relAndPos.length * 4);
        for (int v : relAndPos) {
            b.putInt(v);
        }
        return b.array();
    }
}
