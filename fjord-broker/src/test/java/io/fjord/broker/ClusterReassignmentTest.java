package io.fjord.broker;

import static org.assertj.core.api.Assertions.assertThat;

import io.fjord.broker.group.GroupConfig;
import io.fjord.raft.DataGroup;
import io.fjord.raft.RaftPeerSpec;
import io.fjord.storage.LogConfig;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;
import java.util.function.BooleanSupplier;
import java.util.function.UnaryOperator;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Four nodes in one JVM (each its own Raft server on its own ports): three voters of the metadata
 * group, then a fourth node joins. The controller moves data-group replicas to it by Raft
 * membership change while a writer keeps appending; nothing acknowledged is lost, the new replica
 * holds the same bytes as the leader, and preferred leaders end up spread over the nodes.
 */
class ClusterReassignmentTest {
    @TempDir
    Path dir;

    /** Read by the writer threads while the test adds nodes: copy on write. */
    private final List<Broker> brokers = new java.util.concurrent.CopyOnWriteArrayList<>();

    private final ExecutorService owners = Executors.newFixedThreadPool(2);
    /** Adjusts every node's cluster settings (a test may shrink the Raft logs). */
    private UnaryOperator<ClusterConfig> tune = c -> c;

    @AfterEach
    void tearDown() {
        for (Broker b : brokers) {
            b.close();
        }
        owners.shutdownNow();
    }

    /**
     * A free port below Linux's ephemeral range (32768 and up) that this test has not taken yet:
     * an ephemeral one can be handed to another connection's local end (the nodes' own clients
     * connect while they start) between this choice and the node's bind.
     */
    private int freePort() throws Exception {
        for (int attempt = 0; attempt < 1000; attempt++) {
            int port = java.util.concurrent.ThreadLocalRandom.current().nextInt(20_000, 32_000);
            if (!chosenPorts.add(port)) {
                continue;
            }
            try (ServerSocket s = new ServerSocket(port, 1, InetAddress.getLoopbackAddress())) {
                return s.getLocalPort();
            } catch (java.io.IOException taken) {
                // try another
            }
        }
        throw new IllegalStateException("no free port found");
    }

    private final java.util.Set<Integer> chosenPorts = new java.util.HashSet<>();

    private final int[] kafka = new int[4];
    private final int[] raft = new int[4];
    private List<RaftPeerSpec> voters;

    /** Starts nodes 1-3 (the metadata voters; ports for a fourth are chosen too); returns node 1. */
    private Broker startThreeNodes() throws Exception {
        for (int i = 0; i < 4; i++) {
            kafka[i] = freePort();
            raft[i] = freePort();
        }
        voters = List.of(
                new RaftPeerSpec(1, "127.0.0.1", raft[0]),
                new RaftPeerSpec(2, "127.0.0.1", raft[1]),
                new RaftPeerSpec(3, "127.0.0.1", raft[2]));
        // A thread per node: each start waits for a quorum of the others. (The common pool has one
        // thread on 2 cores, so its starts ran one after the other until the first timed out.)
        ExecutorService starter = Executors.newFixedThreadPool(3);
        try {
            List<CompletableFuture<Broker>> starting = new ArrayList<>();
            for (int i = 0; i < 3; i++) {
                BrokerConfig c = config(i + 1, kafka[i], raft[i]);
                starting.add(CompletableFuture.supplyAsync(() -> Broker.open(c, List.of(owners)), starter));
            }
            for (CompletableFuture<Broker> f : starting) {
                brokers.add(f.get(180, TimeUnit.SECONDS));
            }
        } finally {
            starter.shutdown();
        }
        Broker first = brokers.get(0);
        await(
                "three live nodes",
                30_000,
                () -> first.clusterView()
                                .liveBrokers(first.config().cluster().brokerLeaseMs())
                                .size()
                        == 3);
        return first;
    }

    /** Creates a topic with replication factor 3 and waits for a leader of each partition. */
    private void createTopic(Broker via, String topic, int partitions) {
        createTopic(via, topic, partitions, 3);
    }

