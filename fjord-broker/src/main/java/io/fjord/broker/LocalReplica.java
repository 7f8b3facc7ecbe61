package io.fjord.broker;

import io.fjord.storage.AppendResult;
import io.fjord.storage.PartitionId;
import io.fjord.storage.PartitionLog;
import io.fjord.storage.ReadResult;
import io.fjord.storage.RecordBatchHeader;
import io.fjord.storage.StorageException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.Executor;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A partition's state on this node: the log plus idempotent-producer state, written by one thread.
 * In a node that thread is the apply thread of the partition's data group ({@link PartitionGroup}
 * calls {@link #onAppend} with {@code owner} = run in place); {@link #append} queues to {@code
 * owner} for use on its own. Reads run lock-free on the caller's thread.
 *
 * <p>Threads: {@link #onAppend}, {@link #housekeeping} and {@link #closeOnOwner} run on {@code
 * owner} only; the rest is any thread.
 */
public final class LocalReplica implements PartitionReplica {
    private static final Logger log = LoggerFactory.getLogger(LocalReplica.class);

    private final PartitionId id;
    private final PartitionLog partitionLog;
    private final Executor owner;
    private final ProducerStateTable producers = new ProducerStateTable();
    private final ConcurrentLinkedQueue<Runnable> appendListeners = new ConcurrentLinkedQueue<>();
    private volatile boolean closed;
    /** Guards the producer-state snapshot file; snapshots taken (under the replica's lock) and written. */
    private final Object snapshotFile = new Object();

    private long snapshotsTaken;
    private long snapshotsWritten;

    LocalReplica(PartitionId id, PartitionLog partitionLog, Executor owner) {
        this.id = id;
        this.partitionLog = partitionLog;
        this.owner = owner;
        rebuildProducerState();
    }

    @Override
    public PartitionId id() {
        return id;
    }

    PartitionLog partitionLog() {
        return partitionLog;
    }

    Executor owner() {
        return owner;
    }

    @Override
    public CompletableFuture<AppendOutcome> append(ByteBuffer batch) {
        CompletableFuture<AppendOutcome> done = new CompletableFuture<>();
        try {
            owner.execute(() -> {
                try {
                    done.complete(onAppend(batch));
                } catch (RuntimeException e) {
                    log.error("{}: append failed", id, e);
                    done.complete(new AppendOutcome.Failed(ProduceError.KAFKA_STORAGE_ERROR, e.toString()));
                }
            });
        } catch (RuntimeException rejected) {
            done.complete(new AppendOutcome.Failed(ProduceError.NOT_LEADER_OR_FOLLOWER, "broker is stopping"));
        }
        return done;
    }

    /** Owner thread: idempotence check, append, state update, wake waiting fetches. */
    AppendOutcome onAppend(ByteBuffer batch) {
        return onAppend(batch, false);
    }

    /**
     * Writer: like {@link #onAppend} but leaves the batch above the high watermark until {@link
     * #commitTo} (a replicated partition writes ahead of commit). Idempotent-producer state covers
     * what was written, committed or not. A disk error is thrown, not answered: whether a write
     * fails must not differ between replicas.
     */
    AppendOutcome onAppendAhead(ByteBuffer batch) {
        return onAppend(batch, true);
    }

