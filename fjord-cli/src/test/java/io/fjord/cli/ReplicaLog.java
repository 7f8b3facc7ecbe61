package io.fjord.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.function.IntFunction;
import java.util.stream.Stream;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.common.record.MemoryRecords;
import org.apache.kafka.common.record.MutableRecordBatch;

/**
 * A partition replica's batches read straight from a node's data directory ({@code
 * <node dir>/<topic>-<partition>/<20-digit base offset>.log}, RecordBatch v2 back to back), so a
 * test can compare replicas without asking the nodes. A batch cut short at the end of the last
 * segment (being written, or torn) is left out.
 *
 * @param batches each batch's bytes, in offset order, CRC checked
 * @param endOffset the offset after the last whole batch (0 when empty)
 */
record ReplicaLog(List<byte[]> batches, long endOffset) {
    private static final int LOG_OVERHEAD = 12; // baseOffset (8) + batchLength (4)

    static ReplicaLog read(Path nodeDir, String topic, int partition) throws IOException {
        Path dir = nodeDir.resolve(topic + "-" + partition);
        List<byte[]> batches = new ArrayList<>();
        long end = 0;
        if (!Files.isDirectory(dir)) {
            return new ReplicaLog(batches, end);
        }
        List<Path> segments;
        try (Stream<Path> files = Files.list(dir)) {
            segments = files.filter(f -> f.getFileName().toString().matches("[0-9]{20}\\.log"))
                    .sorted()
                    .toList();
        }
        for (Path segment : segments) {
            ByteBuffer buf = ByteBuffer.wrap(Files.readAllBytes(segment));
            while (buf.remaining() >= LOG_OVERHEAD) {
                int size = LOG_OVERHEAD + buf.getInt(buf.position() + 8);
                if (size <= LOG_OVERHEAD || size > buf.remaining()) {
                    break;
                }
                ByteBuffer slice = buf.slice(buf.position(), size);
                MutableRecordBatch batch = MemoryRecords.readableRecords(slice)
                        .batches()
                        .iterator()
                        .next();
                batch.ensureValid();
                if (batch.baseOffset() != end) {
                    throw new IOException(segment + ": batch at offset " + batch.baseOffset() + ", expected " + end);
                }
                byte[] bytes = new byte[size];
                slice.get(0, bytes);
                batches.add(bytes);
                end = batch.lastOffset() + 1;
                buf.position(buf.position() + size);
            }
        }
        return new ReplicaLog(batches, end);
    }

    /**
     * Replicas agree: every node's files for each partition hold the same batches, byte for byte,
     * up to the high watermark (what the consumer read, {@code logs}). Followers apply
     * asynchronously, so each node is given until a deadline (60 s, polled) to reach the high
     * watermark; no produce may run then, so the files are not changing under the reader.
     */
    static void assertReplicasAgree(
            String topic,
            int partitions,
            Map<Integer, List<ConsumerRecord<String, String>>> logs,
            List<Integer> ids,
            IntFunction<Path> nodeDir)
            throws IOException, InterruptedException {
        for (int p = 0; p < partitions; p++) {
            long hw = logs.get(p).size();
            Map<Integer, ReplicaLog> replicas = new HashMap<>();
            long deadlineNs = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
            while (true) {
                for (int id : ids) {
                    replicas.put(id, read(nodeDir.apply(id), topic, p));
                }
                if (replicas.values().stream().allMatch(r -> r.endOffset() >= hw)) {
                    break;
                }
                if (System.nanoTime() > deadlineNs) {
                    throw new AssertionError("timed out after 60 s waiting for every replica of partition " + p
                            + " at the high watermark " + hw);
                }
                Thread.sleep(20); // between polls
            }
            ReplicaLog first = replicas.get(ids.getFirst());
            for (int id : ids) {
                ReplicaLog r = replicas.get(id);
                assertThat(r.endOffset()).as("node %d, partition %d", id, p).isEqualTo(hw);
                assertThat(r.batches()).hasSameSizeAs(first.batches());
                for (int b = 0; b < r.batches().size(); b++) {
                    assertThat(Arrays.equals(r.batches().get(b), first.batches().get(b)))
                            .as("node %d, partition %d, batch %d equals node %d's", id, p, b, ids.getFirst())
                            .isTrue();
                }
            }
            System.out.printf(
                    "[replicas] partition %d: %d batches identical on nodes %s%n",
                    p, first.batches().size(), ids);
        }
    }
}
