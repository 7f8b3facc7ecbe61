package io.fjord.raft.kv;

/** A write inside a {@link Txn}. */
public sealed interface Op {
    String key();

    record Put(String key, byte[] value) implements Op {}

    /** Deletes {@code key}, or every key starting with it when {@code prefix}. */
    record Delete(String key, boolean prefix) implements Op {}
}
