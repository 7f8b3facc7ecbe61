package io.fjord.raft.kv;

import java.io.IOException;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;
import java.util.function.Function;
import org.apache.ratis.client.RaftClient;
import org.apache.ratis.client.RaftClientConfigKeys;
import org.apache.ratis.conf.Parameters;
import org.apache.ratis.conf.RaftProperties;
import org.apache.ratis.protocol.ClientId;
import org.apache.ratis.protocol.Message;
import org.apache.ratis.protocol.RaftClientAsynchronousProtocol;
import org.apache.ratis.protocol.RaftClientReply;
import org.apache.ratis.protocol.RaftClientRequest;
import org.apache.ratis.protocol.RaftGroup;
import org.apache.ratis.protocol.RaftPeer;
import org.apache.ratis.protocol.RaftPeerId;
import org.apache.ratis.protocol.exceptions.AlreadyClosedException;
import org.apache.ratis.protocol.exceptions.GroupMismatchException;
import org.apache.ratis.protocol.exceptions.LeaderNotReadyException;
import org.apache.ratis.protocol.exceptions.LeaderSteppingDownException;
import org.apache.ratis.protocol.exceptions.NotLeaderException;
import org.apache.ratis.protocol.exceptions.StateMachineException;
import org.apache.ratis.retry.RetryPolicies;
import org.apache.ratis.retry.RetryPolicy;
import org.apache.ratis.server.RaftServer;
import org.apache.ratis.thirdparty.com.google.protobuf.ByteString;
import org.apache.ratis.util.TimeDuration;

/**
 * {@link KvStore} over the metadata Raft group. Writes and linearizable reads go through a Ratis
 * {@link RaftClient} (to the leader; ReadIndex for reads), except on the leader itself: a store on
 * a node whose replica leads ({@link #forLocalServer}) hands them straight to that replica, without
 * the client's gRPC round trip to its own server (the first one, with a cold channel, took 100-300
 * ms of a start). A replica that is not, or no longer, the leader sends them through the client,
 * which finds the leader. Serializable reads and watches are served by the local replica when there
 * is one; a client-only store ({@link #connect}) reads them from one server with a stale read and
 * watches by polling.
 *
 * <p>Thread-safe. Futures complete on Ratis client threads; callers should not block in their
 * callbacks.
 */
public final class RaftKvStore implements KvStore {
    /** Per-attempt timeout of one request to one server. */
    public static final long REQUEST_TIMEOUT_MS_DEFAULT = 3_000;
    /** Attempts (following leader hints) before a request fails as retriable. */
    public static final int RETRY_ATTEMPTS_DEFAULT = 100;
    /** Pause between attempts; with the default attempts, about 10 s of elections are ridden out. */
    public static final long RETRY_SLEEP_MS_DEFAULT = 100;
    /** How often a client-only watch polls for changes. */
    public static final long REMOTE_WATCH_POLL_MS = 200;

    private final RaftGroup group;
    /** Replaced when Ratis closes it (see {@link #replaceClient}); guarded by this for writers. */
    private volatile RaftClient client;

    private volatile boolean closed;
    /**
     * One client per server for serializable reads: a Ratis async client orders its requests per
     * client, and a server that sees only part of that sequence (the rest went to the leader)
     * waits for the missing ones. Found by a non-voting node whose writes all timed out.
     */
    private final Map<RaftPeerId, RaftClient> staleClients = new ConcurrentHashMap<>();

    private final List<RaftPeerId> readServers;
    private final MetaStateMachine local;
    /**
     * The server of the local replica, which takes requests while it leads; null for a client-only
     * store. Its member is looked up for each request: it is a new one after a restart.
     */
    private final RaftServer localServer;

    private final ClientId localClientId = ClientId.randomId();
    private final AtomicLong localCallIds = new AtomicLong();
    private final Set<KvWatch> watches = ConcurrentHashMap.newKeySet();

    private RaftKvStore(RaftGroup group, List<RaftPeerId> readServers, MetaStateMachine local, RaftServer localServer) {
        this.group = group;
        this.client = newClient(group);
        this.readServers = List.copyOf(readServers);
        this.local = local;
        this.localServer = localServer;
    }

    /**
     * A client-only store for voters {@code "1@127.0.0.1:10092,2@127.0.0.1:10093"} (see {@link
     * MetaGroup#parseVoters}). Serializable reads go to the first voter that answers, in the order
     * given.
     */
    public static RaftKvStore connect(String voters) {
        return connect(MetaGroup.group(voters));
    }

