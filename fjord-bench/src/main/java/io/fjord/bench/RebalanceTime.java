package io.fjord.bench;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Properties;
import java.util.Set;
import java.util.concurrent.atomic.AtomicBoolean;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.TopicExistsException;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;

/**
 * Consumer-group rebalance time against any Kafka-protocol broker, with the Java client's default
 * settings (so the broker's group.initial.rebalance.delay.ms, 3 s in both Kafka and Fjord, is part
 * of the join figure, as users see it).
 *
 * <pre>
 *   java -cp fjord-bench.jar io.fjord.bench.RebalanceTime BOOTSTRAP MEMBERS ROUNDS
 * </pre>
 *
 * Per round, on a fresh group over a topic of {@code 2 x MEMBERS} partitions: <b>join</b> = from the
 * first subscribe until every member owns partitions and together they own all of them, each
 * member polling in its own thread; <b>leave</b> = from one member's close (which sends
 * LeaveGroup) until the others own all partitions again. Prints one line per round and the medians
 * as {@code join_ms=... leave_ms=...}. Every wait is bounded (60 s).
 */
public final class RebalanceTime {
    private static final long DEADLINE_MS = 60_000;

    private RebalanceTime() {}

    public static void main(String[] args) throws Exception {
        if (args.length != 3) {
            System.err.println("usage: RebalanceTime BOOTSTRAP MEMBERS ROUNDS");
            System.exit(2);
        }
        String bootstrap = args[0];
        int members = Integer.parseInt(args[1]);
        int rounds = Integer.parseInt(args[2]);
        int partitions = 2 * members;
        String topic = "rebalance-" + members;
        Properties ap = new Properties();
        ap.put("bootstrap.servers", bootstrap);
        try (Admin admin = Admin.create(ap)) {
            admin.createTopics(List.of(new NewTopic(topic, partitions, (short) 1)))
                    .all()
                    .get();
        } catch (java.util.concurrent.ExecutionException e) {
            if (!(e.getCause() instanceof TopicExistsException)) {
                throw e;
            }
        }
        long[] joins = new long[rounds];
        long[] leaves = new long[rounds];
        for (int r = 0; r < rounds; r++) {
            long[] t = round(
                    bootstrap, topic, partitions, members, "rebalance-" + members + "-" + r + "-" + System.nanoTime());
            joins[r] = t[0];
            leaves[r] = t[1];
            System.out.printf("round %d: members=%d join_ms=%d leave_ms=%d%n", r, members, t[0], t[1]);
        }
        System.out.printf(
                "members=%d join_ms=%d leave_ms=%d (medians of %d rounds)%n",
                members, median(joins), median(leaves), rounds);
    }

    private static long[] round(String bootstrap, String topic, int partitions, int n, String group) throws Exception {
        List<Member> members = new ArrayList<>();
        long startNs = System.nanoTime();
        for (int i = 0; i < n; i++) {
            Member m = new Member(bootstrap, group, topic);
            members.add(m);
            m.thread.start();
        }
        await(members, partitions);
        long joinMs = (System.nanoTime() - startNs) / 1_000_000;
        Member leaving = members.removeFirst();
        long leaveStartNs = System.nanoTime();
        leaving.stop();
        await(members, partitions);
        long leaveMs = (System.nanoTime() - leaveStartNs) / 1_000_000;
        for (Member m : members) {
            m.stop();
        }
        return new long[] {joinMs, leaveMs};
    }

    /** Until the members own all partitions between them, each at least one, none twice. */
    private static void await(List<Member> members, int partitions) throws InterruptedException {
        long deadline = System.nanoTime() + DEADLINE_MS * 1_000_000;
        while (System.nanoTime() < deadline) {
            Set<TopicPartition> all = new HashSet<>();
            int total = 0;
            boolean everyoneHasSome = true;
            for (Member m : members) {
                Set<TopicPartition> a = m.assignment;
                everyoneHasSome &= !a.isEmpty();
                all.addAll(a);
                total += a.size();
            }
            if (everyoneHasSome && all.size() == partitions && total == partitions) {
                return;
            }
            Thread.sleep(5); // polling a condition with a deadline
        }
        throw new IllegalStateException("group did not settle within " + DEADLINE_MS + " ms");
    }

    private static long median(long[] values) {
        long[] v = values.clone();
        Arrays.sort(v);
        return v[v.length / 2];
    }

    /** One consumer polling in its own thread, publishing its assignment. */
    private static final class Member {
        final Thread thread;
        final AtomicBoolean running = new AtomicBoolean(true);
        volatile Set<TopicPartition> assignment = Set.of();

        Member(String bootstrap, String group, String topic) {
            Properties p = new Properties();
            p.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
            p.put(ConsumerConfig.GROUP_ID_CONFIG, group);
            p.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false");
            thread = new Thread(() -> {
                try (KafkaConsumer<byte[], byte[]> c =
                        new KafkaConsumer<>(p, new ByteArrayDeserializer(), new ByteArrayDeserializer())) {
                    c.subscribe(List.of(topic));
                    while (running.get()) {
                        c.poll(Duration.ofMillis(20));
                        assignment = Set.copyOf(c.assignment());
                    }
                }
                assignment = Set.of();
            });
        }

        void stop() throws InterruptedException {
            running.set(false);
            thread.join(DEADLINE_MS);
        }
    }
}
