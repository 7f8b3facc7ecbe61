package io.fjord.bench;

import io.fjord.storage.LogConfig;
import io.fjord.storage.LogSlice;
import io.fjord.storage.PartitionLog;
import io.fjord.storage.ReadResult;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * The lookup a fetch makes before any byte is sent: {@link PartitionLog#read} at a random offset,
 * which finds the segment (floor lookup), the batch holding the offset (offset index, then a scan
 * of batch headers from the indexed position) and where a 1 MiB slice ends (batch headers again),
 * and returns a {@link LogSlice}, closed at once (the bytes go by {@code sendfile} in the broker
 * and are not read here; {@code ReadBenchmark} measures reading them). Ops/s = lookups per second.
 *
 * <p>The log holds {@link #DATA_BYTES} of 16 KiB batches (the producer's default batch.size) of
 * 1 KiB records, in segments of {@code segmentBytes}: 1 MiB makes 128 segments, 64 MiB two; the
 * offset index gets an entry every 4 KiB (the default {@code index.interval.bytes}). Offsets are
 * drawn uniformly from the whole log, from a fixed seed.
 */
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@State(Scope.Thread)
@Fork(
        value = 1,
        jvmArgsAppend = {"-Xms1g", "-Xmx1g", "-Dorg.slf4j.simpleLogger.defaultLogLevel=warn"})
@Warmup(iterations = 2, time = 5)
@Measurement(iterations = 3, time = 5)
public class FetchSliceBenchmark {
    static final long DATA_BYTES = 128L * 1024 * 1024;
    static final int BATCH_BYTES = 16 * 1024;
    static final int FETCH_BYTES_MAX = 1024 * 1024;

    @Param({"1048576", "67108864"})
    int segmentBytes;

    private Path dir;
    private PartitionLog log;
    private long[] offsets;
    private int next;

    @Setup(Level.Trial)
    public void setUp() throws IOException {
        dir = BenchData.newScratchDir("fjord-fetch-slice-");
        log = PartitionLog.open(dir, LogConfig.DEFAULT.withSegmentBytes(segmentBytes), System::currentTimeMillis);
        ByteBuffer batch = BenchData.directBatch(BATCH_BYTES, System.currentTimeMillis());
        while (log.sizeBytes() < DATA_BYTES) {
            batch.clear();
            log.append(batch);
        }
        log.flush();
        SplittableRandom random = new SplittableRandom(42);
        offsets = new long[1 << 16];
        for (int i = 0; i < offsets.length; i++) {
            offsets[i] = random.nextLong(log.logStartOffset(), log.highWatermark());
        }
    }

    @TearDown(Level.Trial)
    public void tearDown() throws IOException {
        if (log != null) {
            log.close();
        }
        BenchData.deleteRecursively(dir);
    }

    @Benchmark
    public long lookup() {
        long offset = offsets[next];
        next = (next + 1) & (offsets.length - 1);
        ReadResult result = log.read(offset, FETCH_BYTES_MAX);
        if (!(result instanceof LogSlice slice) || slice.isEmpty()) {
            throw new IllegalStateException("read at " + offset + " gave " + result);
        }
        try (slice) {
            return slice.firstBatchOffset() + slice.length();
        }
    }
}
