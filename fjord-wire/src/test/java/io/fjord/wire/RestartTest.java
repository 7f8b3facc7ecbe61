package io.fjord.wire;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A broker restart in the middle of an idempotent produce (the Java client's default): nothing
 * acknowledged is lost, and the producer's retries of in-flight batches create no duplicate.
 */
class RestartTest {
    @TempDir
    Path dir;

    @Test
    void shouldKeepEveryAcknowledgedRecordExactlyOnceAcrossARestart() throws Exception {
        int n = 20_000;
        TestServer fjord = new TestServer(dir);
        try {
            try (Admin admin = Admin.create(fjord.clientProps())) {
                admin.createTopics(List.of(new NewTopic("r", 3, (short) 1)))
                        .all()
                        .get();
            }
            Map<Integer, Boolean> acked = new ConcurrentHashMap<>();
            AtomicInteger failed = new AtomicInteger();
            Properties pp = fjord.clientProps();
            pp.put("linger.ms", "2");
            try (KafkaProducer<byte[], byte[]> producer =
                    new KafkaProducer<>(pp, new ByteArraySerializer(), new ByteArraySerializer())) {
                for (int i = 0; i < n; i++) {
                    if (i == n / 2) {
                        fjord.restart();
                    }
                    final int id = i;
                    producer.send(
                            new ProducerRecord<>(
                                    "r",
                                    Integer.toString(i % 7).getBytes(StandardCharsets.UTF_8),
                                    Integer.toString(i).getBytes(StandardCharsets.UTF_8)),
                            (md, err) -> {
                                if (err == null) {
                                    acked.put(id, true);
                                } else {
                                    failed.incrementAndGet();
                                }
                            });
                }
                producer.flush();
            }
            assertThat(failed.get()).isZero();
            assertThat(acked).hasSize(n);

            fjord.restart();
            Properties cp = fjord.clientProps();
            cp.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
            Map<Integer, Integer> seen = new HashMap<>();
            Map<String, List<Integer>> perKey = new HashMap<>();
            try (KafkaConsumer<byte[], byte[]> consumer =
                    new KafkaConsumer<>(cp, new ByteArrayDeserializer(), new ByteArrayDeserializer())) {
                consumer.assign(
                        List.of(new TopicPartition("r", 0), new TopicPartition("r", 1), new TopicPartition("r", 2)));
                long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
                int total = 0;
                while (total < n && System.nanoTime() < deadline) {
                    for (ConsumerRecord<byte[], byte[]> r : consumer.poll(Duration.ofMillis(500))) {
                        int id = Integer.parseInt(new String(r.value(), StandardCharsets.UTF_8));
                        seen.merge(id, 1, Integer::sum);
                        perKey.computeIfAbsent(new String(r.key(), StandardCharsets.UTF_8), k -> new ArrayList<>())
                                .add(id);
                        total++;
                    }
                }
                // Read a little longer: a duplicate would show up past n.
                consumer.poll(Duration.ofMillis(500))
                        .forEach(r -> seen.merge(
                                Integer.parseInt(new String(r.value(), StandardCharsets.UTF_8)), 1, Integer::sum));
            }
            assertThat(seen).as("every acknowledged record is there").hasSize(n);
            assertThat(seen.values()).as("no duplicates").allMatch(c -> c == 1);
            // Per key (one partition each), records keep the order they were sent in.
            perKey.values().forEach(ids -> assertThat(ids).isSorted());
        } finally {
            fjord.close();
        }
    }
}
