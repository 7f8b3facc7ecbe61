package io.fjord.raft;

import java.util.List;
import java.util.concurrent.CompletableFuture;

/**
 * One Raft group of this node that carries a {@link ReplicatedStateMachine}. Any thread.
 */
public interface DataGroup {

    int id();

    /**
     * Replicates {@code entry}; completes with the state machine's reply once the entry is
     * committed and applied here. Fails with {@link NotLeaderException} when this node does not
     * lead the group, or {@link ReplicationException} when the entry's fate is unknown (timeouts,
     * leadership lost after the entry was appended: it may still commit). Entries submitted from
     * one thread are appended in submission order. Never blocks the caller.
     */
    CompletableFuture<byte[]> submit(byte[] entry);

    /** Leader, and every entry of earlier terms has been applied. */
    boolean isLeader();

    /** The current Raft term as this node knows it. */
    long term();

    /** The leader's node id, or -1 when unknown. */
    int leaderNodeId();

    /** Node ids of the group's current voters. */
    List<Integer> members();
}
