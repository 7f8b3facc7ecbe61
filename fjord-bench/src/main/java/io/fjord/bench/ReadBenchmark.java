package io.fjord.bench;

import io.fjord.storage.LogConfig;
import io.fjord.storage.LogSlice;
import io.fjord.storage.PartitionLog;
import io.fjord.storage.ReadResult;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Path;
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
 * Sequential reads from the page cache: a consumer fetching up to 1 MiB at a time through {@link
 * PartitionLog#read} and copying each slice into one reused direct buffer with {@link
 * LogSlice#readInto}, from the log start to the high watermark and round again.
 *
 * <p>The log holds 512 MiB (written and fsynced in setup), small enough to stay in the page cache.
 * {@code batchBytes} is the size of the batches it was written in: 16 KiB (Kafka's producer
 * default) makes each fetch walk about 64 batch headers, 1 MiB makes each fetch one batch.
 */
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@State(Scope.Thread)
@Fork(
        value = 1,
        jvmArgsAppend = {"-Xms1g", "-Xmx1g", "-Dorg.slf4j.simpleLogger.defaultLogLevel=warn"})
@Warmup(iterations = 2, time = 5)
@Measurement(iterations = 3, time = 5)
public class ReadBenchmark {
    static final long DATA_BYTES = 512L * 1024 * 1024;
    static final int SEGMENT_BYTES = 256 * 1024 * 1024;
    static final int FETCH_BYTES_MAX = 1024 * 1024;

    @Param({"16384", "1048576"})
    int batchBytes;

    private Path dir;
    private PartitionLog log;
    private ByteBuffer dst;
    private long nextOffset;

    @Setup(Level.Trial)
    public void setUp() throws IOException {
        dir = BenchData.newScratchDir("fjord-read-");
        log = PartitionLog.open(dir, LogConfig.DEFAULT.withSegmentBytes(SEGMENT_BYTES), System::currentTimeMillis);
        ByteBuffer batch = BenchData.directBatch(batchBytes, System.currentTimeMillis());
        while (log.sizeBytes() < DATA_BYTES) {
            batch.clear();
            log.append(batch);
        }
        log.flush();
        // A fetch returns at least one whole batch even when it is larger than the fetch size.
        dst = ByteBuffer.allocateDirect(Math.max(FETCH_BYTES_MAX, batch.capacity()));
        nextOffset = log.logStartOffset();
    }

    @TearDown(Level.Trial)
    public void tearDown() throws IOException {
        if (log != null) {
            log.close();
        }
        BenchData.deleteRecursively(dir);
    }

    @Benchmark
    public long read(ByteCounter counter) throws IOException {
        ReadResult result = log.read(nextOffset, FETCH_BYTES_MAX);
        if (!(result instanceof LogSlice slice) || slice.isEmpty()) {
            throw new IllegalStateException("read at " + nextOffset + " gave " + result);
        }
        try (slice) {
            dst.clear();
            slice.readInto(dst);
            dst.flip();
            counter.bytes += slice.length();
        }
        // Where the next fetch starts, as a consumer learns it: from the last batch it received.
        nextOffset = BenchData.nextOffsetAfter(dst);
        if (nextOffset >= log.highWatermark()) {
            nextOffset = log.logStartOffset();
        }
        return nextOffset;
    }
}
