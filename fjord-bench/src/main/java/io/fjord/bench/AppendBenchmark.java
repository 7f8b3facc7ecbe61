package io.fjord.bench;

import io.fjord.storage.AppendResult;
import io.fjord.storage.LogConfig;
import io.fjord.storage.PartitionLog;
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
 * Append throughput of one {@link PartitionLog}: one batch of 1 KiB records per operation, the
 * same batch every time (append rewrites its base offset in place, and the CRC does not cover it,
 * so the batch stays valid). The batch is in a direct buffer, as a network read leaves it.
 *
 * <p>{@code fsync=none} is the Kafka default (durability from replication): appends go to the
 * page cache. {@code fsync=batch} fsyncs after every batch ({@code flushIntervalBatches=1}).
 *
 * <p>Disk use stays bounded: 256 MiB segments and 1 GiB of retention, applied from the benchmark
 * thread, which is the log's single writer (state is per thread, so setup, appends and teardown
 * all run on it).
 */
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@State(Scope.Thread)
@Fork(
        value = 1,
        jvmArgsAppend = {"-Xms1g", "-Xmx1g", "-Dorg.slf4j.simpleLogger.defaultLogLevel=warn"})
@Warmup(iterations = 2, time = 5)
@Measurement(iterations = 3, time = 5)
public class AppendBenchmark {
    static final int SEGMENT_BYTES = 256 * 1024 * 1024;
    static final long RETENTION_BYTES = 1024L * 1024 * 1024;

    @Param({"16384", "1048576"})
    int batchBytes;

    @Param({"none", "batch"})
    String fsync;

    private Path dir;
    private PartitionLog log;
    /** As in the broker (LogManager): rolled segments are fsynced and retired files deleted here. */
    private java.util.concurrent.ExecutorService logIo;

    private ByteBuffer batch;
    private long bytesSinceRetention;

    @Setup(Level.Trial)
    public void setUp() throws IOException {
        LogConfig config = LogConfig.DEFAULT.withSegmentBytes(SEGMENT_BYTES).withRetentionBytes(RETENTION_BYTES);
        config = switch (fsync) {
            case "none" -> config;
            case "batch" -> config.withFlushEveryBatches(1);
            default -> throw new IllegalArgumentException("fsync must be none or batch: " + fsync);
        };
        dir = BenchData.newScratchDir("fjord-append-");
        logIo = java.util.concurrent.Executors.newSingleThreadExecutor();
        log = PartitionLog.open(dir, config, System::currentTimeMillis, logIo);
        batch = BenchData.directBatch(batchBytes, System.currentTimeMillis());
    }

    @TearDown(Level.Trial)
    public void tearDown() throws IOException {
        if (log != null) {
            log.close();
        }
        if (logIo != null) {
            logIo.shutdown();
            try {
                logIo.awaitTermination(60, java.util.concurrent.TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        BenchData.deleteRecursively(dir);
    }

    @Benchmark
    public long append(ByteCounter counter) {
        batch.clear();
        AppendResult result = log.append(batch);
        if (!(result instanceof AppendResult.Appended appended)) {
            throw new IllegalStateException("append refused: " + result);
        }
        int written = batch.capacity();
        counter.bytes += written;
        bytesSinceRetention += written;
        // Once per segment is enough: retention only ever removes whole sealed segments.
        if (bytesSinceRetention >= SEGMENT_BYTES) {
            log.applyRetention(System.currentTimeMillis());
            bytesSinceRetention = 0;
        }
        return appended.lastOffset();
    }
}
