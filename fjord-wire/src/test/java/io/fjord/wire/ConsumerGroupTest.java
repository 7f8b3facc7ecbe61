package io.fjord.wire;

import static org.assertj.core.api.Assertions.assertThat;

import io.fjord.broker.BrokerConfig;
import io.fjord.broker.group.GroupConfig;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.ConsumerGroupDescription;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRebalanceListener;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.CooperativeStickyAssignor;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.GroupState;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Consumer groups with the official Java client (classic protocol). */
class ConsumerGroupTest {
    @TempDir
    Path dir;

    TestServer fjord;

    @BeforeEach
    void start() throws Exception {
        fjord = new TestServer(BrokerConfig.defaults(dir, 0)
                .withIoThreads(2)
                .withGroups(GroupConfig.DEFAULT.withInitialRebalanceDelayMs(100)));
    }

    @AfterEach
    void stop() {
        fjord.close();
    }

    @Test
    void shouldSplitPartitionsAcrossThreeMembersAndConsumeEveryRecordOnce() throws Exception {
        createTopic("g6", 6);
        int n = 6_000;
        produce("g6", n);
        Map<Integer, Set<TopicPartition>> owned = new ConcurrentHashMap<>();
        Map<String, Integer> seen = new ConcurrentHashMap<>();
        AtomicBoolean stop = new AtomicBoolean();
        List<Thread> members = new ArrayList<>();
        for (int m = 0; m < 3; m++) {
            final int id = m;
            Thread t = new Thread(
                    () -> {
                        try (KafkaConsumer<byte[], byte[]> c = consumer("g-three", Map.of())) {
                            c.subscribe(List.of("g6"));
                            while (!stop.get()) {
                                for (ConsumerRecord<byte[], byte[]> r : c.poll(Duration.ofMillis(100))) {
                                    seen.merge(new String(r.value(), StandardCharsets.UTF_8), 1, Integer::sum);
                                }
                                c.commitSync();
                                owned.put(id, new HashSet<>(c.assignment()));
                            }
                        }
                    },
                    "member-" + m);
            t.start();
            members.add(t);
        }
        long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
        while (System.nanoTime() < deadline && !(seen.size() == n && balanced(owned))) {
            Thread.onSpinWait();
            Thread.sleep(50); // polling a condition, not waiting for an event
        }
        stop.set(true);
        for (Thread t : members) {
            t.join(30_000);
        }
        assertThat(seen).hasSize(n);
        assertThat(seen.values()).allMatch(c -> c == 1);
        assertThat(balanced(owned))
                .as("each of 6 partitions owned by exactly one of 3 members: %s", owned)
                .isTrue();
        try (Admin admin = Admin.create(fjord.clientProps())) {
            Map<TopicPartition, OffsetAndMetadata> committed = admin.listConsumerGroupOffsets("g-three")
                    .partitionsToOffsetAndMetadata()
                    .get();
            assertThat(committed).hasSize(6);
            assertThat(committed.values().stream()
                            .mapToLong(OffsetAndMetadata::offset)
                            .sum())
                    .isEqualTo(n);
        }
    }

    private static boolean balanced(Map<Integer, Set<TopicPartition>> owned) {
        if (owned.size() != 3) {
            return false;
        }
        Set<TopicPartition> all = new HashSet<>();
        int total = 0;
        for (Set<TopicPartition> s : owned.values()) {
            if (s.size() != 2) {
                return false;
            }
            all.addAll(s);
            total += s.size();
        }
        return all.size() == 6 && total == 6;
    }

