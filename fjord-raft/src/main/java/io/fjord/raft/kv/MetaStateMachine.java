package io.fjord.raft.kv;

import java.io.File;
import java.io.IOException;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.locks.ReentrantReadWriteLock;
import java.util.function.Consumer;
import org.apache.ratis.io.MD5Hash;
import org.apache.ratis.proto.RaftProtos.LogEntryProto;
import org.apache.ratis.protocol.Message;
import org.apache.ratis.protocol.RaftGroupId;
import org.apache.ratis.server.RaftServer;
import org.apache.ratis.server.protocol.TermIndex;
import org.apache.ratis.server.raftlog.RaftLog;
import org.apache.ratis.server.storage.FileInfo;
import org.apache.ratis.server.storage.RaftStorage;
import org.apache.ratis.statemachine.StateMachineStorage;
import org.apache.ratis.statemachine.TransactionContext;
import org.apache.ratis.statemachine.impl.BaseStateMachine;
import org.apache.ratis.statemachine.impl.SimpleStateMachineStorage;
import org.apache.ratis.statemachine.impl.SingleFileSnapshotInfo;
import org.apache.ratis.thirdparty.com.google.protobuf.ByteString;
import org.apache.ratis.util.MD5FileUtil;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The metadata group's state machine: an etcd-like KV ({@link KvState}) whose revision is the Raft
 * index of the change. Entries are {@link KvCodec} transactions (a put or delete is a transaction
 * without compares); a malformed entry changes nothing and is answered with an error.
 *
 * <p>Threads: Ratis applies entries and takes snapshots on the group's one state machine updater
 * thread, the only writer of the state; queries (ReadIndex and stale reads) and local serializable
 * reads come from other threads and take the read lock. Watches run on their own threads
 * ({@link KvWatch}); apply only wakes them, after releasing the lock.
 *
 * <p>Snapshots ({@link MetaSnapshot}) hold the whole map and the change history, so restart =
 * latest snapshot + replay of the log after it, and Ratis may purge the log up to the snapshot.
 */
public final class MetaStateMachine extends BaseStateMachine {
    private static final Logger log = LoggerFactory.getLogger(MetaStateMachine.class);

    /** Changes kept for {@code changes(...)} and watches. */
    public static final int HISTORY_EVENTS_DEFAULT = 10_000;

    /** How often an idle local watch looks for changes when no apply woke it (a safety net). */
    static final long LOCAL_WATCH_POLL_MS = 1_000;

    private final int historyEventsMax;
    private final Consumer<Throwable> logFailed;
    private final SimpleStateMachineStorage storage = new SimpleStateMachineStorage();
    private final ReentrantReadWriteLock lock = new ReentrantReadWriteLock();
    private final Set<KvWatch> watches = ConcurrentHashMap.newKeySet();
    private KvState state; // guarded by lock; replaced only when a snapshot is loaded
    /** Set while this replica's member is closed to be started again from its storage. */
    private volatile boolean restarting;

    public MetaStateMachine() {
        this(HISTORY_EVENTS_DEFAULT);
    }

    /** @param historyEventsMax changes kept for watches and {@code changes(...)}, at least 1 */
    public MetaStateMachine(int historyEventsMax) {
        this(historyEventsMax, cause -> {});
    }

    /**
     * @param historyEventsMax changes kept for watches and {@code changes(...)}, at least 1
     * @param logFailed told (on Ratis' log writer thread, which it must not block) when this
     *     member's Raft log writer failed, e.g. on a full disk: Ratis then refuses every later entry
     *     of the member until it is started again
     */
    public MetaStateMachine(int historyEventsMax, Consumer<Throwable> logFailed) {
        if (historyEventsMax < 1) {
            throw new IllegalArgumentException("historyEventsMax must be at least 1, is " + historyEventsMax);
        }
        this.historyEventsMax = historyEventsMax;
        this.logFailed = logFailed;
        this.state = new KvState(historyEventsMax);
    }

