package io.fjord.bench;

import io.fjord.storage.LogConfig;
import io.fjord.storage.LogManager;
import io.fjord.storage.PartitionId;
import io.fjord.storage.PartitionLog;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import java.util.Properties;

/**
 * Start-up time of a {@link LogManager} over a large, cleanly shut-down data directory. Not JMH:
 * each measurement must be the first open in a fresh JVM, so bench/startup.sh runs this class once
 * per repetition.
 *
 * <pre>
 *  prepare DIR [PARTITIONS [PARTITION_BYTES [SEGMENT_BYTES]]]
 *      Fills DIR with PARTITIONS logs of PARTITION_BYTES each (1 MiB batches of 1 KiB records)
 *      and closes them cleanly. Does nothing when DIR already holds data of that layout, so the
 *      data can be reused across runs. Defaults: 10 partitions, 1 GiB each, 256 MiB segments.
 *  open DIR
 *      Opens the manager once and prints one line: open_ms=... partitions=... bytes=... clean=...
 * </pre>
 */
public final class StartupBenchmark {
    /** Written after the data is complete and closed; describes the layout. */
    static final String LAYOUT_FILE = "bench-layout.properties";

    static final int PARTITIONS_DEFAULT = 10;
    static final long PARTITION_BYTES_DEFAULT = 1024L * 1024 * 1024;
    static final int SEGMENT_BYTES_DEFAULT = 256 * 1024 * 1024;
    static final int BATCH_BYTES = 1024 * 1024;
    static final String TOPIC = "startup";

    private StartupBenchmark() {}

    public static void main(String[] args) throws IOException {
        if (args.length < 2) {
            usage();
            return;
        }
        Path dir = Path.of(args[1]);
        switch (args[0]) {
            case "prepare" ->
                prepare(
                        dir,
                        args.length > 2 ? Integer.parseInt(args[2]) : PARTITIONS_DEFAULT,
                        args.length > 3 ? Long.parseLong(args[3]) : PARTITION_BYTES_DEFAULT,
                        args.length > 4 ? Integer.parseInt(args[4]) : SEGMENT_BYTES_DEFAULT);
            case "open" -> open(dir);
            default -> usage();
        }
    }

    private static void usage() {
        System.err.println("usage: StartupBenchmark prepare DIR [PARTITIONS [PARTITION_BYTES [SEGMENT_BYTES]]]");
        System.err.println("       StartupBenchmark open DIR");
        System.exit(2);
    }

    static void prepare(Path dir, int partitions, long partitionBytes, int segmentBytes) throws IOException {
        Properties wanted = new Properties();
        wanted.setProperty("partitions", Integer.toString(partitions));
        wanted.setProperty("partitionBytes", Long.toString(partitionBytes));
        wanted.setProperty("segmentBytes", Integer.toString(segmentBytes));
        Path layoutPath = dir.resolve(LAYOUT_FILE);
        if (Files.exists(layoutPath)) {
            if (readLayout(dir).equals(wanted)) {
                System.out.println("prepare: reusing the data in " + dir);
                return;
            }
            throw new IllegalStateException(dir + " holds data of another layout; delete it first");
        }
        if (Files.isDirectory(dir)) {
            try (var entries = Files.list(dir)) {
                if (entries.findAny().isPresent()) {
                    // Never delete what we did not make: a half-made directory has no layout file either.
                    throw new IllegalStateException(dir + " is not empty and holds no " + LAYOUT_FILE);
                }
            }
        }
        LogConfig config = LogConfig.DEFAULT.withSegmentBytes(segmentBytes);
        ByteBuffer batch = BenchData.directBatch(BATCH_BYTES, System.currentTimeMillis());
        long startNs = System.nanoTime();
        long written = 0;
        try (LogManager manager = LogManager.open(dir, id -> config, System::currentTimeMillis)) {
            for (int p = 0; p < partitions; p++) {
                PartitionLog log = manager.getOrCreate(new PartitionId(TOPIC, p), config);
                while (log.sizeBytes() < partitionBytes) {
                    batch.clear();
                    log.append(batch);
                    written += batch.capacity();
                }
            }
        }
        double seconds = (System.nanoTime() - startNs) / 1e9;
        try (var out = Files.newBufferedWriter(layoutPath, StandardCharsets.UTF_8)) {
            wanted.store(out, "fjord StartupBenchmark data; safe to delete");
        }
        System.out.printf(
                Locale.ROOT,
                "prepare: wrote %d bytes in %d partitions in %.1f s (%.0f MB/s, including the fsync at each roll)%n",
                written,
                partitions,
                seconds,
                written / seconds / 1e6);
    }

    static void open(Path dir) {
        Properties layout = readLayout(dir);
        LogConfig config = LogConfig.DEFAULT.withSegmentBytes(Integer.parseInt(layout.getProperty("segmentBytes")));
        long startNs = System.nanoTime();
        LogManager manager = LogManager.open(dir, id -> config, System::currentTimeMillis);
        long openNs = System.nanoTime() - startNs;
        try (manager) {
            long bytes = 0;
            int segments = 0;
            boolean clean = true;
            for (PartitionLog log : manager.logs()) {
                bytes += log.sizeBytes();
                segments += log.segmentCount();
                clean &= log.recoveredCleanly() && log.recoveryBytesScanned() == 0;
            }
            int expected = Integer.parseInt(layout.getProperty("partitions"));
            if (manager.logs().size() != expected) {
                throw new IllegalStateException("opened " + manager.logs().size() + " logs, expected " + expected);
            }
            System.out.printf(
                    Locale.ROOT,
                    "open_ms=%.3f partitions=%d segments=%d bytes=%d clean=%b%n",
                    openNs / 1e6,
                    manager.logs().size(),
                    segments,
                    bytes,
                    clean);
        }
    }

    private static Properties readLayout(Path dir) {
        Properties p = new Properties();
        try (var in = Files.newBufferedReader(dir.resolve(LAYOUT_FILE), StandardCharsets.UTF_8)) {
            p.load(in);
        } catch (IOException e) {
            throw new IllegalStateException("no benchmark data in " + dir + " (run prepare first)", e);
        }
        return p;
    }
}
