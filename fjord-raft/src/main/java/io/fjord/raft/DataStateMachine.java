package io.fjord.raft;

import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.concurrent.CompletableFuture;
import java.util.zip.CRC32C;
import org.apache.ratis.proto.RaftProtos.LogEntryProto;
import org.apache.ratis.protocol.Message;
import org.apache.ratis.protocol.RaftGroupId;
import org.apache.ratis.protocol.RaftGroupMemberId;
import org.apache.ratis.protocol.RaftPeerId;
import org.apache.ratis.server.RaftServer;
import org.apache.ratis.server.protocol.TermIndex;
import org.apache.ratis.server.storage.FileInfo;
import org.apache.ratis.server.storage.RaftStorage;
import org.apache.ratis.statemachine.SnapshotRetentionPolicy;
import org.apache.ratis.statemachine.StateMachineStorage;
import org.apache.ratis.statemachine.TransactionContext;
import org.apache.ratis.statemachine.impl.BaseStateMachine;
import org.apache.ratis.statemachine.impl.SimpleStateMachineStorage;
import org.apache.ratis.statemachine.impl.SingleFileSnapshotInfo;
import org.apache.ratis.thirdparty.com.google.protobuf.UnsafeByteOperations;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Adapts a {@link ReplicatedStateMachine} to Ratis. Snapshot files hold the checkpoint bytes with
 * a magic, length and CRC32C, written to a temporary file, fsynced and renamed into place.
 */
final class DataStateMachine extends BaseStateMachine {
    private static final Logger log = LoggerFactory.getLogger(DataStateMachine.class);
    private static final int MAGIC = 0x464a4350; // "FJCP"
    /** What {@link #takeSnapshot} returns when nothing was applied yet (Ratis' invalid index). */
    private static final long NO_SNAPSHOT = -1;

    private final int groupNo;
    private final ReplicatedStateMachine delegate;
    private final SimpleStateMachineStorage storage = new SimpleStateMachineStorage();
    private final RaftNode node;

    DataStateMachine(int groupNo, ReplicatedStateMachine delegate, RaftNode node) {
        this.groupNo = groupNo;
        this.delegate = delegate;
        this.node = node;
    }

    @Override
    public void initialize(RaftServer server, RaftGroupId groupId, RaftStorage raftStorage) throws IOException {
        super.initialize(server, groupId, raftStorage);
        storage.init(raftStorage);
        SingleFileSnapshotInfo latest = storage.loadLatestSnapshot();
        if (latest == null) {
            delegate.restore(null);
            return;
        }
        byte[] checkpoint = readCheckpoint(latest.getFile().getPath());
        delegate.restore(checkpoint);
        setLastAppliedTermIndex(latest.getTermIndex());
        log.info("group {}: restored checkpoint at {}", groupNo, latest.getTermIndex());
    }

    @Override
    public StateMachineStorage getStateMachineStorage() {
        return storage;
    }

    @Override
    public CompletableFuture<Message> applyTransaction(TransactionContext trx) {
        LogEntryProto entry = trx.getLogEntry();
        byte[] reply;
        try {
            reply = delegate.apply(
                    entry.getIndex(),
                    entry.getTerm(),
                    entry.getStateMachineLogEntry().getLogData().asReadOnlyByteBuffer());
        } finally {
            updateLastAppliedTermIndex(entry.getTerm(), entry.getIndex());
        }
        return CompletableFuture.completedFuture(Message.valueOf(UnsafeByteOperations.unsafeWrap(reply)));
    }

    @Override
    public long takeSnapshot() throws IOException {
        TermIndex ti = getLastAppliedTermIndex();
        if (ti == null || ti.getIndex() <= 0) {
            return NO_SNAPSHOT;
        }
        byte[] checkpoint = delegate.checkpoint(ti.getIndex());
        File target = storage.getSnapshotFile(ti.getTerm(), ti.getIndex());
        writeCheckpoint(target.toPath(), checkpoint);
        storage.updateLatestSnapshot(new SingleFileSnapshotInfo(new FileInfo(target.toPath(), null), ti));
        storage.cleanupOldSnapshots(new SnapshotRetentionPolicy() {
            @Override
            public int getNumSnapshotsRetained() {
                return 2;
            }
        });
        return ti.getIndex();
    }

    @Override
    public void notifyLeaderChanged(RaftGroupMemberId groupMemberId, RaftPeerId newLeaderId) {
        int leader = newLeaderId == null ? -1 : RaftNode.nodeIdOf(newLeaderId);
        node.onLeaderChanged(groupNo, leader);
        delegate.leaderChanged(leader, node.currentTerm(groupNo));
    }

    @Override
    public void notifyLeaderReady() {
        delegate.leaderReady(node.currentTerm(groupNo));
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