    public static RaftKvStore connect(RaftGroup group) {
        List<RaftPeerId> ids = group.getPeers().stream().map(RaftPeer::getId).toList();
        return new RaftKvStore(group, ids, null, null);
    }

    /**
     * A store on a node that runs the metadata group: writes and linearizable reads through the
     * group's leader, serializable reads and watches from this node's replica.
     *
     * @throws IOException when {@code server} does not run the metadata group
     */
    public static RaftKvStore forLocalServer(RaftServer server) throws IOException {
        RaftServer.Division division = server.getDivision(MetaGroup.ID);
        if (!(division.getStateMachine() instanceof MetaStateMachine sm)) {
            throw new IOException("the metadata group's state machine is "
                    + division.getStateMachine().getClass().getName());
        }
        return new RaftKvStore(division.getGroup(), List.of(server.getId()), sm, server);
    }

    private static RaftClient newClient(RaftGroup group) {
        RaftProperties p = new RaftProperties();
        RaftClientConfigKeys.Rpc.setRequestTimeout(
                p, TimeDuration.valueOf(REQUEST_TIMEOUT_MS_DEFAULT, java.util.concurrent.TimeUnit.MILLISECONDS));
        RetryPolicy retry = RetryPolicies.retryUpToMaximumCountWithFixedSleep(
                RETRY_ATTEMPTS_DEFAULT,
                TimeDuration.valueOf(RETRY_SLEEP_MS_DEFAULT, java.util.concurrent.TimeUnit.MILLISECONDS));
        return RaftClient.newBuilder()
                .setClientId(ClientId.randomId())
                .setRaftGroup(group)
                .setProperties(p)
                .setParameters(new Parameters())
                .setRetryPolicy(retry)
                .build();
    }

    // ---- writes

    @Override
    public CompletableFuture<Long> put(String key, byte[] value) {
        return write(new Txn(List.of(), List.of(new Op.Put(key, value)), List.of()))
                .thenApply(KvCodec.TxnReply::revision);
    }

    @Override
    public CompletableFuture<Long> delete(String key) {
        return write(new Txn(List.of(), List.of(new Op.Delete(key, false)), List.of()))
                .thenApply(KvCodec.TxnReply::deleted);
    }

    /** Deletes every key starting with {@code prefix}; completes with the number deleted. */
    public CompletableFuture<Long> deletePrefix(String prefix) {
        return write(new Txn(List.of(), List.of(new Op.Delete(prefix, true)), List.of()))
                .thenApply(KvCodec.TxnReply::deleted);
    }

    @Override
    public CompletableFuture<TxnResult> txn(Txn txn) {
        return write(txn).thenApply(r -> new TxnResult(r.succeeded(), r.revision()));
    }

    private CompletableFuture<KvCodec.TxnReply> write(Txn txn) {
        byte[] command = KvCodec.encodeTxn(txn);
        try {
            // The server applies what decodes; check the same limits here for a clear local error.
            KvCodec.decodeTxn(command);
        } catch (KvCodec.MalformedException e) {
            return CompletableFuture.failedFuture(
                    new KvException("invalid transaction: " + e.getMessage(), false, false, e));
        }
        Message m = message(command);
        RaftClient c = client;
        return call(
                c,
                () -> viaLocalLeader(
                        m, RaftClientRequest.writeRequestType(), () -> c.async().send(m)),
                KvCodec::decodeTxnReply);
    }

    // ---- reads

    @Override
    public CompletableFuture<Optional<KeyValue>> get(String key, Consistency consistency) {
        Objects.requireNonNull(key);
        if (consistency == Consistency.SERIALIZABLE && local != null) {
            return CompletableFuture.completedFuture(local.get(key));
        }
        return read(new KvCodec.Query.Get(key), consistency, KvCodec::decodeGetReply);
    }

    @Override
    public CompletableFuture<RangeResult> range(String prefix, Consistency consistency) {
        Objects.requireNonNull(prefix);
        if (consistency == Consistency.SERIALIZABLE && local != null) {
            return CompletableFuture.completedFuture(local.range(prefix));
        }
        return read(new KvCodec.Query.Range(prefix), consistency, KvCodec::decodeRangeReply);
    }

    @Override
    public CompletableFuture<List<WatchEvent>> changes(
            String prefix, long afterRevision, int limit, Consistency consistency) {
        return changesReply(prefix, afterRevision, limit, consistency).thenApply(KvCodec.ChangesReply::events);
    }

