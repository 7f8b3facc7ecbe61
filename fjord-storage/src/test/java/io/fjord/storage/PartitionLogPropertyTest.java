package io.fjord.storage;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Random;
import java.util.stream.Stream;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.lifecycle.AfterTry;
import net.jqwik.api.lifecycle.BeforeTry;

/**
 * Random sequences of append / roll / flush / truncate / close+reopen / crash+reopen / retention
 * against a model of the log. After every step: offsets are dense from the log start offset to the
 * high watermark, every batch the model holds reads back byte for byte and validates, no read
 * returns a split or corrupt batch, and no flushed batch is lost by a crash. A crash abandons the
 * log without closing it and damages the unflushed tail of the active segment (cut, garbage or
 * zeros), which is what power loss can leave. jqwik prints the seed of a failing sequence; rerun
 * with {@code @Property(seed = "...")} to replay it.
 */
class PartitionLogPropertyTest {

    sealed interface Op {}

    record Append(int batches, int records, int valueBytes) implements Op {}

    record Roll() implements Op {}

    record Flush() implements Op {}

    record Truncate(double fraction) implements Op {}

    record Reopen() implements Op {}

    record Crash(int damageKind, long seed) implements Op {}

    record Retention(long advanceMs, long retentionBytes) implements Op {}

    record DeleteRecords(double fraction) implements Op {}

    /** Runs the background fsyncs and deletions queued so far (async mode only). */
    record Background() implements Op {}

    /** A batch as the model remembers it: where it starts and its bytes as written. */
    record ModelBatch(long baseOffset, int records, byte[] bytes) {
        long lastOffset() {
            return baseOffset + records - 1;
        }
    }

    private static final LogConfig CONFIG = LogConfig.DEFAULT
            .withSegmentBytes(16 * 1024)
            .withIndexIntervalBytes(512)
            .withRetentionMs(60_000);

    private Path dir;

    @BeforeTry
    void createDir() throws IOException {
        dir = Files.createTempDirectory("fjord-prop");
    }

