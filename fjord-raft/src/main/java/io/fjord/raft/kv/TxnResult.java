package io.fjord.raft.kv;

/** Outcome of a {@link Txn}: which branch ran, and the revision after it. */
public record TxnResult(boolean succeeded, long revision) {}
