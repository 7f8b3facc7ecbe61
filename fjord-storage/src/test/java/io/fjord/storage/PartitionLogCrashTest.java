package io.fjord.storage;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.fail;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Kill -9 a process that is appending to a log, at a random moment, and reopen the log: every
 * offset the process reported (as appended, or as flushed) is there, offsets are dense from 0 to
 * the high watermark, every batch validates and holds exactly what was written, the tail is clean
 * and the log takes appends at the high watermark. Several rounds on the same directory, so later
 * rounds recover logs that earlier crashes and recoveries left.
 *
 * <p>The writer is {@link CrashChild}, a child JVM. SIGKILL leaves the page cache alone, so the
 * class contract of {@link PartitionLog} says that even unflushed appends survive; the test
 * checks that too. (Power loss, where only flushed data must survive, cannot be simulated here.)
 *
 * <p>Seeded: the seed (system property {@code fjord.crash.seed}, else random) is in every failure
 * message and fixes the child's batch sizes and when the parent kills it, counted in reports; the
 * exact point the child has reached at that moment still depends on timing.
 */
class PartitionLogCrashTest {
    private static final int ROUNDS = 5;
    private static final long ROUND_TIMEOUT_NS = TimeUnit.SECONDS.toNanos(20);
    /** The child's batch budget: far more than a round reaches before its kill. */
    private static final int CHILD_BATCHES_MAX = 5_000;

    private static final String EOF = "<eof>";

    @TempDir
    Path tmp;

    private Process child;

    @AfterEach
    void killChild() throws InterruptedException {
        if (child != null && child.isAlive()) {
            child.destroyForcibly();
            child.waitFor(10, TimeUnit.SECONDS);
        }
    }

    /** Every append is fsynced before it is reported; the kill comes after a random number of them. */
    @Test
    void shouldKeepEveryFlushedOffsetAfterKill() throws Exception {
        runRounds(1, 0, "F");
    }

    /**
     * fsync only every 40 batches and now and then on demand, so a kill usually finds unflushed
     * appends; they must survive too (the page cache outlives the process).
     */
    @Test
    void shouldKeepUnflushedAppendsAfterKill() throws Exception {
        runRounds(40, 25, "A");
    }

    private void runRounds(long flushEveryBatches, int explicitFlushOneIn, String killTrigger) throws Exception {
        long seed = Long.getLong("fjord.crash.seed", new Random().nextLong());
        Random rnd = new Random(seed);
        Path dir = tmp.resolve("log");
        long hw = 0;
        for (int round = 0; round < ROUNDS; round++) {
            String context = "seed " + seed + " (replay with -Dfjord.crash.seed=" + seed + "), round " + round;
            try {
                hw = runRound(dir, rnd, hw, flushEveryBatches, explicitFlushOneIn, killTrigger);
            } catch (Exception | AssertionError e) {
                throw new AssertionError(context + ": " + e.getMessage() + childStderr(), e);
            }
        }
        try (PartitionLog log = PartitionLog.open(dir, CrashChild.config(Long.MAX_VALUE), System::currentTimeMillis)) {
            assertThat(log.segmentCount())
                    .as("segments rolled over all rounds, seed %d", seed)
                    .isGreaterThan(1);
        }
    }

    /** One child, one kill, one verified reopen; returns the high watermark the next round starts from. */
    private long runRound(
            Path dir, Random rnd, long expectedHw, long flushEveryBatches, int explicitFlushOneIn, String killTrigger)
            throws Exception {
        // Up to 150 reports: up to several MB of appends and many segment rolls.
        int killAfter = 1 + rnd.nextInt(150);
        child = startChild(dir, rnd.nextLong(), flushEveryBatches, explicitFlushOneIn);
        BlockingQueue<String> lines = readLines(child);
        long deadlineNs = System.nanoTime() + ROUND_TIMEOUT_NS;

        Reports reports = new Reports();
        String opened = nextLine(lines, deadlineNs);
        assertThat(opened).as("child's first line").isEqualTo("OPEN " + expectedHw);
        int triggers = 0;
        while (triggers < killAfter) {
            String line = nextLine(lines, deadlineNs);
            assertThat(line).as("child exited before it was killed").isNotEqualTo(EOF);
            reports.add(line);
            if (line.startsWith(killTrigger + " ")) {
                triggers++;
            } else if (line.equals("DONE")) {
                break;
            }
        }
        // SIGKILL on Linux. Through the handle, not Process.destroyForcibly(), which also closes
        // our end of the pipes and would lose the lines still in them.
        assertThat(child.toHandle().destroyForcibly()).as("kill requested").isTrue();
        long remainingNs = deadlineNs - System.nanoTime();
        assertThat(child.waitFor(Math.max(remainingNs, 0), TimeUnit.NANOSECONDS))
                .as("child died after SIGKILL")
                .isTrue();
        assertThat(child.exitValue()).as("exit status: killed by signal 9").isEqualTo(128 + 9);
        // Lines already in the pipe were printed after their call returned: they count as reports.
        for (String line = nextLine(lines, deadlineNs); !line.equals(EOF); line = nextLine(lines, deadlineNs)) {
            reports.add(line);
        }
        assertThat(reports.lastAppended).as("offsets reported appended").isGreaterThanOrEqualTo(0);
        return verifyAndAppend(dir, reports, rnd.nextBoolean());
    }

