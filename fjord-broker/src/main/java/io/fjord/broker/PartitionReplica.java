package io.fjord.broker;

import io.fjord.storage.PartitionId;
import io.fjord.storage.PartitionLog;
import io.fjord.storage.ReadResult;
import java.nio.ByteBuffer;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;

/**
 * The seam between request handling and how a partition keeps its data. Handlers append and read
 * through it and never learn whether the partition has one replica or three: a local
 * single-replica partition ({@link LocalReplica}) commits on its own append; a Raft-replicated one
 * will complete the future after commit.
 *
 * <p>Threads: every method may be called from any thread. {@link #append} hands the batch to the
 * partition's owner thread and completes the future there.
 */
public interface PartitionReplica {

    PartitionId id();

    /**
     * Whether this node serves the partition: it leads the partition's Raft group and has applied
     * everything of earlier terms. Handlers answer NOT_LEADER_OR_FOLLOWER otherwise.
     */
    default boolean isLeader() {
        return true;
    }

    /**
     * Appends one producer batch (RecordBatch v2). The buffer must stay valid and unshared until
     * the future completes; the partition rewrites its baseOffset.
     */
    CompletableFuture<AppendOutcome> append(ByteBuffer batch);

    /** Reads committed batches (see {@link PartitionLog#read}); close the slice. */
    ReadResult read(long offset, int maxBytes);

    long highWatermark();

    long logStartOffset();

    Optional<PartitionLog.TimestampOffset> offsetForTimestamp(long timestampMs);

    /**
     * Moves the log start offset to {@code offset} (DeleteRecords); -1 means the high watermark.
     * Completes with the new log start offset, or exceptionally with {@link
     * IllegalArgumentException} when the offset is above the high watermark.
     */
    CompletableFuture<Long> deleteRecordsBefore(long offset);

    /** The Kafka leader epoch of this replica (the Raft term, once there is Raft). */
    int leaderEpoch();

    /**
     * Runs {@code listener} once, on the owner thread, after the next append that moves the high
     * watermark (or at once if the partition is closing). Listeners must be cheap: hand work to
     * your own thread.
     *
     * @return cancels the registration (a no-op once the listener ran)
     */
    Runnable onNextAppend(Runnable listener);
}
