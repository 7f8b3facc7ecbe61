package io.fjord.storage;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.concurrent.atomic.AtomicInteger;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One segment of a partition log: the file {@code <20-digit base offset>.log} holding RecordBatch
 * v2 batches back to back, exactly as they go over the wire (see {@link RecordBatchHeader}), with
 * offsets assigned and dense: batch {@code i+1} starts at {@code lastOffset(i) + 1}. Beside it
 * live its {@link OffsetIndex} and {@link TimeIndex}.
 *
 * <p>Threads: the log's owner appends, rolls, truncates and recovers. Readers on any thread call
 * {@link #retain()} before reading and {@link #release()} after; the file is closed and deleted
 * only when the last holder releases after {@link #markDeleted()}, so a reader that holds a slice
 * can always finish reading it.
 */
final class Segment {
    private static final Logger log = LoggerFactory.getLogger(Segment.class);

    static final String LOG_SUFFIX = ".log";
    static final String DELETED_SUFFIX = ".deleted";
    private static final java.util.concurrent.atomic.AtomicLong DELETIONS =
            new java.util.concurrent.atomic.AtomicLong();
    private static final int SCAN_BUFFER_BYTES = 1024 * 1024;

    final long baseOffset;
    private Path dir;
    private Path logPath;
    private final FileChannel channel;
    final OffsetIndex offsetIndex;
    final TimeIndex timeIndex;
    private final AtomicInteger refs = new AtomicInteger(1);
    private volatile boolean deleted;

    // Writer-owned state.
    private int sizeBytes;
    private long nextOffset;
    private long maxTimestampMs = Long.MIN_VALUE;
    private int bytesSinceIndexEntry;
    private final long createdMs;
    private final int indexIntervalBytes;
    private boolean sealed;

    private Segment(Path dir, long baseOffset, FileChannel channel, int indexIntervalBytes, long createdMs) {
        this.dir = dir;
        this.indexIntervalBytes = indexIntervalBytes;
        this.baseOffset = baseOffset;
        this.logPath = dir.resolve(fileName(baseOffset, LOG_SUFFIX));
        this.channel = channel;
        this.offsetIndex = new OffsetIndex(OffsetIndex.pathFor(dir, baseOffset), baseOffset);
        this.timeIndex = new TimeIndex(TimeIndex.pathFor(dir, baseOffset), baseOffset);
        this.nextOffset = baseOffset;
        this.createdMs = createdMs;
    }

    static String fileName(long baseOffset, String suffix) {
        return String.format("%020d%s", baseOffset, suffix);
    }

    /** Parses the base offset from a {@code .log} file name, or -1 if it is not one. */
    static long parseBaseOffset(String fileName) {
        if (!fileName.endsWith(LOG_SUFFIX) || fileName.length() != 20 + LOG_SUFFIX.length()) {
            return -1;
        }
        try {
            return Long.parseLong(fileName.substring(0, 20));
        } catch (NumberFormatException e) {
            return -1;
        }
    }

    /** Creates a new, empty active segment. */
    static Segment create(Path dir, long baseOffset, LogConfig config, long nowMs) {
        Path path = dir.resolve(fileName(baseOffset, LOG_SUFFIX));
        FileChannel ch;
        try {
            ch = FileChannel.open(
                    path, StandardOpenOption.CREATE_NEW, StandardOpenOption.READ, StandardOpenOption.WRITE);
        } catch (IOException e) {
            throw new StorageException("cannot create segment", path, e);
        }
        Segment s = new Segment(dir, baseOffset, ch, config.indexIntervalBytes(), nowMs);
        try {
            s.offsetIndex.openWritable(0, config.indexEntriesMax());
            s.timeIndex.openWritable(0, config.indexEntriesMax());
        } catch (StorageException e) {
            s.closeQuietly();
            try {
                s.deleteFiles();
            } catch (IOException suppressed) {
                e.addSuppressed(suppressed);
            }
            throw e;
        }
        return s;
    }

    /**
     * Opens an existing segment. A sealed segment (not the last of its log) trusts its indexes
     * unless they fail a sanity check; the last segment of a cleanly closed log does the same and
     * then reads forward from its last index entry to find its end. With {@code recover} set, the
     * whole segment is scanned and validated and its indexes rebuilt; a torn or corrupt tail is
     * truncated.
     */
    static Segment open(
            Path dir,
            long baseOffset,
            LogConfig config,
            boolean active,
            boolean recover,
            long nowMs,
            RecoveryStats stats) {
        Path path = dir.resolve(fileName(baseOffset, LOG_SUFFIX));
        FileChannel ch;
        try {
            ch = FileChannel.open(path, StandardOpenOption.READ, StandardOpenOption.WRITE);
        } catch (IOException e) {
            throw new StorageException("cannot open segment", path, e);
        }
        Segment s = new Segment(dir, baseOffset, ch, config.indexIntervalBytes(), nowMs);
        try {
            s.load(config, active, recover, stats);
        } catch (RuntimeException e) {
            s.closeQuietly();
            throw e;
        }
        return s;
    }

    private void load(LogConfig config, boolean active, boolean recover, RecoveryStats stats) {
        long fileSize = size();
        if (fileSize > Integer.MAX_VALUE) {
            throw new CorruptSegmentException(logPath, baseOffset, fileSize, "segment larger than 2 GiB");
        }
        if (!recover && loadTrusted(fileSize)) {
            if (active) {
                offsetIndex.openWritable(offsetIndex.entries(), config.indexEntriesMax());
                timeIndex.openWritable(timeIndex.entries(), config.indexEntriesMax());
            } else {
                sealed = true;
            }
            return;
        }
        offsetIndex.openWritable(0, config.indexEntriesMax());
        timeIndex.openWritable(0, config.indexEntriesMax());
        maxTimestampMs = Long.MIN_VALUE;
        bytesSinceIndexEntry = 0;
        recoverByScan(config, fileSize, stats);
        if (!active) {
            seal();
            forceAll();
        }
    }

    /** Loads a cleanly closed segment from its indexes; false when they cannot be trusted. */
    private boolean loadTrusted(long fileSize) {
        if (!Files.exists(offsetIndex.path) || !Files.exists(timeIndex.path)) {
            log.warn("{}: index file missing; rebuilding it", logPath);
            return false;
        }
        try {
            offsetIndex.openSealed(baseOffset);
            timeIndex.openSealed(baseOffset);
            if (!offsetIndex.looksValid(fileSize) || !timeIndex.looksValid()) {
                log.warn("{}: index failed its sanity check; rebuilding it", logPath);
                return false;
            }
            sizeBytes = (int) fileSize;
            int n = offsetIndex.entries();
            int from = n == 0 ? 0 : offsetIndex.position(n - 1);
            long fromOffset = n == 0 ? baseOffset : baseOffset + offsetIndex.relativeOffset(n - 1);
            scanHeadersToEnd(from, fromOffset);
            bytesSinceIndexEntry = sizeBytes - from;
            maxTimestampMs = Math.max(maxTimestampMs, timeIndex.lastTimestamp());
            return true;
        } catch (CorruptSegmentException e) {
            log.warn("{}: {}; scanning the whole segment", logPath, e.getMessage());
            return false;
        }
    }

    /**
     * From a known batch boundary, follows batch lengths to the end of the file to learn the next
     * offset and timestamps. No CRC check: used only on cleanly closed segments.
     */
    private void scanHeadersToEnd(int fromPosition, long fromOffset) {
        ByteBuffer header = ByteBuffer.allocate(RecordBatchHeader.HEADER_SIZE);
        long pos = fromPosition;
        long next = fromOffset;
        while (pos < sizeBytes) {
            readFully(header.clear(), pos);
            long base = RecordBatchHeader.baseOffset(header, 0);
            int size = RecordBatchHeader.sizeBytes(header, 0);
            if (base != next || size < RecordBatchHeader.HEADER_SIZE || pos + size > sizeBytes) {
                throw new CorruptSegmentException(
                        logPath, baseOffset, pos, "batch chain broken in a cleanly closed segment");
            }
            next = base + RecordBatchHeader.lastOffsetDelta(header, 0) + 1;
            maxTimestampMs = Math.max(maxTimestampMs, RecordBatchHeader.maxTimestamp(header, 0));
            pos += size;
        }
        nextOffset = next;
    }

    /**
     * Reads every batch, checking length, magic, record count, CRC and that offsets are dense;
     * rebuilds both indexes; truncates the file at the first bad batch.
     */
    private void recoverByScan(LogConfig config, long fileSize, RecoveryStats stats) {
        ByteBuffer buf = ByteBuffer.allocateDirect(SCAN_BUFFER_BYTES);
        long bufFilePos = 0; // file position of buf[0]
        long pos = 0; // file position of the next batch
        long next = baseOffset;
        String stopReason = null;
        buf.limit(0);
        while (pos < fileSize) {
            int at = (int) (pos - bufFilePos);
            if (buf.limit() - at < RecordBatchHeader.LOG_OVERHEAD
                    || buf.limit() - at < RecordBatchHeader.sizeBytes(buf, at)) {
                // Refill so that the buffer starts at this batch.
                int needed = RecordBatchHeader.LOG_OVERHEAD;
                if (buf.limit() - at >= RecordBatchHeader.LOG_OVERHEAD) {
                    needed = RecordBatchHeader.sizeBytes(buf, at);
                }
                if (needed > buf.capacity()) {
                    if (needed > fileSize - pos) {
                        stopReason = "torn batch";
                        break;
                    }
                    if (needed > Math.max(config.maxBatchBytes(), config.segmentBytes())) {
                        stopReason = "batch length " + needed + " is implausible";
                        break;
                    }
                    buf = ByteBuffer.allocateDirect(needed);
                }
                buf.clear();
                bufFilePos = pos;
                int read = readUpTo(buf, pos, fileSize);
                buf.flip();
                at = 0;
                if (read < RecordBatchHeader.LOG_OVERHEAD) {
                    stopReason = "torn batch header";
                    break;
                }
                if (RecordBatchHeader.sizeBytes(buf, 0) > buf.capacity()) {
                    // The refill was for the length field only; the batch needs a larger buffer.
                    continue;
                }
            }
            int limit = buf.limit();
            BatchError err = RecordBatchHeader.validateStored(buf, at, limit, Integer.MAX_VALUE);
            if (err != null) {
                stopReason = err == BatchError.TRUNCATED ? "torn batch" : "invalid batch: " + err;
                break;
            }
            long base = RecordBatchHeader.baseOffset(buf, at);
            if (base != next) {
                stopReason = "batch base offset " + base + " where " + next + " was expected";
                break;
            }
            int size = RecordBatchHeader.sizeBytes(buf, at);
            long maxTs = RecordBatchHeader.maxTimestamp(buf, at);
            indexBatch(base, (int) pos, size, maxTs);
            next = base + RecordBatchHeader.lastOffsetDelta(buf, at) + 1;
            maxTimestampMs = Math.max(maxTimestampMs, maxTs);
            pos += size;
        }
        stats.bytesScanned += pos;
        if (stopReason != null) {
            log.warn(
                    "{}: truncating {} bytes at position {} in recovery: {}", logPath, fileSize - pos, pos, stopReason);
            stats.bytesTruncated += fileSize - pos;
            try {
                channel.truncate(pos);
                channel.force(true);
            } catch (IOException e) {
                throw new StorageException("cannot truncate torn tail", logPath, e);
            }
        }
        sizeBytes = (int) pos;
        nextOffset = next;
    }

    /** Adds index entries for a batch appended at {@code position}. Writer only. */
    private void indexBatch(long batchBaseOffset, int position, int batchSizeBytes, long batchMaxTimestampMs) {
        if (position > 0 && bytesSinceIndexEntry >= indexIntervalBytes) {
            offsetIndex.ensureRoom(1);
            timeIndex.ensureRoom(1);
            if (offsetIndex.hasRoom()) {
                offsetIndex.append(batchBaseOffset, position);
                if (maxTimestampMs != Long.MIN_VALUE) {
                    timeIndex.maybeAppend(maxTimestampMs, batchBaseOffset);
                }
            }
            bytesSinceIndexEntry = 0;
        }
        bytesSinceIndexEntry += batchSizeBytes;
    }

    /**
     * Writes batches whose offsets are already assigned (from {@code firstOffset}, dense) at the end
     * of the file. On an I/O error the file is cut back to its previous size, nothing changes, and a
     * {@link StorageException} is thrown.
     */
    void append(ByteBuffer batches, int batchCount, long lastOffset) {
        assert !sealed : "append to a sealed segment";
        int start = batches.position();
        int limit = batches.limit();
        int length = limit - start;
        long filePos = sizeBytes;
        // Room for the index entries first: a full disk must fail before any data is written.
        offsetIndex.ensureRoom(batchCount);
        timeIndex.ensureRoom(batchCount);
        try {
            while (batches.hasRemaining()) {
                filePos += channel.write(batches, filePos);
            }
        } catch (IOException e) {
            try {
                channel.truncate(sizeBytes);
            } catch (IOException suppressed) {
                e.addSuppressed(suppressed);
            }
            batches.position(start);
            throw new StorageException("append failed at position " + sizeBytes, logPath, e);
        }
        int pos = start;
        while (pos < limit) {
            long base = RecordBatchHeader.baseOffset(batches, pos);
            int size = RecordBatchHeader.sizeBytes(batches, pos);
            long maxTs = RecordBatchHeader.maxTimestamp(batches, pos);
            indexBatch(base, sizeBytes + (pos - start), size, maxTs);
            maxTimestampMs = Math.max(maxTimestampMs, maxTs);
            pos += size;
        }
        sizeBytes += length;
        nextOffset = lastOffset + 1;
    }

    /** True when appending {@code bytes} more would need a new segment. Writer only. */
    boolean shouldRoll(LogConfig config, int bytes, long lastOffset, long nowMs) {
        if (sizeBytes == 0) {
            return false;
        }
        return (long) sizeBytes + bytes > config.segmentBytes()
                || nowMs - createdMs >= config.segmentMs()
                || lastOffset - baseOffset > Integer.MAX_VALUE
                || offsetIndex.isFull()
                || timeIndex.isFull();
    }

    /**
     * Finds the file position of the batch that contains {@code offset}, scanning headers forward
     * from the nearest index entry; never looks at or past {@code endPosition}.
     *
     * @return the position, or -1 when no batch below {@code endPosition} contains the offset
     */
    int findBatchPosition(long offset, int endPosition, ByteBuffer header) {
        long pos = offsetIndex.floorPosition(offset);
        while (pos < endPosition) {
            readFully(header.clear(), pos);
            long base = RecordBatchHeader.baseOffset(header, 0);
            long last = base + RecordBatchHeader.lastOffsetDelta(header, 0);
            if (offset <= last) {
                return (int) pos;
            }
            pos += checkedSize(header, pos);
        }
        return -1;
    }

    /** Whether every batch from {@code position} to {@code endPosition} holds no record. */
    boolean noRecordsFrom(int position, int endPosition, ByteBuffer header) {
        long pos = position;
        while (pos < endPosition) {
            readFully(header.clear(), pos);
            if (RecordBatchHeader.recordsCount(header, 0) != 0) {
                return false;
            }
            pos += checkedSize(header, pos);
        }
        return true;
    }

    /**
     * The end of a read that starts at the batch at {@code startPosition}: whole batches only, at
     * most {@code maxBytes} unless the first batch alone is larger, never past {@code endPosition}.
     */
    int readEndPosition(int startPosition, int maxBytes, int endPosition, ByteBuffer header) {
        long want = Math.min((long) startPosition + maxBytes, endPosition);
        readFully(header.clear(), startPosition);
        long firstEnd = startPosition + (long) checkedSize(header, startPosition);
        if (firstEnd >= want) {
            return (int) firstEnd;
        }
        // Jump to the last indexed batch boundary that fits, then walk headers.
        long pos = Math.max(firstEnd, offsetIndex.floorPositionByPosition(want));
        while (pos < want) {
            readFully(header.clear(), pos);
            long batchEnd = pos + checkedSize(header, pos);
            if (batchEnd > want) {
                break;
            }
            pos = batchEnd;
        }
        return (int) pos;
    }

    /**
     * The first batch whose maxTimestamp is at or after {@code targetMs}, below {@code endPosition}.
     *
     * @return {base offset, max timestamp} of that batch, or null when none
     */
    long[] findByTimestamp(long targetMs, int endPosition, ByteBuffer header) {
        long startOffset = timeIndex.scanStartOffset(targetMs);
        long pos = offsetIndex.floorPosition(startOffset);
        while (pos < endPosition) {
            readFully(header.clear(), pos);
            long maxTs = RecordBatchHeader.maxTimestamp(header, 0);
            if (maxTs >= targetMs) {
                return new long[] {RecordBatchHeader.baseOffset(header, 0), maxTs};
            }
            pos += checkedSize(header, pos);
        }
        return null;
    }

    /**
     * Cuts the segment so that it ends before the batch containing {@code offset} (or at the file end
     * if no batch contains it), reopening its indexes for appends. Writer only.
     *
     * @return the new next offset of the segment
     */
    long truncateTo(long offset, LogConfig config) {
        ByteBuffer header = ByteBuffer.allocate(RecordBatchHeader.HEADER_SIZE);
        int pos = findBatchPosition(offset, sizeBytes, header);
        if (pos < 0) {
            return nextOffset;
        }
        readFully(header.clear(), pos);
        long newNext = RecordBatchHeader.baseOffset(header, 0);
        try {
            channel.truncate(pos);
        } catch (IOException e) {
            throw new StorageException("cannot truncate segment", logPath, e);
        }
        offsetIndex.truncateToOffset(newNext);
        timeIndex.truncateToOffset(newNext);
        if (sealed) {
            offsetIndex.openWritable(offsetIndex.entries(), config.indexEntriesMax());
            timeIndex.openWritable(timeIndex.entries(), config.indexEntriesMax());
            sealed = false;
        }
        sizeBytes = pos;
        nextOffset = newNext;
        // Timestamps of the cut batches no longer count: recompute from the time index and the
        // batch headers after its last entry.
        maxTimestampMs = timeIndex.lastTimestamp();
        int tn = timeIndex.entries();
        long from = tn == 0 ? 0 : offsetIndex.floorPosition(baseOffset + timeIndex.relativeOffset(tn - 1));
        while (from < sizeBytes) {
            readFully(header.clear(), from);
            maxTimestampMs = Math.max(maxTimestampMs, RecordBatchHeader.maxTimestamp(header, 0));
            from += RecordBatchHeader.sizeBytes(header, 0);
        }
        int n = offsetIndex.entries();
        bytesSinceIndexEntry = sizeBytes - (n == 0 ? 0 : offsetIndex.position(n - 1));
        return newNext;
    }

    /**
     * fdatasync of the log file only. The indexes are not forced here: while the segment is active
     * they are derived data (an unclean open scans the last segment and rebuilds them), and {@link
     * #seal()} forces them before the segment stops being the last. Forcing them here cost two
     * extra msyncs, each a write and a device cache flush, on every fsync of the log.
     */
    void flush() {
        try {
            channel.force(false);
        } catch (IOException e) {
            throw new StorageException("fsync failed", logPath, e);
        }
    }

    /**
     * Makes the segment read-only: a final time-index entry carrying its largest timestamp, index
     * files trimmed. Writer only. Nothing is fsynced here: {@link #forceAll()} does that, on the
     * log's background thread after a roll, so the writer never waits for the disk at a roll.
     */
    void seal() {
        if (sealed) {
            return;
        }
        if (maxTimestampMs != Long.MIN_VALUE && nextOffset > baseOffset) {
            timeIndex.maybeAppend(maxTimestampMs, nextOffset);
        }
        offsetIndex.seal();
        timeIndex.seal();
        sealed = true;
    }

    /** fsyncs the log file and both index files. Any thread, on a retained sealed segment. */
    void forceAll() {
        flush();
        offsetIndex.force();
        timeIndex.force();
    }

    boolean isSealed() {
        return sealed;
    }

    int sizeBytes() {
        return sizeBytes;
    }

    long nextOffset() {
        return nextOffset;
    }

    long maxTimestampMs() {
        return maxTimestampMs;
    }

    FileChannel channel() {
        return channel;
    }

    Path logPath() {
        return logPath;
    }

    /** Takes a reference for a reader; false when the segment is already deleted. */
    boolean retain() {
        while (true) {
            int n = refs.get();
            if (n <= 0) {
                return false;
            }
            if (refs.compareAndSet(n, n + 1)) {
                return true;
            }
        }
    }

    /** Drops a reference; the last one closes the channel and deletes the files if marked. */
    void release() {
        int n = refs.decrementAndGet();
        assert n >= 0 : "segment released more often than retained";
        if (n == 0) {
            closeQuietly();
            if (deleted) {
                try {
                    deleteFiles();
                } catch (IOException e) {
                    log.warn("{}: cannot delete segment files: {}", logPath, e.toString());
                }
            }
        }
    }

    /**
     * Removes the segment from the log: renames its files with a {@code .deleted} suffix at once (a
     * restart removes such leftovers) and deletes them when the last reader releases. Writer only.
     */
    void markDeleted() {
        markDeleted(Runnable::run);
    }

    /** As {@link #markDeleted()}, but the owner's reference (maybe the unlink) goes on {@code releaseOn}. */
    void markDeleted(java.util.concurrent.Executor releaseOn) {
        deleted = true;
        try {
            // Unique names: a truncation can retire two generations of the same base offset while
            // a reader still holds the older one.
            String suffix = "." + DELETIONS.incrementAndGet() + DELETED_SUFFIX;
            Path target = logPath.resolveSibling(logPath.getFileName() + suffix);
            Files.move(logPath, target);
            logPath = target;
            for (MappedIndex index : new MappedIndex[] {offsetIndex, timeIndex}) {
                if (Files.exists(index.path)) {
                    index.renameTo(index.path.resolveSibling(index.path.getFileName() + suffix));
                }
            }
        } catch (IOException e) {
            log.warn("{}: cannot rename deleted segment: {}", logPath, e.toString());
        }
        releaseOn.execute(this::release);
    }

    boolean isDeleted() {
        return deleted;
    }

    /** Closes the files after the log is closed; the owner's reference goes. */
    void close() {
        release();
    }

    private void deleteFiles() throws IOException {
        Files.deleteIfExists(logPath);
        offsetIndex.delete();
        timeIndex.delete();
    }

    void closeQuietly() {
        try {
            channel.close();
        } catch (IOException e) {
            log.warn("{}: close failed: {}", logPath, e.toString());
        }
    }

    Path dir() {
        return dir;
    }

    /**
     * Moves this (sealed, cleaned) segment's files from its staging directory into {@code target},
     * replacing the files of the segment it supersedes there: the log first (atomically), then the
     * indexes, whose old versions the caller has already removed. Any file version left by a crash
     * in between is whole, and a missing index is rebuilt at open.
     */
    void moveInto(Path target) throws IOException {
        Path moved = target.resolve(logPath.getFileName());
        Files.move(
                logPath,
                moved,
                java.nio.file.StandardCopyOption.REPLACE_EXISTING,
                java.nio.file.StandardCopyOption.ATOMIC_MOVE);
        logPath = moved;
        dir = target;
        // From here the segment is in place; an index that does not follow is rebuilt at open.
        for (MappedIndex index : new MappedIndex[] {offsetIndex, timeIndex}) {
            try {
                index.renameTo(target.resolve(index.path.getFileName()));
            } catch (IOException e) {
                log.warn(
                        "{}: cannot move index {} in place; the next open rebuilds it: {}",
                        logPath,
                        index.path,
                        e.toString());
            }
        }
    }

    /**
     * The size of the batch whose header was just read at {@code position}, checked: a header
     * that cannot be a batch means the index pointed into the middle of one (a damaged index
     * file), and the reader gets a storage error for this partition, not a loop or a crash.
     */
    private int checkedSize(ByteBuffer header, long position) {
        int size = RecordBatchHeader.sizeBytes(header, 0);
        if (size < RecordBatchHeader.HEADER_SIZE || RecordBatchHeader.magic(header, 0) != RecordBatchHeader.MAGIC_V2) {
            throw new CorruptSegmentException(logPath, baseOffset, position, "no batch header here (damaged index?)");
        }
        return size;
    }

    /** Positional read of exactly {@code dst.remaining()} bytes. */
    void readFully(ByteBuffer dst, long position) {
        if (position < 0) {
            throw new CorruptSegmentException(logPath, baseOffset, position, "negative position (damaged index?)");
        }
        long pos = position;
        try {
            while (dst.hasRemaining()) {
                int n = channel.read(dst, pos);
                if (n < 0) {
                    throw new CorruptSegmentException(logPath, baseOffset, pos, "unexpected end of file");
                }
                pos += n;
            }
        } catch (IOException e) {
            throw new StorageException("read failed at position " + position, logPath, e);
        }
        dst.flip();
    }

    private int readUpTo(ByteBuffer dst, long position, long fileSize) {
        long pos = position;
        try {
            while (dst.hasRemaining() && pos < fileSize) {
                int n = channel.read(dst, pos);
                if (n < 0) {
                    break;
                }
                pos += n;
            }
        } catch (IOException e) {
            throw new StorageException("read failed at position " + position, logPath, e);
        }
        return (int) (pos - position);
    }

    private long size() {
        try {
            return channel.size();
        } catch (IOException e) {
            throw new StorageException("cannot stat segment", logPath, e);
        }
    }

    @Override
    public String toString() {
        return "Segment[" + logPath + ", next=" + nextOffset + ", size=" + sizeBytes + "]";
    }

    /** What opening a log had to do; for logs and tests. */
    static final class RecoveryStats {
        long bytesScanned;
        long bytesTruncated;
    }
}
