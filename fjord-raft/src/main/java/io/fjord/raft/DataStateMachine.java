package io.fjord.raft;

import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentSkipListMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import java.util.zip.CRC32C;
import org.apache.ratis.client.RaftClient;
import org.apache.ratis.proto.RaftProtos.LogEntryProto;
import org.apache.ratis.proto.RaftProtos.RaftConfigurationProto;
import org.apache.ratis.proto.RaftProtos.RaftPeerProto;
import org.apache.ratis.proto.RaftProtos.RoleInfoProto;
import org.apache.ratis.proto.RaftProtos.StateMachineLogEntryProto;
import org.apache.ratis.protocol.Message;
import org.apache.ratis.protocol.RaftClientReply;
import org.apache.ratis.protocol.RaftClientRequest;
import org.apache.ratis.protocol.RaftGroupId;
import org.apache.ratis.protocol.RaftGroupMemberId;
import org.apache.ratis.protocol.RaftPeer;
import org.apache.ratis.protocol.RaftPeerId;
import org.apache.ratis.server.RaftServer;
import org.apache.ratis.server.protocol.TermIndex;
import org.apache.ratis.server.raftlog.RaftLog;
import org.apache.ratis.server.raftlog.RaftLogIOException;
import org.apache.ratis.server.storage.FileInfo;
import org.apache.ratis.server.storage.RaftStorage;
import org.apache.ratis.statemachine.SnapshotRetentionPolicy;
import org.apache.ratis.statemachine.StateMachine;
import org.apache.ratis.statemachine.StateMachineStorage;
import org.apache.ratis.statemachine.TransactionContext;
import org.apache.ratis.statemachine.impl.BaseStateMachine;
import org.apache.ratis.statemachine.impl.SimpleStateMachineStorage;
import org.apache.ratis.statemachine.impl.SingleFileSnapshotInfo;
import org.apache.ratis.thirdparty.com.google.protobuf.ByteString;
import org.apache.ratis.thirdparty.com.google.protobuf.UnsafeByteOperations;
import org.apache.ratis.util.LifeCycle;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Adapts a {@link ReplicatedStateMachine} to Ratis. Snapshot files hold the checkpoint bytes with
 * a magic, length and CRC32C, written to a temporary file, fsynced and renamed into place.
 *
 * <p>Entries with data use Ratis' {@link StateMachine.DataApi}: {@link #startTransaction} puts the
 * header in the log data and the data in the state-machine data, which Ratis strips from the log
 * entry before writing it and hands to {@link #write} instead; with state-machine data caching on,
 * Ratis' log cache keeps stripped entries too, so it asks {@link #read} for what it sends to
 * followers.
 */
final class DataStateMachine extends BaseStateMachine implements StateMachine.DataApi {
    private static final Logger log = LoggerFactory.getLogger(DataStateMachine.class);
    private static final int MAGIC = 0x464a4350; // "FJCP"
    /** What {@link #takeSnapshot} returns when nothing was applied yet (Ratis' invalid index). */
    private static final long NO_SNAPSHOT = -1;

    private static final int INSTALL_MAGIC = 0x464a494e; // "FJIN"
    private static final byte INSTALL_CHECKPOINT = 1;
    private static final byte INSTALL_PART = 2;

    private final int groupNo;
    private final ReplicatedStateMachine delegate;
    private final SimpleStateMachineStorage storage = new SimpleStateMachineStorage();
    private final RaftNode node;
    private final boolean fsyncBeforeAck;
    private Pending pending;
    /** After a failed checkpoint, the applied index before which no new one is started. */
    private long retryFrom;

    private static final SnapshotRetentionPolicy KEEP_TWO = new SnapshotRetentionPolicy() {
        @Override
        public int getNumSnapshotsRetained() {
            return 2;
        }
    };
    private volatile boolean reconciled;
    /** The checkpoint the last install brought, for {@link #reinitialize}. */
    private volatile TermIndex installed;
    /**
     * The data of the entries read last, by Raft index: every follower asks for the same entries at
     * about the same time, so the partition logs are read once per entry, not once per follower.
     */
    private final ConcurrentSkipListMap<Long, ByteString> recentReads = new ConcurrentSkipListMap<>();

    private static final int RECENT_READS = 16;

    DataStateMachine(int groupNo, ReplicatedStateMachine delegate, RaftNode node) {
        this.groupNo = groupNo;
        this.delegate = delegate;
        this.node = node;
        this.fsyncBeforeAck = node.config().fsyncBeforeAck();
    }

    @Override
    public void initialize(RaftServer server, RaftGroupId groupId, RaftStorage raftStorage) throws IOException {
        super.initialize(server, groupId, raftStorage);
        getLifeCycle().startAndTransition(() -> {
            storage.init(raftStorage);
            SingleFileSnapshotInfo latest = storage.loadLatestSnapshot();
            Path dir = raftStorage.getStorageDir().getStateMachineDir().toPath();
            if (latest == null) {
                delegate.restore(null, -1, dir);
                return;
            }
            byte[] checkpoint = readCheckpoint(latest.getFile().getPath());
            delegate.restore(checkpoint, lastIdOf(latest.getIndex()), dir);
            setLastAppliedTermIndex(latest.getTermIndex());
            log.info("group {}: restored checkpoint at {}", groupNo, latest.getTermIndex());
        });
    }

    // ---- installing another replica's state

    /**
     * Ratis calls this on a member whose log ends before the first entry the leader still holds (the
     * leader purged it after a checkpoint): a member that a move just added, or one that was away for
     * long. Ratis' own snapshot transfer is off (a checkpoint describes partition logs that live
     * outside Ratis), so the member fetches what it needs itself, from the leader and with the
     * leader's checkpoint, through read-only queries (see {@link #query}): first the leader's latest
     * stored checkpoint, then whatever the state machine asks for (the records up to it). Runs on an
     * install thread; Ratis asks again until the returned future completes, then reloads (pause,
     * {@link #reinitialize}) and continues the log after the checkpoint. Ratis also asks once for
     * every member it adds: when the leader has no checkpoint yet, the future completes with null
     * and the member replays the leader's log from its first entry.
     */
    @Override
    public CompletableFuture<TermIndex> notifyInstallSnapshotFromLeader(
            RoleInfoProto roleInfo, TermIndex firstTermIndexInLog) {
        RaftPeerProto leader = roleInfo.getFollowerInfo().getLeaderInfo().getId();
        return CompletableFuture.supplyAsync(
                () -> {
                    try {
                        return install(leader, firstTermIndexInLog);
                    } catch (IOException e) {
                        throw new UncheckedIOException(e);
                    }
                },
                node.installer());
    }

    private TermIndex install(RaftPeerProto leaderProto, TermIndex firstInLeaderLog) throws IOException {
        RaftPeerId leaderId = RaftPeerId.valueOf(leaderProto.getId());
        RaftPeer leader = leaderProto.getAddress().isEmpty()
                ? getServer().join().getDivision(getGroupId()).getRaftConf().getPeer(leaderId)
                : RaftPeer.newBuilder()
                        .setId(leaderId)
                        .setAddress(leaderProto.getAddress())
                        .build();
        if (leader == null) {
            throw new IOException("group " + groupNo + ": no address for leader " + leaderId);
        }
        long started = System.nanoTime();
        log.info(
                "group {}: this member's log ends before the leader's first entry {}: installing {}'s state",
                groupNo,
                firstInLeaderLog,
                leaderId);
        try (RaftClient client = node.installClient(getGroupId(), leader)) {
            ByteBuffer cp = ask(client, leaderId, INSTALL_CHECKPOINT, new byte[0]);
            TermIndex at = TermIndex.valueOf(cp.getLong(), cp.getLong());
            if (at.getIndex() < 0) {
                // Ratis asks every member it adds once; without a checkpoint the leader's log is whole.
                log.info("group {}: {} has no checkpoint yet: this member replays its log", groupNo, leaderId);
                return null;
            }
            if (at.getIndex() + 1 < firstInLeaderLog.getIndex()) {
                throw new IOException("group " + groupNo + ": the leader's checkpoint " + at
                        + " is older than its log's start " + firstInLeaderLog);
            }
            byte[] checkpoint = new byte[cp.remaining()];
            cp.get(checkpoint);
            awaitApplied();
            delegate.install(checkpoint, lastIdOf(at.getIndex()), request -> {
                ByteBuffer reply = ask(client, leaderId, INSTALL_PART, request);
                byte[] out = new byte[reply.remaining()];
                reply.get(out);
                return out;
            });
            Path file = storage.getSnapshotFile(at.getTerm(), at.getIndex()).toPath();
            writeCheckpoint(file, checkpoint);
            storage.updateLatestSnapshot(new SingleFileSnapshotInfo(new FileInfo(file, null), at));
            installed = at;
            log.info(
                    "group {}: installed {}'s state at {} in {} ms",
                    groupNo,
                    leaderId,
                    at,
                    (System.nanoTime() - started) / 1_000_000);
            return at;
        } catch (IOException | RuntimeException e) {
            log.warn(
                    "group {}: installing {}'s state failed (tried again): {}{}",
                    groupNo,
                    leaderId,
                    e.toString(),
                    e.getCause() == null ? "" : ", caused by " + e.getCause());
            throw e;
        }
    }

    /**
     * Waits until this member has applied every entry its own log has committed (a member that was
     * away may still be applying old entries): the install must not race the apply thread.
     */
    private void awaitApplied() throws IOException {
        RaftLog raftLog = getServer().join().getDivision(getGroupId()).getRaftLog();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (true) {
            TermIndex applied = getLastAppliedTermIndex();
            if ((applied == null ? -1 : applied.getIndex()) >= raftLog.getLastCommittedIndex()) {
                return;
            }
            if (System.nanoTime() > deadline) {
                throw new IOException("group " + groupNo + ": entries committed here are still being applied");
            }
            LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(5));
        }
    }

    private static ByteBuffer ask(RaftClient client, RaftPeerId to, byte kind, byte[] body) throws IOException {
        ByteBuffer req = ByteBuffer.allocate(5 + body.length)
                .putInt(INSTALL_MAGIC)
                .put(kind)
                .put(body);
        RaftClientReply reply =
                client.io().sendStaleRead(Message.valueOf(UnsafeByteOperations.unsafeWrap(req.array())), 0, to);
        if (!reply.isSuccess()) {
            throw new IOException("install query to " + to + " failed: " + reply.getException());
        }
        return reply.getMessage().getContent().asReadOnlyByteBuffer();
    }

    /** Serves a member installing this replica's state (see {@link #notifyInstallSnapshotFromLeader}). */
    @Override
    public CompletableFuture<Message> query(Message request) {
        ByteString c = request.getContent();
        if (c.size() < 5 || c.substring(0, 4).asReadOnlyByteBuffer().getInt() != INSTALL_MAGIC) {
            return CompletableFuture.failedFuture(new IllegalArgumentException("group " + groupNo + ": unknown query"));
        }
        try {
            if (c.byteAt(4) == INSTALL_CHECKPOINT) {
                // A member is about to be added: solo writes stop, and a checkpoint covers them first.
                return node.leaveSolo(groupNo).thenApply(v -> latestCheckpointAnswer());
            }
            if (c.byteAt(4) == INSTALL_PART) {
                byte[] out = delegate.serveInstall(c.substring(5).toByteArray());
                return CompletableFuture.completedFuture(Message.valueOf(UnsafeByteOperations.unsafeWrap(out)));
            }
            throw new IllegalArgumentException("group " + groupNo + ": unknown install query " + c.byteAt(4));
        } catch (RuntimeException e) {
            return CompletableFuture.failedFuture(e);
        }
    }

    /** The latest stored checkpoint: term, index (-1, -1 when there is none) and bytes. */
    private Message latestCheckpointAnswer() {
        SingleFileSnapshotInfo latest = storage.getLatestSnapshot();
        if (latest == null) { // none yet, so the log still starts at its first entry
            return Message.valueOf(UnsafeByteOperations.unsafeWrap(
                    ByteBuffer.allocate(16).putLong(-1).putLong(-1).array()));
        }
        try {
            byte[] bytes = readCheckpoint(latest.getFile().getPath());
            return Message.valueOf(UnsafeByteOperations.unsafeWrap(ByteBuffer.allocate(16 + bytes.length)
                    .putLong(latest.getTerm())
                    .putLong(latest.getIndex())
                    .put(bytes)
                    .array()));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Before Ratis reloads the state machine after an install. */
    @Override
    public void pause() {
        getLifeCycle().transition(LifeCycle.State.PAUSING);
        getLifeCycle().transition(LifeCycle.State.PAUSED);
    }

    /**
     * After an install, on the apply thread: the delegate already holds the installed state; what
     * this adapter knew of the old one goes (a checkpoint of it still being written is dropped).
     */
    @Override
    public void reinitialize() throws IOException {
        if (pending != null) {
            try {
                pending.stored().join();
            } catch (RuntimeException ignored) {
                // a checkpoint of the state the install replaced: it does not count either way
            }
            pending = null;
        }
        TermIndex at = installed;
        if (at != null) {
            setLastAppliedTermIndex(at);
        }
        recentReads.clear();
        reconciled = true;
        if (getLifeCycleState() == LifeCycle.State.PAUSED) {
            getLifeCycle().transition(LifeCycle.State.STARTING);
            getLifeCycle().transition(LifeCycle.State.RUNNING);
        }
    }

    @Override
    public StateMachineStorage getStateMachineStorage() {
        return storage;
    }

    @Override
    public TransactionContext startTransaction(RaftClientRequest request) throws IOException {
        if (request.getMessage() instanceof DataMessage m) {
            return TransactionContext.newBuilder()
                    .setStateMachine(this)
                    .setClientRequest(request)
                    .setLogData(m.logData())
                    .setStateMachineData(m.stateMachineData())
                    .setStateMachineContext(m)
                    .build();
        }
        ByteString[] parts = DataMessage.split(request.getMessage().getContent());
        if (parts != null) { // an entry with data submitted on another node
            return TransactionContext.newBuilder()
                    .setStateMachine(this)
                    .setClientRequest(request)
                    .setLogData(parts[0])
                    .setStateMachineData(parts[1])
                    .build();
        }
        return super.startTransaction(request);
    }

    /**
     * Before the first call of this incarnation that touches written data: drop stale writes. Holds
     * no lock of ours while it reads the Raft log (callers may hold Ratis' log lock); the delegate's
     * {@link ReplicatedStateMachine#reconcile} tolerates concurrent calls.
     */
    private void reconcileOnce() {
        if (reconciled) {
            return;
        }
        RaftLog raftLog;
        try {
            raftLog = getServer().join().getDivision(getGroupId()).getRaftLog();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        delegate.reconcile(id -> {
            try {
                LogEntryProto e = raftLog.get(id / DataMessage.PARTS);
                // An entry with data keeps a state-machine entry (emptied, with its size) in the log.
                return e != null
                                && e.hasStateMachineLogEntry()
                                && e.getStateMachineLogEntry().hasStateMachineEntry()
                        ? e.getTerm()
                        : -1;
            } catch (RaftLogIOException ex) {
                return -1;
            }
        });
        reconciled = true;
    }

    @Override
    public CompletableFuture<?> write(LogEntryProto entry, TransactionContext trx) {
        try {
            reconcileOnce();
            StateMachineLogEntryProto sm = entry.getStateMachineLogEntry();
            List<ByteBuffer> headers = DataMessage.headers(sm.getLogData());
            DataMessage local = trx != null && trx.getStateMachineContext() instanceof DataMessage m ? m : null;
            List<ByteBuffer> data = local != null
                    ? null
                    : DataMessage.parts(sm.getStateMachineEntry().getStateMachineData());
            if (headers == null || (local == null ? data.size() : local.parts()) != headers.size()) {
                throw new IllegalStateException("malformed entry with data at index " + entry.getIndex());
            }
            long first = entry.getIndex() * DataMessage.PARTS;
            for (int i = 0; i < headers.size(); i++) {
                delegate.write(
                        first + i,
                        entry.getTerm(),
                        headers.get(i),
                        local != null ? local.data(i) : data.get(i),
                        local != null);
            }
            return CompletableFuture.completedFuture(null);
        } catch (RuntimeException e) {
            log.error("group {}: cannot store the data of entry {}", groupNo, entry.getIndex(), e);
            return CompletableFuture.failedFuture(e);
        }
    }

    @Override
    public CompletableFuture<ByteString> read(LogEntryProto entry, TransactionContext trx) {
        try {
            reconcileOnce();
            ByteString cached = recentReads.get(entry.getIndex());
            if (cached != null) {
                return CompletableFuture.completedFuture(cached);
            }
            List<ByteBuffer> headers =
                    DataMessage.headers(entry.getStateMachineLogEntry().getLogData());
            if (headers == null) {
                throw new IllegalStateException("entry " + entry.getIndex() + " carries no data");
            }
            long first = entry.getIndex() * DataMessage.PARTS;
            ByteString out = ByteString.EMPTY;
            for (int i = 0; i < headers.size(); i++) {
                ByteBuffer part = delegate.read(first + i, headers.get(i));
                out = out.concat(DataMessage.length(part.remaining())).concat(UnsafeByteOperations.unsafeWrap(part));
            }
            recentReads.put(entry.getIndex(), out);
            while (recentReads.size() > RECENT_READS) {
                recentReads.pollFirstEntry();
            }
            return CompletableFuture.completedFuture(out);
        } catch (RuntimeException e) {
            log.error("group {}: cannot read the data of entry {}", groupNo, entry.getIndex(), e);
            return CompletableFuture.failedFuture(e);
        }
    }

    @Override
    public CompletableFuture<Void> truncate(long index) {
        try {
            reconcileOnce();
            recentReads.tailMap(index, true).clear();
            delegate.truncate(index * DataMessage.PARTS);
            return CompletableFuture.completedFuture(null);
        } catch (RuntimeException e) {
            log.error("group {}: cannot truncate written data from entry {}", groupNo, index, e);
            return CompletableFuture.failedFuture(e);
        }
    }

    @Override
    public CompletableFuture<Void> flush(long index) {
        if (fsyncBeforeAck) {
            try {
                delegate.flush(lastIdOf(index));
            } catch (RuntimeException e) {
                return CompletableFuture.failedFuture(e);
            }
        }
        return CompletableFuture.completedFuture(null);
    }

    @Override
    public CompletableFuture<Message> applyTransaction(TransactionContext trx) {
        reconcileOnce();
        LogEntryProto entry = trx.getLogEntry();
        byte[] reply;
        try {
            ByteString logData = entry.getStateMachineLogEntry().getLogData();
            List<ByteBuffer> headers = DataMessage.headers(logData);
            long first = entry.getIndex() * DataMessage.PARTS;
            int soloWriter = headers == null ? DataMessage.soloEndWriter(logData) : -1;
            if (soloWriter >= 0) {
                checkSoloEnd(soloWriter, entry.getIndex());
                reply = new byte[0];
            } else if (headers == null) {
                reply = delegate.apply(first, entry.getTerm(), logData.asReadOnlyByteBuffer());
            } else {
                List<byte[]> replies = new ArrayList<>(headers.size());
                for (int i = 0; i < headers.size(); i++) {
                    replies.add(delegate.apply(first + i, entry.getTerm(), headers.get(i)));
                }
                reply = DataMessage.packReplies(replies);
            }
        } finally {
            updateLastAppliedTermIndex(entry.getTerm(), entry.getIndex());
        }
        return CompletableFuture.completedFuture(Message.valueOf(UnsafeByteOperations.unsafeWrap(reply)));
    }

    /**
     * A SOLO_END entry closes solo writes that node {@code writer} made without Raft entries: only
     * that node, or a member that installed a checkpoint taken after the entry (and so never applies
     * it), holds those records. Any other member applying it replayed across records it does not
     * have: it stops here rather than serve a log that silently lacks them.
     */
    private void checkSoloEnd(int writer, long index) {
        if (writer == node.nodeId()) {
            return;
        }
        String msg = "group " + groupNo + ": entry " + index + " closes solo writes by node " + writer
                + " that this member never received (it replayed the log instead of installing a checkpoint);"
                + " this replica cannot continue: remove it and let the controller add it again";
        log.error(msg);
        throw new IllegalStateException(msg);
    }

    ReplicatedStateMachine delegate() {
        return delegate;
    }

    /**
     * Checkpoints are taken in two steps so the apply thread never waits for the disk: when Ratis
     * asks (every {@code snapshotThreshold} applied entries), the state machine describes its state
     * at once, and its fsyncs and the checkpoint file are written on the node's checkpoint thread;
     * until they are done this answers the previous checkpoint's index (Ratis purges its log only up
     * to the index answered). A call below the threshold, at a stop or on request, waits for the disk.
     */
    @Override
    public long takeSnapshot() throws IOException {
        TermIndex ti = getLastAppliedTermIndex();
        if (ti == null || ti.getIndex() <= 0) {
            return NO_SNAPSHOT;
        }
        long threshold = node.config().snapshotThreshold();
        if (ti.getIndex() - storedIndex() >= threshold) {
            if (pending == null && ti.getIndex() >= retryFrom) {
                pending = startCheckpoint(ti);
            }
            if (pending != null && pending.stored().isDone() && !finishCheckpoint()) {
                retryFrom = ti.getIndex() + Math.max(1, threshold / 8); // e.g. a full disk: not at every apply
            }
            return storedIndex();
        }
        while (storedIndex() < ti.getIndex()) {
            if (pending == null) {
                pending = startCheckpoint(ti);
            }
            boolean latest = pending.at().equals(ti);
            if (!finishCheckpoint() || latest) {
                break;
            }
        }
        return storedIndex();
    }

    /** A checkpoint whose fsyncs and file are being written (apply thread only). */
    private record Pending(TermIndex at, Path file, CompletableFuture<Void> stored) {}

    private Pending startCheckpoint(TermIndex ti) {
        ReplicatedStateMachine.Checkpoint c = delegate.checkpoint(lastIdOf(ti.getIndex()));
        Path file = storage.getSnapshotFile(ti.getTerm(), ti.getIndex()).toPath();
        CompletableFuture<Void> stored = CompletableFuture.runAsync(
                () -> {
                    c.makeDurable().run();
                    try {
                        writeCheckpoint(file, c.bytes());
                    } catch (IOException e) {
                        throw new UncheckedIOException(e);
                    }
                },
                node.checkpointer());
        return new Pending(ti, file, stored);
    }

    /** Waits for the pending checkpoint and makes it the latest; false if it failed. */
    private boolean finishCheckpoint() {
        Pending p = pending;
        pending = null;
        try {
            p.stored().join();
        } catch (RuntimeException e) {
            log.warn("group {}: checkpoint at {} failed: {}", groupNo, p.at(), e.toString());
            return false;
        }
        storage.updateLatestSnapshot(new SingleFileSnapshotInfo(new FileInfo(p.file(), null), p.at()));
        long logStart;
        try {
            logStart = getServer().join().getDivision(getGroupId()).getRaftLog().getStartIndex();
        } catch (IOException e) {
            logStart = p.at().getIndex();
        }
        delegate.checkpointed(lastIdOf(p.at().getIndex()), logStart * DataMessage.PARTS);
        try {
            storage.cleanupOldSnapshots(KEEP_TWO);
        } catch (IOException e) {
            log.warn("group {}: cannot remove old checkpoints: {}", groupNo, e.toString());
        }
        return true;
    }

    private long storedIndex() {
        SingleFileSnapshotInfo latest = storage.getLatestSnapshot();
        return latest == null ? NO_SNAPSHOT : latest.getIndex();
    }

    /** The last id of the entry at {@code index}: everything up to it is covered by that index. */
    private static long lastIdOf(long index) {
        return (index + 1) * DataMessage.PARTS - 1;
    }

    @Override
    public void notifyLeaderChanged(RaftGroupMemberId groupMemberId, RaftPeerId newLeaderId) {
        int leader = newLeaderId == null ? -1 : RaftNode.nodeIdOf(newLeaderId);
        node.onLeaderChanged(groupNo, leader);
        node.onGroupChanged(groupNo);
        delegate.leaderChanged(leader, node.currentTerm(groupNo));
    }

    /**
     * Ratis' log writer failed for this member: our write of an entry's data (a full disk) or its
     * own. It then refuses every later entry of the member for good, so the member is closed, and
     * the broker's reconcile starts it again from its storage once that works (the disk has room).
     */
    @Override
    public void notifyLogFailed(Throwable cause, LogEntryProto failedEntry) {
        node.closeFailedMember(getGroupId(), groupNo, cause);
    }

    @Override
    public void notifyLeaderReady() {
        delegate.leaderReady(node.currentTerm(groupNo));
        node.onGroupChanged(groupNo);
    }

    @Override
    public void notifyConfigurationChanged(long term, long index, RaftConfigurationProto newConf) {
        node.onGroupChanged(groupNo);
    }

    @Override
    public void close() throws IOException {
        try {
            delegate.close();
        } finally {
            super.close();
        }
    }

    static void writeCheckpoint(Path target, byte[] data) throws IOException {
        Path tmp = target.resolveSibling(target.getFileName() + ".tmp");
        CRC32C crc = new CRC32C();
        crc.update(data);
        try (OutputStream os = Files.newOutputStream(tmp);
                DataOutputStream out = new DataOutputStream(os)) {
            out.writeInt(MAGIC);
            out.writeInt(data.length);
            out.writeInt((int) crc.getValue());
            out.write(data);
        }
        try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.WRITE)) {
            ch.force(true);
        }
        Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        try (FileChannel dir = FileChannel.open(target.getParent(), StandardOpenOption.READ)) {
            dir.force(true);
        } catch (IOException ignored) {
            // some file systems cannot fsync a directory; the rename is still atomic
        }
    }

    static byte[] readCheckpoint(Path file) throws IOException {
        try (InputStream is = Files.newInputStream(file);
                DataInputStream in = new DataInputStream(is)) {
            if (in.readInt() != MAGIC) {
                throw new IOException(file + ": not a Fjord checkpoint");
            }
            int len = in.readInt();
            int crc = in.readInt();
            byte[] data = in.readNBytes(len);
            CRC32C c = new CRC32C();
            c.update(data);
            if (data.length != len || (int) c.getValue() != crc) {
                throw new IOException(file + ": checkpoint is torn or corrupt");
            }
            return data;
        }
    }
}
