package io.fjord.raft.kv;

import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.function.Consumer;

/**
 * The metadata service's key-value store, etcd-like: ordered string keys, a revision per change
 * (the Raft index of the entry), put / delete / compare-and-set transactions, ranges by prefix and
 * watches. Writes complete after the change is committed and applied on the serving node.
 *
 * <p>Futures fail with {@link KvException} (retriable when no leader is reachable yet).
 */
public interface KvStore extends AutoCloseable {

    /** Sets {@code key}; completes with the revision of the change. */
    CompletableFuture<Long> put(String key, byte[] value);

    /** Deletes {@code key}; completes with the number of keys deleted (0 or 1). */
    CompletableFuture<Long> delete(String key);

    CompletableFuture<TxnResult> txn(Txn txn);

    CompletableFuture<Optional<KeyValue>> get(String key, Consistency consistency);

    /** Every key starting with {@code prefix} ("" = all), in key order. */
    CompletableFuture<RangeResult> range(String prefix, Consistency consistency);

    /**
     * Changes under {@code prefix} with revision &gt; {@code afterRevision}, in order (at most
     * {@code limit}). Fails with {@link KvException} ({@code compacted}) when history that old is
     * no longer kept: re-read with {@link #range} and continue from its revision.
     */
    CompletableFuture<List<WatchEvent>> changes(String prefix, long afterRevision, int limit, Consistency consistency);

    /**
     * Calls {@code listener} with every change under {@code prefix} after {@code afterRevision},
     * in revision order, as this node applies them (serializable view). Events before the call
     * that are still in history are delivered first. Listeners run on one thread per watch and
     * must not block for long. Closing the returned handle stops delivery.
     */
    AutoCloseable watch(String prefix, long afterRevision, Consumer<WatchEvent> listener);

    @Override
    void close();
}
