package io.fjord.broker;

import static org.assertj.core.api.Assertions.assertThat;

import io.fjord.broker.group.GroupConfig;
import io.fjord.raft.RaftPeerSpec;
import io.fjord.storage.LogConfig;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.BooleanSupplier;
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

    private final List<Broker> brokers = new ArrayList<>();
    private final ExecutorService owners = Executors.newFixedThreadPool(2);

    @AfterEach
    void tearDown() {
        for (Broker b : brokers) {
            b.close();
        }
        owners.shutdownNow();
    }

    private static int freePort() throws Exception {
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            return s.getLocalPort();
        }
    }

    private BrokerConfig config(int id, int kafkaPort, int raftPort, List<RaftPeerSpec> voters) {
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
                .withCluster(ClusterConfig.DEFAULT
                        .withRaftPort(raftPort)
                        .withMetaVoters(voters)
                        .withGroupsPerNode(1)
                        .withElectionTimeoutMs(1000));
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
        int[] kafka = new int[4];
        int[] raft = new int[4];
        for (int i = 0; i < 4; i++) {
            kafka[i] = freePort();
            raft[i] = freePort();
        }
        List<RaftPeerSpec> voters = List.of(
                new RaftPeerSpec(1, "127.0.0.1", raft[0]),
                new RaftPeerSpec(2, "127.0.0.1", raft[1]),
                new RaftPeerSpec(3, "127.0.0.1", raft[2]));
        List<CompletableFuture<Broker>> starting = new ArrayList<>();
        for (int i = 0; i < 3; i++) {
            BrokerConfig c = config(i + 1, kafka[i], raft[i], voters);
            starting.add(CompletableFuture.supplyAsync(() -> Broker.open(c, List.of(owners))));
        }
        for (CompletableFuture<Broker> f : starting) {
            brokers.add(f.get(180, TimeUnit.SECONDS));
        }
        Broker first = brokers.get(0);
        await(
                "three live nodes",
                30_000,
                () -> first.clusterView()
                                .liveBrokers(
                                        System.currentTimeMillis(),
                                        first.config().cluster().brokerLeaseMs())
                                .size()
                        == 3);
        var created = first.createTopic("moving", 3, 3, Map.of(), false);
        assertThat(created.getKey()).as(created.getValue()).isEqualTo(Broker.CreateResult.CREATED);
        await("leaders of every partition", 30_000, () -> {
            for (int p = 0; p < 3; p++) {
                if (leaderOf("moving", p) == null) {
                    return false;
                }
            }
            return true;
        });

        // A writer appends to partition 0 through whichever node leads it. An append whose future
        // times out may still commit (its fate is unknown), so the writer only records what was
        // acknowledged: each acknowledged batch's offsets, checked against the logs at the end.
        AtomicBoolean stop = new AtomicBoolean();
        AtomicLong acked = new AtomicLong();
        AtomicLong ackedEnd = new AtomicLong();
        Thread writer = new Thread(() -> {
            while (!stop.get()) {
                PartitionReplica leader = leaderOf("moving", 0);
                if (leader == null) {
                    Thread.onSpinWait();
                    continue;
                }
                try {
                    AppendOutcome o = leader.append(TestBatches.plain(10)).get(10, TimeUnit.SECONDS);
                    if (o instanceof AppendOutcome.Appended a) {
                        acked.addAndGet(10);
                        ackedEnd.accumulateAndGet(a.lastOffset() + 1, Math::max);
                    }
                } catch (Exception e) {
                    // not acknowledged: the writer goes on (a retry is a new batch)
                }
            }
        });
        writer.start();
        await("some records", 30_000, () -> acked.get() >= 200);

        BrokerConfig fourth = config(4, kafka[3], raft[3], voters);
        brokers.add(Broker.open(fourth, List.of(owners)));

        // The controller moves replicas until memberships are even: each of the 4 nodes in 2 or 3
        // of the 3 groups x 3 replicas (9 memberships).
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
        long before = acked.get();
        await("writes after the move", 30_000, () -> acked.get() >= before + 100);
        stop.set(true);
        writer.join(30_000);

        // Every acknowledged record is on the leader, and each replica holds the same bytes.
        PartitionReplica leader = leaderOf("moving", 0);
        assertThat(leader).isNotNull();
        long total = ackedEnd.get();
        assertThat(total).as("offsets of acknowledged batches").isGreaterThanOrEqualTo(acked.get());
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