    /**
     * Called once per start of the member, also when this same instance is started again after
     * {@link #prepareRestart}: then it keeps what it has applied, provided a snapshot of exactly that
     * is stored ({@link #snapshotApplied}), because Ratis replays the log from the latest snapshot.
     */
    @Override
    public void initialize(RaftServer server, RaftGroupId groupId, RaftStorage raftStorage) throws IOException {
        super.initialize(server, groupId, raftStorage);
        storage.init(raftStorage);
        SingleFileSnapshotInfo latest = storage.getLatestSnapshot();
        if (restarting && latest != null && latest.getTermIndex().equals(getLastAppliedTermIndex())) {
            log.info("{}: started again at {}, keeping the applied state", getId(), latest.getTermIndex());
        } else {
            if (restarting) {
                // No snapshot of what is applied: start over from what is stored, as at a process start.
                lock.writeLock().lock();
                try {
                    state = new KvState(historyEventsMax);
                    setLastAppliedTermIndex(TermIndex.INITIAL_VALUE);
                } finally {
                    lock.writeLock().unlock();
                }
            }
            load(latest);
        }
        restarting = false;
    }

    @Override
    public void reinitialize() throws IOException {
        load(storage.loadLatestSnapshot());
    }

    private void load(SingleFileSnapshotInfo snapshot) throws IOException {
        if (snapshot == null) {
            return;
        }
        File file = snapshot.getFile().getPath().toFile();
        if (snapshot.getFile().getFileDigest() != null) {
            MD5FileUtil.verifySavedMD5(file, snapshot.getFile().getFileDigest());
        }
        TermIndex ti = snapshot.getTermIndex();
        KvState loaded = MetaSnapshot.read(file.toPath(), ti.getTerm(), ti.getIndex(), historyEventsMax);
        lock.writeLock().lock();
        try {
            state = loaded;
            setLastAppliedTermIndex(ti);
        } finally {
            lock.writeLock().unlock();
        }
        log.info("{}: loaded snapshot {} (revision {})", getId(), file.getName(), loaded.revision());
        watches.forEach(KvWatch::wake);
    }

    /**
     * The next {@link #close} is for a start of this same instance from its storage: it keeps the
     * watches (local readers see no gap, as the state stays) and the state.
     */
    public void prepareRestart() {
        restarting = true;
    }

    /**
     * Stores a snapshot of what this replica has applied unless the latest stored one is of exactly
     * that; for a member that is closed (nothing applies meanwhile). Then a start from storage
     * replays the log from where this replica is, and never rewinds its state.
     *
     * @throws IOException when the snapshot cannot be written (e.g. the disk is still full)
     */
    public void snapshotApplied() throws IOException {
        TermIndex applied = getLastAppliedTermIndex();
        SingleFileSnapshotInfo latest = storage.getLatestSnapshot();
        if (applied == null
                || applied.getIndex() < 0
                || (latest != null && latest.getTermIndex().equals(applied))) {
            return;
        }
        takeSnapshot();
    }

    /** Ratis' log writer failed for this member; see the constructor. */
    @Override
    public void notifyLogFailed(Throwable cause, LogEntryProto failedEntry) {
        logFailed.accept(cause);
    }

    @Override
    public StateMachineStorage getStateMachineStorage() {
        return storage;
    }

    @Override
    public CompletableFuture<Message> applyTransaction(TransactionContext trx) {
        LogEntryProto entry = trx.getLogEntry();
        byte[] command = entry.getStateMachineLogEntry().getLogData().toByteArray();
        KvState.Applied applied;
        lock.writeLock().lock();
        try {
            applied = state.apply(entry.getIndex(), command);
            updateLastAppliedTermIndex(entry.getTerm(), entry.getIndex());
        } finally {
            lock.writeLock().unlock();
        }
        if (!applied.events().isEmpty()) {
            watches.forEach(KvWatch::wake);
        }
        return CompletableFuture.completedFuture(Message.valueOf(ByteString.copyFrom(applied.reply())));
    }

    @Override
    public CompletableFuture<Message> query(Message request) {
        byte[] reply = answer(request.getContent().toByteArray());
        return CompletableFuture.completedFuture(Message.valueOf(ByteString.copyFrom(reply)));
    }

