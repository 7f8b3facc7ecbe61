package io.fjord.cli;

import static io.fjord.cli.Polling.await;
import static io.fjord.cli.Polling.msSince;
import static org.assertj.core.api.Assertions.assertThat;

import io.fjord.raft.RaftAdmin;
import io.fjord.raft.RaftPeerSpec;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.IntStream;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Three nodes, each in a network namespace of its own ({@link NetnsCluster}; root only, otherwise
 * skipped), under an idempotent acks=all producer, while one node is cut off from the other two
 * (not from the client, which may go on talking to it) and the network then heals. Every
 * partition must acknowledge again within a bound, the other two must take metadata changes (a
 * topic is created through them once the cut-off node's lease has run out in their view), every
 * acknowledged record must survive once and in order, and the replicas must end identical.
 */
class NetworkPartitionTest {
    private static final String TOPIC = "split";
    private static final int PARTITIONS = 3;

    @TempDir
    java.nio.file.Path dir;

    private NetnsCluster cluster;

    @AfterEach
    void tearDown() {
        if (cluster != null) {
            cluster.close();
        }
    }

    /**
     * The node cut off leads partition 0. It cannot reach a majority, so it must acknowledge nothing
     * more, while the other two elect a new leader, tell the client so, and acknowledge. (Before
     * the view clock of {@code ClusterState.clockMs}, the cut-off node's Metadata listed itself as
     * the only live node in about one run in six, and the client, which then knew no other node,
     * never found the new leader.)
     */
    @Test
    @Timeout(value = 4, unit = TimeUnit.MINUTES)
    void shouldKeepEveryAcknowledgedRecordWhenAPartitionLeaderIsCutOff() throws Exception {
        produceThroughACut("the leader of " + TOPIC + "-0", admin -> ClusterProcesses.leaderOf(admin, TOPIC, 0));
    }

    /**
     * The node cut off leads the metadata group (and with it the controller's duties). The other
     * two elect a new metadata leader, and the partitions the cut-off node led move to them.
     */
    @Test
    @Timeout(value = 4, unit = TimeUnit.MINUTES)
    void shouldKeepEveryAcknowledgedRecordAndTakeMetadataChangesWhenTheMetadataLeaderIsCutOff() throws Exception {
        produceThroughACut("the metadata leader", admin -> metadataLeader());
    }

    /** Chooses the node to cut off, once the producer runs. */
    private interface Victim {
        int choose(Admin admin) throws Exception;
    }

    private void produceThroughACut(String what, Victim chooser) throws Exception {
        startWithTopic();
        try (SequencedProducer producer = new SequencedProducer(cluster.bootstrap(), TOPIC, PARTITIONS, 120_000);
                Admin admin = cluster.admin()) {
            await("300 acknowledged records", 60, () -> producer.ackedCount() >= 300);
            int victim = chooser.choose(admin);
            assertThat(victim).as(what).isPositive();
            cluster.isolate(victim);
            long cutNs = System.nanoTime(); // sends from here on start after the cut is complete
            log("cut node %d (%s) off from the others after %d acks", victim, what, producer.ackedCount());
            await(
                    "an acknowledgement on every partition for a record sent after the cut",
                    90,
                    () -> IntStream.range(0, PARTITIONS)
                            .allMatch(p -> producer.acks(p).stream().anyMatch(a -> a.sentNs() > cutNs)));
            log("every partition acknowledges again %d ms after the cut", msSince(cutNs));
            List<Integer> majority =
                    cluster.ids().stream().filter(id -> id != victim).toList();
            String viaMajority = String.join(
                    ",",
                    majority.stream()
                            .map(id -> cluster.address(id) + ":" + NetnsCluster.KAFKA_PORT)
                            .toList());
            // Once the cut-off node's lease has run out in their view, they list only themselves in
            // Metadata and place new replicas on themselves (a two-member group with the unreachable
            // node could not elect). Each probe is a new client: one that has learnt the cut-off
            // node's address may ask it, and its view has stopped at the cut.
            await("nodes " + majority + " to count only themselves as live", 60, 500, () -> {
                try (Admin probe = ClusterProcesses.admin(viaMajority)) {
                    return probe.describeCluster().nodes().get(5, TimeUnit.SECONDS).stream()
                            .map(org.apache.kafka.common.Node::id)
                            .sorted()
                            .toList()
                            .equals(majority);
                } catch (Exception e) {
                    return false;
                }
            });
            log("nodes %s count only themselves as live %d ms after the cut", majority, msSince(cutNs));
            // A client with Kafka's default timeouts (30 s requests, 60 s calls), as an operator's.
            try (Admin admin2 = Admin.create(Map.of("bootstrap.servers", viaMajority))) {
                admin2.createTopics(List.of(new NewTopic("created-during-the-cut", 1, (short) 2)))
                        .all()
                        .get(90, TimeUnit.SECONDS);
            }
            log("a topic created through nodes %s %d ms after the cut", majority, msSince(cutNs));
            long ackedAfterCut = producer.ackedCount();
            await("300 more acks during the cut", 60, () -> producer.ackedCount() >= ackedAfterCut + 300);
            long healNs = System.nanoTime();
            cluster.heal();
            long ackedAtHeal = producer.ackedCount();
            await("300 more acks after the network healed", 60, () -> producer.ackedCount() >= ackedAtHeal + 300);
            log("300 more acks %d ms after the network healed", msSince(healNs));
            producer.stop();
            assertThat(producer.failures())
                    .as("sends that failed (acks=all, idempotent, 120 s delivery timeout)")
                    .isEmpty();
            Map<Integer, List<ConsumerRecord<String, String>>> logs =
                    ClusterProcesses.readAll(cluster.bootstrap(), TOPIC, PARTITIONS);
            producer.assertEachSentRecordOnceInOrder(logs);
            ReplicaLog.assertReplicasAgree(TOPIC, PARTITIONS, logs, cluster.ids(), cluster::nodeDir);
            assertThat(cluster.isRunning(victim)).as("node %d runs", victim).isTrue();
        }
    }

    /**
     * The coordinator of a consumer group is cut off while one member consumes, committing after
     * every poll, and a producer writes. The group's offsets partition gets a new leader, which
     * coordinates the group from the offsets committed so far: a commit succeeds again, and in the
     * end the member has read every acknowledged record (at least once: after a coordinator move
     * a member may read again from its last commit) and commits the end of every partition.
     */
    @Test
    @Timeout(value = 4, unit = TimeUnit.MINUTES)
    void shouldGoOnConsumingAndCommittingWhenTheGroupCoordinatorIsCutOff() throws Exception {
        String group = "readers";
        startWithTopic();
        try (SequencedProducer producer = new SequencedProducer(cluster.bootstrap(), TOPIC, PARTITIONS, 120_000);
                CommittingConsumer consumer = new CommittingConsumer(cluster.bootstrap(), group, TOPIC);
                Admin admin = cluster.admin()) {
            await("300 records consumed and committed", 60, () -> consumer.seen() >= 300 && consumer.commits() > 0);
            int victim = admin.describeConsumerGroups(List.of(group))
                    .all()
                    .get(10, TimeUnit.SECONDS)
                    .get(group)
                    .coordinator()
                    .id();
            cluster.isolate(victim);
            long cutNs = System.nanoTime();
            log(
                    "cut node %d (coordinator of group %s) off from the others after %d records read",
                    victim, group, consumer.seen());
            await("a commit after the cut", 90, () -> consumer.lastCommitNs() > cutNs);
            log("the group commits again %d ms after the cut", msSince(cutNs));
            long seenAfterCut = consumer.seen();
            await("300 more records consumed during the cut", 60, () -> consumer.seen() >= seenAfterCut + 300);
            cluster.heal();
            producer.stop();
            assertThat(producer.failures()).as("sends that failed").isEmpty();
            Map<Integer, java.util.Set<Long>> acked = new java.util.HashMap<>();
            for (int p = 0; p < PARTITIONS; p++) {
                acked.put(
                        p,
                        producer.acks(p).stream()
                                .map(SequencedProducer.Ack::seq)
                                .collect(java.util.stream.Collectors.toSet()));
            }
            await("every acknowledged record consumed", 60, () -> consumer.hasSeenAll(acked));
            Map<Integer, Long> ends = new java.util.HashMap<>();
            for (int p = 0; p < PARTITIONS; p++) {
                ends.put(p, (long) producer.acks(p).size());
            }
            await(
                    "the group's committed offsets at the end of every partition",
                    60,
                    () -> committed(admin, group).equals(ends));
            assertThat(consumer.failure())
                    .as("the consumer's unexpected failure")
                    .isNull();
            log(
                    "read %d records (%d again after a coordinator move), %d commits, %d commits failed",
                    consumer.seen(),
                    consumer.seen()
                            - ends.values().stream().mapToLong(Long::longValue).sum(),
                    consumer.commits(),
                    consumer.failedCommits());
        }
    }

    /** The group's committed offsets per partition of {@link #TOPIC}; empty when they cannot be read now. */
    private static Map<Integer, Long> committed(Admin admin, String group) {
        try {
            Map<Integer, Long> out = new java.util.HashMap<>();
            admin.listConsumerGroupOffsets(group)
                    .partitionsToOffsetAndMetadata()
                    .get(10, TimeUnit.SECONDS)
                    .forEach((tp, om) -> out.put(tp.partition(), om.offset()));
            return out;
        } catch (Exception e) {
            return Map.of();
        }
    }

    /** Three nodes and {@link #TOPIC}, with three replicas of each partition. */
    private void startWithTopic() throws Exception {
        cluster = NetnsCluster.startOrSkip(dir, 3);
        try (Admin admin = cluster.admin()) {
            admin.createTopics(List.of(new NewTopic(TOPIC, PARTITIONS, (short) 3)))
                    .all()
                    .get(30, TimeUnit.SECONDS);
        }
    }

    /** The node that says it leads the metadata group, asked over Raft; -1 when none does. */
    private int metadataLeader() {
        List<RaftPeerSpec> voters = cluster.ids().stream()
                .map(id -> new RaftPeerSpec(id, cluster.address(id), NetnsCluster.RAFT_PORT))
                .toList();
        for (RaftPeerSpec v : voters) {
            if ("LEADER".equals(RaftAdmin.metaRole(v, voters, Duration.ofSeconds(2)))) {
                return v.nodeId();
            }
        }
        return -1;
    }

    private static void log(String format, Object... args) {
        System.out.printf("[network-partition] " + format + "%n", args);
    }
}
