package io.fjord.cli;

import static io.fjord.cli.Polling.await;
import static io.fjord.cli.Polling.msSince;
import static org.assertj.core.api.Assertions.assertThat;

import io.fjord.storage.SmallFileSystem;
import java.io.IOException;
import java.nio.file.Files;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.errors.RetriableException;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Three-node clusters of real processes, nodes killed with SIGKILL: what acks=all promises must
 * hold, and failover must be quick. Timings go to stdout (the test's output file).
 */
class ClusterFaultTest {
    /** The Raft election timeout is 1-2 s; a new leader must serve within that plus some slack. */
    static final long FAILOVER_MS_MAX = 10_000;

    @TempDir
    java.nio.file.Path dir;

    private ClusterProcesses cluster;
    private SmallFileSystem smallDisk;

    @AfterEach
    void killNodes() throws Exception {
        if (cluster != null) {
            cluster.close();
        }
        if (smallDisk != null) {
            smallDisk.unmount(3_000, true);
        }
    }

    @Test
    @Timeout(value = 4, unit = TimeUnit.MINUTES)
    void shouldKeepEveryAcknowledgedRecordExactlyOnceWhenTheLeaderIsKilled() throws Exception {
        long[] failoverMs =
                produceThroughALeaderFault("seq", "killed", id -> cluster.kill9(id), id -> cluster.restart(id));
        assertThat(failoverMs[1])
                .as("ms from the kill to the first new acknowledgement")
                .isLessThan(FAILOVER_MS_MAX);
        assertThat(failoverMs[0]).isLessThan(FAILOVER_MS_MAX);
    }

    /**
     * The leader of a partition freezes (SIGSTOP, as in a long GC pause or a VM stall) for longer
     * than an election timeout, then wakes up (SIGCONT) believing it still leads, with the requests
     * it had queued. The other two elect a new leader and go on acknowledging; the old one must step
     * down when it hears of the new term, answer what it had queued with a retriable error rather
     * than an acknowledgement it cannot keep, and catch up.
     */
    @Test
    @Timeout(value = 4, unit = TimeUnit.MINUTES)
    void shouldKeepEveryAcknowledgedRecordExactlyOnceWhenTheLeaderIsPausedAndResumes() throws Exception {
        produceThroughALeaderFault("pause", "paused", id -> cluster.pause(id), id -> cluster.resume(id));
    }

    /** Something done to one node, and its undoing. */
    private interface NodeAction {
        void apply(int node) throws Exception;
    }

    /**
     * Three nodes, a topic of three partitions with three replicas each, and an idempotent acks=all
     * producer sending all along. Once it has 300 acknowledgements, {@code fault} hits the leader of
     * partition 0; once partition 0 acknowledges 200 records sent after that, {@code recovery}
     * undoes it, and 300 more are acknowledged with every node back. Then every acknowledged record
     * must be there once and in order, and the replicas' files identical.
     *
     * @return ms from the fault to a new leader of partition 0 in Metadata, and to the first
     *     acknowledgement of a record sent after the fault
     */
    private long[] produceThroughALeaderFault(String topic, String done, NodeAction fault, NodeAction recovery)
            throws Exception {
        int partitions = 3;
        cluster = ClusterProcesses.start(dir, 3);
        cluster.createTopic(topic, partitions, (short) 3);
        try (SequencedProducer producer = new SequencedProducer(cluster.bootstrap(), topic, partitions, 120_000);
                Admin admin = cluster.admin()) {
            await("300 acknowledged records", 60, () -> producer.ackedCount() >= 300);
            int victim = ClusterProcesses.leaderOf(admin, topic, 0);
            assertThat(victim).isPositive();
            long ackedBefore = producer.ackedCount(0);
            long faultNs = System.nanoTime();
            fault.apply(victim);
            log("%s node %d (leader of %s-0) after %d acks on partition 0", done, victim, topic, ackedBefore);

            int[] newLeader = {-1};
            await("a new leader of partition 0 in Metadata", 60, () -> {
                newLeader[0] = leaderOfQuietly(admin, topic, 0);
                return newLeader[0] > 0 && newLeader[0] != victim;
            });
            long metadataFailoverMs = msSince(faultNs);
            await(
                    "an acknowledgement on partition 0 for a record sent after the fault",
                    60,
                    () -> producer.acks(0).stream().anyMatch(a -> a.sentNs() > faultNs));
            long firstAckNs = producer.acks(0).stream()
                    .filter(a -> a.sentNs() > faultNs)
                    .mapToLong(SequencedProducer.Ack::ackedNs)
                    .min()
                    .orElseThrow();
            long produceFailoverMs = (firstAckNs - faultNs) / 1_000_000;
            log(
                    "failover: node %d leads partition 0 in Metadata %d ms after node %d was %s; first"
                            + " produce acknowledged %d ms after it",
                    newLeader[0], metadataFailoverMs, victim, done, produceFailoverMs);

            long ackedAfterFailover = producer.ackedCount(0);
            await("200 more acks on partition 0", 60, () -> producer.ackedCount(0) >= ackedAfterFailover + 200);
            long recoveryNs = System.nanoTime();
            recovery.apply(victim);
            log("node %d back in %d ms", victim, msSince(recoveryNs));
            long ackedAfterRecovery = producer.ackedCount();
            await("300 more acks with every node up", 60, () -> producer.ackedCount() >= ackedAfterRecovery + 300);
            producer.stop();
            assertThat(producer.failures())
                    .as("sends that failed (acks=all, idempotent, 120 s delivery timeout)")
                    .isEmpty();

            Map<Integer, List<ConsumerRecord<String, String>>> logs = cluster.readAll(topic, partitions);
            producer.assertEachSentRecordOnceInOrder(logs);
            for (int p = 0; p < partitions; p++) {
                log(
                        "partition %d: %d records, each once, in order",
                        p, logs.get(p).size());
            }
            assertReplicasAgree(topic, partitions, logs);
            assertThat(cluster.isRunning(victim)).as("node %d runs", victim).isTrue();
            return new long[] {metadataFailoverMs, produceFailoverMs};
        }
    }

    private void assertReplicasAgree(
            String topic, int partitions, Map<Integer, List<ConsumerRecord<String, String>>> logs) throws Exception {
        ReplicaLog.assertReplicasAgree(topic, partitions, logs, cluster.ids(), cluster::nodeDir);
    }

    @Test
    @Timeout(value = 4, unit = TimeUnit.MINUTES)
    void shouldServeWithOneNodeDownAndRefuseWritesRetriablyWithTwoDown() throws Exception {
        String topic = "minority";
        int partitions = 2;
        cluster = ClusterProcesses.start(dir, 3);
        cluster.createTopic(topic, partitions, (short) 3);
        List<String> acked = new ArrayList<>();

        // One producer throughout, so it has its producer id before quorum is lost: kafka-clients
        // does not expire batches while an idempotent producer's InitProducerId is outstanding, so
        // a producer that starts without a quorum waits (it does not fail) until one returns.
        KafkaProducer<String, String> producer = new KafkaProducer<>(
                SequencedProducer.props(cluster.bootstrap(), 15_000), new StringSerializer(), new StringSerializer());
        Throwable error;
        long failedMs;
        try {
            sendAll(producer, topic, partitions, "all-up", 50, acked);

            int first = cluster.leaderOf(topic, 0);
            cluster.kill9(first);
            long killNs = System.nanoTime();
            sendAll(producer, topic, partitions, "one-down", 50, acked);
            log("one node (%d) down: 50 records acknowledged %d ms after the kill", first, msSince(killNs));
            assertThat(values(cluster.readAll(topic, partitions))).containsExactlyInAnyOrderElementsOf(acked);

            int second =
                    cluster.ids().stream().filter(id -> id != first).findFirst().orElseThrow();
            cluster.kill9(second);
            log("two nodes (%d, %d) down", first, second);
            long sendNs = System.nanoTime();
            ExecutionException e = org.junit.jupiter.api.Assertions.assertThrows(
                    ExecutionException.class,
                    () -> producer.send(new ProducerRecord<>(topic, 0, null, "no-quorum"))
                            .get(60, TimeUnit.SECONDS));
            error = e.getCause();
            failedMs = msSince(sendNs);
        } finally {
            producer.close(Duration.ofSeconds(5));
        }
        log("two nodes down: the send failed after %d ms with %s", failedMs, error);
        assertThat(error).isInstanceOf(RetriableException.class);

        for (int id : cluster.ids()) {
            if (!cluster.isRunning(id)) {
                cluster.startNode(id);
            }
        }
        long restartNs = System.nanoTime();
        cluster.cluster().awaitServing(cluster.ids(), ClusterProcesses.START_TIMEOUT);
        log("all nodes back and serving in %d ms", msSince(restartNs));

        try (KafkaProducer<String, String> again = new KafkaProducer<>(
                SequencedProducer.props(cluster.bootstrap(), 30_000), new StringSerializer(), new StringSerializer())) {
            sendAll(again, topic, partitions, "all-back", 50, acked);
        }
        List<String> all = values(cluster.readAll(topic, partitions));
        // The refused record may or may not have been written (a timed-out send is not a promise
        // either way); everything acknowledged must be there exactly once.
        List<String> withoutRefused =
                all.stream().filter(v -> !v.equals("no-quorum")).toList();
        log(
                "after recovery: %d records, the refused one %s",
                all.size(), all.contains("no-quorum") ? "present" : "absent");
        assertThat(withoutRefused).containsExactlyInAnyOrderElementsOf(acked);
    }

    /**
     * One node's disk fills up (its data directory is a 48 MiB tmpfs the test mounts; it must run
     * as root, otherwise it is skipped): the other two keep acknowledging every write, nothing
     * acknowledged is lost, and once the node has space again it catches up, without a restart, to
     * replicas identical to the others' (its members closed themselves when their Raft log failed,
     * and the broker restarts them from their storage once that works).
     */
    @Test
    @Timeout(value = 4, unit = TimeUnit.MINUTES)
    void shouldKeepAcknowledgingWhenOneNodesDiskIsFullAndCatchUpOnceItHasRoom() throws Exception {
        String topic = "full";
        int partitions = 3;
        int full = 3;
        cluster = ClusterProcesses.start(dir, 3);
        cluster.createTopic(topic, partitions, (short) 3);
        // Node 3's data moves onto the small disk: stop it, set its files aside, mount, copy back.
        cluster.stop(full);
        java.nio.file.Path aside = dir.resolve("node-" + full + "-aside");
        copyTree(cluster.nodeDir(full), aside);
        smallDisk = SmallFileSystem.mountOrSkip(cluster.nodeDir(full), 48);
        copyTree(aside, cluster.nodeDir(full));
        cluster.restart(full);
        List<String> acked = new ArrayList<>();
        try (KafkaProducer<String, String> producer = new KafkaProducer<>(
                SequencedProducer.props(cluster.bootstrap(), 60_000), new StringSerializer(), new StringSerializer())) {
            // ~96 MiB: twice what node 3's disk holds.
            sendAll(producer, topic, partitions, "fill", 6_000, acked, PADDING);
            long left = Files.getFileStore(cluster.nodeDir(full)).getUsableSpace();
            log("6000 records of 16 KiB acknowledged; node %d has %d bytes left", full, left);
            assertThat(left).as("node %d's disk is full", full).isLessThan(1024 * 1024);
            assertThat(ids(cluster.readAll(topic, partitions))).containsExactlyInAnyOrderElementsOf(acked);

            // Space comes back; the node is not restarted: its members restart themselves.
            smallDisk.resize(512);
            long spaceNs = System.nanoTime();
            sendAll(producer, topic, partitions, "after", 300, acked, PADDING);
            Map<Integer, List<ConsumerRecord<String, String>>> logs = cluster.readAll(topic, partitions);
            assertThat(ids(logs)).containsExactlyInAnyOrderElementsOf(acked);
            assertReplicasAgree(topic, partitions, logs);
            log("node %d caught up %d ms after its disk had room again", full, msSince(spaceNs));
            assertThat(cluster.isRunning(full)).as("node %d still runs", full).isTrue();
        }
    }

    private static void copyTree(java.nio.file.Path from, java.nio.file.Path to) throws IOException {
        try (java.util.stream.Stream<java.nio.file.Path> files = Files.walk(from)) {
            for (java.nio.file.Path f : files.toList()) {
                java.nio.file.Path target = to.resolve(from.relativize(f).toString());
                if (Files.isDirectory(f)) {
                    Files.createDirectories(target);
                } else {
                    Files.copy(f, target, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
                }
            }
        }
    }

    /** Record values of 16 KiB: the id, '|', then padding (so that the small disk fills fast). */
    private static final String PADDING = "|" + "x".repeat(16 * 1024);

    private static List<String> ids(Map<Integer, List<ConsumerRecord<String, String>>> logs) {
        return values(logs).stream().map(v -> v.substring(0, v.indexOf('|'))).toList();
    }

    private static void sendAll(
            KafkaProducer<String, String> producer, String topic, int partitions, String tag, int n, List<String> acked)
            throws Exception {
        sendAll(producer, topic, partitions, tag, n, acked, "");
    }

    /** Sends {@code tag-i} + {@code padding} for i < n round robin over the partitions; waits for each ack. */
    private static void sendAll(
            KafkaProducer<String, String> producer,
            String topic,
            int partitions,
            String tag,
            int n,
            List<String> acked,
            String padding)
            throws Exception {
        List<java.util.concurrent.Future<RecordMetadata>> sends = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            sends.add(producer.send(new ProducerRecord<>(topic, i % partitions, null, tag + "-" + i + padding)));
        }
        for (int i = 0; i < n; i++) {
            sends.get(i).get(60, TimeUnit.SECONDS);
            acked.add(tag + "-" + i);
        }
    }

    private static List<String> values(Map<Integer, List<ConsumerRecord<String, String>>> logs) {
        return logs.values().stream()
                .flatMap(List::stream)
                .map(ConsumerRecord::value)
                .toList();
    }

    private static int leaderOfQuietly(Admin admin, String topic, int partition) {
        try {
            return ClusterProcesses.leaderOf(admin, topic, partition);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return -1;
        }
    }

    private static void log(String format, Object... args) {
        System.out.printf("[cluster-fault] " + format + "%n", args);
    }
}
