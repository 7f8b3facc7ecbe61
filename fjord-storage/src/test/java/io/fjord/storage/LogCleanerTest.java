package io.fjord.storage;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The log cleaner against a model: random keyed writes (with tombstones, keyless records and
 * idempotent producers) into small segments, passes of the cleaner, and after each pass exactly
 * the records the compaction contract keeps, at their original offsets, in a dense chain of
 * batches, also after a clean reopen and after a crash.
 */
class LogCleanerTest {
    @TempDir
    Path dir;

    /** Wall-clock based: a tombstone's age is measured against its segment file's time. */
    private final AtomicLong clock = new AtomicLong(System.currentTimeMillis());

    /** One record as written: its offset, key (null: none) and value (null: a tombstone). */
    record Rec(long offset, String key, String value) {}

    private static LogConfig compacted(long deleteRetentionMs) {
        return LogConfig.DEFAULT
                .withSegmentBytes(1024)
                .withCleanup(LogConfig.Cleanup.DELETE
                        .withPolicy(false, true)
                        .withMinCleanableDirtyRatio(0)
                        .withDeleteRetentionMs(deleteRetentionMs));
    }

    @Test
    void passesKeepTheLatestRecordOfEachKeyAtItsOffset() throws IOException {
        for (int seed = 0; seed < 12; seed++) {
            boolean dropTombstones = seed % 2 == 0;
            Path d = dir.resolve("seed-" + seed);
            LogConfig config = compacted(dropTombstones ? 0 : Long.MAX_VALUE / 2);
            Random rnd = new Random(seed);
            List<Rec> written = new ArrayList<>();
            PartitionLog log = PartitionLog.open(d, config, clock::get);
            try {
                for (int round = 0; round < 3; round++) {
                    write(log, rnd, written, 150);
                    log.roll();
                    write(log, rnd, written, 5); // something in the active segment too
                    LogCleaner.Pass pass = LogCleaner.prepare(log, log.highWatermark(), clock.get());
                    assertThat(pass).as("seed %d round %d", seed, round).isNotNull();
                    long before = log.sizeBytes();
                    long freed = log.swapCleaned(pass);
                    assertThat(freed).isPositive();
                    assertThat(log.sizeBytes()).isEqualTo(before - freed);
                    assertThat(log.cleanerOffset()).isEqualTo(pass.cleanedTo());
                    List<Rec> expected = expected(written, pass.cleanedTo(), dropTombstones);
                    assertThat(readAll(log)).as("seed %d round %d", seed, round).isEqualTo(expected);
                    assertThat(LogCleaner.prepare(log, log.highWatermark(), clock.get()))
                            .as("nothing new to clean")
                            .isNull();
                    assertThat(Files.exists(d.resolve(LogCleaner.STAGING_DIR).resolve(Segment.fileName(0, ".log"))))
                            .isFalse();

                    if (round == 1) { // a crash: the cleaned segments are scanned and kept as they are
                        log.abandon();
                    } else {
                        log.close();
                    }
                    log = PartitionLog.open(d, config, clock::get);
                    assertThat(readAll(log))
                            .as("seed %d round %d after reopening", seed, round)
                            .isEqualTo(expected);
                    assertThat(log.cleanerOffset()).isEqualTo(pass.cleanedTo());
                }
            } finally {
                log.close();
            }
        }
    }

    @Test
    void aPassIsDroppedWhenItsSegmentsLeftTheLogMeanwhile() throws IOException {
        LogConfig config = compacted(Long.MAX_VALUE / 2);
        List<Rec> written = new ArrayList<>();
        try (PartitionLog log = PartitionLog.open(dir, config, clock::get)) {
            write(log, new Random(7), written, 100);
            log.roll();
            LogCleaner.Pass pass = LogCleaner.prepare(log, log.highWatermark(), clock.get());
            assertThat(pass).isNotNull();
            long end = log.logEndOffset();
            log.restartAt(end); // e.g. a replica told that the records before `end` are gone everywhere
            assertThat(log.swapCleaned(pass)).isZero();
            assertThat(log.logStartOffset()).isEqualTo(end);
            assertThat(log.segmentCount()).isEqualTo(1);
        }
        try (var files = Files.list(dir.resolve(LogCleaner.STAGING_DIR))) {
            assertThat(files.filter(p -> !p.toString().endsWith(".deleted"))).isEmpty();
        }
    }

