package io.fjord.raft;

import java.nio.ByteBuffer;

/**
 * What a data group replicates, in Fjord's terms (no Ratis types): committed entries are applied
 * in log order on one thread per group, and checkpoints let the Raft log be purged.
 *
 * <p>Threads: {@link #restore}, {@link #apply}, {@link #checkpoint} and {@link #leaderReady} run on
 * the group's apply thread, one at a time. {@link #leaderChanged} runs on a Raft thread, possibly
 * under a Raft lock: hand work off, never block.
 */
public interface ReplicatedStateMachine {

    /**
     * Called once before any apply: restore the state described by {@code checkpoint} (from {@link
     * #checkpoint}), or the empty state when it is null. Entries after the checkpoint's index are
     * applied next.
     */
    void restore(byte[] checkpoint);

    /**
     * Applies one committed entry. Must be deterministic (same entries, same state on every
     * replica) and must not throw for bad input: encode the failure in the reply instead.
     *
     * @return the reply handed to whoever submitted the entry (only on the leader that did)
     */
    byte[] apply(long index, long term, ByteBuffer entry);

    /**
     * Makes everything applied so far durable and describes it. After this returns, Raft may purge
     * its log up to {@code index}, so the returned bytes plus the durable state must be enough to
     * continue from {@code index}.
     */
    byte[] checkpoint(long index);

    /** This node leads {@code term} and every entry of earlier terms has been applied. */
    default void leaderReady(long term) {}

    /** The group's leader changed ({@code leaderNodeId} -1 when unknown). */
    default void leaderChanged(int leaderNodeId, long term) {}

    /** The group is going away on this node (shutdown or removal). */
    default void close() {}
}