    private long verifyAndAppend(Path dir, Reports reports, boolean closeCleanly) throws IOException {
        PartitionLog log = PartitionLog.open(dir, CrashChild.config(Long.MAX_VALUE), System::currentTimeMillis);
        try {
            long hw = log.highWatermark();
            assertThat(log.recoveredCleanly()).isFalse();
            assertThat(hw).as("high watermark vs last flushed report").isGreaterThan(reports.lastFlushed);
            assertThat(hw).as("high watermark vs last append report").isGreaterThan(reports.lastAppended);
            assertThat(log.logStartOffset()).isZero();
            LogContents.assertCleanTail(LogContents.activeSegmentFile(dir));

            long next = 0;
            for (ByteBuffer batch : LogContents.readAll(log)) {
                for (TestRecords.Record r : TestRecords.decode(batch, 0)) {
                    assertThat(r.offset()).as("record offset").isEqualTo(next);
                    assertThat(r.key()).as("key at offset %d", next).isEqualTo(CrashChild.key(next));
                    assertThat(r.value()).as("value at offset %d", next).isEqualTo(CrashChild.value(next));
                    assertThat(r.timestampMs())
                            .as("timestamp at offset %d", next)
                            .isEqualTo(CrashChild.timestampMs(next));
                    next++;
                }
            }
            assertThat(next).isEqualTo(hw);
            for (long offset : reports.offsets) {
                assertBatchFor(log, offset);
            }

            AppendResult r = log.append(CrashChild.batch(hw, 3));
            assertThat(r).isInstanceOf(AppendResult.Appended.class);
            assertThat(((AppendResult.Appended) r).firstOffset()).isEqualTo(hw);
            assertThat(log.highWatermark()).isEqualTo(hw + 3);
            return hw + 3;
        } finally {
            // Alternate how the next round finds the log: closed cleanly, or crashed once more.
            if (closeCleanly) {
                log.close();
            } else {
                log.abandon();
            }
        }
    }

    private static void assertBatchFor(PartitionLog log, long offset) throws IOException {
        ReadResult r = log.read(offset, 1);
        assertThat(r).as("read of reported offset %d", offset).isInstanceOf(LogSlice.class);
        try (LogSlice s = (LogSlice) r) {
            ByteBuffer b = s.toByteBuffer();
            long base = RecordBatchHeader.baseOffset(b, 0);
            assertThat(offset).as("reported offset").isBetween(base, base + RecordBatchHeader.lastOffsetDelta(b, 0));
        }
    }

    /** What the child said before it died. */
    private static final class Reports {
        final List<Long> offsets = new ArrayList<>();
        long lastAppended = -1;
        long lastFlushed = -1;

        void add(String line) {
            if (line.startsWith("A ")) {
                lastAppended = Long.parseLong(line.substring(2));
                offsets.add(lastAppended);
            } else if (line.startsWith("F ")) {
                lastFlushed = Long.parseLong(line.substring(2));
                offsets.add(lastFlushed);
            } else if (!line.equals("DONE")) {
                throw new AssertionError("unexpected line from the child: " + line);
            }
        }
    }

    private Process startChild(Path dir, long seed, long flushEveryBatches, int explicitFlushOneIn) throws IOException {
        String java = ProcessHandle.current().info().command().orElseThrow();
        List<String> command = List.of(
                java,
                "--enable-native-access=ALL-UNNAMED",
                "-ea",
                "-Xmx256m",
                "-XX:+UseSerialGC",
                "-XX:TieredStopAtLevel=1",
                "-cp",
                System.getProperty("java.class.path"),
                CrashChild.class.getName(),
                dir.toString(),
                Long.toString(seed),
                Long.toString(flushEveryBatches),
                Integer.toString(explicitFlushOneIn),
                Integer.toString(CHILD_BATCHES_MAX));
        return new ProcessBuilder(command)
                .redirectError(tmp.resolve("child-stderr.txt").toFile())
                .start();
    }

    /** The child's stdout, line by line, then {@link #EOF}; read on a daemon thread. */
    private static BlockingQueue<String> readLines(Process p) {
        BlockingQueue<String> lines = new LinkedBlockingQueue<>();
        Thread reader = new Thread(
                () -> {
                    try (BufferedReader in =
                            new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
                        for (String line = in.readLine(); line != null; line = in.readLine()) {
                            lines.add(line);
                        }
                    } catch (IOException e) {
                        lines.add("read failed: " + e);
                    } finally {
                        lines.add(EOF);
                    }
                },
                "crash-child-stdout");
        reader.setDaemon(true);
        reader.start();
        return lines;
    }

    private static String nextLine(BlockingQueue<String> lines, long deadlineNs) throws InterruptedException {
        String line = lines.poll(deadlineNs - System.nanoTime(), TimeUnit.NANOSECONDS);
        if (line == null) {
            fail("no line from the child before the round's deadline");
        }
        return line;
    }

    private String childStderr() {
        Path err = tmp.resolve("child-stderr.txt");
        try {
            if (!Files.exists(err)) {
                return "";
            }
            List<String> all = Files.readAllLines(err, StandardCharsets.UTF_8);
            return "\nchild stderr (last lines):\n"
                    + String.join("\n", all.subList(Math.max(0, all.size() - 30), all.size()));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