    private AppendOutcome onAppend(ByteBuffer batch, boolean ahead) {
        if (closed) {
            return new AppendOutcome.Failed(ProduceError.NOT_LEADER_OR_FOLLOWER, "partition " + id + " is closed");
        }
        int pos = batch.position();
        long producerId = RecordBatchHeader.producerId(batch, pos);
        short epoch = RecordBatchHeader.producerEpoch(batch, pos);
        int firstSeq = RecordBatchHeader.baseSequence(batch, pos);
        int count = RecordBatchHeader.recordsCount(batch, pos);
        int lastSeq = ProducerStateTable.lastSequence(firstSeq, count);
        if (producerId >= 0) {
            switch (producers.check(producerId, epoch, firstSeq, lastSeq)) {
                case ProducerStateTable.Duplicate d -> {
                    return new AppendOutcome.Appended(
                            d.original().firstOffset(), d.original().lastOffset(), partitionLog.logStartOffset(), true);
                }
                case ProducerStateTable.Refused r -> {
                    return new AppendOutcome.Failed(r.error(), r.message());
                }
                case ProducerStateTable.Ok ok -> {
                    // go on
                }
            }
        }
        AppendResult result;
        try {
            result = ahead ? partitionLog.appendAhead(batch) : partitionLog.append(batch);
        } catch (StorageException e) {
            if (ahead) {
                throw e;
            }
            log.error("{}: storage error on append: {}", id, e.getMessage());
            return new AppendOutcome.Failed(ProduceError.KAFKA_STORAGE_ERROR, e.getMessage());
        }
        return switch (result) {
            case AppendResult.Appended a -> {
                if (producerId >= 0) {
                    producers.update(producerId, epoch, firstSeq, lastSeq, a.firstOffset(), a.lastOffset());
                }
                if (!ahead) {
                    runAppendListeners();
                }
                yield new AppendOutcome.Appended(a.firstOffset(), a.lastOffset(), partitionLog.logStartOffset(), false);
            }
            case AppendResult.Rejected r ->
                new AppendOutcome.Failed(
                        switch (r.error()) {
                            case BATCH_TOO_LARGE -> ProduceError.MESSAGE_TOO_LARGE;
                            case UNSUPPORTED_MAGIC -> ProduceError.UNSUPPORTED_FOR_MESSAGE_FORMAT;
                            case INVALID_RECORD_COUNT -> ProduceError.INVALID_RECORD;
                            case TRUNCATED, INVALID_LENGTH, CRC_MISMATCH, EMPTY -> ProduceError.CORRUPT_MESSAGE;
                        },
                        "batch rejected: " + r.error());
        };
    }

    /** Writer: makes what was written ahead readable up to {@code offset}; wakes waiting fetches. */
    void commitTo(long offset) {
        if (closed) {
            return;
        }
        partitionLog.commitTo(offset);
        runAppendListeners();
    }

    /** Writer: takes back what was written ahead from {@code offset} on (never committed). */
    void truncateAhead(long offset) {
        if (offset < partitionLog.highWatermark()) {
            log.error(
                    "{}: asked to cut committed records: {} is below the high watermark {}",
                    id,
                    offset,
                    partitionLog.highWatermark());
        }
        partitionLog.truncateTo(offset);
        resetProducerState();
    }

    /** Writer: drops every record; the log restarts at {@code offset} (records before it are gone). */
    void restartAt(long offset) {
        partitionLog.restartAt(offset);
        resetProducerState();
    }

    /** Writer: forgets idempotent-producer state and rebuilds it from the log (e.g. after records were copied in). */
    void resetProducerState() {
        producers.truncateTo(Long.MIN_VALUE);
        rebuildProducerState();
    }

    private void runAppendListeners() {
        Runnable r;
        while ((r = appendListeners.poll()) != null) {
            r.run();
        }
    }

    @Override
    public Runnable onNextAppend(Runnable listener) {
        appendListeners.add(listener);
        if (closed) {
            runAppendListeners();
        }
        return () -> appendListeners.remove(listener);
    }

    @Override
    public ReadResult read(long offset, int maxBytes) {
        return partitionLog.readRecords(offset, maxBytes);
    }

    @Override
    public long highWatermark() {
        return partitionLog.highWatermark();
    }

    @Override
    public long logStartOffset() {
        return partitionLog.logStartOffset();
    }

    @Override
    public Optional<PartitionLog.TimestampOffset> offsetForTimestamp(long timestampMs) {
        return partitionLog.offsetForTimestamp(timestampMs);
    }

    @Override
    public CompletableFuture<Long> deleteRecordsBefore(long offset) {
        CompletableFuture<Long> done = new CompletableFuture<>();
        try {
            owner.execute(() -> {
                try {
                    long hw = partitionLog.highWatermark();
                    long target = offset == -1 ? hw : offset;
                    if (target < 0 || target > hw) {
                        done.completeExceptionally(new IllegalArgumentException(
                                "offset " + offset + " is above the high watermark " + hw));
                        return;
                    }
                    done.complete(partitionLog.advanceLogStartOffset(target));
                } catch (RuntimeException e) {
                    done.completeExceptionally(e);
                }
            });
        } catch (RuntimeException rejected) {
            done.completeExceptionally(rejected);
        }
        return done;
    }

