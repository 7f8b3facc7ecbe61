package io.fjord.bench;

import io.fjord.storage.BatchError;
import io.fjord.storage.LogConfig;
import io.fjord.storage.RecordBatchHeader;
import java.nio.ByteBuffer;
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
import org.openjdk.jmh.annotations.Warmup;

/**
 * The CPU side of an append, without the write: validating a producer's batch ({@link
 * RecordBatchHeader#validate}: length, magic, record count, CRC32C over the batch) and assigning
 * its offsets (rewriting the base offset in place), the two passes that {@code PartitionLog.append}
 * makes over the buffer before it hands it to the segment. The passes are those of {@code append}
 * (kept in step with it by hand; {@code AppendBenchmark} measures the whole append). The batch is
 * in a direct buffer, as a network read leaves it; {@code batchBytes} of 1 KiB records.
 */
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@State(Scope.Thread)
@Fork(
        value = 1,
        jvmArgsAppend = {"-Xms1g", "-Xmx1g"})
@Warmup(iterations = 2, time = 5)
@Measurement(iterations = 3, time = 5)
public class BatchValidateBenchmark {
    @Param({"16384", "65536", "1048576"})
    int batchBytes;

    private ByteBuffer batches;
    private int maxBatchBytes;
    private long nextOffset;

    @Setup(Level.Trial)
    public void setUp() {
        batches = BenchData.directBatch(batchBytes, System.currentTimeMillis());
        maxBatchBytes = LogConfig.DEFAULT.maxBatchBytes();
        if (batches.remaining() > maxBatchBytes) {
            maxBatchBytes = batches.remaining(); // a topic configured for large batches
        }
    }

    @Benchmark
    public long validateAndAssign(ByteCounter counter) {
        int start = batches.position();
        int limit = batches.limit();
        long records = 0;
        for (int pos = start; pos < limit; ) {
            BatchError err = RecordBatchHeader.validate(batches, pos, limit, maxBatchBytes);
            if (err != null) {
                throw new IllegalStateException("batch refused: " + err);
            }
            records += RecordBatchHeader.recordsCount(batches, pos);
            pos += RecordBatchHeader.sizeBytes(batches, pos);
        }
        long next = nextOffset;
        long maxTs = Long.MIN_VALUE;
        for (int pos = start; pos < limit; ) {
            batches.putLong(pos + RecordBatchHeader.BASE_OFFSET_OFFSET, next);
            next += RecordBatchHeader.lastOffsetDelta(batches, pos) + 1;
            maxTs = Math.max(maxTs, RecordBatchHeader.maxTimestamp(batches, pos));
            pos += RecordBatchHeader.sizeBytes(batches, pos);
        }
        if (next != nextOffset + records) {
            throw new IllegalStateException("offsets assigned " + (next - nextOffset) + " != records " + records);
        }
        nextOffset = next;
        counter.bytes += limit - start;
        return maxTs;
    }
}