    private void createTopic(Broker via, String topic, int partitions, int replicationFactor) {
        var created = via.createTopic(topic, partitions, replicationFactor, Map.of(), false);
        assertThat(created.getKey()).as(created.getValue()).isEqualTo(Broker.CreateResult.CREATED);
        await("leaders of every partition", 30_000, () -> {
            for (int p = 0; p < partitions; p++) {
                if (leaderOf(topic, p) == null) {
                    return false;
                }
            }
            return true;
        });
    }

    private BrokerConfig config(int id, int kafkaPort, int raftPort) {
        return new BrokerConfig(
                        id,
                        "127.0.0.1",
                        kafkaPort,
                        dir.resolve("node-" + id),
                        2,
                        true,
                        1,
                        BrokerConfig.MAX_FRAME_BYTES_DEFAULT,
                        1000,
                        LogConfig.DEFAULT,
                        GroupConfig.DEFAULT,
                        ClusterConfig.DEFAULT)
                .withCluster(tune.apply(ClusterConfig.DEFAULT
                        .withRaftPort(raftPort)
                        .withMetaVoters(voters)
                        .withGroupsPerNode(1)
                        .withElectionTimeoutMs(1000)));
    }

    private static void await(String what, long timeoutMs, BooleanSupplier cond) {
        long deadline = System.currentTimeMillis() + timeoutMs;
        while (!cond.getAsBoolean()) {
            if (System.currentTimeMillis() >= deadline) {
                // What every thread was doing, for the report.
                Thread.getAllStackTraces().forEach((t, st) -> {
                    System.out.println("THREAD " + t.getName() + " " + t.getState());
                    for (StackTraceElement e : st) {
                        System.out.println("    at " + e);
                    }
                });
            }
            assertThat(System.currentTimeMillis())
                    .as("timed out waiting for " + what)
                    .isLessThan(deadline);
            Thread.onSpinWait();
        }
    }

    private PartitionReplica leaderOf(String topic, int p) {
        for (Broker b : brokers) {
            PartitionReplica r = b.replica(topic, p);
            if (r != null && r.isLeader()) {
                return r;
            }
        }
        return null;
    }

    @Test
    void shouldMoveReplicasToAJoiningNodeWhileProducingWithoutLosingAnything() throws Exception {
        Broker first = startThreeNodes();
        createTopic(first, "moving", 3);

        // A writer appends to partition 0 through whichever node leads it. An append whose future
        // times out may still commit (its fate is unknown), so the writer only records what was
        // acknowledged: each acknowledged batch's offsets, checked against the logs at the end.
        Writer writer = new Writer("moving", 1);
        await("some records", 30_000, () -> writer.acked.get() >= 200);

        brokers.add(Broker.open(config(4, kafka[3], raft[3]), List.of(owners)));

        // The controller moves replicas until memberships are even: each of the 4 nodes in 2 or 3
        // of the 3 groups x 3 replicas (9 memberships).
        try {
            await("replicas on the new node", 120_000, () -> {
                Broker.PartitionView v = first.partitionView("moving", 0);
                int onFour = 0;
                for (int p = 0; p < 3; p++) {
                    Broker.PartitionView pv = first.partitionView("moving", p);
                    if (pv != null && pv.replicas().contains(4)) {
                        onFour++;
                    }
                }
                return v != null && onFour >= 2;
            });
        } catch (AssertionError e) {
            for (Broker b : brokers) {
                for (int p = 0; p < 3; p++) {
                    System.out.println("DIAG node " + b.config().nodeId() + " moving-" + p + " group "
                            + b.clusterView().topics.get("moving").groupOf(p) + ": " + b.partitionView("moving", p));
                }
                System.out.println("DIAG node " + b.config().nodeId() + " groups " + b.clusterView().rgroups);
            }
            throw e;
        }
        long before = writer.acked.get();
        await("writes after the move", 30_000, () -> writer.acked.get() >= before + 100);
        writer.stop();

        // Every acknowledged record is on the leader, and each replica holds the same bytes.
        PartitionReplica leader = leaderOf("moving", 0);
        assertThat(leader).isNotNull();
        long total = writer.ackedEnd[0].get();
        assertThat(total).as("offsets of acknowledged batches").isGreaterThanOrEqualTo(writer.acked.get());
        await("high watermark", 10_000, () -> leader.highWatermark() >= total);
        byte[] reference = bytes(leader, total);
        Broker.PartitionView pv = first.partitionView("moving", 0);
        for (int id : pv.replicas()) {
            PartitionReplica r = brokers.get(id - 1).replica("moving", 0);
            assertThat(r).as("replica on node " + id).isNotNull();
            await("replica " + id + " caught up", 30_000, () -> r.highWatermark() >= total);
            assertThat(bytes(r, total)).as("bytes on node " + id).isEqualTo(reference);
        }

        // Preferred leaders spread: no node prefers more than one group more than another.
        await("balanced leaders", 60_000, () -> {
            Map<Integer, Integer> leaders = new HashMap<>();
            for (int n = 1; n <= 4; n++) {
                leaders.put(n, 0);
            }
            for (ClusterState.RGroup g : first.clusterView().rgroups.values()) {
                leaders.merge(g.preferred(), 1, Integer::sum);
            }
            int max =
                    leaders.values().stream().mapToInt(Integer::intValue).max().orElse(0);
            int min =
                    leaders.values().stream().mapToInt(Integer::intValue).min().orElse(0);
            return max - min <= 1;
        });
    }