    @Test
    void shouldMovePartitionsWhenAMemberLeavesAndKeepCooperativeOnesInPlace() throws Exception {
        createTopic("coop", 4);
        Map<String, String> coop =
                Map.of(ConsumerConfig.PARTITION_ASSIGNMENT_STRATEGY_CONFIG, CooperativeStickyAssignor.class.getName());
        KafkaConsumer<byte[], byte[]> b = consumer("g-coop", coop);
        try (KafkaConsumer<byte[], byte[]> a = consumer("g-coop", coop)) {
            List<Collection<TopicPartition>> revokedFromA = new ArrayList<>();
            a.subscribe(List.of("coop"), new ConsumerRebalanceListener() {
                @Override
                public void onPartitionsRevoked(Collection<TopicPartition> partitions) {
                    if (!partitions.isEmpty()) {
                        revokedFromA.add(new ArrayList<>(partitions));
                    }
                }

                @Override
                public void onPartitionsAssigned(Collection<TopicPartition> partitions) {}
            });
            pollUntil(List.of(a), () -> a.assignment().size() == 4);
            Set<TopicPartition> before = new HashSet<>(a.assignment());
            b.subscribe(List.of("coop"));
            pollUntil(
                    List.of(a, b),
                    () -> a.assignment().size() == 2 && b.assignment().size() == 2);
            // Cooperative: A gave up only what moved to B, never everything at once.
            assertThat(revokedFromA).allSatisfy(r -> assertThat(r).hasSizeLessThanOrEqualTo(2));
            assertThat(before).containsAll(a.assignment());
            b.close();
            pollUntil(List.of(a), () -> a.assignment().size() == 4);
        } finally {
            b.close();
        }
    }

    @Test
    void shouldResumeFromCommittedOffsetsAfterABrokerRestart() throws Exception {
        createTopic("resume", 2);
        produce("resume", 100);
        try (KafkaConsumer<byte[], byte[]> c =
                consumer("g-resume", Map.of(ConsumerConfig.MAX_POLL_RECORDS_CONFIG, "30"))) {
            c.subscribe(List.of("resume"));
            int got = 0;
            long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
            while (got < 30 && System.nanoTime() < deadline) {
                got += c.poll(Duration.ofMillis(200)).count();
            }
            c.commitSync();
        }
        Map<TopicPartition, OffsetAndMetadata> committedBefore;
        try (Admin admin = Admin.create(fjord.clientProps())) {
            committedBefore = admin.listConsumerGroupOffsets("g-resume")
                    .partitionsToOffsetAndMetadata()
                    .get();
        }
        long committedTotal = committedBefore.values().stream()
                .mapToLong(OffsetAndMetadata::offset)
                .sum();
        assertThat(committedTotal).isBetween(30L, 99L);

        fjord.restart();

        Set<String> rest = new HashSet<>();
        try (KafkaConsumer<byte[], byte[]> c = consumer("g-resume", Map.of())) {
            c.subscribe(List.of("resume"));
            long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
            while (rest.size() < 100 - committedTotal && System.nanoTime() < deadline) {
                c.poll(Duration.ofMillis(200)).forEach(r -> rest.add(new String(r.value(), StandardCharsets.UTF_8)));
            }
        }
        assertThat(rest).as("resumed exactly at the committed offsets").hasSize((int) (100 - committedTotal));
        try (Admin admin = Admin.create(fjord.clientProps())) {
            ConsumerGroupDescription d = admin.describeConsumerGroups(List.of("g-resume"))
                    .all()
                    .get()
                    .get("g-resume");
            assertThat(d.groupState()).isIn(GroupState.EMPTY, GroupState.STABLE);
            assertThat(admin.listGroups().all().get()).anyMatch(g -> g.groupId().equals("g-resume"));
        }
    }

