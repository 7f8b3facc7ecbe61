package io.fjord.storage;

import java.io.IOException;
import java.io.InputStream;
import java.io.PrintStream;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Random;

/**
 * The process {@link PartitionLogCrashTest} kills: opens a log, appends batches of varying sizes
 * until it is killed, and reports progress on stdout, one line per event, each printed only after
 * the call it reports has returned:
 *
 * <pre>
 *   OPEN &lt;high watermark&gt;      the log is open
 *   A &lt;offset&gt;                  an append returned; this is its last offset
 *   F &lt;offset&gt;                  everything up to and including this offset is fsynced
 *   DONE                         the batch budget is spent; waiting to be killed
 * </pre>
 *
 * Record contents are a pure function of the record's offset ({@link #batch}), so the parent can
 * check every byte it reads back without being told what was written.
 *
 * <p>Arguments: {@code <dir> <seed> <flushEveryBatches> <explicitFlushOneIn> <maxBatches>}. The
 * seed chooses batch sizes and explicit flushes. When stdin reaches end of file (the parent is
 * gone) the process halts, so a dying test run leaves no child behind.
 */
final class CrashChild {
    static final long TIMESTAMP_BASE_MS = 1_700_000_000_000L;
    private static final int SEGMENT_BYTES = 256 * 1024;
    private static final int MAX_BATCH_BYTES = 2 * 1024 * 1024;
    /** Large batches go up to this: more than a segment, and more than recovery's 1 MiB buffer. */
    private static final int JUMBO_BATCH_BYTES_MAX = 1536 * 1024;
    /** How long the child waits to be killed once its budget is spent. */
    private static final long IDLE_MS_MAX = 60_000;

    private CrashChild() {}

    static LogConfig config(long flushEveryBatches) {
        return LogConfig.DEFAULT
                .withSegmentBytes(SEGMENT_BYTES)
                .withIndexIntervalBytes(4096)
                .withMaxBatchBytes(MAX_BATCH_BYTES)
                .withFlushEveryBatches(flushEveryBatches);
    }

    static byte[] key(long offset) {
        return ("key-" + offset).getBytes(StandardCharsets.UTF_8);
    }

    /** Mostly under 2 KB; one offset in 64 gets 20 to 60 KB. */
    static byte[] value(long offset) {
        long h = mix(offset);
        int size = (int) Long.remainderUnsigned(h, 64) == 0
                ? 20_000 + (int) Long.remainderUnsigned(h >>> 8, 40_000)
                : (int) Long.remainderUnsigned(h >>> 8, 2_000);
        byte[] v = new byte[size];
        long x = h;
        for (int i = 0; i < size; i++) {
            if ((i & 7) == 0) {
                x = mix(x + i);
            }
            v[i] = (byte) (x >>> ((i & 7) * 8));
        }
        return v;
    }

    static long timestampMs(long offset) {
        return TIMESTAMP_BASE_MS + offset;
    }

    /** A batch of {@code records} records for offsets {@code firstOffset} on. */
    static ByteBuffer batch(long firstOffset, int records) {
        RecordBatchBuilder b = new RecordBatchBuilder();
        for (long o = firstOffset; o < firstOffset + records; o++) {
            b.add(key(o), value(o), timestampMs(o));
        }
        return b.build();
    }

    /** Records for a batch from {@code firstOffset} of roughly {@code targetBytes} (at least one). */
    private static int recordsFor(long firstOffset, int targetBytes) {
        int records = 0;
        long bytes = 0;
        while (records == 0 || bytes + value(firstOffset + records).length + 64 < targetBytes) {
            bytes += value(firstOffset + records).length + 64;
            records++;
        }
        return records;
    }

    /** SplitMix64's finalizer: a cheap, well-spread hash of a long. */
    private static long mix(long z) {
        z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
        return z ^ (z >>> 31);
    }

    public static void main(String[] args) throws InterruptedException {
        Path dir = Path.of(args[0]);
        Random rnd = new Random(Long.parseLong(args[1]));
        long flushEveryBatches = Long.parseLong(args[2]);
        int explicitFlushOneIn = Integer.parseInt(args[3]);
        int maxBatches = Integer.parseInt(args[4]);

        Thread watchdog = new Thread(CrashChild::haltWhenStdinCloses, "stdin-watchdog");
        watchdog.setDaemon(true);
        watchdog.start();

        PrintStream out = System.out;
        PartitionLog log = PartitionLog.open(dir, config(flushEveryBatches), System::currentTimeMillis);
        out.println("OPEN " + log.highWatermark());
        out.flush();
        long reportedFlushed = log.flushedOffset();
        for (int i = 0; i < maxBatches; i++) {
            long first = log.highWatermark();
            int pick = rnd.nextInt(100);
            int records;
            if (pick < 2) {
                records = recordsFor(first, 300 * 1024 + rnd.nextInt(JUMBO_BATCH_BYTES_MAX - 300 * 1024));
            } else if (pick < 10) {
                records = Math.min(20 + rnd.nextInt(40), recordsFor(first, 1024 * 1024));
            } else {
                records = 1 + rnd.nextInt(8);
            }
            AppendResult r = log.append(batch(first, records));
            if (!(r instanceof AppendResult.Appended a) || a.firstOffset() != first) {
                System.err.println("unexpected append result at offset " + first + ": " + r);
                Runtime.getRuntime().halt(3);
                return;
            }
            out.println("A " + a.lastOffset());
            if (explicitFlushOneIn > 0 && rnd.nextInt(explicitFlushOneIn) == 0) {
                log.flush();
            }
            if (log.flushedOffset() > reportedFlushed) {
                reportedFlushed = log.flushedOffset();
                out.println("F " + (reportedFlushed - 1));
            }
            out.flush();
        }
        out.println("DONE");
        out.flush();
        watchdog.join(IDLE_MS_MAX);
        Runtime.getRuntime().halt(4);
    }

    private static void haltWhenStdinCloses() {
        InputStream in = System.in;
        byte[] sink = new byte[256];
        try {
            while (in.read(sink) >= 0) {
                // the parent never writes; only end of file matters
            }
        } catch (IOException e) {
            // treat like end of file
        }
        Runtime.getRuntime().halt(2);
    }
}