    private CompletableFuture<KvCodec.ChangesReply> changesReply(
            String prefix, long afterRevision, int limit, Consistency consistency) {
        Objects.requireNonNull(prefix);
        int bounded = Math.max(1, Math.min(limit, KvCodec.CHANGES_LIMIT_MAX));
        if (consistency == Consistency.SERIALIZABLE && local != null) {
            try {
                return CompletableFuture.completedFuture(local.changes(prefix, afterRevision, bounded));
            } catch (KvException e) {
                return CompletableFuture.failedFuture(e);
            }
        }
        return read(
                new KvCodec.Query.Changes(prefix, Math.max(0, afterRevision), bounded),
                consistency,
                KvCodec::decodeChangesReply);
    }

    private <T> CompletableFuture<T> read(KvCodec.Query q, Consistency consistency, Function<byte[], T> decode) {
        Message m = message(KvCodec.encodeQuery(q));
        if (consistency == Consistency.LINEARIZABLE) {
            RaftClient c = client;
            return call(
                    c,
                    () -> viaLocalLeader(
                            m,
                            RaftClientRequest.readRequestType(),
                            () -> c.async().sendReadOnly(m)),
                    decode);
        }
        return staleRead(m, 0, decode);
    }

    /** A serializable read from {@code readServers[i]}, then the next ones while they fail retriably. */
    private <T> CompletableFuture<T> staleRead(Message m, int i, Function<byte[], T> decode) {
        RaftPeerId target = readServers.get(i);
        RaftClient c = staleClients.computeIfAbsent(target, t -> newClient(group));
        return call(c, () -> c.async().sendStaleRead(m, 0, target), decode)
                .whenComplete((t, e) -> {
                    if (e != null) {
                        staleClients.remove(target, c); // a fresh client next time
                        closeQuietly(c);
                    }
                })
                .handle((t, e) -> {
                    if (e == null) {
                        return CompletableFuture.completedFuture(t);
                    }
                    KvException k = toKvException(e);
                    if (k.retriable() && i + 1 < readServers.size()) {
                        return staleRead(m, i + 1, decode);
                    }
                    return CompletableFuture.<T>failedFuture(k);
                })
                .thenCompose(Function.identity());
    }

    /**
     * Submits to the local replica when it leads, else (and when it turns out not to lead any more:
     * nothing was appended then) through {@code remote}.
     */
    private CompletableFuture<RaftClientReply> viaLocalLeader(
            Message m,
            RaftClientRequest.Type type,
            java.util.function.Supplier<CompletableFuture<RaftClientReply>> remote) {
        RaftServer.Division localDivision = localDivision();
        if (!(localDivision instanceof RaftClientAsynchronousProtocol leader) || !leadsReady(localDivision)) {
            return remote.get();
        }
        RaftClientRequest request = RaftClientRequest.newBuilder()
                .setClientId(localClientId)
                .setServerId(localDivision.getId())
                .setGroupId(group.getGroupId())
                .setCallId(localCallIds.incrementAndGet())
                .setMessage(m)
                .setType(type)
                .build();
        CompletableFuture<RaftClientReply> sent;
        try {
            sent = leader.submitClientRequestAsync(request);
        } catch (IOException | RuntimeException e) {
            return remote.get();
        }
        return sent.handle((reply, e) -> {
                    if (isNotLeader(e != null ? e : reply.getException())) {
                        return remote.get();
                    }
                    return e != null
                            ? CompletableFuture.<RaftClientReply>failedFuture(e)
                            : CompletableFuture.completedFuture(reply);
                })
                .thenCompose(Function.identity());
    }

    /** The local replica's member, or null (client-only, or not running right now). */
    private RaftServer.Division localDivision() {
        if (localServer == null) {
            return null;
        }
        try {
            return localServer.getDivision(MetaGroup.ID);
        } catch (IOException e) {
            return null;
        }
    }

    private static boolean leadsReady(RaftServer.Division d) {
        try {
            return d.getInfo().isLeader() && d.getInfo().isLeaderReady();
        } catch (RuntimeException e) {
            return false; // closing
        }
    }

    /** The replica refused because it does not lead (any more): the client will find the leader. */
    private static boolean isNotLeader(Throwable t) {
        Throwable c = t;
        while ((c instanceof CompletionException || c instanceof ExecutionException) && c.getCause() != null) {
            c = c.getCause();
        }
        return c instanceof NotLeaderException
                || c instanceof LeaderNotReadyException
                || c instanceof LeaderSteppingDownException;
    }

