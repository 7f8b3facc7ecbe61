package io.fjord.cli;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
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
}