    @Test
    void nothingIsCleanedAboveTheBoundOrInTheActiveSegment() throws IOException {
        List<Rec> written = new ArrayList<>();
        try (PartitionLog log = PartitionLog.open(dir, compacted(Long.MAX_VALUE / 2), clock::get)) {
            Random rnd = new Random(3);
            write(log, rnd, written, 3);
            assertThat(log.segmentCount()).isEqualTo(1);
            assertThat(LogCleaner.prepare(log, log.highWatermark(), clock.get()))
                    .as("only the active segment so far")
                    .isNull();
            write(log, rnd, written, 100);
            log.roll();
            List<Long> bases = log.segmentBaseOffsets();
            assertThat(bases).hasSizeGreaterThan(3);
            long bound = bases.get(2);
            LogCleaner.Pass pass = LogCleaner.prepare(log, bound, clock.get());
            assertThat(pass.cleanedTo()).isEqualTo(bound);
            log.swapCleaned(pass);
            assertThat(readAll(log)).isEqualTo(expected(written, bound, false));
        }
    }

    @Test
    void theDirtyRatioDecidesWhenAPassIsDue() throws IOException {
        List<Rec> written = new ArrayList<>();
        LogConfig config = compacted(Long.MAX_VALUE / 2);
        config = config.withCleanup(config.cleanup().withMinCleanableDirtyRatio(0.5));
        try (PartitionLog log = PartitionLog.open(dir, config, clock::get)) {
            Random rnd = new Random(11);
            write(log, rnd, written, 200);
            log.roll();
            log.swapCleaned(LogCleaner.prepare(log, log.highWatermark(), clock.get()));
            long cleanBytes = log.sizeBytes();
            // A little new data: below half of what is cleanable, so not due yet.
            while (log.sizeBytes() - cleanBytes < cleanBytes / 4) {
                write(log, rnd, written, 1);
            }
            log.roll();
            assertThat(LogCleaner.prepare(log, log.highWatermark(), clock.get()))
                    .isNull();
            while (log.sizeBytes() - cleanBytes < 2 * cleanBytes) {
                write(log, rnd, written, 1);
            }
            log.roll();
            assertThat(LogCleaner.prepare(log, log.highWatermark(), clock.get()))
                    .isNotNull();
        }
    }

    @Test
    void consumerReadsSkipSegmentsLeftWithOnlyEmptyBatches() throws IOException {
        List<Rec> written = new ArrayList<>();
        try (PartitionLog log = PartitionLog.open(dir, compacted(0), clock::get)) {
            Random rnd = new Random(5);
            write(log, rnd, written, 100); // many segments of keys k0..k14
            for (int i = 0; i < 40; i++) { // later values for every key: the old segments empty out
                RecordBatchBuilder b = new RecordBatchBuilder();
                for (int k = 0; k < 15; k++) {
                    b.add(bytes("k" + k), bytes("late"), clock.incrementAndGet());
                }
                log.append(b.build());
            }
            log.roll();
            log.swapCleaned(LogCleaner.prepare(log, log.highWatermark(), clock.get()));
            long emptied = -1;
            for (long base : log.segmentBaseOffsets()) {
                try (LogSlice s = (LogSlice) log.read(base, 1 << 20)) { // a whole segment
                    ByteBuffer b = s.toByteBuffer();
                    if (emptied < 0 && b.hasRemaining() && recordsIn(b) == 0) {
                        emptied = base;
                    }
                }
            }
            assertThat(emptied).as("a segment left with only empty batches").isNotNegative();
            try (LogSlice plain = (LogSlice) log.read(emptied, 1 << 20);
                    LogSlice forConsumer = (LogSlice) log.readRecords(emptied, 1 << 20)) {
                assertThat(plain.firstBatchOffset()).isEqualTo(emptied);
                assertThat(forConsumer.firstBatchOffset()).isGreaterThan(emptied);
                assertThat(recordsIn(forConsumer.toByteBuffer())).isPositive();
            }
        }
    }