    @Test
    void shouldExpelAKilledMemberAfterTheSessionTimeoutAndMoveItsPartitionsToTheSurvivor() throws Exception {
        createTopic("kill", 4);
        int n = 400;
        produce("kill", n);
        Process child = startMemberProcess("g-kill", "kill");
        BlockingQueue<String> childAssignments = stdoutLines(child);
        try (KafkaConsumer<byte[], byte[]> survivor = consumer("g-kill", SHORT_SESSION)) {
            awaitLine(childAssignments, "assigned 0,1,2,3");
            survivor.subscribe(List.of("kill"));
            String[] childOwns = {"assigned 0,1,2,3"};
            pollAndCommitUntil(survivor, () -> {
                String line = childAssignments.poll();
                if (line != null) {
                    childOwns[0] = line;
                }
                return survivor.assignment().size() == 2 && childOwns[0].split(",").length == 2;
            });

            child.destroyForcibly(); // SIGKILL: no LeaveGroup, no last heartbeat
            assertThat(child.waitFor(10, TimeUnit.SECONDS)).isTrue();
            long killedNs = System.nanoTime();
            pollAndCommitUntil(survivor, () -> survivor.assignment().size() == 4);
            long movedAfterMs = Duration.ofNanos(System.nanoTime() - killedNs).toMillis();

            // At most one heartbeat interval of the session had passed before the kill.
            assertThat(movedAfterMs)
                    .as("expelled after the session timeout (6 s)")
                    .isBetween(6_000L - 1_000L - 200L, 20_000L);
            Map<TopicPartition, Long> ends = survivor.endOffsets(survivor.assignment());
            pollAndCommitUntil(
                    survivor,
                    () -> ends.entrySet().stream().allMatch(e -> survivor.position(e.getKey()) == e.getValue()));
        } finally {
            child.destroyForcibly();
        }
        try (Admin admin = Admin.create(fjord.clientProps())) {
            Map<TopicPartition, OffsetAndMetadata> committed = admin.listConsumerGroupOffsets("g-kill")
                    .partitionsToOffsetAndMetadata()
                    .get();
            assertThat(committed.values().stream()
                            .mapToLong(OffsetAndMetadata::offset)
                            .sum())
                    .isEqualTo(n);
        }
    }

    @Test
    void shouldGiveARestartedStaticMemberItsPartitionsWithoutDisturbingTheOthers() throws Exception {
        createTopic("static", 4);
        Map<String, String> staticA = new HashMap<>(SHORT_SESSION);
        staticA.put(ConsumerConfig.GROUP_INSTANCE_ID_CONFIG, "static-a");
        List<String> otherEvents = new ArrayList<>();
        KafkaConsumer<byte[], byte[]> a = consumer("g-static", staticA);
        try (KafkaConsumer<byte[], byte[]> other = consumer("g-static", SHORT_SESSION)) {
            a.subscribe(List.of("static"));
            pollUntil(List.of(a), () -> a.assignment().size() == 4);
            other.subscribe(List.of("static"), new ConsumerRebalanceListener() {
                @Override
                public void onPartitionsRevoked(Collection<TopicPartition> partitions) {
                    otherEvents.add("revoked " + partitions);
                }

                @Override
                public void onPartitionsAssigned(Collection<TopicPartition> partitions) {
                    otherEvents.add("assigned " + partitions);
                }
            });
            pollUntil(
                    List.of(a, other),
                    () -> a.assignment().size() == 2 && other.assignment().size() == 2);
            Set<TopicPartition> ofA = new HashSet<>(a.assignment());
            Set<TopicPartition> ofOther = new HashSet<>(other.assignment());
            int generation = other.groupMetadata().generationId();
            otherEvents.clear();

            a.close(); // a static member's close does not leave the group
            long closedNs = System.nanoTime();
            try (KafkaConsumer<byte[], byte[]> restarted = consumer("g-static", staticA)) {
                restarted.subscribe(List.of("static"));
                pollUntil(
                        List.of(restarted, other), () -> !restarted.assignment().isEmpty());
                assertThat(Duration.ofNanos(System.nanoTime() - closedNs))
                        .as("back within the session timeout")
                        .isLessThan(Duration.ofMillis(6_000));
                assertThat(restarted.assignment()).isEqualTo(ofA);
                assertThat(restarted.groupMetadata().generationId()).isEqualTo(generation);
                // Give a rebalance, if one were under way, the time to reach the other member.
                long untilNs = System.nanoTime() + Duration.ofMillis(2_500).toNanos();
                while (System.nanoTime() < untilNs) {
                    restarted.poll(Duration.ofMillis(50));
                    other.poll(Duration.ofMillis(50));
                }
                assertThat(otherEvents)
                        .as("rebalance callbacks of the other member")
                        .isEmpty();
                assertThat(other.assignment()).isEqualTo(ofOther);
                assertThat(other.groupMetadata().generationId()).isEqualTo(generation);
                assertThat(restarted.assignment()).isEqualTo(ofA);
            }
        } finally {
            a.close();
        }
    }

