package io.fjord.cli;

import java.time.Duration;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.apache.kafka.clients.CommonClientConfigs;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRebalanceListener;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.WakeupException;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;

/** kafka-clients set-up for the group command tests: topics, records, a group's commits, a live member. */
final class GroupClients {
    /** Upper bound on waiting for a consumer to be assigned its partitions. */
    static final long ASSIGN_TIMEOUT_MS = 15_000;

    static final Duration POLL_TIMEOUT = Duration.ofMillis(100);

    private GroupClients() {}

    static void createTopic(String bootstrap, String topic, int partitions)
            throws InterruptedException, ExecutionException {
        try (Admin admin = Admin.create(props(bootstrap))) {
            admin.createTopics(List.of(new NewTopic(topic, partitions, (short) 1)))
                    .all()
                    .get();
        }
    }

    /**
     * Writes {@code count} records to one partition, each in its own batch (the broker finds
     * offsets by time per batch), timestamped {@code firstTimestampMs}, then a second apart.
     */
    static void produce(String bootstrap, String topic, int partition, int count, long firstTimestampMs)
            throws InterruptedException, ExecutionException {
        try (KafkaProducer<String, String> producer =
                new KafkaProducer<>(props(bootstrap), new StringSerializer(), new StringSerializer())) {
            for (int i = 0; i < count; i++) {
                producer.send(new ProducerRecord<>(topic, partition, firstTimestampMs + i * 1000L, null, "r" + i))
                        .get();
            }
        }
    }

    /**
     * Joins {@code group} as its only member, commits {@code offsets} (partition to offset) for
     * {@code topic}, and leaves, so the group is Empty with those offsets.
     */
    static void commit(String bootstrap, String group, String topic, Map<Integer, Long> offsets)
            throws InterruptedException {
        try (Member m = Member.join(bootstrap, group, topic)) {
            m.commit(topic, offsets);
        }
    }

    /** The group's committed offsets for {@code topic}, partition to offset, as Admin reads them. */
    static Map<Integer, Long> committed(String bootstrap, String group, String topic)
            throws InterruptedException, ExecutionException {
        try (Admin admin = Admin.create(props(bootstrap))) {
            Map<Integer, Long> out = new HashMap<>();
            admin.listConsumerGroupOffsets(group)
                    .partitionsToOffsetAndMetadata()
                    .get()
                    .forEach((tp, om) -> {
                        if (tp.topic().equals(topic) && om != null) {
                            out.put(tp.partition(), om.offset());
                        }
                    });
            return out;
        }
    }

    static Properties props(String bootstrap) {
        Properties p = new Properties();
        p.put(CommonClientConfigs.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        return p;
    }

    /**
     * A consumer in a group, polling on its own thread (which owns the consumer) until closed, so
     * the group has an active member. Commits are handed to that thread.
     */
    static final class Member implements AutoCloseable {
        private final KafkaConsumer<byte[], byte[]> consumer;
        private final CountDownLatch assigned = new CountDownLatch(1);
        private final AtomicReference<Map<TopicPartition, OffsetAndMetadata>> toCommit = new AtomicReference<>();
        private final CountDownLatch committed = new CountDownLatch(1);
        private final AtomicReference<RuntimeException> failure = new AtomicReference<>();
        private final Thread poller;
        private volatile boolean stopping;

        private Member(String bootstrap, String group, String topic) {
            Properties p = props(bootstrap);
            p.put(ConsumerConfig.GROUP_ID_CONFIG, group);
            p.put(ConsumerConfig.CLIENT_ID_CONFIG, "member-of-" + group);
            p.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false);
            p.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
            consumer = new KafkaConsumer<>(p, new ByteArrayDeserializer(), new ByteArrayDeserializer());
            consumer.subscribe(List.of(topic), new ConsumerRebalanceListener() {
                @Override
                public void onPartitionsRevoked(Collection<TopicPartition> partitions) {}

                @Override
                public void onPartitionsAssigned(Collection<TopicPartition> partitions) {
                    if (!partitions.isEmpty()) {
                        assigned.countDown();
                    }
                }
            });
            poller = new Thread(this::pollUntilClosed, "member-of-" + group);
        }

        /** Starts polling and returns once the member has been assigned partitions. */
        static Member join(String bootstrap, String group, String topic) throws InterruptedException {
            Member m = new Member(bootstrap, group, topic);
            m.poller.start();
            if (!m.assigned.await(ASSIGN_TIMEOUT_MS, TimeUnit.MILLISECONDS)) {
                m.close();
                throw new AssertionError("no assignment for a member of " + group + " in " + ASSIGN_TIMEOUT_MS + " ms");
            }
            return m;
        }

        void commit(String topic, Map<Integer, Long> offsets) throws InterruptedException {
            Map<TopicPartition, OffsetAndMetadata> m = new HashMap<>();
            offsets.forEach((p, o) -> m.put(new TopicPartition(topic, p), new OffsetAndMetadata(o)));
            toCommit.set(m);
            if (!committed.await(ASSIGN_TIMEOUT_MS, TimeUnit.MILLISECONDS)) {
                throw new AssertionError("commit did not finish in " + ASSIGN_TIMEOUT_MS + " ms");
            }
            RuntimeException e = failure.get();
            if (e != null) {
                throw e;
            }
        }

        private void pollUntilClosed() {
            try {
                while (!stopping) {
                    consumer.poll(POLL_TIMEOUT);
                    Map<TopicPartition, OffsetAndMetadata> c = toCommit.getAndSet(null);
                    if (c != null) {
                        try {
                            consumer.commitSync(c);
                        } catch (RuntimeException e) {
                            failure.set(e);
                        }
                        committed.countDown();
                    }
                }
            } catch (WakeupException e) {
                // close() asked us to stop.
            } finally {
                consumer.close();
            }
        }

        /** Stops polling; the poller leaves the group (LeaveGroup) as it closes the consumer. */
        @Override
        public void close() {
            stopping = true;
            consumer.wakeup();
            try {
                poller.join(ASSIGN_TIMEOUT_MS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }
}