    /**
     * The groups checkpoint every 64 entries and keep 64 KiB Raft log segments, and the writer goes
     * on until every group carrying a partition has purged the start of its log on every member. A
     * member a move then adds cannot replay the log from its first entry: it installs the leader's
     * state (its checkpoint and the records up to it), then follows the log. Every replica ends with
     * the same bytes from offset 0, and every acknowledged record is there.
     */
    @Test
    void shouldInstallTheLeadersStateOnANodeJoiningGroupsWhoseLogsWerePurged() throws Exception {
        tune = c -> c.withRaftLog(64, 64 * 1024);
        Broker first = startThreeNodes();
        int partitions = 3;
        createTopic(first, "purged", partitions);
        Set<Integer> groups = new HashSet<>();
        for (int p = 0; p < partitions; p++) {
            groups.add(first.clusterView().topics.get("purged").groupOf(p));
        }

        Writer writer = new Writer("purged", partitions);
        await("every written group purged the start of its Raft log on every member", 120_000, () -> {
            for (int g : groups) {
                for (Broker b : brokers) {
                    Optional<DataGroup> dg = b.dataGroup(g);
                    if (dg.isPresent() && dg.get().firstLogIndex() <= 1) {
                        return false;
                    }
                }
            }
            return true;
        });

        Broker four = Broker.open(config(4, kafka[3], raft[3]), List.of(owners));
        brokers.add(four);
        await("replicas on the new node", 120_000, () -> {
            int onFour = 0;
            for (int p = 0; p < partitions; p++) {
                Broker.PartitionView pv = first.partitionView("purged", p);
                if (pv != null && pv.replicas().contains(4)) {
                    onFour++;
                }
            }
            return onFour >= 2;
        });
        long before = writer.acked.get();
        await("writes after the move", 30_000, () -> writer.acked.get() >= before + 100);
        writer.stop();

        int installedOnFour = 0;
        for (int p = 0; p < partitions; p++) {
            int part = p;
            await("a leader of " + p, 30_000, () -> leaderOf("purged", part) != null);
            PartitionReplica leader = leaderOf("purged", p);
            long total = writer.ackedEnd[p].get();
            try {
                await("high watermark of " + p, 10_000, () -> leader.highWatermark() >= total);
            } catch (AssertionError e) {
                for (Broker b : brokers) {
                    PartitionReplica r = b.replica("purged", p);
                    System.out.println("DIAG partition " + p + " acked end " + total + " node "
                            + b.config().nodeId() + ": "
                            + (r == null ? "none" : "hw " + r.highWatermark() + " leader " + r.isLeader()));
                }
                throw e;
            }
            byte[] reference = bytes(leader, total);
            assertThat(reference).as("records of partition " + p).isNotEmpty();
            Broker.PartitionView pv = first.partitionView("purged", p);
            for (int id : pv.replicas()) {
                PartitionReplica r = brokers.get(id - 1).replica("purged", p);
                assertThat(r).as("replica of " + p + " on node " + id).isNotNull();
                await("replica of " + p + " on node " + id + " caught up", 30_000, () -> r.highWatermark() >= total);
                assertThat(r.logStartOffset())
                        .as("log start of " + p + " on node " + id)
                        .isZero();
                assertThat(bytes(r, total))
                        .as("bytes of " + p + " on node " + id)
                        .isEqualTo(reference);
            }
            if (pv.replicas().contains(4)) {
                installedOnFour++;
                int g = first.clusterView().topics.get("purged").groupOf(p);
                assertThat(four.dataGroup(g).orElseThrow().firstLogIndex())
                        .as("node 4's log of group " + g + " starts after the installed checkpoint")
                        .isGreaterThan(1);
            }
        }
        assertThat(installedOnFour).isGreaterThanOrEqualTo(2);
    }

