package io.fjord.raft.kv;

/** How fresh a read must be. */
public enum Consistency {
    /**
     * Sees every write acknowledged before the read started, whichever node serves it (Raft
     * ReadIndex through the metadata group's leader).
     */
    LINEARIZABLE,
    /**
     * Served from the local replica's applied state: possibly stale, never going backwards on one
     * node, no round trip to the leader.
     */
    SERIALIZABLE
}
