package io.fjord.storage;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.TreeSet;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Appends on a full file system: a 4 MiB tmpfs the test mounts (it must run as root; otherwise it
 * is skipped with a message). The disk fills while data is written, while a roll creates the next
 * segment, and while the active index grows. Each time the append fails with a disk-full {@link
 * StorageException}, the high watermark and everything below it are unchanged and readable, no
 * partial batch is left in the file, and appends work again once space is freed.
 */
class PartitionLogDiskFullTest {
    private static final int FS_MIB = 4;
    private static final long NOW_MS = 1_700_000_000_000L;
    private static final long UNMOUNT_TIMEOUT_MS = 10_000;

    @TempDir
    Path tmp;

    private SmallFileSystem fs;
    private Path mountPoint;
    private final List<PartitionLog> logs = new ArrayList<>();
    private final List<ByteBuffer> appended = new ArrayList<>();

    @BeforeEach
    void mountSmallFileSystem() throws Exception {
        fs = SmallFileSystem.mountOrSkip(tmp.resolve("small-fs"), FS_MIB);
        mountPoint = fs.path();
    }

    @AfterEach
    void unmount() throws Exception {
        for (PartitionLog log : logs) {
            log.abandon();
        }
        logs.clear();
        if (fs != null) {
            fs.unmount(UNMOUNT_TIMEOUT_MS, false);
        }
    }

    /** The disk fills in the middle of writing a batch: the part that landed is cut off again. */
    @Test
    void shouldFailAppendWhenDataDoesNotFit() throws IOException {
        Path dir = mountPoint.resolve("log");
        LogConfig config = LogConfig.DEFAULT.withSegmentBytes(1024 * 1024);
        PartitionLog log = open(dir, config);
        for (int i = 0; i < 40; i++) {
            append(log, TestBatches.batch(4, 1200, NOW_MS + i));
        }
        long hw = log.highWatermark();
        Path active = LogContents.activeSegmentFile(dir);
        long sizeBefore = Files.size(active);
        Path filler = mountPoint.resolve("filler");
        fs.fill(filler);

        for (int attempt = 0; attempt < 3; attempt++) {
            // Larger than the free tail of the file's last page, so the write must need new pages.
            StorageException e = appendExpectingDiskFull(log, TestBatches.batch(4, 5000, NOW_MS));
            assertThat(e.getMessage()).contains("append failed");
            assertThat(e.path()).isEqualTo(active);
            assertThat(log.highWatermark()).isEqualTo(hw);
            assertThat(Files.size(active))
                    .as("no partial batch left in the file")
                    .isEqualTo(sizeBefore);
        }
        assertThat(LogContents.readAll(log)).isEqualTo(appended);

        // A crash now: recovery finds whole batches only, even on the still-full disk.
        log = reopenAfterCrash(log, dir, config);
        assertThat(log.recoveryBytesTruncated()).isZero();
        assertThat(log.highWatermark()).isEqualTo(hw);
        LogContents.assertCleanTail(active);
        assertThat(LogContents.readAll(log)).isEqualTo(appended);

        Files.delete(filler);
        append(log, TestBatches.batch(4, 5000, NOW_MS));
        assertThat(LogContents.readAll(log)).isEqualTo(appended);
    }

    /** The disk fills when a roll creates the next segment's preallocated index. */
    @Test
    void shouldFailRollWhenNewSegmentDoesNotFit() throws IOException {
        Path dir = mountPoint.resolve("log");
        LogConfig config = LogConfig.DEFAULT.withSegmentBytes(64 * 1024);
        PartitionLog log = open(dir, config);
        // Seven batches of ~9 KiB fit a 64 KiB segment; the eighth needs a roll.
        for (int i = 0; i < 7; i++) {
            append(log, TestBatches.batch(8, 1100, NOW_MS + i));
        }
        ByteBuffer eighth = TestBatches.batch(8, 1100, NOW_MS + 7);
        assertThat(log.segmentCount()).isOne();
        assertThat(log.sizeBytes() + eighth.remaining()).isGreaterThan(config.segmentBytes());
        long hw = log.highWatermark();
        TreeSet<String> filesBefore = fileNames(dir);
        Path filler = mountPoint.resolve("filler");
        fs.fill(filler);

        StorageException e = appendExpectingDiskFull(log, eighth.duplicate());
        assertThat(e.getMessage()).contains("cannot open index for appends");
        assertThat(log.highWatermark()).isEqualTo(hw);
        assertThat(log.segmentCount()).isOne();
        assertThat(fileNames(dir)).as("the half-created segment is removed").isEqualTo(filesBefore);
        assertThat(LogContents.readAll(log)).isEqualTo(appended);

        Files.delete(filler);
        append(log, eighth);
        assertThat(log.segmentCount()).isEqualTo(2);
        assertThat(log.segmentBaseOffsets()).containsExactly(0L, hw);
        log.close();
        logs.remove(log);

        PartitionLog reopened = open(dir, config);
        assertThat(reopened.recoveredCleanly()).isTrue();
        assertThat(LogContents.readAll(reopened)).isEqualTo(appended);
    }