    // ---- watches

    /**
     * {@inheritDoc}
     *
     * <p>Returns a {@link KvWatch}; it stops by itself, with {@link KvWatch#failure()}, when it
     * falls behind the kept history.
     *
     * @throws KvException ({@code compacted}) at once when a local replica no longer has the history
     *     after {@code afterRevision}
     */
    @Override
    public KvWatch watch(String prefix, long afterRevision, Consumer<WatchEvent> listener) {
        if (local != null) {
            return local.watch(prefix, afterRevision, listener);
        }
        KvWatch w = new KvWatch(
                (p, after, limit) -> {
                    try {
                        return changesReply(p, after, limit, Consistency.SERIALIZABLE)
                                .get();
                    } catch (ExecutionException e) {
                        throw toKvException(e);
                    }
                },
                prefix,
                afterRevision,
                listener,
                REMOTE_WATCH_POLL_MS,
                watches::remove);
        watches.add(w);
        return w.start();
    }

    @Override
    public void close() {
        closed = true;
        watches.forEach(KvWatch::close);
        for (RaftClient sc : staleClients.values()) {
            closeQuietly(sc);
        }
        RaftClient c;
        synchronized (this) {
            c = client; // no replacement after this: replaceClient checks closed under the lock
        }
        try {
            c.close();
        } catch (IOException e) {
            throw new KvException("closing the metadata client: " + e.getMessage(), false, false, e);
        }
    }

    private static void closeQuietly(RaftClient c) {
        try {
            c.close();
        } catch (IOException | RuntimeException e) {
            // closing anyway
        }
    }

    // ---- replies and failures

    private static Message message(byte[] bytes) {
        return Message.valueOf(ByteString.copyFrom(bytes));
    }

    private <T> CompletableFuture<T> call(
            RaftClient c,
            java.util.function.Supplier<CompletableFuture<RaftClientReply>> send,
            Function<byte[], T> decode) {
        CompletableFuture<RaftClientReply> sent;
        try {
            sent = send.get();
        } catch (RuntimeException e) {
            sent = CompletableFuture.failedFuture(e);
        }
        return sent.handle((reply, e) -> {
            if (e != null) {
                if (!closed && isClosedClient(e)) {
                    replaceClient(c);
                    throw new KvException(
                            "metadata service: the client had given up after an outage; retry", true, false, e);
                }
                throw toKvException(e);
            }
            if (!reply.isSuccess()) {
                throw toKvException(reply.getException());
            }
            return decode.apply(reply.getMessage().getContent().toByteArray());
        });
    }

    private static boolean isClosedClient(Throwable t) {
        for (Throwable c = t; c != null; c = c.getCause()) {
            if (c instanceof AlreadyClosedException) {
                return true;
            }
        }
        return false;
    }

    /**
     * Ratis fails and closes an ordered client for good once one request runs out of retries (its
     * sliding window fails every later request), as happens when the metadata group has no
     * quorum for longer than the retry policy lasts. A new client takes over, so an outage does
     * not end this node's writes (heartbeats, topic changes) until it restarts.
     */
    private synchronized void replaceClient(RaftClient failed) {
        if (closed || client != failed) {
            return;
        }
        client = newClient(group);
        try {
            failed.close();
        } catch (IOException e) {
            // it was already closed by Ratis; nothing else holds it
        }
    }

    /** Ratis and transport failures as a {@link KvException}; retriable unless the request itself is bad. */
    static KvException toKvException(Throwable t) {
        Throwable c = t;
        while ((c instanceof CompletionException || c instanceof ExecutionException) && c.getCause() != null) {
            c = c.getCause();
        }
        if (c instanceof KvException k) {
            return k;
        }
        if (c == null) {
            return new KvException("the metadata service failed without a reason", true, false, null);
        }
        boolean retriable = switch (c) {
            case GroupMismatchException g -> false;
            case StateMachineException s -> false;
            case AlreadyClosedException a -> false;
            case CancellationException x -> false;
            case IOException io -> true; // not leader, not ready, timeouts, retries exhausted, unreachable
            case TimeoutException x -> true;
            default -> false;
        };
        String message = c.getMessage() == null ? c.getClass().getSimpleName() : c.getMessage();
        return new KvException("metadata service: " + message, retriable, false, c);
    }
}