    /** The reply to an encoded query; an error reply for a bad query or compacted history. */
    byte[] answer(byte[] query) {
        KvCodec.Query q;
        try {
            q = KvCodec.decodeQuery(query);
        } catch (KvCodec.MalformedException e) {
            return KvCodec.encodeError(KvCodec.ERR_BAD_REQUEST, "malformed query: " + e.getMessage());
        }
        lock.readLock().lock();
        try {
            return switch (q) {
                case KvCodec.Query.Get g -> KvCodec.encodeGetReply(state.revision(), state.get(g.key()));
                case KvCodec.Query.Range r -> KvCodec.encodeRangeReply(state.range(r.prefix()));
                case KvCodec.Query.Changes c ->
                    KvCodec.encodeChangesReply(state.changes(c.prefix(), c.afterRevision(), c.limit()));
            };
        } catch (KvException e) {
            return KvCodec.encodeError(e.compacted() ? KvCodec.ERR_COMPACTED : KvCodec.ERR_BAD_REQUEST, e.getMessage());
        } finally {
            lock.readLock().unlock();
        }
    }

    @Override
    public long takeSnapshot() throws IOException {
        TermIndex last;
        lock.readLock().lock();
        try {
            last = getLastAppliedTermIndex();
            if (last == null || last.getIndex() < 0) {
                return RaftLog.INVALID_LOG_INDEX;
            }
            File file = storage.getSnapshotFile(last.getTerm(), last.getIndex());
            MetaSnapshot.write(file.toPath(), last.getTerm(), last.getIndex(), state);
            MD5Hash md5 = MD5FileUtil.computeAndSaveMd5ForFile(file);
            storage.updateLatestSnapshot(new SingleFileSnapshotInfo(new FileInfo(file.toPath(), md5), last));
        } finally {
            lock.readLock().unlock();
        }
        log.info("{}: took snapshot at {}", getId(), last);
        return last.getIndex();
    }

    // ---- local, serializable reads (this replica's applied state)

    /** Current revision of this replica: the index of the last change it applied. */
    public long revision() {
        lock.readLock().lock();
        try {
            return state.revision();
        } finally {
            lock.readLock().unlock();
        }
    }

    Optional<KeyValue> get(String key) {
        lock.readLock().lock();
        try {
            return state.get(key).map(MetaStateMachine::copy);
        } finally {
            lock.readLock().unlock();
        }
    }

    RangeResult range(String prefix) {
        lock.readLock().lock();
        try {
            RangeResult r = state.range(prefix);
            return new RangeResult(r.kvs().stream().map(MetaStateMachine::copy).toList(), r.revision());
        } finally {
            lock.readLock().unlock();
        }
    }

    KvCodec.ChangesReply changes(String prefix, long afterRevision, int limit) {
        lock.readLock().lock();
        try {
            KvCodec.ChangesReply r = state.changes(prefix, afterRevision, limit);
            return new KvCodec.ChangesReply(
                    r.events().stream()
                            .map(e -> new WatchEvent(e.type(), copy(e.kv())))
                            .toList(),
                    r.revision());
        } finally {
            lock.readLock().unlock();
        }
    }

    /**
     * Watches this replica's changes under {@code prefix} after {@code afterRevision}.
     *
     * @throws KvException ({@code compacted}) when that history is no longer kept
     */
    public KvWatch watch(String prefix, long afterRevision, Consumer<WatchEvent> listener) {
        lock.readLock().lock();
        try {
            if (afterRevision < state.compactedThrough()) {
                throw new KvException("changes after revision " + afterRevision + " are compacted", false, true, null);
            }
        } finally {
            lock.readLock().unlock();
        }
        KvWatch w = new KvWatch(this::changes, prefix, afterRevision, listener, LOCAL_WATCH_POLL_MS, watches::remove);
        watches.add(w);
        return w.start();
    }

    @Override
    public void close() throws IOException {
        if (!restarting) {
            watches.forEach(KvWatch::close);
            watches.clear();
        }
        super.close();
    }

    /** A copy that callers may not change this replica's value through. */
    private static KeyValue copy(KeyValue kv) {
        return new KeyValue(kv.key(), kv.value().clone(), kv.createRevision(), kv.modRevision(), kv.version());
    }
}
