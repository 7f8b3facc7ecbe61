package io.fjord.storage;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Appends written ahead of the high watermark (a replicated log's uncommitted tail). */
class PartitionLogAheadTest {
    private static final long T0 = 1_700_000_000_000L;
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
            } catch (IllegalStateException e) {
                // already closed
            }
        }
    }

    private PartitionLog open() {
        PartitionLog log = PartitionLog.open(dir, SMALL, nowMs::get);
        opened.add(log);
        return log;
    }

    private AppendResult.Appended ahead(PartitionLog log, int records) {
        AppendResult r = log.appendAhead(TestBatches.batch(records, 200, nowMs.get()));
        assertThat(r).isInstanceOf(AppendResult.Appended.class);
        return (AppendResult.Appended) r;
    }

    /** Offset just after the last record a read from {@code offset} returns, or -1 for nothing. */
    private long readEnd(ReadResult r) {
        if (!(r instanceof LogSlice s)) {
            return -2;
        }
        slices.add(s);
        if (s.isEmpty()) {
            return -1;
        }
        java.nio.ByteBuffer b;
        try {
            b = s.toByteBuffer();
        } catch (java.io.IOException e) {
            throw new AssertionError(e);
        }
        long end = -1;
        for (int pos = 0; pos < b.limit(); pos += RecordBatchHeader.sizeBytes(b, pos)) {
            end = RecordBatchHeader.baseOffset(b, pos) + RecordBatchHeader.lastOffsetDelta(b, pos) + 1;
        }
        return end;
    }

    @Test
    void makeDurableFromAnotherThreadWhileTheWriterAppendsAndRolls() throws Exception {
        PartitionLog log = open();
        for (int i = 0; i < 30; i++) {
            ahead(log, 5); // ~1 KiB each: several 4 KiB segments
        }
        log.commitTo(150);
        long checkpointEnd = log.highWatermark();
        Thread writer = Thread.ofPlatform().start(() -> {
            for (int i = 0; i < 30; i++) {
                ahead(log, 5);
            }
        });
        Thread durable = Thread.ofPlatform().start(() -> log.makeDurable(checkpointEnd));
        durable.join(10_000);
        writer.join(10_000);
        assertThat(durable.isAlive()).isFalse();
        assertThat(log.flushedOffset()).isGreaterThanOrEqualTo(checkpointEnd);
        assertThat(log.logEndOffset()).isEqualTo(300);
        log.commitTo(300);
        assertThat(readEnd(log.read(295, 1 << 20))).isEqualTo(300);
    }

    @Test
    void makeDurableAfterACutMarksOnlyWhatIsLeft() {
        PartitionLog log = open();
        ahead(log, 10);
        log.commitTo(10);
        ahead(log, 10);
        long before = log.flushedOffset();
        log.truncateTo(10); // the uncommitted tail goes
        log.makeDurable(10);
        assertThat(log.flushedOffset()).isEqualTo(10);
        ahead(log, 4);
        assertThat(log.flushedOffset()).as("new appends are not durable yet").isEqualTo(10);
        assertThat(before).isLessThanOrEqualTo(10);
    }

    @Test
    void aheadBatchesAreHiddenUntilCommitted() {
        PartitionLog log = open();
        ahead(log, 3);
        ahead(log, 2);
        assertThat(log.logEndOffset()).isEqualTo(5);
        assertThat(log.highWatermark()).isZero();
        assertThat(readEnd(log.read(0, 1 << 20))).isEqualTo(-1);
        assertThat(readEnd(log.readAhead(0, 1 << 20))).isEqualTo(5);

        log.commitTo(3);
        assertThat(log.highWatermark()).isEqualTo(3);
        assertThat(readEnd(log.read(0, 1 << 20))).isEqualTo(3);
        log.commitTo(5);
        assertThat(readEnd(log.read(0, 1 << 20))).isEqualTo(5);
        assertThatThrownBy(() -> log.commitTo(6)).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void commitWorksAcrossSegmentRollsAndTruncationDropsOnlyTheUncommitted() {
        PartitionLog log = open();
        for (int i = 0; i < 40; i++) {
            ahead(log, 2); // ~ 40 x 450 bytes: several 4 KiB segments
        }
        assertThat(log.segmentCount()).isGreaterThan(2);
        log.commitTo(30);
        assertThat(readEnd(log.read(28, 1 << 20))).isLessThanOrEqualTo(30);
        assertThat(log.read(31, 100)).isInstanceOf(ReadResult.OffsetOutOfRange.class);

        assertThat(log.truncateTo(50)).isEqualTo(50);
        assertThat(log.highWatermark()).isEqualTo(30);
        log.commitTo(50);
        assertThat(log.highWatermark()).isEqualTo(50);

        ahead(log, 2);
        assertThat(log.truncateTo(40)).isEqualTo(40); // below the high watermark: it follows
        assertThat(log.highWatermark()).isEqualTo(40);
        assertThat(log.logEndOffset()).isEqualTo(40);
    }

    @Test
    void reopenedLogCanHideItsUncommittedTail() {
        PartitionLog log = open();
        for (int i = 0; i < 20; i++) {
            ahead(log, 2);
        }
        log.commitTo(12);
        log.close();
        opened.clear();

        PartitionLog again = open();
        assertThat(again.highWatermark())
                .as("everything on disk is visible at open")
                .isEqualTo(40);
        again.hideFrom(12);
        assertThat(again.highWatermark()).isEqualTo(12);
        assertThat(again.logEndOffset()).isEqualTo(40);
        assertThat(readEnd(again.read(10, 1 << 20))).isEqualTo(12);
        again.commitTo(26);
        assertThat(readEnd(again.read(24, 1 << 20))).isEqualTo(26);
        assertThatThrownBy(() -> again.commitTo(27)).isInstanceOf(IllegalArgumentException.class);
        AppendResult.Appended a = ahead(again, 1);
        assertThat(a.firstOffset()).isEqualTo(40);
        again.commitTo(41);
        assertThat(again.highWatermark()).isEqualTo(41);
    }
}