    private static final Map<String, String> SHORT_SESSION = Map.of(
            ConsumerConfig.SESSION_TIMEOUT_MS_CONFIG, "6000", ConsumerConfig.HEARTBEAT_INTERVAL_MS_CONFIG, "1000");

    /** A {@link GroupMemberProcess} in a child JVM, with this JVM's java binary and class path. */
    private Process startMemberProcess(String group, String topic) throws Exception {
        Path java = Path.of(System.getProperty("java.home"), "bin", "java");
        return new ProcessBuilder(
                        java.toString(),
                        "--enable-native-access=ALL-UNNAMED",
                        "-cp",
                        System.getProperty("java.class.path"),
                        GroupMemberProcess.class.getName(),
                        fjord.bootstrap(),
                        group,
                        topic,
                        "6000",
                        "1000")
                // Kept after the test (the temporary directory is not), for a post-mortem.
                .redirectError(
                        Path.of("target", "member-process-" + group + ".stderr").toFile())
                .start();
    }

    /** The child's stdout, line by line, read by a daemon thread. */
    private static BlockingQueue<String> stdoutLines(Process p) {
        BlockingQueue<String> lines = new LinkedBlockingQueue<>();
        Thread reader = new Thread(
                () -> {
                    try (BufferedReader r =
                            new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
                        for (String line; (line = r.readLine()) != null; ) {
                            lines.add(line);
                        }
                    } catch (IOException e) {
                        // the process died: no more lines
                    }
                },
                "member-process-stdout");
        reader.setDaemon(true);
        reader.start();
        return lines;
    }

    private static void awaitLine(BlockingQueue<String> lines, String expected) throws InterruptedException {
        long deadlineNs = System.nanoTime() + Duration.ofSeconds(30).toNanos();
        for (String line = null; !expected.equals(line); ) {
            long leftNs = deadlineNs - System.nanoTime();
            assertThat(leftNs)
                    .as("\"%s\" from the member process within 30 s", expected)
                    .isPositive();
            line = lines.poll(leftNs, TimeUnit.NANOSECONDS);
        }
    }

    /** Polls and commits what was consumed after every poll, as a plain at-least-once consumer does. */
    private static void pollAndCommitUntil(KafkaConsumer<byte[], byte[]> c, java.util.function.BooleanSupplier done) {
        long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
        while (!done.getAsBoolean()) {
            assertThat(System.nanoTime()).as("condition within 30 s").isLessThan(deadline);
            c.poll(Duration.ofMillis(50));
            c.commitSync();
        }
    }

    private void pollUntil(List<KafkaConsumer<byte[], byte[]>> consumers, java.util.function.BooleanSupplier done) {
        long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
        while (!done.getAsBoolean()) {
            assertThat(System.nanoTime()).as("condition within 60 s").isLessThan(deadline);
            consumers.forEach(c -> c.poll(Duration.ofMillis(50)));
        }
    }

    private void createTopic(String name, int partitions) throws Exception {
        try (Admin admin = Admin.create(fjord.clientProps())) {
            admin.createTopics(List.of(new NewTopic(name, partitions, (short) 1)))
                    .all()
                    .get();
        }
    }

    private void produce(String topic, int n) throws Exception {
        try (KafkaProducer<byte[], byte[]> p =
                new KafkaProducer<>(fjord.clientProps(), new ByteArraySerializer(), new ByteArraySerializer())) {
            for (int i = 0; i < n; i++) {
                p.send(new ProducerRecord<>(
                        topic, ("k" + i).getBytes(StandardCharsets.UTF_8), ("v" + i).getBytes(StandardCharsets.UTF_8)));
            }
            p.flush();
        }
    }

    private KafkaConsumer<byte[], byte[]> consumer(String group, Map<String, String> extra) {
        Properties p = fjord.clientProps();
        p.put(ConsumerConfig.GROUP_ID_CONFIG, group);
        p.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
        p.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false");
        p.putAll(extra);
        return new KafkaConsumer<>(p, new ByteArrayDeserializer(), new ByteArrayDeserializer());
    }
}