    /**
     * The disk fills when the active segment's index must grow (its preallocated room of 512
     * entries is used up): the append fails before any data is written.
     */
    @Test
    void shouldFailAppendWhenIndexCannotGrow() throws IOException {
        Path dir = mountPoint.resolve("log");
        // An index entry for every batch after the first.
        LogConfig config = LogConfig.DEFAULT.withSegmentBytes(1024 * 1024).withIndexIntervalBytes(100);
        PartitionLog log = open(dir, config);
        for (int i = 0; i < 513; i++) {
            append(log, TestBatches.batch(1, 100, NOW_MS + i));
        }
        long hw = log.highWatermark();
        Path active = LogContents.activeSegmentFile(dir);
        long sizeBefore = Files.size(active);
        long indexSizeBefore = Files.size(OffsetIndex.pathFor(dir, 0));
        Path filler = mountPoint.resolve("filler");
        fs.fill(filler);

        StorageException e = appendExpectingDiskFull(log, TestBatches.batch(1, 100, NOW_MS + 513));
        assertThat(e.getMessage()).contains("cannot grow index");
        assertThat(log.highWatermark()).isEqualTo(hw);
        assertThat(Files.size(active)).as("no data written").isEqualTo(sizeBefore);
        assertThat(Files.size(OffsetIndex.pathFor(dir, 0))).isGreaterThanOrEqualTo(indexSizeBefore);
        assertThat(LogContents.readAll(log)).isEqualTo(appended);

        Files.delete(filler);
        for (int i = 513; i < 600; i++) {
            append(log, TestBatches.batch(1, 100, NOW_MS + i));
        }
        assertThat(LogContents.readAll(log)).isEqualTo(appended);
        log.close();
        logs.remove(log);

        PartitionLog reopened = open(dir, config);
        assertThat(reopened.recoveredCleanly()).isTrue();
        assertThat(reopened.recoveryBytesScanned())
                .as("the grown index is trusted")
                .isZero();
        assertThat(LogContents.readAll(reopened)).isEqualTo(appended);
        for (long o = 0; o < reopened.highWatermark(); o += 7) {
            try (LogSlice s = (LogSlice) reopened.read(o, 1)) {
                assertThat(s.firstBatchOffset()).as("batch for offset %d", o).isEqualTo(o);
            }
        }
    }

    /** The log itself fills the disk, across segment rolls; a reserve file frees space afterwards. */
    @Test
    void shouldKeepLogReadableWhenItFillsTheDisk() throws IOException {
        Path reserve = mountPoint.resolve("reserve");
        writeFile(reserve, 512 * 1024);
        Path dir = mountPoint.resolve("log");
        LogConfig config = LogConfig.DEFAULT.withSegmentBytes(256 * 1024);
        PartitionLog log = open(dir, config);
        StorageException failure = null;
        // 4 MiB at ~10 KB a batch: it must fail well before this many.
        for (int i = 0; i < 1000 && failure == null; i++) {
            ByteBuffer batch = TestBatches.batch(2 + i % 5, 700 + (i * 131) % 2000, NOW_MS + i);
            long hw = log.highWatermark();
            try {
                append(log, batch);
            } catch (StorageException e) {
                failure = e;
                assertThat(log.highWatermark()).isEqualTo(hw);
            }
        }
        assertThat(failure).as("append on a full disk").isNotNull();
        assertThat(failure.isDiskFull()).as("disk full: %s", failure).isTrue();
        assertThat(log.segmentCount()).isGreaterThan(3);
        long hw = log.highWatermark();
        assertThat(LogContents.readAll(log)).isEqualTo(appended);
        LogContents.assertCleanTail(LogContents.activeSegmentFile(dir));

        log = reopenAfterCrash(log, dir, config);
        assertThat(log.highWatermark()).isEqualTo(hw);
        assertThat(log.recoveryBytesTruncated()).isZero();
        assertThat(LogContents.readAll(log)).isEqualTo(appended);

        Files.delete(reserve);
        for (int i = 0; i < 10; i++) {
            append(log, TestBatches.batch(3, 1000, NOW_MS + 2000 + i));
        }
        assertThat(LogContents.readAll(log)).isEqualTo(appended);
    }

    private PartitionLog open(Path dir, LogConfig config) {
        PartitionLog log = PartitionLog.open(dir, config, () -> NOW_MS);
        logs.add(log);
        return log;
    }

    private PartitionLog reopenAfterCrash(PartitionLog log, Path dir, LogConfig config) {
        log.abandon();
        logs.remove(log);
        PartitionLog reopened = open(dir, config);
        assertThat(reopened.recoveredCleanly()).isFalse();
        return reopened;
    }

    /** Appends one batch that must succeed at the high watermark, and remembers it. */
    private void append(PartitionLog log, ByteBuffer batch) {
        long expected = log.highWatermark();
        AppendResult r = log.append(batch);
        assertThat(r).isInstanceOf(AppendResult.Appended.class);
        assertThat(((AppendResult.Appended) r).firstOffset()).isEqualTo(expected);
        appended.add(batch.flip().slice());
    }

    private static StorageException appendExpectingDiskFull(PartitionLog log, ByteBuffer batch) {
        StorageException e = catchThrowableOfType(StorageException.class, () -> log.append(batch));
        assertThat(e).as("append on a full disk").isNotNull();
        assertThat(e.isDiskFull()).as("disk full: %s", e).isTrue();
        return e;
    }

    private static void writeFile(Path file, int sizeBytes) throws IOException {
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
            ByteBuffer b = ByteBuffer.allocate(sizeBytes);
            while (b.hasRemaining()) {
                ch.write(b);
            }
        }
    }

    private static TreeSet<String> fileNames(Path dir) throws IOException {
        TreeSet<String> names = new TreeSet<>();
        try (DirectoryStream<Path> ds = Files.newDirectoryStream(dir)) {
            ds.forEach(p -> names.add(p.getFileName().toString()));
        }
        return names;
    }
}
