package io.fjord.storage;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentSkipListMap;
import java.util.function.LongSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The log of one partition: an ordered run of {@link Segment}s in one directory, offsets dense
 * from the log start offset to the high watermark.
 *
 * <p>Files in the directory:
 *
 * <ul>
 *   <li>{@code <20-digit base offset>.log}, {@code .index}, {@code .timeindex}: the segments.
 *   <li>{@code .clean-shutdown}: written by {@link #close()}, removed (durably) by {@link #open};
 *       when present at open, recovery trusts the files and scans nothing.
 *   <li>{@code log-start-offset}: a {@link CheckpointFile}, written when {@link
 *       #advanceLogStartOffset} moves the start inside a segment (DeleteRecords).
 *   <li>{@code *.deleted}: segments that retention removed while a reader still held them; removed
 *       at the next open.
 * </ul>
 *
 * <p>Durability: every segment but the last is sealed (fsynced) before the next one is created, so
 * after a crash only the last segment can hold a torn or unflushed tail, and an unclean open
 * validates just that segment, batch by batch, truncating at the first bad batch. Data covered by
 * {@link #flush()} survives kill -9 and power loss; data not yet flushed survives kill -9 (it is in
 * the page cache) but may be lost with power; it never leaves a corrupt log.
 *
 * <p>Threads: <b>single writer</b>. {@link #append}, {@link #roll}, {@link #flush}, {@link
 * #maybeFlush}, {@link #truncateTo}, {@link #applyRetention}, {@link #advanceLogStartOffset} and
 * {@link #close} must be called by one owner thread at a time (in the broker: the partition's
 * event loop). {@link #read}, {@link #offsetForTimestamp}, {@link #highWatermark} and {@link
 * #logStartOffset} may be called from any thread without locks: they see the log up to the last
 * published high watermark, never a half-written batch.
 */
public final class PartitionLog implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(PartitionLog.class);

    static final String CLEAN_SHUTDOWN_FILE = ".clean-shutdown";
    static final String LOG_START_FILE = "log-start-offset";
    static final String RECOVERY_POINT_FILE = "recovery-point";
    /** Where the log cleaner's last pass ended (a {@link CheckpointFile}); for the dirty ratio. */
    static final String CLEANER_OFFSET_FILE = "cleaner-offset";

    /** What readers may see: published after each change by the writer. */
    private record End(long nextOffset, long activeBaseOffset, int activeSizeBytes) {}

    private final Path dir;
    private final LongSupplier clockMs;
    private final ConcurrentSkipListMap<Long, Segment> segments = new ConcurrentSkipListMap<>();
    private volatile LogConfig config;
    /** The high watermark: what readers see. */
    private volatile End end;
    /** The log end: where the next append goes; above {@link #end} when appends wait for commit. */
    private volatile End tail;

    private volatile long logStartOffset;
    /** Where the log cleaner's last pass ended: bytes above it are "dirty". */
    private volatile long cleanerOffset;

    private final java.util.concurrent.atomic.AtomicLong flushedOffset = new java.util.concurrent.atomic.AtomicLong();
    /** Every segment that ends at or below this offset is on disk; guarded by {@code durableLock}. */
    private volatile long recoveryPoint;

    private final Object durableLock = new Object();
    /** Bumped by each truncation: background fsyncs queued before it must not move the recovery point. */
    private volatile int truncations;

    private final java.util.concurrent.Executor background;
    private final boolean recoveredCleanly;
    private final Segment.RecoveryStats recoveryStats;

    // Writer-owned.
    private Segment active;
    /** Ends after each batch appended ahead of the high watermark, oldest first. */
    private final java.util.ArrayDeque<End> ahead = new java.util.ArrayDeque<>();

    private long unflushedBatches;
    private long lastFlushMs;
    private volatile boolean closed;

    private PartitionLog(
            Path dir,
            LogConfig config,
            LongSupplier clockMs,
            boolean clean,
            Segment.RecoveryStats stats,
            java.util.concurrent.Executor background) {
        this.dir = dir;
        this.background = background;
        this.config = config;
        this.clockMs = clockMs;
        this.recoveredCleanly = clean;
        this.recoveryStats = stats;
    }

    /**
     * Opens (creating if needed) the log in {@code dir}, recovering it if it was not closed cleanly.
     * Rolled segments are made durable synchronously, on the writer's thread.
     */
    public static PartitionLog open(Path dir, LogConfig config, LongSupplier clockMs) {
        return open(dir, config, clockMs, Runnable::run);
    }

    /**
     * Opens the log; {@code background} fsyncs rolled segments and deletes retired files, so the
     * writer never waits for the disk at a roll. It must run tasks in submission order (one
     * thread).
     */
    public static PartitionLog open(
            Path dir, LogConfig config, LongSupplier clockMs, java.util.concurrent.Executor background) {
        try {
            Files.createDirectories(dir);
        } catch (IOException e) {
            throw new StorageException("cannot create log directory", dir, e);
        }
        Path marker = dir.resolve(CLEAN_SHUTDOWN_FILE);
        long nowMs = clockMs.getAsLong();
        List<Long> bases = listSegments(dir);
        boolean clean = bases.isEmpty() || Files.exists(marker);
        long[] startCheckpoint = CheckpointFile.read(dir.resolve(LOG_START_FILE));
        long[] recoveryCheckpoint = CheckpointFile.read(dir.resolve(RECOVERY_POINT_FILE));
        long recoveryPointOnDisk =
                recoveryCheckpoint != null && recoveryCheckpoint.length == 1 ? recoveryCheckpoint[0] : -1;
        Segment.RecoveryStats stats = new Segment.RecoveryStats();
        PartitionLog pl = new PartitionLog(dir, config, clockMs, clean, stats, background);
        try {
            if (bases.isEmpty()) {
                long base = startCheckpoint != null && startCheckpoint.length == 1 ? startCheckpoint[0] : 0;
                Segment s = Segment.create(dir, base, config, nowMs);
                pl.segments.put(base, s);
            } else {
                pl.openSegments(bases, config, clean, Math.max(0, recoveryPointOnDisk), nowMs, stats);
            }
            pl.checkContinuity();
        } catch (RuntimeException e) {
            pl.segments.values().forEach(Segment::closeQuietly);
            throw e;
        }
        pl.active = pl.segments.lastEntry().getValue();
        long start = pl.segments.firstKey();
        if (startCheckpoint != null && startCheckpoint.length == 1) {
            start = Math.max(start, Math.min(startCheckpoint[0], pl.active.nextOffset()));
            if (startCheckpoint[0] > pl.active.nextOffset()) {
                // DeleteRecords went past data that did not survive the crash: the log restarts
                // empty at its new end, and later offsets must not jump back to the old start.
                CheckpointFile.write(dir.resolve(LOG_START_FILE), start);
            }
        }
        pl.logStartOffset = start;
        long[] cleaned = CheckpointFile.read(dir.resolve(CLEANER_OFFSET_FILE));
        pl.cleanerOffset = cleaned != null && cleaned.length == 1
                ? Math.min(Math.max(start, cleaned[0]), pl.active.nextOffset()) // a truncation may have cut below it
                : start;
        LogCleaner.deleteStaging(dir);
        pl.publish();
        if (!clean) {
            pl.active.flush(); // what recovery kept may sit only in the page cache
        }
        pl.flushedOffset.set(pl.active.nextOffset());
        // Everything below the active segment is on disk now (sealed at close, or forced by recovery).
        pl.recoveryPoint = pl.active.baseOffset;
        if (recoveryPointOnDisk != pl.recoveryPoint) {
            CheckpointFile.write(dir.resolve(RECOVERY_POINT_FILE), pl.recoveryPoint);
        }
        pl.lastFlushMs = nowMs;
        try {
            Files.deleteIfExists(marker);
            CheckpointFile.fsyncDirectory(dir);
        } catch (IOException e) {
            pl.segments.values().forEach(Segment::closeQuietly);
            throw new StorageException("cannot remove clean-shutdown marker", marker, e);
        }
        if (!clean) {
            log.info(
                    "{}: recovered after unclean shutdown, scanned {} bytes, truncated {} bytes; offsets [{}, {})",
                    dir,
                    stats.bytesScanned,
                    stats.bytesTruncated,
                    pl.logStartOffset,
                    pl.end.nextOffset);
        }
        return pl;
    }

    /**
     * Opens existing segments. After a clean shutdown nothing is scanned. Otherwise every segment
     * from the one holding the recovery point on is validated batch by batch: those are the only
     * ones that may not have reached the disk. A torn segment that is not the last ends the log
     * there: later segments hold only data that was never made durable, and they could not follow
     * on densely anyway.
     */
    private void openSegments(
            List<Long> bases,
            LogConfig config,
            boolean clean,
            long recoveryPointOnDisk,
            long nowMs,
            Segment.RecoveryStats stats) {
        int scanFrom = bases.size() - 1;
        if (!clean) {
            scanFrom = 0;
            for (int i = 0; i < bases.size(); i++) {
                if (bases.get(i) <= recoveryPointOnDisk) {
                    scanFrom = i;
                }
            }
        }
        for (int i = 0; i < bases.size(); i++) {
            boolean last = i == bases.size() - 1;
            boolean recover = !clean && i >= scanFrom;
            Segment s = Segment.open(dir, bases.get(i), config, last, recover, nowMs, stats);
            segments.put(s.baseOffset, s);
            if (recover && !last && s.nextOffset() != bases.get(i + 1)) {
                log.warn(
                        "{}: segment {} ends at offset {} after recovery; dropping the {} later segment(s), which were"
                                + " never made durable",
                        dir,
                        s.baseOffset,
                        s.nextOffset(),
                        bases.size() - 1 - i);
                for (int j = i + 1; j < bases.size(); j++) {
                    deleteSegmentFiles(bases.get(j));
                }
                // Reopen as the active segment (its files are valid and sealed now).
                segments.remove(s.baseOffset);
                s.closeQuietly();
                segments.put(s.baseOffset, Segment.open(dir, s.baseOffset, config, true, false, nowMs, stats));
                return;
            }
        }
    }

    private void deleteSegmentFiles(long base) {
        for (String suffix : new String[] {Segment.LOG_SUFFIX, ".index", ".timeindex"}) {
            Path p = dir.resolve(Segment.fileName(base, suffix));
            try {
                Files.deleteIfExists(p);
            } catch (IOException e) {
                throw new StorageException("cannot delete segment file", p, e);
            }
        }
    }

    /** Base offsets of the {@code .log} files in {@code dir}, sorted; removes leftovers on the way. */
    private static List<Long> listSegments(Path dir) {
        List<Long> bases = new ArrayList<>();
        List<Path> orphans = new ArrayList<>();
        try (DirectoryStream<Path> ds = Files.newDirectoryStream(dir)) {
            for (Path p : ds) {
                String name = p.getFileName().toString();
                long base = Segment.parseBaseOffset(name);
                if (base >= 0) {
                    bases.add(base);
                } else if (name.endsWith(Segment.DELETED_SUFFIX) || name.endsWith(".tmp")) {
                    orphans.add(p);
                }
            }
            for (Path p : orphans) {
                Files.deleteIfExists(p);
            }
        } catch (IOException e) {
            throw new StorageException("cannot list log directory", dir, e);
        }
        bases.sort(null);
        return bases;
    }

    private void checkContinuity() {
        Segment prev = null;
        for (Segment s : segments.values()) {
            if (prev != null && prev.nextOffset() != s.baseOffset) {
                throw new CorruptSegmentException(
                        prev.logPath(),
                        prev.baseOffset,
                        prev.sizeBytes(),
                        "segment ends at offset " + prev.nextOffset() + " but the next segment starts at "
                                + s.baseOffset);
            }
            prev = s;
        }
    }

    /** Publishes the log end after a change; the high watermark follows unless appends wait for commit. */
    private void publish() {
        tail = new End(active.nextOffset(), active.baseOffset, active.sizeBytes());
        if (end == null || end.nextOffset >= tail.nextOffset) {
            end = tail;
        }
    }

    /**
     * Validates and appends record batches (v2, back to back from the buffer's position to its
     * limit). Assigns offsets by rewriting each batch's baseOffset <em>in the given buffer</em>
     * (which must be writable, unless every batch already carries the offset it gets); the CRC does
     * not cover it, so it stays valid. Either every batch is appended or none is.
     *
     * @throws StorageException when the disk fails; nothing of the append is visible then
     */
    public AppendResult append(ByteBuffer batches) {
        AppendResult r = appendAhead(batches);
        if (r instanceof AppendResult.Appended a) {
            commitTo(a.lastOffset() + 1);
        }
        return r;
    }

    /**
     * Appends like {@link #append} but leaves the batches above the high watermark: readers see them
     * only after {@link #commitTo} covers them, and {@link #truncateTo} may still take them back (a
     * replicated log writes ahead of its commit). Writer only.
     */
    public AppendResult appendAhead(ByteBuffer batches) {
        return appendAhead(batches, false);
    }

    /**
     * As {@link #appendAhead}, for batches copied from another replica's log: they may have been
     * compacted there (fewer records than their offset range; see {@link
     * RecordBatchHeader#validateStored}). Writer only.
     */
    public AppendResult appendStoredAhead(ByteBuffer batches) {
        return appendAhead(batches, true);
    }

    private AppendResult appendAhead(ByteBuffer batches, boolean stored) {
        ensureOpen();
        LogConfig cfg = config;
        int start = batches.position();
        int limit = batches.limit();
        if (start == limit) {
            return new AppendResult.Rejected(BatchError.EMPTY, 0);
        }
        int count = 0;
        long records = 0;
        for (int pos = start; pos < limit; count++) {
            BatchError err = stored
                    ? RecordBatchHeader.validateStored(batches, pos, limit, cfg.maxBatchBytes())
                    : RecordBatchHeader.validate(batches, pos, limit, cfg.maxBatchBytes());
            if (err != null) {
                return new AppendResult.Rejected(err, count);
            }
            records += RecordBatchHeader.lastOffsetDelta(batches, pos) + 1L; // offsets the batch takes
            pos += RecordBatchHeader.sizeBytes(batches, pos);
        }
        long nowMs = clockMs.getAsLong();
        long first = active.nextOffset();
        long last = first + records - 1;
        if (active.isSealed() || active.shouldRoll(cfg, limit - start, last, nowMs)) {
            roll(nowMs);
        }
        long next = first;
        long maxTs = Long.MIN_VALUE;
        for (int pos = start; pos < limit; ) {
            if (RecordBatchHeader.baseOffset(batches, pos) != next) {
                // (a read-only buffer is fine when its offsets are already the ones assigned)
                batches.putLong(pos + RecordBatchHeader.BASE_OFFSET_OFFSET, next);
            }
            next += RecordBatchHeader.lastOffsetDelta(batches, pos) + 1;
            maxTs = Math.max(maxTs, RecordBatchHeader.maxTimestamp(batches, pos));
            pos += RecordBatchHeader.sizeBytes(batches, pos);
        }
        assert next == last + 1;
        active.append(batches, count, last);
        ahead.addLast(new End(active.nextOffset(), active.baseOffset, active.sizeBytes()));
        publish();
        unflushedBatches += count;
        if (unflushedBatches >= cfg.flushIntervalBatches() || nowMs - lastFlushMs >= cfg.flushIntervalMs()) {
            flush(nowMs);
        }
        return new AppendResult.Appended(first, last, maxTs, count);
    }

    /**
     * Reads whole batches starting with the one that contains {@code offset}: at most {@code
     * maxBytes}, but always at least one whole batch, and never across a segment boundary. Lock-free;
     * any thread. The caller must close the returned slice.
     */
    public ReadResult read(long offset, int maxBytes) {
        return read(offset, maxBytes, false, false);
    }

    /**
     * Reads like {@link #read}, for a consumer: where the batches from {@code offset} to the end of a
     * sealed segment hold no record at all (the cleaner left only empty batches there), the read
     * moves on to the next segment. Clients such as librdkafka take a fetch that yields no record
     * for one that was too small, and give up after a few. Any thread.
     */
    public ReadResult readRecords(long offset, int maxBytes) {
        return read(offset, maxBytes, false, true);
    }

    /**
     * Reads like {@link #read} but up to the log end, including batches appended ahead of the high
     * watermark (a replication leader sends those to its followers). Any thread.
     */
    public ReadResult readAhead(long offset, int maxBytes) {
        return read(offset, maxBytes, true, false);
    }

    private ReadResult read(long offset, int maxBytes, boolean toLogEnd, boolean skipEmpty) {
        ByteBuffer header = ByteBuffer.allocate(RecordBatchHeader.HEADER_SIZE);
        while (true) {
            End e = toLogEnd ? tail : end;
            long start = logStartOffset;
            if (offset < start || offset > e.nextOffset) {
                return new ReadResult.OffsetOutOfRange(offset, start, e.nextOffset);
            }
            if (offset == e.nextOffset) {
                return LogSlice.empty(start, e.nextOffset);
            }
            Map.Entry<Long, Segment> entry = segments.floorEntry(offset);
            if (entry == null) {
                continue; // the segment was deleted after we read the start offset; look again
            }
            Segment seg = entry.getValue();
            if (!seg.retain()) {
                continue;
            }
            try {
                int endPos = seg.baseOffset == e.activeBaseOffset ? e.activeSizeBytes : seg.sizeBytes();
                int pos = seg.findBatchPosition(offset, endPos, header);
                if (pos < 0) {
                    throw new CorruptSegmentException(
                            seg.logPath(), seg.baseOffset, endPos, "no batch holds offset " + offset);
                }
                long firstBatchOffset = RecordBatchHeader.baseOffset(header, 0);
                if (skipEmpty
                        && RecordBatchHeader.recordsCount(header, 0) == 0
                        && seg.baseOffset != e.activeBaseOffset
                        && seg.nextOffset() < e.nextOffset
                        && seg.noRecordsFrom(pos, endPos, header)) {
                    offset = seg.nextOffset(); // nothing but empty batches to the segment's end
                    seg.release();
                    continue;
                }
                int endRead = seg.readEndPosition(pos, maxBytes, endPos, header);
                return new LogSlice(seg, pos, endRead - pos, firstBatchOffset, start, e.nextOffset);
            } catch (RuntimeException ex) {
                seg.release();
                throw ex;
            }
        }
    }

    /** A batch found by timestamp: its base offset and its maxTimestamp. */
    public record TimestampOffset(long offset, long timestampMs) {}

    /**
     * The first batch, at or above the log start offset, whose maxTimestamp is at or after {@code
     * targetMs} (Kafka's ListOffsets by timestamp, at batch granularity). Lock-free; any thread.
     */
    public Optional<TimestampOffset> offsetForTimestamp(long targetMs) {
        ByteBuffer header = ByteBuffer.allocate(RecordBatchHeader.HEADER_SIZE);
        End e = end;
        long start = logStartOffset;
        Map.Entry<Long, Segment> firstEntry = segments.floorEntry(start);
        Long from = firstEntry == null ? segments.firstKey() : firstEntry.getKey();
        for (Segment seg : segments.tailMap(from).values()) {
            if (seg.baseOffset >= e.nextOffset) {
                break;
            }
            boolean activeAtSnapshot = seg.baseOffset == e.activeBaseOffset;
            if (!activeAtSnapshot && seg.maxTimestampMs() < targetMs) {
                continue;
            }
            if (!seg.retain()) {
                continue;
            }
            try {
                int endPos = activeAtSnapshot ? e.activeSizeBytes : seg.sizeBytes();
                long[] found = seg.findByTimestamp(targetMs, endPos, header);
                if (found != null) {
                    return Optional.of(new TimestampOffset(Math.max(found[0], start), found[1]));
                }
            } finally {
                seg.release();
            }
        }
        return Optional.empty();
    }

    /** Seals the active segment and starts a new one, unless the active segment is empty. Writer only. */
    public void roll() {
        ensureOpen();
        if (active.sizeBytes() > 0) {
            roll(clockMs.getAsLong());
        }
    }

    private void roll(long nowMs) {
        Segment old = active;
        old.seal();
        Segment s = Segment.create(dir, old.nextOffset(), config, nowMs);
        segments.put(s.baseOffset, s);
        active = s;
        publish(); // the high watermark may stay in the old segment while appends wait for commit
        makeDurableInBackground(old);
        log.debug("{}: rolled to new segment at offset {}", dir, s.baseOffset);
    }

    /** Queues the fsync of a sealed segment; once done, the recovery point moves past it. */
    private void makeDurableInBackground(Segment sealed) {
        long end = sealed.nextOffset();
        int epoch = truncations;
        if (!sealed.retain()) {
            return;
        }
        background.execute(() -> {
            try {
                sealed.forceAll();
                advanceRecoveryPoint(end, epoch);
            } catch (RuntimeException e) {
                log.error("{}: cannot make segment {} durable: {}", dir, sealed.baseOffset, e.getMessage());
            } finally {
                sealed.release();
            }
        });
    }

    private void advanceRecoveryPoint(long offset, int epoch) {
        synchronized (durableLock) {
            if (epoch != truncations || offset <= recoveryPoint || closed && !Files.isDirectory(dir)) {
                return;
            }
            recoveryPoint = offset;
            flushedOffset.accumulateAndGet(offset, Math::max);
            CheckpointFile.write(dir.resolve(RECOVERY_POINT_FILE), offset);
        }
    }

    /** Lowers the recovery point (after a truncation below it), durably. */
    private void lowerRecoveryPoint(long offset) {
        synchronized (durableLock) {
            truncations++;
            if (offset < recoveryPoint) {
                recoveryPoint = offset;
                CheckpointFile.write(dir.resolve(RECOVERY_POINT_FILE), offset);
            }
        }
    }

    /** Segments that may not be on disk yet: from the one holding the recovery point on. */
    private java.util.Collection<Segment> notYetDurable() {
        return fromSegmentHolding(recoveryPoint).values();
    }

    /** The segments from the one holding {@code offset} on (all of them when it lies before the first). */
    private java.util.NavigableMap<Long, Segment> fromSegmentHolding(long offset) {
        Long from = segments.floorKey(offset);
        return from == null ? segments : segments.tailMap(from, true);
    }

    /**
     * fsyncs everything appended below {@code offset}; any thread, and the writer goes on appending
     * meanwhile (it may be fsynced too). Returns once it is durable. For checkpoints that must not
     * hold up the writer or the thread that commits.
     */
    public void makeDurable(long offset) {
        if (closed) {
            return; // closing forced everything (or the log was deleted)
        }
        int epoch = truncations;
        long from = flushedOffset.get();
        if (from >= offset) {
            return;
        }
        for (Segment seg : fromSegmentHolding(from).headMap(offset, false).values()) {
            if (!seg.retain()) {
                continue; // deleted by retention meanwhile: nothing left to make durable
            }
            try {
                seg.flush();
            } catch (StorageException e) {
                if (!closed) {
                    throw e;
                }
                return; // closed meanwhile: closing forced everything
            } finally {
                seg.release();
            }
        }
        synchronized (durableLock) {
            if (epoch == truncations) { // else a cut below offset happened meanwhile: leave the mark
                flushedOffset.accumulateAndGet(offset, Math::max);
            }
        }
    }

    /** fsyncs everything appended so far. Writer only. */
    public void flush() {
        ensureOpen();
        flush(clockMs.getAsLong());
    }

    private void flush(long nowMs) {
        long upTo = active.nextOffset();
        for (Segment seg : notYetDurable()) {
            if (seg != active) {
                seg.forceAll(); // rolled, its background fsync not done yet
            }
        }
        active.flush();
        flushedOffset.accumulateAndGet(upTo, Math::max);
        unflushedBatches = 0;
        lastFlushMs = nowMs;
    }

    /** Flushes if the time-based flush policy says it is due. Writer only; call it periodically. */
    public void maybeFlush(long nowMs) {
        ensureOpen();
        if (unflushedBatches > 0 && nowMs - lastFlushMs >= config.flushIntervalMs()) {
            flush(nowMs);
        }
    }

    /**
     * Removes every batch from the one containing {@code offset} on (all of it, if the offset falls
     * inside a batch). Writer only. Readers that hold slices past the new end may see short reads.
     *
     * @return the new high watermark
     */
    public long truncateTo(long offset) {
        ensureOpen();
        if (offset >= tail.nextOffset) {
            return tail.nextOffset;
        }
        long nowMs = clockMs.getAsLong();
        if (offset <= segments.firstKey()) {
            // Everything goes: start over with an empty segment at the requested offset.
            startOver(Math.max(0, offset), nowMs);
        } else {
            Segment holder = segments.floorEntry(offset).getValue();
            // Hide the removed range from readers before touching files.
            ByteBuffer header = ByteBuffer.allocate(RecordBatchHeader.HEADER_SIZE);
            int pos = holder.findBatchPosition(offset, holder.sizeBytes(), header);
            long newEnd = pos < 0 ? holder.nextOffset() : RecordBatchHeader.baseOffset(header, 0);
            End cut = new End(newEnd, holder.baseOffset, pos < 0 ? holder.sizeBytes() : pos);
            if (end.nextOffset >= newEnd) {
                end = cut;
                ahead.clear();
            } else {
                while (!ahead.isEmpty() && ahead.peekLast().nextOffset > newEnd) {
                    ahead.removeLast();
                }
            }
            Iterator<Segment> after =
                    segments.tailMap(holder.baseOffset, false).values().iterator();
            while (after.hasNext()) {
                Segment s = after.next();
                after.remove();
                s.markDeleted();
            }
            holder.truncateTo(offset, config);
            active = holder;
            if (logStartOffset > holder.nextOffset()) {
                // The cut batch straddled the log start (DeleteRecords inside it): the log is empty.
                logStartOffset = holder.nextOffset();
                CheckpointFile.write(dir.resolve(LOG_START_FILE), logStartOffset);
            }
        }
        publish();
        cleanerOffset = Math.min(cleanerOffset, active.nextOffset());
        flushedOffset.accumulateAndGet(active.nextOffset(), Math::min);
        lowerRecoveryPoint(active.baseOffset);
        return active.nextOffset();
    }

    /**
     * Drops every batch: the log restarts, empty, at {@code offset}, which may lie above the old end
     * (a replica told that the records before it are gone everywhere). Writer only.
     */
    public void restartAt(long offset) {
        ensureOpen();
        if (offset < 0) {
            throw new IllegalArgumentException("negative offset " + offset);
        }
        startOver(offset, clockMs.getAsLong());
        publish();
        end = tail;
        flushedOffset.set(offset);
        lowerRecoveryPoint(offset);
        advanceRecoveryPoint(offset, truncations);
    }

    private void startOver(long base, long nowMs) {
        end = new End(Math.min(end.nextOffset, base), -1, 0);
        ahead.clear();
        List<Segment> all = new ArrayList<>(segments.values());
        segments.clear();
        all.forEach(Segment::markDeleted);
        Segment s = Segment.create(dir, base, config, nowMs);
        segments.put(base, s);
        active = s;
        logStartOffset = base;
        cleanerOffset = base;
        CheckpointFile.write(dir.resolve(LOG_START_FILE), base);
    }

    /**
     * Deletes whole segments that retention no longer keeps: those whose newest timestamp is older
     * than {@code retentionMs}, and the oldest ones while the log, without them, is still at least
     * {@code retentionBytes}. The active segment goes too when it is entirely expired (it is rolled
     * first). The log start offset advances to the first remaining segment. Writer only.
     *
     * @return the number of segments deleted
     */
    public int applyRetention(long nowMs) {
        ensureOpen();
        LogConfig cfg = config;
        int deleted = 0;
        if (!cfg.cleanup().delete()) {
            return 0; // cleanup.policy=compact: the cleaner removes old records, not retention
        }
        if (cfg.retentionMs() >= 0) {
            long cutoffMs = nowMs - cfg.retentionMs();
            // A wholly expired log would otherwise keep its active segment forever: roll it so it can go.
            if (active.sizeBytes() > 0 && active.maxTimestampMs() < cutoffMs && allSealedExpired(cutoffMs)) {
                roll(nowMs);
            }
            while (segments.size() > 1) {
                Segment oldest = segments.firstEntry().getValue();
                if (oldest.maxTimestampMs() >= cutoffMs) {
                    break;
                }
                deleteOldest();
                deleted++;
            }
        }
        if (cfg.retentionBytes() >= 0) {
            long total = sizeBytes();
            while (segments.size() > 1) {
                Segment oldest = segments.firstEntry().getValue();
                if (total - oldest.sizeBytes() < cfg.retentionBytes()) {
                    break;
                }
                total -= oldest.sizeBytes();
                deleteOldest();
                deleted++;
            }
        }
        return deleted;
    }

    private boolean allSealedExpired(long cutoffMs) {
        for (Segment s : segments.values()) {
            if (s != active && s.maxTimestampMs() >= cutoffMs) {
                return false;
            }
        }
        return true;
    }

    private void deleteOldest() {
        Segment oldest = segments.firstEntry().getValue();
        Segment next = segments.higherEntry(oldest.baseOffset).getValue();
        if (logStartOffset < next.baseOffset) {
            logStartOffset = next.baseOffset; // readers see out-of-range before the file goes
        }
        segments.remove(oldest.baseOffset);
        oldest.markDeleted(background); // the unlink may be slow: not on the writer's thread
        log.info("{}: retention deleted segment {}; log start offset now {}", dir, oldest.baseOffset, logStartOffset);
    }

    /**
     * Moves the log start offset forward to {@code offset} (at most the high watermark), as Kafka's
     * DeleteRecords does, and deletes the segments wholly below it. Durable before it returns.
     * Writer only.
     *
     * @return the new log start offset
     */
    public long advanceLogStartOffset(long offset) {
        ensureOpen();
        long target = Math.min(offset, end.nextOffset);
        if (target <= logStartOffset) {
            return logStartOffset;
        }
        CheckpointFile.write(dir.resolve(LOG_START_FILE), target);
        logStartOffset = target;
        while (segments.size() > 1) {
            Segment oldest = segments.firstEntry().getValue();
            if (oldest.nextOffset() > target) {
                break;
            }
            deleteOldest();
        }
        return target;
    }

    /** Changes the config for what comes next (segment size, retention, flush policy). Any thread. */
    public void updateConfig(LogConfig newConfig) {
        this.config = newConfig;
    }

    public LogConfig config() {
        return config;
    }

    /**
     * Everything below this offset is readable. It is the log end except while appends wait for
     * commit ({@link #appendAhead}). Any thread.
     */
    public long highWatermark() {
        return end.nextOffset;
    }

    /** The next offset to be assigned. Any thread. */
    public long logEndOffset() {
        return tail.nextOffset;
    }

    /**
     * Raises the high watermark to {@code offset}, which must be a batch boundary at or below the log
     * end, making the batches below it readable. Writer only.
     */
    public void commitTo(long offset) {
        if (offset <= end.nextOffset) {
            return;
        }
        if (offset > tail.nextOffset) {
            throw new IllegalArgumentException(
                    "commit to " + offset + " beyond the log end " + tail.nextOffset + " of " + dir);
        }
        End e = null;
        while (!ahead.isEmpty() && ahead.peekFirst().nextOffset <= offset) {
            e = ahead.pollFirst();
        }
        end = e != null && e.nextOffset == offset ? e : endAt(offset);
    }

    /**
     * Sets the high watermark back to {@code offset} (a batch boundary at or below it): what is above
     * is kept but hidden until {@link #commitTo}. For recovery of a replicated log whose end was
     * written ahead of its commit. Writer only.
     */
    public void hideFrom(long offset) {
        ensureOpen();
        if (offset >= end.nextOffset) {
            return;
        }
        ahead.clear();
        end = endAt(Math.max(offset, logStartOffset));
    }

    /** What readers may see when the log ends at {@code offset}, a batch boundary. Writer only. */
    private End endAt(long offset) {
        End t = tail;
        if (offset >= t.nextOffset) {
            return t;
        }
        Map.Entry<Long, Segment> holder = segments.floorEntry(offset);
        if (holder == null) {
            throw new IllegalArgumentException("offset " + offset + " is below the log of " + dir);
        }
        Segment seg = holder.getValue();
        if (offset == seg.baseOffset) {
            return new End(offset, seg.baseOffset, 0);
        }
        ByteBuffer header = ByteBuffer.allocate(RecordBatchHeader.HEADER_SIZE);
        int pos = seg.findBatchPosition(offset, seg.sizeBytes(), header);
        if (pos < 0 || RecordBatchHeader.baseOffset(header, 0) != offset) {
            throw new IllegalArgumentException("offset " + offset + " is not a batch boundary in " + dir);
        }
        return new End(offset, seg.baseOffset, pos);
    }

    /** The first readable offset. Any thread. */
    public long logStartOffset() {
        return logStartOffset;
    }

    /** Everything below this offset has been fsynced. Any thread. */
    public long flushedOffset() {
        return Math.min(flushedOffset.get(), end.nextOffset);
    }

    /** Every segment ending at or below this offset is on disk (recovery scans from here). */
    long recoveryPoint() {
        return recoveryPoint;
    }

    /** Total bytes of all segment files. Writer only (exact) or any thread (approximate). */
    public long sizeBytes() {
        long total = 0;
        for (Segment s : segments.values()) {
            total += s.sizeBytes();
        }
        return total;
    }

    public int segmentCount() {
        return segments.size();
    }

    /** Base offsets of the segments, oldest first. */
    public List<Long> segmentBaseOffsets() {
        return List.copyOf(segments.keySet());
    }

    public Path dir() {
        return dir;
    }

    /** True when the last open found the clean-shutdown marker and scanned nothing. */
    public boolean recoveredCleanly() {
        return recoveredCleanly;
    }

    /** Bytes the last open validated batch by batch (0 after a clean shutdown). */
    public long recoveryBytesScanned() {
        return recoveryStats.bytesScanned;
    }

    /** Bytes the last open cut off as a torn or corrupt tail. */
    public long recoveryBytesTruncated() {
        return recoveryStats.bytesTruncated;
    }

    /**
     * Seals the active segment, closes the files and writes the clean-shutdown marker, so the next
     * open scans nothing. Writer only. Readers' slices stay readable until they are closed.
     */
    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        active.seal();
        for (Segment seg : notYetDurable()) {
            seg.forceAll();
        }
        flushedOffset.set(active.nextOffset());
        synchronized (durableLock) {
            if (recoveryPoint != active.baseOffset) {
                recoveryPoint = active.baseOffset;
                CheckpointFile.write(dir.resolve(RECOVERY_POINT_FILE), recoveryPoint);
            }
        }
        segments.values().forEach(Segment::close);
        try {
            Files.createFile(dir.resolve(CLEAN_SHUTDOWN_FILE));
            CheckpointFile.fsyncDirectory(dir);
        } catch (IOException e) {
            throw new StorageException("cannot write clean-shutdown marker", dir, e);
        }
    }

    // ---- compaction (see LogCleaner)

    /** Where the log cleaner's last pass ended. Any thread. */
    public long cleanerOffset() {
        return cleanerOffset;
    }

    /**
     * The sealed segments a cleaning pass may rewrite, retained (the caller releases them): from the
     * first, while each ends at or below {@code bound}, is on disk (below the recovery point), and
     * holds nothing newer than {@code newestTimestampMs}. Never the active segment. Any thread.
     */
    List<Segment> retainCleanable(long bound, long newestTimestampMs) {
        List<Segment> out = new ArrayList<>();
        End t = tail;
        long durable = recoveryPoint;
        for (Segment seg : segments.values()) {
            if (seg.baseOffset >= t.activeBaseOffset
                    || seg.nextOffset() > Math.min(bound, durable)
                    || seg.maxTimestampMs() > newestTimestampMs) {
                break;
            }
            if (!seg.retain()) {
                break; // retention or a truncation took it just now: clean what came before
            }
            out.add(seg);
        }
        return out;
    }

    /**
     * Puts a cleaning pass's segments in place of those they were cleaned from, each only if its
     * source is still part of the log (retention, truncation or a restart may have removed it
     * since); the others are discarded. Writer only.
     *
     * @return the bytes the log shrank by
     */
    public long swapCleaned(LogCleaner.Pass pass) {
        ensureOpen();
        long saved = 0;
        boolean swapped = false;
        try {
            for (int i = 0; i < pass.sources.size(); i++) {
                Segment src = pass.sources.get(i);
                Segment cleaned = pass.cleaned.get(i);
                if (segments.get(src.baseOffset) != src || src == active) {
                    LogCleaner.discard(cleaned);
                    continue;
                }
                try {
                    // The old indexes go first: a crash from here on finds a whole log file (old or
                    // new) with no index, which the next open rebuilds. Readers holding the old
                    // segment keep its mappings and its (soon unlinked) file.
                    Files.deleteIfExists(src.offsetIndex.path);
                    Files.deleteIfExists(src.timeIndex.path);
                    CheckpointFile.fsyncDirectory(dir);
                    cleaned.moveInto(dir);
                } catch (IOException e) {
                    LogCleaner.discard(cleaned); // the old log file is still in place (its index is rebuilt at open)
                    throw new StorageException("cannot put a cleaned segment in place", src.logPath(), e);
                }
                segments.put(src.baseOffset, cleaned);
                src.release(); // the log's own reference; its files now belong to the cleaned segment
                saved += src.sizeBytes() - (long) cleaned.sizeBytes();
                swapped = true;
            }
        } finally {
            if (swapped) {
                try {
                    CheckpointFile.fsyncDirectory(dir);
                } catch (IOException e) {
                    log.warn("{}: cannot fsync the directory after cleaning: {}", dir, e.toString());
                }
            }
        }
        if (pass.cleanedTo > cleanerOffset && pass.cleanedTo <= end.nextOffset) {
            cleanerOffset = pass.cleanedTo;
            CheckpointFile.write(dir.resolve(CLEANER_OFFSET_FILE), pass.cleanedTo);
        }
        return saved;
    }

    /** Closes the files without sealing or marking: what a crash leaves behind. For tests. */
    void abandon() {
        closed = true;
        segments.values().forEach(Segment::closeQuietly);
    }

    private void ensureOpen() {
        if (closed) {
            throw new IllegalStateException("log is closed: " + dir);
        }
    }

    @Override
    public String toString() {
        return "PartitionLog[" + dir + ", [" + logStartOffset + ", " + end.nextOffset + ")]";
    }
}
