package io.fjord.bench;

import io.fjord.storage.RecordBatchBuilder;
import io.fjord.storage.RecordBatchHeader;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.List;
import java.util.stream.Stream;

/** Batches and scratch directories shared by the storage benchmarks. */
final class BenchData {
    /** Value size of every record: the "1 KiB records". */
    static final int RECORD_VALUE_BYTES = 1024;

    /**
     * Where benchmarks put their logs: a fresh directory is made under this parent, which must be on
     * the disk being measured, not a tmpfs. The environment variable is there because JMH's forked
     * JVMs inherit the environment, whereas a -jvmArgsAppend on the command line would replace the
     * benchmarks' own JVM flags.
     */
    static final String DIR_PROPERTY = "fjord.bench.dir";

    static final String DIR_ENV = "FJORD_BENCH_DIR";

    private BenchData() {}

    /**
     * One batch of as many 1 KiB records (null key, value of {@link #RECORD_VALUE_BYTES}) as fit in
     * {@code batchBytesMax}, copied into a direct buffer as a network read would leave it. Direct,
     * so that a write does not first copy the batch into the JDK's temporary direct buffer.
     */
    static ByteBuffer directBatch(int batchBytesMax, long timestampMs) {
        // Each record costs its value plus about 10 bytes of varints; build, and drop records until it fits.
        int records = Math.max(1, (batchBytesMax - RecordBatchHeader.HEADER_SIZE) / (RECORD_VALUE_BYTES + 10));
        ByteBuffer heap = build(records, timestampMs);
        while (heap.remaining() > batchBytesMax && records > 1) {
            records--;
            heap = build(records, timestampMs);
        }
        if (heap.remaining() > batchBytesMax) {
            throw new IllegalArgumentException("a batch of one record does not fit in " + batchBytesMax + " bytes");
        }
        ByteBuffer direct = ByteBuffer.allocateDirect(heap.remaining());
        direct.put(heap).flip();
        return direct;
    }

    private static ByteBuffer build(int records, long timestampMs) {
        RecordBatchBuilder b = new RecordBatchBuilder();
        byte[] value = new byte[RECORD_VALUE_BYTES];
        for (int i = 0; i < records; i++) {
            // Varied bytes, so nothing downstream (a compressing file system, say) gets a free ride.
            for (int j = 0; j < value.length; j++) {
                value[j] = (byte) (i * 31 + j * 7);
            }
            b.add(null, value, timestampMs);
        }
        return b.build();
    }

    /** A new empty directory under {@link #DIR_PROPERTY}, else {@link #DIR_ENV}, else java.io.tmpdir. */
    static Path newScratchDir(String prefix) throws IOException {
        String fromEnv = System.getenv(DIR_ENV);
        String fallback = fromEnv != null && !fromEnv.isEmpty() ? fromEnv : System.getProperty("java.io.tmpdir");
        Path parent = Path.of(System.getProperty(DIR_PROPERTY, fallback));
        Files.createDirectories(parent);
        return Files.createTempDirectory(parent, prefix);
    }

    static void deleteRecursively(Path root) throws IOException {
        if (root == null || !Files.exists(root)) {
            return;
        }
        List<Path> paths;
        try (Stream<Path> walk = Files.walk(root)) {
            paths = walk.sorted(Comparator.reverseOrder()).toList();
        }
        for (Path p : paths) {
            Files.deleteIfExists(p);
        }
    }

    /** Offset after the last batch of the whole batches in {@code buf} from 0 to its limit. */
    static long nextOffsetAfter(ByteBuffer buf) {
        int pos = 0;
        int last = -1;
        while (pos < buf.limit()) {
            last = pos;
            pos += RecordBatchHeader.sizeBytes(buf, pos);
        }
        if (last < 0 || pos != buf.limit()) {
            throw new IllegalStateException(
                    "buffer does not hold whole batches: ends at " + pos + " of " + buf.limit());
        }
        return RecordBatchHeader.baseOffset(buf, last) + RecordBatchHeader.lastOffsetDelta(buf, last) + 1;
    }
}
