package io.fjord.broker;

import io.fjord.storage.LogConfig;
import io.fjord.storage.LogManager;
import io.fjord.storage.PartitionId;
import io.fjord.storage.RecordBatchBuilder;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.UUID;
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
 * The write and apply path of a data group, without Ratis: {@link PartitionGroup#write} of one
 * APPEND entry with data (decode, idempotence check, offset assignment, append to the partition log
 * ahead of the high watermark, journal record), then {@link PartitionGroup#apply} of its header
 * (high watermark over the batch, reply). What a produce costs each replica besides Ratis itself.
 * As on a leader, the batch is written from the request's own buffer (no copy).
 *
 * <p>In package {@code io.fjord.broker} (a split package on the benchmark's class path) to reach
 * the package-private state machine without widening its API.
 */
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@State(Scope.Thread)
@Fork(
        value = 1,
        jvmArgsAppend = {"-Xms1g", "-Xmx1g", "-Dorg.slf4j.simpleLogger.defaultLogLevel=warn"})
@Warmup(iterations = 2, time = 5)
@Measurement(iterations = 3, time = 5)
public class RaftApplyBenchmark {
    @Param({"16384", "65536"})
    int batchBytes;

    @Param({"1", "6"})
    int partitions;

    private Path dir;
    private LogManager logs;
    private PartitionGroup group;
    private byte[][] headers;
    private ByteBuffer[] batches;
    private long index;
    private int next;

    @Setup(Level.Trial)
    public void setUp() throws IOException {
        dir = Files.createTempDirectory("fjord-raft-apply");
        LogConfig config = LogConfig.DEFAULT.withSegmentBytes(64 * 1024 * 1024).withRetentionBytes(256L * 1024 * 1024);
        logs = LogManager.open(dir, id -> config, System::currentTimeMillis);
        group = new PartitionGroup(1, logs, id -> config, new PartitionGroup.Listener() {
            @Override
            public void leaderReady(int no, long term) {}

            @Override
            public void leaderChanged(int no, int leaderNodeId) {}
        });
        group.restore(null, 0, dir.resolve("group-state"));
        group.reconcile(index -> -1);
        UUID topicId = UUID.randomUUID();
        int records = Math.max(1, batchBytes / 1024);
        headers = new byte[partitions][];
        batches = new ByteBuffer[partitions];
        for (int p = 0; p < partitions; p++) {
            RecordBatchBuilder b = new RecordBatchBuilder();
            byte[] value = new byte[1024];
            for (int r = 0; r < records; r++) {
                value[r % value.length] = (byte) r;
                b.add(null, value, System.currentTimeMillis());
            }
            headers[p] = GroupEntry.append(topicId, new PartitionId("bench", p));
            batches[p] = b.build();
        }
    }

    @Benchmark
    public byte[] writeAndApply() {
        int p = next;
        next = (next + 1) % headers.length;
        ByteBuffer header = ByteBuffer.wrap(headers[p]);
        group.write(++index, 1, header, batches[p].duplicate(), true);
        byte[] reply = group.apply(index, 1, header);
        if ((index & 1023) == 0) {
            group.housekeeping(System.currentTimeMillis()); // retention keeps the disk bounded
        }
        return reply;
    }

    @TearDown(Level.Trial)
    public void tearDown() throws IOException {
        group.close();
        logs.close();
        try (var paths = Files.walk(dir)) {
            paths.sorted(java.util.Comparator.reverseOrder())
                    .forEach(p -> p.toFile().delete());
        }
    }
}
