package io.fjord.storage;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.FileTime;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * The log cleaner of logs with {@code cleanup.policy=compact} (docs/architecture.md,
 * "Compaction"): keeps the latest record of every key and drops older ones, keyless records and,
 * once old enough, tombstones. Offsets never change; the batches of a cleaned segment still form a
 * dense chain (a run of batches that lost every record becomes one empty batch spanning them).
 *
 * <p>A pass has two halves. {@link #prepare} reads the cleanable segments, maps each key to its
 * latest offset, and writes each changed segment's cleaned copy (indexes built, all fsynced) into a
 * staging directory; it runs on any thread but the log's writer, one pass per log at a time. {@link
 * PartitionLog#swapCleaned} then puts the copies in place on the writer; or {@link Pass#discard}
 * drops them.
 *
 * <p>Compressed and control batches are kept as written: their records are not read.
 */
public final class LogCleaner {
    static final String STAGING_DIR = ".cleaning";
    /** A pass maps at most about this many key bytes; it cleans the segments mapped by then. */
    static final long MAX_MAPPED_KEY_BYTES = 64L << 20;

    private static final int READ_CHUNK_BYTES = 1 << 20;

    private LogCleaner() {}

    /** What one pass wrote: cleaned copies of some segments, in order, ready to swap in. */
    public static final class Pass {
        final List<Segment> sources;
        final List<Segment> cleaned;
        final long cleanedTo;
        final long bytesRead;

        private Pass(List<Segment> sources, List<Segment> cleaned, long cleanedTo, long bytesRead) {
            this.sources = sources;
            this.cleaned = cleaned;
            this.cleanedTo = cleanedTo;
            this.bytesRead = bytesRead;
        }

        /** Segments the pass rewrote (those where it removed something). */
        public int segments() {
            return cleaned.size();
        }

        /** The offset the pass cleaned up to (exclusive). */
        public long cleanedTo() {
            return cleanedTo;
        }

        /** Bytes of log the pass read. */
        public long bytesRead() {
            return bytesRead;
        }

        /** Deletes the staged copies of a pass that is not swapped in. */
        public void discard() {
            cleaned.forEach(LogCleaner::discard);
        }
    }

    /**
     * Cleans what is due in {@code log}: the sealed segments wholly below {@code bound} (and older
     * than {@code min.compaction.lag.ms}), when the bytes written there since the last pass are at
     * least {@code min.cleanable.dirty.ratio} of them or a dirty segment is older than {@code
     * max.compaction.lag.ms}.
     *
     * @return the pass to swap in, or null when nothing is due
     * @throws StorageException when reading the log or writing the copies fails (nothing changes)
     */
    public static Pass prepare(PartitionLog log, long bound, long nowMs) {
        LogConfig config = log.config();
        LogConfig.Cleanup c = config.cleanup();
        if (!c.compact()) {
            return null;
        }
        long newest = c.minCompactionLagMs() == 0 ? Long.MAX_VALUE : nowMs - c.minCompactionLagMs();
        List<Segment> candidates = log.retainCleanable(bound, newest);
        try {
            return prepare(log.dir(), log.cleanerOffset(), candidates, config, nowMs);
        } catch (IOException e) {
            throw new StorageException("log cleaning failed", log.dir(), e);
        } finally {
            candidates.forEach(Segment::release);
        }
    }

    private static Pass prepare(Path dir, long cleanedBefore, List<Segment> candidates, LogConfig config, long nowMs)
            throws IOException {
        LogConfig.Cleanup c = config.cleanup();
        long total = 0;
        long dirty = 0;
        boolean overdue = false;
        for (Segment s : candidates) {
            total += s.sizeBytes();
            if (s.nextOffset() > cleanedBefore) {
                dirty += s.sizeBytes();
                overdue |= nowMs - s.maxTimestampMs() >= c.maxCompactionLagMs();
            }
        }
        if (dirty == 0 || (!overdue && dirty < c.minCleanableDirtyRatio() * total)) {
            return null;
        }

        // 1. Each key's latest offset, and the last batch of each idempotent producer.
        Map<ByteBuffer, Long> latest = new HashMap<>();
        Map<Long, Long> lastBatchOfProducer = new HashMap<>();
        long[] keyBytes = {0};
        int mapped = 0;
        for (Segment s : candidates) {
            forEachBatch(s, (buf, pos) -> {
                long producerId = RecordBatchHeader.producerId(buf, pos);
                if (producerId >= 0) {
                    lastBatchOfProducer.put(producerId, RecordBatchHeader.baseOffset(buf, pos));
                }
                if (!readable(buf, pos)) {
                    return;
                }
                RecordBatchReader.forEachPlacedRecord(buf, pos, (offset, ts, key, value, start, end) -> {
                    if (key != null && latest.replace(key, offset) == null) {
                        byte[] copy = new byte[key.remaining()];
                        key.duplicate().get(copy);
                        latest.put(ByteBuffer.wrap(copy), offset);
                        keyBytes[0] += copy.length + 64; // and the map's own objects, roughly
                    }
                });
            });
            mapped++;
            if (keyBytes[0] >= MAX_MAPPED_KEY_BYTES) {
                break;
            }
        }
        List<Segment> sources = candidates.subList(0, mapped);
        long cleanedTo = sources.getLast().nextOffset();

        // 2. The cleaned copy of every segment where something goes.
        Path staging = dir.resolve(STAGING_DIR);
        if (!Files.isDirectory(staging)) {
            Files.createDirectory(staging); // not createDirectories: a deleted partition's directory stays gone
        }
        List<Segment> from = new ArrayList<>();
        List<Segment> to = new ArrayList<>();
        long read = 0;
        try {
            for (Segment s : sources) {
                Segment cleaned = rewrite(s, staging, latest, lastBatchOfProducer, config, nowMs);
                read += s.sizeBytes();
                if (cleaned != null) {
                    from.add(s);
                    to.add(cleaned);
                }
            }
        } catch (IOException | RuntimeException e) {
            to.forEach(LogCleaner::discard);
            throw e;
        }
        return new Pass(from, to, cleanedTo, read);
    }

    /** The segment's cleaned copy in {@code staging}, sealed and on disk; null when nothing goes. */
    private static Segment rewrite(
            Segment src,
            Path staging,
            Map<ByteBuffer, Long> latest,
            Map<Long, Long> lastBatchOfProducer,
            LogConfig config,
            long nowMs)
            throws IOException {
        FileTime written = Files.getLastModifiedTime(src.logPath());
        boolean dropTombstones = nowMs - written.toMillis() >= config.cleanup().deleteRetentionMs();
        Path out = staging.resolve(Segment.fileName(src.baseOffset, Segment.LOG_SUFFIX));
        for (String suffix : new String[] {Segment.LOG_SUFFIX, ".index", ".timeindex"}) {
            Files.deleteIfExists(staging.resolve(Segment.fileName(src.baseOffset, suffix)));
        }
        boolean[] changed = {false};
        try (Output w = new Output(out)) {
            EmptyRun run = new EmptyRun();
            List<int[]> kept = new ArrayList<>();
            forEachBatch(src, (buf, pos) -> {
                int size = RecordBatchHeader.sizeBytes(buf, pos);
                if (!readable(buf, pos)) {
                    run.writeTo(w);
                    w.write(buf, pos, size);
                    return;
                }
                kept.clear();
                int[] records = {0};
                RecordBatchReader.forEachPlacedRecord(buf, pos, (offset, ts, key, value, start, end) -> {
                    records[0]++;
                    Long last = key == null ? null : latest.get(key);
                    if (last != null && last == offset && !(value == null && dropTombstones)) {
                        kept.add(new int[] {start, end});
                    }
                });
                if (kept.size() == records[0]) {
                    run.writeTo(w);
                    w.write(buf, pos, size);
                    return;
                }
                changed[0] = true;
                long producerId = RecordBatchHeader.producerId(buf, pos);
                Long lastOfProducer = producerId < 0 ? null : lastBatchOfProducer.get(producerId);
                if (!kept.isEmpty()
                        || (lastOfProducer != null && lastOfProducer == RecordBatchHeader.baseOffset(buf, pos))) {
                    run.writeTo(w);
                    w.write(filtered(buf, pos, kept));
                } else {
                    run.add(buf, pos);
                }
            });
            run.writeTo(w);
        }
        if (!changed[0]) {
            Files.deleteIfExists(out);
            return null;
        }
        Files.setLastModifiedTime(out, written); // tombstones' age counts from the original write
        Segment cleaned =
                Segment.open(staging, src.baseOffset, config, false, true, nowMs, new Segment.RecoveryStats());
        if (cleaned.nextOffset() != src.nextOffset()) {
            discard(cleaned);
            throw new IllegalStateException("cleaned copy of " + src + " ends at " + cleaned.nextOffset());
        }
        return cleaned;
    }

    /** Whether the cleaner reads a batch's records (else it keeps the batch as it is). */
    private static boolean readable(ByteBuffer buf, int pos) {
        return RecordBatchHeader.compression(buf, pos) == 0 && !RecordBatchHeader.isControl(buf, pos);
    }

    /** The batch at {@code pos} with only the records at {@code kept} (maybe none): same header otherwise. */
    private static ByteBuffer filtered(ByteBuffer buf, int pos, List<int[]> kept) {
        int bytes = 0;
        for (int[] r : kept) {
            bytes += r[1] - r[0];
        }
        ByteBuffer b = ByteBuffer.allocate(RecordBatchHeader.HEADER_SIZE + bytes);
        b.put(buf.duplicate().limit(pos + RecordBatchHeader.HEADER_SIZE).position(pos));
        for (int[] r : kept) {
            b.put(buf.duplicate().limit(r[1]).position(r[0]));
        }
        b.flip();
        b.putInt(RecordBatchHeader.LENGTH_OFFSET, b.limit() - RecordBatchHeader.LOG_OVERHEAD);
        b.putInt(RecordBatchHeader.RECORDS_COUNT_OFFSET, kept.size());
        b.putInt(RecordBatchHeader.CRC_OFFSET, (int) RecordBatchHeader.computeCrc(b, 0, b.limit()));
        return b;
    }

    /** Consecutive batches that lost every record, written as one empty batch spanning their offsets. */
    private static final class EmptyRun {
        private long base = -1;
        private long last;
        private int leaderEpoch;
        private long baseTimestamp;
        private long maxTimestamp;

        void add(ByteBuffer buf, int pos) {
            if (base < 0) {
                base = RecordBatchHeader.baseOffset(buf, pos);
                leaderEpoch = buf.getInt(pos + RecordBatchHeader.PARTITION_LEADER_EPOCH_OFFSET);
                baseTimestamp = buf.getLong(pos + RecordBatchHeader.BASE_TIMESTAMP_OFFSET);
                maxTimestamp = Long.MIN_VALUE;
            }
            last = RecordBatchHeader.baseOffset(buf, pos) + RecordBatchHeader.lastOffsetDelta(buf, pos);
            maxTimestamp = Math.max(maxTimestamp, RecordBatchHeader.maxTimestamp(buf, pos));
        }

        void writeTo(Output w) throws IOException {
            if (base < 0) {
                return;
            }
            ByteBuffer b = ByteBuffer.allocate(RecordBatchHeader.HEADER_SIZE);
            b.putLong(base);
            b.putInt(RecordBatchHeader.HEADER_SIZE - RecordBatchHeader.LOG_OVERHEAD);
            b.putInt(leaderEpoch);
            b.put(RecordBatchHeader.MAGIC_V2);
            b.putInt(0); // crc, below
            b.putShort((short) 0); // attributes: uncompressed, create time
            b.putInt(Math.toIntExact(last - base));
            b.putLong(baseTimestamp);
            b.putLong(maxTimestamp);
            b.putLong(-1L); // no producer
            b.putShort((short) -1);
            b.putInt(-1);
            b.putInt(0); // no records
            b.flip();
            b.putInt(RecordBatchHeader.CRC_OFFSET, (int) RecordBatchHeader.computeCrc(b, 0, b.limit()));
            w.write(b);
            base = -1;
        }
    }

    @FunctionalInterface
    private interface BatchVisitor {
        void batch(ByteBuffer buf, int pos) throws IOException;
    }

    /** Every batch of a (sealed, retained) segment in order, read a chunk at a time. */
    private static void forEachBatch(Segment s, BatchVisitor visitor) throws IOException {
        int size = s.sizeBytes();
        ByteBuffer buf = ByteBuffer.allocate(Math.min(READ_CHUNK_BYTES, Math.max(size, 1)));
        buf.limit(0);
        long bufAt = 0; // file position of buf[0]
        long pos = 0;
        while (pos < size) {
            int at = (int) (pos - bufAt);
            int have = buf.limit() - at;
            int need = have >= RecordBatchHeader.LOG_OVERHEAD
                    ? RecordBatchHeader.sizeBytes(buf, at)
                    : RecordBatchHeader.LOG_OVERHEAD;
            if (need < RecordBatchHeader.LOG_OVERHEAD
                    || (have >= RecordBatchHeader.LOG_OVERHEAD && need < RecordBatchHeader.HEADER_SIZE)
                    || need > size - pos) {
                throw new CorruptSegmentException(s.logPath(), s.baseOffset, pos, "bad batch length " + need);
            }
            if (have < need) {
                if (need > buf.capacity()) {
                    buf = ByteBuffer.allocate(need);
                }
                buf.clear().limit((int) Math.min(buf.capacity(), size - pos));
                s.readFully(buf, pos);
                bufAt = pos;
                continue;
            }
            visitor.batch(buf, at);
            pos += need;
        }
    }

    /** A staged segment file, written through a buffer and fsynced at close. */
    private static final class Output implements AutoCloseable {
        private final FileChannel channel;
        private final ByteBuffer buffer = ByteBuffer.allocateDirect(READ_CHUNK_BYTES);

        Output(Path path) throws IOException {
            channel = FileChannel.open(path, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE);
        }

        void write(ByteBuffer buf, int pos, int length) throws IOException {
            write(buf.duplicate().limit(pos + length).position(pos));
        }

        void write(ByteBuffer src) throws IOException {
            if (src.remaining() > buffer.remaining()) {
                drain();
            }
            if (src.remaining() > buffer.capacity()) {
                while (src.hasRemaining()) {
                    channel.write(src);
                }
                return;
            }
            buffer.put(src);
        }

        private void drain() throws IOException {
            buffer.flip();
            while (buffer.hasRemaining()) {
                channel.write(buffer);
            }
            buffer.clear();
        }

        @Override
        public void close() throws IOException {
            try (channel) {
                drain();
                channel.force(true);
            }
        }
    }

    /** Drops a staged segment and its files. */
    static void discard(Segment staged) {
        staged.markDeleted();
    }

    /** Removes what an interrupted pass left in a log directory. Called when the log opens. */
    static void deleteStaging(Path dir) {
        Path staging = dir.resolve(STAGING_DIR);
        if (!Files.isDirectory(staging)) {
            return;
        }
        try (DirectoryStream<Path> ds = Files.newDirectoryStream(staging)) {
            for (Path p : ds) {
                Files.deleteIfExists(p);
            }
            Files.deleteIfExists(staging);
        } catch (IOException e) {
            throw new StorageException("cannot remove the log cleaner's leftovers", staging, e);
        }
    }
}