    /**
     * A replication-factor-1 topic: each partition's group has one voter, which takes produce
     * batches as solo writes (no Raft entry each). A move of such a group to another node first
     * closes its solo writes with a checkpoint that covers them, and the new member installs it:
     * every acknowledged batch is on the new replica, from offset 0. (A member that replayed the
     * log instead would stop at the SOLO_END entry, and the new replica would never catch up.)
     */
    @Test
    void shouldMoveAGroupThatTookSoloWritesWithoutLosingAnything() throws Exception {
        Broker first = startThreeNodes();
        int partitions = 3;
        createTopic(first, "alone", partitions, 1);
        int g = first.clusterView().topics.get("alone").groupOf(0);
        int from = first.clusterView().rgroups.get(g).members().get(0);
        Broker owner = brokers.get(from - 1);
        Writer writer = new Writer("alone", partitions);
        await(
                "solo writes in group " + g,
                30_000,
                () -> owner.dataGroup(g).map(DataGroup::isSolo).orElse(false));
        await("records written alone", 30_000, () -> writer.ackedEnd[0].get() >= 1000);

        int to = from % 3 + 1;
        assertThat(first.requestMove(g, from, to)).isTrue();
        await("group " + g + " on node " + to + " only", 120_000, () -> {
            ClusterState.RGroup r = first.clusterView().rgroups.get(g);
            return r.adding() < 0 && r.members().equals(List.of(to));
        });
        long before = writer.ackedEnd[0].get();
        await("writes after the move", 30_000, () -> writer.ackedEnd[0].get() >= before + 200);
        writer.stop();

        for (int p = 0; p < partitions; p++) {
            int part = p;
            await("a leader of " + p, 30_000, () -> leaderOf("alone", part) != null);
            PartitionReplica leader = leaderOf("alone", p);
            long total = writer.ackedEnd[p].get();
            await("high watermark of " + p, 30_000, () -> leader.highWatermark() >= total);
            assertThat(leader.logStartOffset()).as("log start of " + p).isZero();
            Map<Long, Integer> batches = new HashMap<>();
            BatchScan.forEach(
                    leader::read,
                    0,
                    total,
                    (b, pos) ->
                            batches.put(b.getLong(pos), b.getInt(pos + io.fjord.storage.RecordBatchHeader.CRC_OFFSET)));
            assertThat(batches)
                    .as("acknowledged batches of " + p + " (base offset to CRC)")
                    .containsAllEntriesOf(writer.ackedBatches.get(p));
        }
    }