    private static int recordsIn(ByteBuffer b) {
        int records = 0;
        for (int pos = 0; pos < b.limit(); pos += RecordBatchHeader.sizeBytes(b, pos)) {
            records += RecordBatchHeader.recordsCount(b, pos);
        }
        return records;
    }

    /** What the log must hold after passes that cleaned everything below {@code cleanedTo}. */
    private static List<Rec> expected(List<Rec> written, long cleanedTo, boolean dropTombstones) {
        Map<String, Long> latest = new HashMap<>();
        for (Rec r : written) {
            if (r.offset() < cleanedTo && r.key() != null) {
                latest.put(r.key(), r.offset());
            }
        }
        List<Rec> out = new ArrayList<>();
        for (Rec r : written) {
            boolean keep = r.offset() >= cleanedTo
                    || (r.key() != null && latest.get(r.key()) == r.offset() && !(r.value() == null && dropTombstones));
            if (keep) {
                out.add(r);
            }
        }
        return out;
    }

    private void write(PartitionLog log, Random rnd, List<Rec> written, int batches) {
        for (int b = 0; b < batches; b++) {
            RecordBatchBuilder builder = new RecordBatchBuilder();
            if (rnd.nextInt(5) == 0) {
                builder.producer(rnd.nextInt(3), (short) 0, rnd.nextInt(1000));
            }
            int n = 1 + rnd.nextInt(4);
            List<String[]> recs = new ArrayList<>();
            for (int i = 0; i < n; i++) {
                String key = rnd.nextInt(20) == 0 ? null : "k" + rnd.nextInt(15);
                String value = rnd.nextInt(8) == 0 ? null : "v" + rnd.nextInt(1_000_000);
                builder.add(bytes(key), bytes(value), clock.incrementAndGet());
                recs.add(new String[] {key, value});
            }
            AppendResult r = log.append(builder.build());
            assertThat(r).isInstanceOf(AppendResult.Appended.class);
            long first = ((AppendResult.Appended) r).firstOffset();
            for (int i = 0; i < n; i++) {
                written.add(new Rec(first + i, recs.get(i)[0], recs.get(i)[1]));
            }
        }
    }

    private static byte[] bytes(String s) {
        return s == null ? null : s.getBytes(StandardCharsets.UTF_8);
    }

    /** Every record from the log start to the high watermark, checking the batch chain on the way. */
    static List<Rec> readAll(PartitionLog log) throws IOException {
        List<Rec> out = new ArrayList<>();
        long next = log.logStartOffset();
        while (next < log.highWatermark()) {
            ByteBuffer slice;
            try (LogSlice s = (LogSlice) log.read(next, 64 * 1024)) {
                assertThat(s.firstBatchOffset()).isEqualTo(next);
                slice = s.toByteBuffer();
            }
            int pos = 0;
            while (pos < slice.limit()) {
                assertThat(RecordBatchHeader.validateStored(slice, pos, slice.limit(), Integer.MAX_VALUE))
                        .isNull();
                assertThat(RecordBatchHeader.baseOffset(slice, pos)).isEqualTo(next);
                long base = next;
                long last = base + RecordBatchHeader.lastOffsetDelta(slice, pos);
                RecordBatchReader.forEachRecord(slice, pos, (offset, ts, key, value) -> {
                    assertThat(offset).isBetween(base, last);
                    out.add(new Rec(offset, string(key), string(value)));
                });
                next = last + 1;
                pos += RecordBatchHeader.sizeBytes(slice, pos);
            }
        }
        return out;
    }

    private static String string(ByteBuffer b) {
        if (b == null) {
            return null;
        }
        byte[] a = new byte[b.remaining()];
        b.duplicate().get(a);
        return new String(a, StandardCharsets.UTF_8);
    }
}
