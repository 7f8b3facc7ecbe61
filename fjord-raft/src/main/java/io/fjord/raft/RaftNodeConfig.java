package io.fjord.raft;

import java.nio.file.Path;
import java.util.List;

/**
 * How a node runs its Raft server.
 *
 * @param nodeId this node's id (peer id {@code "n" + nodeId})
 * @param host address the gRPC server binds to and advertises
 * @param port gRPC port (0 is not allowed: peers must know it)
 * @param dir Raft storage directory (one subdirectory per group)
 * @param metaVoters voters of the metadata group (1, 3 or 5; this node need not be one)
 * @param electionTimeoutMinMs Raft election timeout, lower bound (upper = 2x)
 * @param snapshotThreshold applied entries between automatic checkpoints of a group
 * @param maxEntryBytes the largest entry a group accepts (a produce batch plus a small header)
 * @param logSegmentBytes size of a Raft log segment file (the log is purged a closed segment at a
 *     time, after a checkpoint)
 * @param fsyncBeforeAck whether a Raft log entry counts as stored only once fsynced (survives power
 *     loss of a majority) or once written to the OS (survives a crash of the process: kill -9),
 *     with the fsync following right after; the latter is Kafka's default durability
 */
public record RaftNodeConfig(
        int nodeId,
        String host,
        int port,
        Path dir,
        List<RaftPeerSpec> metaVoters,
        int electionTimeoutMinMs,
        long snapshotThreshold,
        int maxEntryBytes,
        int logSegmentBytes,
        boolean fsyncBeforeAck) {

    public static final int DEFAULT_ELECTION_TIMEOUT_MS = 1000;
    public static final long DEFAULT_SNAPSHOT_THRESHOLD = 4096;
    public static final int DEFAULT_MAX_ENTRY_BYTES = 2 * 1024 * 1024;
    public static final int DEFAULT_LOG_SEGMENT_BYTES = 8 * 1024 * 1024;

    public RaftNodeConfig {
        metaVoters = List.copyOf(metaVoters);
        if (port <= 0) {
            throw new IllegalArgumentException("raft port must be given (got " + port + ")");
        }
        if (metaVoters.isEmpty()) {
            throw new IllegalArgumentException("the metadata group needs at least one voter");
        }
        if (logSegmentBytes < 64 * 1024) {
            throw new IllegalArgumentException("raft log segments below 64 KiB: " + logSegmentBytes);
        }
        if (electionTimeoutMinMs < 50) {
            throw new IllegalArgumentException("election timeout below 50 ms: " + electionTimeoutMinMs);
        }
    }

    public static RaftNodeConfig of(int nodeId, String host, int port, Path dir, List<RaftPeerSpec> metaVoters) {
        return new RaftNodeConfig(
                nodeId,
                host,
                port,
                dir,
                metaVoters,
                DEFAULT_ELECTION_TIMEOUT_MS,
                DEFAULT_SNAPSHOT_THRESHOLD,
                DEFAULT_MAX_ENTRY_BYTES,
                DEFAULT_LOG_SEGMENT_BYTES,
                false);
    }

    public RaftNodeConfig withElectionTimeoutMinMs(int ms) {
        return new RaftNodeConfig(
                nodeId,
                host,
                port,
                dir,
                metaVoters,
                ms,
                snapshotThreshold,
                maxEntryBytes,
                logSegmentBytes,
                fsyncBeforeAck);
    }

    public RaftNodeConfig withSnapshotThreshold(long entries) {
        return new RaftNodeConfig(
                nodeId,
                host,
                port,
                dir,
                metaVoters,
                electionTimeoutMinMs,
                entries,
                maxEntryBytes,
                logSegmentBytes,
                fsyncBeforeAck);
    }

    public RaftPeerSpec self() {
        return new RaftPeerSpec(nodeId, host, port);
    }
}