    /**
     * A controller that stops after a two-step move changed the voters and before it recorded the
     * move: the next attempt asks the group's leader, finds the voters changed, and records the move
     * instead of adding the removed member back (which left the move failing on every retry).
     */
    @Test
    void shouldFinishAMoveWhoseVotersChangedBeforeTheControllerStopped() throws Exception {
        Broker first = startThreeNodes();
        createTopic(first, "interrupted", 1, 1);
        int g = first.clusterView().topics.get("interrupted").groupOf(0);
        int from = first.clusterView().rgroups.get(g).members().get(0);
        int to = from % 3 + 1;
        AtomicInteger stops = new AtomicInteger();
        for (Broker b : brokers) {
            b.moveFault = () -> {
                if (stops.getAndIncrement() == 0) {
                    throw new IllegalStateException("controller stopped before recording the move (test)");
                }
            };
        }
        Writer writer = new Writer("interrupted", 1);
        await("records before the move", 30_000, () -> writer.ackedEnd[0].get() >= 200);

        assertThat(first.requestMove(g, from, to)).isTrue();
        await("group " + g + " recorded on node " + to + " only", 90_000, () -> {
            ClusterState.RGroup r = first.clusterView().rgroups.get(g);
            return r.adding() < 0 && r.members().equals(List.of(to));
        });
        assertThat(stops.get()).as("the first attempt stopped before recording").isGreaterThanOrEqualTo(2);
        long before = writer.ackedEnd[0].get();
        await("writes after the move", 30_000, () -> writer.ackedEnd[0].get() >= before + 200);
        writer.stop();
    }

    /**
     * Appends 10-record batches round-robin to the topic's first partitions through whichever node
     * leads each. An append whose future times out may still commit (its fate is unknown), so only
     * what was acknowledged is recorded: the records, and each partition's highest acknowledged end.
     */
    private final class Writer {
        final AtomicLong acked = new AtomicLong();
        final AtomicLong[] ackedEnd;
        /** Each partition's acknowledged batches: base offset to the batch's CRC (its content). */
        final List<Map<Long, Integer>> ackedBatches = new ArrayList<>();

        private final AtomicBoolean stop = new AtomicBoolean();
        private final Thread thread;

        Writer(String topic, int partitions) {
            ackedEnd = new AtomicLong[partitions];
            for (int p = 0; p < partitions; p++) {
                ackedEnd[p] = new AtomicLong();
                ackedBatches.add(new java.util.concurrent.ConcurrentHashMap<>());
            }
            thread = new Thread(() -> {
                for (int i = 0; !stop.get(); i++) {
                    int p = i % partitions;
                    PartitionReplica leader = leaderOf(topic, p);
                    if (leader == null) {
                        LockSupport.parkNanos(1_000_000); // no leader known yet (an election, a move)
                        continue;
                    }
                    try {
                        java.nio.ByteBuffer batch = TestBatches.plain(10, p + ":" + i);
                        int crc = batch.getInt(batch.position() + io.fjord.storage.RecordBatchHeader.CRC_OFFSET);
                        AppendOutcome o = leader.append(batch).get(10, TimeUnit.SECONDS);
                        if (o instanceof AppendOutcome.Appended a) {
                            acked.addAndGet(10);
                            ackedEnd[p].accumulateAndGet(a.lastOffset() + 1, Math::max);
                            ackedBatches.get(p).put(a.baseOffset(), crc);
                        }
                    } catch (Exception e) {
                        // not acknowledged: the writer goes on (a retry is a new batch)
                    }
                }
            });
            thread.start();
        }

        void stop() throws InterruptedException {
            stop.set(true);
            thread.join(30_000);
        }
    }

    private static byte[] bytes(PartitionReplica r, long upTo) throws Exception {
        java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream();
        BatchScan.forEach(r::read, 0, upTo, (b, pos) -> {
            int size = io.fjord.storage.RecordBatchHeader.LOG_OVERHEAD + b.getInt(pos + 8);
            byte[] batch = new byte[size];
            b.get(pos, batch);
            out.write(batch, 0, size);
        });
        return out.toByteArray();
    }
}
