package io.fjord.broker;

import io.fjord.raft.RaftNodeConfig;
import io.fjord.raft.RaftPeerSpec;
import java.util.List;

/**
 * How a node takes part in the cluster.
 *
 * @param raftPort the Raft (gRPC) port; 0 = the Kafka port + 1000, or a free port when the Kafka
 *     port is itself chosen by the OS
 * @param metaVoters voters of the metadata group; empty = this node alone (a cluster of one)
 * @param groupsPerNode data groups per live node and replication factor (default 1). Every group a
 *     produce request touches is a Raft entry of its own, each paying Ratis' per-entry work on
 *     five threads, so more groups cost CPU per GiB (on three nodes of a 2-core machine one group
 *     per node gave ~40% more throughput than two, docs/benchmarks.md); more groups buy
 *     finer-grained leadership, e.g. for a node that joins to lead partitions of topics created
 *     before it
 * @param electionTimeoutMs Raft election timeout (lower bound; the upper is twice that)
 * @param rack this node's rack ("" = none), for replica placement
 * @param brokerLeaseMs a node whose last heartbeat is older than this counts as down
 * @param defaultReplicationFactor for topics created without one; -1 = min(3, metadata voters)
 * @param raftSnapshotThreshold applied entries between checkpoints of a data group
 * @param raftLogSegmentBytes size of a Raft log segment (purged a closed segment at a time)
 * @param soloWrites a data group whose only voter is this node takes produce batches without a Raft
 *     entry each (see docs/architecture.md, "Solo writes"); off, every batch is a Raft entry
 * @param fsyncBeforeAck acknowledge a write only once its Raft entry is fsynced on a majority
 *     (default false: once it is written to the OS on a majority, which survives kill -9 of any
 *     node, and is fsynced right after; Kafka's default durability)
 */
public record ClusterConfig(
        int raftPort,
        List<RaftPeerSpec> metaVoters,
        int groupsPerNode,
        int electionTimeoutMs,
        String rack,
        long brokerLeaseMs,
        int defaultReplicationFactor,
        boolean fsyncBeforeAck,
        long replaceAfterMs,
        long raftSnapshotThreshold,
        int raftLogSegmentBytes,
        boolean soloWrites) {

    public static final ClusterConfig DEFAULT = new ClusterConfig(
            0,
            List.of(),
            1,
            1000,
            "",
            6000,
            -1,
            false,
            300_000,
            RaftNodeConfig.DEFAULT_SNAPSHOT_THRESHOLD,
            RaftNodeConfig.DEFAULT_LOG_SEGMENT_BYTES,
            true);

    public ClusterConfig {
        metaVoters = List.copyOf(metaVoters);
        if (groupsPerNode < 1 || groupsPerNode > 64) {
            throw new IllegalArgumentException("groups per node must be 1..64: " + groupsPerNode);
        }
        rack = rack == null ? "" : rack;
    }

    public ClusterConfig withRaftPort(int port) {
        return new ClusterConfig(
                port,
                metaVoters,
                groupsPerNode,
                electionTimeoutMs,
                rack,
                brokerLeaseMs,
                defaultReplicationFactor,
                fsyncBeforeAck,
                replaceAfterMs,
                raftSnapshotThreshold,
                raftLogSegmentBytes,
                soloWrites);
    }

    public ClusterConfig withMetaVoters(List<RaftPeerSpec> voters) {
        return new ClusterConfig(
                raftPort,
                voters,
                groupsPerNode,
                electionTimeoutMs,
                rack,
                brokerLeaseMs,
                defaultReplicationFactor,
                fsyncBeforeAck,
                replaceAfterMs,
                raftSnapshotThreshold,
                raftLogSegmentBytes,
                soloWrites);
    }

    public ClusterConfig withGroupsPerNode(int n) {
        return new ClusterConfig(
                raftPort,
                metaVoters,
                n,
                electionTimeoutMs,
                rack,
                brokerLeaseMs,
                defaultReplicationFactor,
                fsyncBeforeAck,
                replaceAfterMs,
                raftSnapshotThreshold,
                raftLogSegmentBytes,
                soloWrites);
    }

    public ClusterConfig withElectionTimeoutMs(int ms) {
        return new ClusterConfig(
                raftPort,
                metaVoters,
                groupsPerNode,
                ms,
                rack,
                brokerLeaseMs,
                defaultReplicationFactor,
                fsyncBeforeAck,
                replaceAfterMs,
                raftSnapshotThreshold,
                raftLogSegmentBytes,
                soloWrites);
    }

    public ClusterConfig withRack(String r) {
        return new ClusterConfig(
                raftPort,
                metaVoters,
                groupsPerNode,
                electionTimeoutMs,
                r,
                brokerLeaseMs,
                defaultReplicationFactor,
                fsyncBeforeAck,
                replaceAfterMs,
                raftSnapshotThreshold,
                raftLogSegmentBytes,
                soloWrites);
    }

    public ClusterConfig withDefaultReplicationFactor(int rf) {
        return new ClusterConfig(
                raftPort,
                metaVoters,
                groupsPerNode,
                electionTimeoutMs,
                rack,
                brokerLeaseMs,
                rf,
                fsyncBeforeAck,
                replaceAfterMs,
                raftSnapshotThreshold,
                raftLogSegmentBytes,
                soloWrites);
    }

    public ClusterConfig withFsyncBeforeAck(boolean on) {
        return new ClusterConfig(
                raftPort,
                metaVoters,
                groupsPerNode,
                electionTimeoutMs,
                rack,
                brokerLeaseMs,
                defaultReplicationFactor,
                on,
                replaceAfterMs,
                raftSnapshotThreshold,
                raftLogSegmentBytes,
                soloWrites);
    }

    public ClusterConfig withReplaceAfterMs(long ms) {
        return new ClusterConfig(
                raftPort,
                metaVoters,
                groupsPerNode,
                electionTimeoutMs,
                rack,
                brokerLeaseMs,
                defaultReplicationFactor,
                fsyncBeforeAck,
                ms,
                raftSnapshotThreshold,
                raftLogSegmentBytes,
                soloWrites);
    }

    /** Checkpoints every {@code entries} applied entries and Raft log segments of {@code bytes}. */
    public ClusterConfig withRaftLog(long entries, int bytes) {
        return new ClusterConfig(
                raftPort,
                metaVoters,
                groupsPerNode,
                electionTimeoutMs,
                rack,
                brokerLeaseMs,
                defaultReplicationFactor,
                fsyncBeforeAck,
                replaceAfterMs,
                entries,
                bytes,
                soloWrites);
    }

    /** Solo writes for groups whose only voter is this node (default on). */
    public ClusterConfig withSoloWrites(boolean on) {
        return new ClusterConfig(
                raftPort,
                metaVoters,
                groupsPerNode,
                electionTimeoutMs,
                rack,
                brokerLeaseMs,
                defaultReplicationFactor,
                fsyncBeforeAck,
                replaceAfterMs,
                raftSnapshotThreshold,
                raftLogSegmentBytes,
                on);
    }
}