    @Override
    public int leaderEpoch() {
        return 0;
    }

    /**
     * Owner thread, on a timer: time-based flush, retention. Returns the producer-state snapshot to
     * write (with {@link #writeProducerSnapshot}, after letting go of the lock), or null.
     */
    ProducerSnapshot housekeeping(long nowMs) {
        if (closed) {
            return null;
        }
        try {
            partitionLog.maybeFlush(nowMs);
            partitionLog.applyRetention(nowMs);
            return takeProducerSnapshot();
        } catch (RuntimeException e) {
            log.error("{}: housekeeping failed: {}", id, e.toString());
            return null;
        }
    }

    /**
     * Writer: the idempotent-producer state as of the log end, if it changed since the last one; null
     * if not. Cheap: the file is written by {@link #writeProducerSnapshot}, which waits for the disk.
     */
    ProducerSnapshot takeProducerSnapshot() {
        if (!producers.isDirty()) {
            return null;
        }
        return new ProducerSnapshot(++snapshotsTaken, producers.snapshotText(partitionLog.logEndOffset()));
    }

    /**
     * Any thread, without this replica's lock: writes a snapshot from {@link #takeProducerSnapshot}
     * durably, unless a later one is already written.
     */
    void writeProducerSnapshot(ProducerSnapshot s) {
        synchronized (snapshotFile) {
            if (s.seq() <= snapshotsWritten || closed) {
                return;
            }
            try {
                ProducerStateTable.writeSnapshotFile(partitionLog.dir(), s.text());
                snapshotsWritten = s.seq();
            } catch (RuntimeException e) {
                log.warn("{}: cannot write producer-state snapshot: {}", id, e.toString());
            }
        }
    }

    /** The producer state at some log end, numbered in the order taken. */
    record ProducerSnapshot(long seq, String text) {}

    /** Owner thread (or any thread once the owner is stopped): snapshot producers, stop taking appends. */
    void closeOnOwner() {
        if (closed) {
            return;
        }
        closed = true;
        synchronized (snapshotFile) { // after any snapshot still being written, which it supersedes
            try {
                producers.writeSnapshot(partitionLog.dir(), partitionLog.logEndOffset());
            } catch (RuntimeException e) {
                log.warn("{}: cannot write producer-state snapshot: {}", id, e.toString());
            }
        }
        runAppendListeners();
    }

    /** Marks the replica closed without touching files (it is being deleted). */
    void markClosed() {
        closed = true;
        runAppendListeners();
    }

    /**
     * Rebuilds idempotent-producer state: the last snapshot, then the batch headers of the log
     * after it. After a clean shutdown the snapshot covers the whole log and nothing is read.
     */
    private void rebuildProducerState() {
        long hw = partitionLog.logEndOffset();
        long from = producers.readSnapshot(partitionLog.dir());
        if (from < 0 || from > hw) {
            producers.truncateTo(0);
            from = partitionLog.logStartOffset();
        }
        from = Math.max(from, partitionLog.logStartOffset());
        long scanned;
        try {
            scanned = BatchScan.forEach(partitionLog::readAhead, from, hw, (b, pos) -> {
                long pid = RecordBatchHeader.producerId(b, pos);
                if (pid >= 0) {
                    long base = RecordBatchHeader.baseOffset(b, pos);
                    int count = RecordBatchHeader.lastOffsetDelta(b, pos) + 1;
                    int seq = RecordBatchHeader.baseSequence(b, pos);
                    producers.update(
                            pid,
                            RecordBatchHeader.producerEpoch(b, pos),
                            seq,
                            ProducerStateTable.lastSequence(seq, count),
                            base,
                            base + count - 1);
                }
            });
        } catch (IOException e) {
            throw new StorageException("cannot read log to rebuild producer state", partitionLog.dir(), e);
        }
        if (scanned > 0) {
            log.info("{}: rebuilt producer state from {} bytes of log ({} producers)", id, scanned, producers.size());
        }
    }
}
