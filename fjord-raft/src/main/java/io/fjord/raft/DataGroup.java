package io.fjord.raft;

import java.nio.ByteBuffer;
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

    /**
     * Like {@link #submit(byte[])} for an entry whose {@code data} the state machine stores itself
     * ({@link ReplicatedStateMachine#write}); only {@code header} goes into the Raft log. {@code
     * data} is not copied: the caller keeps it unchanged and alive until the future completes, and
     * the state machine may rewrite it in place.
     */
    CompletableFuture<byte[]> submit(byte[] header, ByteBuffer data);

    /**
     * Whether this group may take solo writes (default: not): while its configuration is this node
     * alone, no change of it is under way and this is true, entries with data skip the Raft log and
     * go straight to {@link ReplicatedStateMachine#writeSolo} on the submitting thread. The caller
     * turns it off before it adds a member (the group then leaves solo: a SOLO_END entry and a
     * checkpoint that covers the solo writes, from which the new member installs).
     */
    void allowSolo(boolean allowed);

    /** Entries with data currently skip the Raft log (see {@link #allowSolo}). */
    boolean isSolo();

    /** Leader, and every entry of earlier terms has been applied. */
    boolean isLeader();

    /** The current Raft term as this node knows it. */
    long term();

    /** The leader's node id, or -1 when unknown. */
    int leaderNodeId();

    /** Node ids of the group's current voters. */
    List<Integer> members();

    /**
     * The index of the first entry this member's Raft log still holds (it grows as checkpoints let
     * the log be purged; a member whose log ends before the leader's first entry installs the
     * leader's state instead of replaying), or -1 when unknown.
     */
    long firstLogIndex();
}
