package io.fjord.cli;

import static io.fjord.cli.Polling.await;
import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.TopicDescription;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartitionInfo;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Reassignment with real processes: three nodes serve a replication-factor-3 topic while an
 * idempotent acks=all producer writes; a fourth node starts; the controller moves replicas to it by
 * Raft membership change. Nothing acknowledged is lost or duplicated, the new node holds replicas
 * and leads partitions, and leadership ends spread over all four nodes.
 */
class ClusterReassignmentProcessTest {
    @TempDir
    Path dir;

    private ClusterProcesses cluster;

    @AfterEach
    void killNodes() {
        if (cluster != null) {
            cluster.close();
        }
    }

    @Test
    void shouldMoveReplicasToANewNodeWhileProducingWithoutLosingAnything() throws Exception {
        cluster = ClusterProcesses.start(dir, 4, 3);
        cluster.createTopic("moving", 3, (short) 3);

        Properties pp = new Properties();
        pp.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, cluster.bootstrap());
        pp.put(ProducerConfig.ACKS_CONFIG, "all");
        pp.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, true);
        pp.put(ProducerConfig.DELIVERY_TIMEOUT_MS_CONFIG, 120_000);
        Set<String> acked = ConcurrentHashMap.newKeySet();
        AtomicInteger failed = new AtomicInteger();
        AtomicBoolean stop = new AtomicBoolean();
        Thread writer = new Thread(() -> {
            try (KafkaProducer<String, String> producer =
                    new KafkaProducer<>(pp, new StringSerializer(), new StringSerializer())) {
                for (int i = 0; !stop.get(); i++) {
                    String v = "r-" + i;
                    producer.send(new ProducerRecord<>("moving", i % 3, null, v), (md, err) -> {
                        if (err == null) {
                            acked.add(v);
                        } else {
                            failed.incrementAndGet();
                        }
                    });
                    if (i % 50 == 49) {
                        producer.flush(); // a steady trickle, not a flood, on a 2-core machine
                    }
                }
                producer.flush();
            }
        });
        writer.start();
        await("records before the new node", 60, () -> acked.size() >= 500);

        cluster.restart(4); // starts node 4 and waits until every node sees all four
        long moveStart = System.nanoTime();
        try (Admin admin = cluster.admin()) {
            // One data group per node: three groups carry every partition, so node 4 takes
            // memberships and the leadership of a loaded group (leadership is evened out by
            // partitions led), and one of the first three nodes then leads none until topics land
            // in a group made for the fourth node (PlacementTest).
            await("replicas on node 4 and node 4 leading", 240, () -> {
                Map<Integer, Integer> led = leadersPerNode(admin);
                return replicasOn(admin, 4) >= 2 && led.getOrDefault(4, 0) > 0;
            });
            System.out.printf(
                    "moves done in %d ms; leaders per node %s%n",
                    TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - moveStart), leadersPerNode(admin));
        }
        int before = acked.size();
        await("writes after the moves", 60, () -> acked.size() >= before + 200);
        stop.set(true);
        writer.join(180_000);
        assertThat(writer.isAlive()).isFalse();
        assertThat(failed.get()).as("failed sends").isZero();

        List<String> read = cluster.readAll("moving", 3).values().stream()
                .flatMap(List::stream)
                .map(ConsumerRecord::value)
                .toList();
        assertThat(new HashSet<>(read)).as("every acknowledged record").containsAll(acked);
        assertThat(read).as("no record twice").doesNotHaveDuplicates();
    }

    /** Partitions (every topic, internal ones too) led by each node. */
    private static Map<Integer, Integer> leadersPerNode(Admin admin) {
        Map<Integer, Integer> led = new HashMap<>();
        for (TopicDescription d : describeAll(admin)) {
            for (TopicPartitionInfo p : d.partitions()) {
                if (p.leader() != null && p.leader().id() >= 0) {
                    led.merge(p.leader().id(), 1, Integer::sum);
                }
            }
        }
        return led;
    }

    private static int replicasOn(Admin admin, int node) {
        int n = 0;
        for (TopicDescription d : describeAll(admin)) {
            for (TopicPartitionInfo p : d.partitions()) {
                if (p.replicas().stream().anyMatch(r -> r.id() == node)) {
                    n++;
                }
            }
        }
        return n;
    }

    private static List<TopicDescription> describeAll(Admin admin) {
        try {
            Set<String> names = admin.listTopics(
                            new org.apache.kafka.clients.admin.ListTopicsOptions().listInternal(true))
                    .names()
                    .get(10, TimeUnit.SECONDS);
            return new ArrayList<>(admin.describeTopics(names)
                    .allTopicNames()
                    .get(10, TimeUnit.SECONDS)
                    .values());
        } catch (Exception e) {
            return List.of();
        }
    }
}
