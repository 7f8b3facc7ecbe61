package io.fjord.broker;

import io.fjord.raft.DataGroup;
import io.fjord.raft.NotLeaderException;
import io.fjord.storage.PartitionId;
import io.fjord.storage.PartitionLog;
import io.fjord.storage.ReadResult;
import java.nio.ByteBuffer;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;

/**
 * A partition replicated by its data group. Writes become Raft entries and answer after commit and
 * apply; reads go straight to the local log, bounded by what has been applied (the high
 * watermark). Only the group's leader takes writes; {@link #isLeader()} tells handlers whether to
 * serve at all.
 */
final class RaftReplica implements PartitionReplica {
    private final PartitionId id;
    private final UUID topicId;
    private final LocalReplica state;
    private final DataGroup group;

    RaftReplica(PartitionId id, UUID topicId, LocalReplica state, DataGroup group) {
        this.id = id;
        this.topicId = topicId;
        this.state = state;
        this.group = group;
    }

    @Override
    public PartitionId id() {
        return id;
    }

    UUID topicId() {
        return topicId;
    }

    PartitionLog partitionLog() {
        return state.partitionLog();
    }

    DataGroup group() {
        return group;
    }

    @Override
    public boolean isLeader() {
        return group.isLeader();
    }

    @Override
    public CompletableFuture<AppendOutcome> append(ByteBuffer batch) {
        if (!group.isLeader()) {
            return CompletableFuture.completedFuture(new AppendOutcome.Failed(
                    ProduceError.NOT_LEADER_OR_FOLLOWER, "node does not lead " + id + " (group " + group.id() + ")"));
        }
        // The batch is not copied: it stays in the request's buffer, which lives until we answer.
        return group.submit(GroupEntry.append(topicId, id), batch).handle((reply, err) -> {
            if (err == null) {
                return GroupEntry.decodeAppendReply(reply);
            }
            return failure(err);
        });
    }

    private AppendOutcome.Failed failure(Throwable err) {
        Throwable t = err instanceof CompletionException && err.getCause() != null ? err.getCause() : err;
        if (t instanceof NotLeaderException) {
            return new AppendOutcome.Failed(ProduceError.NOT_LEADER_OR_FOLLOWER, t.getMessage());
        }
        return new AppendOutcome.Failed(ProduceError.REQUEST_TIMED_OUT, t.getMessage());
    }

    @Override
    public ReadResult read(long offset, int maxBytes) {
        return state.read(offset, maxBytes);
    }

    @Override
    public long highWatermark() {
        return state.highWatermark();
    }

    @Override
    public long logStartOffset() {
        return state.logStartOffset();
    }

    @Override
    public Optional<PartitionLog.TimestampOffset> offsetForTimestamp(long timestampMs) {
        return state.offsetForTimestamp(timestampMs);
    }

    @Override
    public CompletableFuture<Long> deleteRecordsBefore(long offset) {
        if (!group.isLeader()) {
            return CompletableFuture.failedFuture(new NotLeaderException(
                    "node does not lead " + id + " (group " + group.id() + ")", group.leaderNodeId()));
        }
        return group.submit(GroupEntry.deleteRecords(topicId, id, offset)).thenApply(reply -> {
            ByteBuffer b = ByteBuffer.wrap(reply);
            if (b.get() == 0) {
                return b.getLong();
            }
            AppendOutcome.Failed f = GroupEntry.decodeFailure(b);
            throw f.error() == ProduceError.INVALID_RECORD
                    ? new IllegalArgumentException(f.message())
                    : new IllegalStateException(f.message());
        });
    }

    @Override
    public int leaderEpoch() {
        return (int) group.term();
    }

    @Override
    public Runnable onNextAppend(Runnable listener) {
        return state.onNextAppend(listener);
    }

    @Override
    public String toString() {
        return "RaftReplica[" + id + ", group " + group.id() + "]";
    }
}