    @AfterTry
    void deleteDir() throws IOException {
        try (Stream<Path> walk = Files.walk(dir)) {
            for (Path p : walk.sorted(Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(p);
            }
        }
    }

    @Provide
    Arbitrary<List<Op>> ops() {
        Arbitrary<Op> op = Arbitraries.frequencyOf(
                net.jqwik.api.Tuple.of(
                        12,
                        net.jqwik.api.Combinators.combine(
                                        Arbitraries.integers().between(1, 3),
                                        Arbitraries.integers().between(1, 6),
                                        Arbitraries.integers().between(0, 2500))
                                .as((b, r, v) -> (Op) new Append(b, r, v))),
                net.jqwik.api.Tuple.of(2, Arbitraries.just((Op) new Roll())),
                net.jqwik.api.Tuple.of(3, Arbitraries.just((Op) new Flush())),
                net.jqwik.api.Tuple.of(2, Arbitraries.doubles().between(0, 1).map(f -> (Op) new Truncate(f))),
                net.jqwik.api.Tuple.of(2, Arbitraries.just((Op) new Reopen())),
                net.jqwik.api.Tuple.of(
                        3,
                        net.jqwik.api.Combinators.combine(Arbitraries.integers().between(0, 3), Arbitraries.longs())
                                .as((k, s) -> (Op) new Crash(k, s))),
                net.jqwik.api.Tuple.of(
                        2,
                        net.jqwik.api.Combinators.combine(
                                        Arbitraries.of(0L, 30_000L, 61_000L), Arbitraries.of(-1L, 8_000L, 40_000L))
                                .as((a, b) -> (Op) new Retention(a, b))),
                net.jqwik.api.Tuple.of(1, Arbitraries.doubles().between(0, 1).map(f -> (Op) new DeleteRecords(f))));
        return op.list().ofMinSize(1).ofMaxSize(40);
    }

    /** Rolled segments are fsynced at once, on the writer's thread. */
    @Property(tries = 100)
    void logMatchesModelAndKeepsFlushedBatches(@ForAll("ops") List<Op> ops) throws IOException {
        run(ops, false);
    }

    /**
     * Rolled segments are fsynced by a background queue that only {@link Background} drains, so a
     * crash can find several sealed segments that never reached the disk.
     */
    @Property(tries = 100)
    void logSurvivesCrashesWithRolledSegmentsStillUnflushed(@ForAll("ops") List<Op> ops) throws IOException {
        run(ops, true);
    }

    private void run(List<Op> ops, boolean async) throws IOException {
        java.util.ArrayDeque<Runnable> queue = new java.util.ArrayDeque<>();
        java.util.concurrent.Executor background = async ? queue::add : Runnable::run;
        long[] nowMs = {1_000_000};
        List<ModelBatch> model = new ArrayList<>();
        long logStart = 0;
        long flushed = 0;
        PartitionLog log = PartitionLog.open(dir, CONFIG, () -> nowMs[0], background);
        try {
            for (Op op : ops) {
                switch (op) {
                    case Append a -> {
                        ByteBuffer[] parts = new ByteBuffer[a.batches()];
                        for (int i = 0; i < a.batches(); i++) {
                            parts[i] = TestBatches.batch(a.records(), a.valueBytes(), nowMs[0]);
                        }
                        ByteBuffer all = TestBatches.concat(parts);
                        AppendResult r = log.append(all);
                        assertThat(r).isInstanceOf(AppendResult.Appended.class);
                        long expectedFirst = end(model, logStart);
                        assertThat(((AppendResult.Appended) r).firstOffset()).isEqualTo(expectedFirst);
                        int pos = 0;
                        for (int i = 0; i < a.batches(); i++) {
                            int size = RecordBatchHeader.sizeBytes(all, pos);
                            byte[] bytes = new byte[size];
                            all.get(pos, bytes);
                            model.add(new ModelBatch(RecordBatchHeader.baseOffset(all, pos), a.records(), bytes));
                            pos += size;
                        }
                        nowMs[0] += 10;
                    }
                    case Roll r -> log.roll();
                    case Flush f -> {
                        log.flush();
                        flushed = end(model, logStart);
                    }
                    case Truncate t -> {
                        long hw = end(model, logStart);
                        long target = logStart + (long) Math.floor(t.fraction() * (hw - logStart));
                        // The whole batch holding the target goes, even if it straddles the start.
                        long expectedEnd = target;
                        for (ModelBatch b : model) {
                            if (b.baseOffset() <= target && target <= b.lastOffset()) {
                                expectedEnd = b.baseOffset();
                            }
                        }
                        long newEnd = log.truncateTo(target);
                        assertThat(newEnd).isEqualTo(expectedEnd);
                        model.removeIf(b -> b.lastOffset() >= target);
                        logStart = Math.min(logStart, newEnd);
                        flushed = Math.min(flushed, newEnd);
                    }
                    case Reopen r -> {
                        log.close();
                        queue.clear(); // close made everything durable itself
                        log = PartitionLog.open(dir, CONFIG, () -> nowMs[0], background);
                        assertThat(log.recoveredCleanly()).isTrue();
                        assertThat(log.recoveryBytesScanned()).isZero();
                        flushed = end(model, logStart);
                    }
                    case Crash c -> {
                        long hw = end(model, logStart);
                        long durable = Math.max(Math.max(flushed, logStart), log.recoveryPoint());
                        List<Long> bases = log.segmentBaseOffsets();
                        // Pick a segment that may hold data not on disk, and where in it damage may start.
                        long firstUndurableBase = bases.getFirst();
                        for (long b : bases) {
                            if (b <= durable) {
                                firstUndurableBase = b;
                            }
                        }
                        final long fromBase = firstUndurableBase;
                        List<Long> damageable =
                                bases.stream().filter(b -> b >= fromBase).toList();
                        long victim = damageable.get(new Random(c.seed()).nextInt(damageable.size()));
                        long damageFrom = victim == firstUndurableBase ? positionOf(log, durable, hw) : 0;
                        Path file = log.dir().resolve(Segment.fileName(victim, Segment.LOG_SUFFIX));
                        log.abandon();
                        queue.clear(); // a crash loses whatever the background had not done yet
                        damage(file, damageFrom, c);
                        log = PartitionLog.open(dir, CONFIG, () -> nowMs[0], background);
                        long recovered = log.highWatermark();
                        assertThat(recovered)
                                .as(
                                        "flushed offsets survive a crash (flushed=%d, durable=%d, hw before=%d)",
                                        flushed, durable, hw)
                                .isGreaterThanOrEqualTo(Math.min(flushed, hw))
                                .isLessThanOrEqualTo(hw);
                        model.removeIf(b -> b.lastOffset() >= recovered);
                        // DeleteRecords past data that did not survive: the log restarts empty there.
                        logStart = Math.min(logStart, recovered);
                        assertThat(end(model, logStart)).isEqualTo(recovered);
                        flushed = recovered;
                    }
                    case Background b -> {
                        while (!queue.isEmpty()) {
                            queue.poll().run();
                        }
                    }
                    case Retention r -> {
                        nowMs[0] += r.advanceMs();
                        log.updateConfig(CONFIG.withRetentionBytes(r.retentionBytes()));
                        long before = log.logStartOffset();
                        log.applyRetention(nowMs[0]);
                        logStart = log.logStartOffset();
                        assertThat(logStart).isGreaterThanOrEqualTo(before);
                        assertThat(log.segmentBaseOffsets().getFirst()).isLessThanOrEqualTo(logStart);
                        final long ls = logStart;
                        model.removeIf(b -> b.lastOffset() < ls);
                    }
                    case DeleteRecords d -> {
                        long hw = end(model, logStart);
                        long target = logStart + (long) Math.floor(d.fraction() * (hw - logStart));
                        assertThat(log.advanceLogStartOffset(target)).isEqualTo(Math.max(target, logStart));
                        logStart = Math.max(target, logStart);
                        final long ls = logStart;
                        model.removeIf(b -> b.lastOffset() < ls);
                    }
                }
                verify(log, model, logStart);
            }
        } finally {
            log.close();
            queue.clear();
        }
        // A final clean reopen sees exactly the same log.
        try (PartitionLog reopened = PartitionLog.open(dir, CONFIG, () -> nowMs[0], Runnable::run)) {
            verify(reopened, model, logStart);
        }
    }

    /** The model's high watermark: one past its last batch, or the start when it is empty. */
    private static long end(List<ModelBatch> model, long logStart) {
        return model.isEmpty() ? logStart : model.getLast().lastOffset() + 1;
    }

    private static void verify(PartitionLog log, List<ModelBatch> model, long logStart) throws IOException {
        long hw = end(model, logStart);
        assertThat(log.highWatermark()).as("high watermark").isEqualTo(hw);
        assertThat(log.logStartOffset()).as("log start offset").isEqualTo(logStart);
        long expectedNext = -1;
        for (ModelBatch b : model) {
            if (expectedNext >= 0) {
                assertThat(b.baseOffset()).as("dense offsets").isEqualTo(expectedNext);
            }
            expectedNext = b.lastOffset() + 1;
            // Read from the batch's last offset, with a tiny maxBytes: exactly this one batch.
            long probe = Math.max(b.baseOffset(), logStart);
            if (probe > b.lastOffset()) {
                continue;
            }
            try (LogSlice s = (LogSlice) log.read(b.lastOffset(), 1)) {
                ByteBuffer got = s.toByteBuffer();
                assertThat(RecordBatchHeader.validate(got, 0, got.limit(), Integer.MAX_VALUE))
                        .isNull();
                assertThat(got.limit()).as("one whole batch").isEqualTo(b.bytes().length);
                assertThat(got.array()).isEqualTo(b.bytes());
            }
        }
        // A large read from the start returns whole, valid, dense batches only.
        if (hw > logStart) {
            try (LogSlice s = (LogSlice) log.read(logStart, 20_000)) {
                ByteBuffer got = s.toByteBuffer();
                int pos = 0;
                long next = -1;
                while (pos < got.limit()) {
                    assertThat(RecordBatchHeader.validate(got, pos, got.limit(), Integer.MAX_VALUE))
                            .as("batch at %d of a slice", pos)
                            .isNull();
                    long base = RecordBatchHeader.baseOffset(got, pos);
                    if (next >= 0) {
                        assertThat(base).isEqualTo(next);
                    }
                    next = base + RecordBatchHeader.lastOffsetDelta(got, pos) + 1;
                    pos += RecordBatchHeader.sizeBytes(got, pos);
                }
                assertThat(pos).isEqualTo(got.limit());
            }
        }
        assertThat(log.read(hw, 100)).isInstanceOf(LogSlice.class);
        assertThat(log.read(hw + 1, 100)).isInstanceOf(ReadResult.OffsetOutOfRange.class);
        if (logStart > 0) {
            assertThat(log.read(logStart - 1, 100)).isInstanceOf(ReadResult.OffsetOutOfRange.class);
        }
    }

    /**
     * Position, in the segment holding {@code durable}, of the first byte that may not be on disk:
     * the start of the batch holding that offset (a batch boundary at or after every durable byte),
     * or the file's end when everything is durable.
     */
    private static long positionOf(PartitionLog log, long durable, long hw) {
        long base = log.segmentBaseOffsets().stream()
                .filter(b -> b <= durable)
                .reduce((a, b) -> b)
                .orElseThrow();
        if (durable <= base) {
            return 0;
        }
        if (durable >= hw) {
            try {
                return Files.size(log.dir().resolve(Segment.fileName(base, Segment.LOG_SUFFIX)));
            } catch (IOException e) {
                throw new AssertionError(e);
            }
        }
        try (LogSlice s = (LogSlice) log.read(durable, 1)) {
            return s.position();
        }
    }

    /** What power loss may leave after the flushed position: a cut, garbage, or zeros. */
    private static void damage(Path file, long flushedPos, Crash c) throws IOException {
        Random rnd = new Random(c.seed());
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
            long size = ch.size();
            long from = flushedPos + (size > flushedPos ? (long) (rnd.nextDouble() * (size - flushedPos)) : 0);
            switch (c.damageKind()) {
                case 0 -> ch.truncate(from);
                case 1 -> {
                    if (from < size) {
                        byte[] junk = new byte[(int) Math.min(64, size - from)];
                        rnd.nextBytes(junk);
                        ch.write(ByteBuffer.wrap(junk), from);
                    }
                }
                case 2 -> ch.write(ByteBuffer.allocate(100), size); // zeros past the end
                default -> {
                    // no damage: kill -9 keeps the page cache
                }
            }
        }
    }
}
