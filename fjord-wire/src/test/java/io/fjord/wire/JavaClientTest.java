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
import java.util.Set;
import java.util.concurrent.Future;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** The official Java client, default settings, against a real Fjord node over TCP. */
class JavaClientTest {
    @TempDir
    Path dir;

    TestServer fjord;

    @BeforeEach
    void start() throws Exception {
        fjord = new TestServer(dir);
    }

    @AfterEach
    void stop() {
        fjord.close();
    }

    @Test
    void shouldProduceAndConsumeHundredThousandKeyedRecordsInPartitionOrder() throws Exception {
        createTopic("orders", 6);
        int n = 100_000;
        Map<Integer, List<Long>> offsetsByPartition = new HashMap<>();
        // Recent timestamps: records older than retention.ms (7 days) would be deleted at once.
        long t0 = System.currentTimeMillis() - n;
        try (KafkaProducer<byte[], byte[]> producer = producer(Map.of())) {
            List<Future<RecordMetadata>> acks = new ArrayList<>(n);
            for (int i = 0; i < n; i++) {
                ProducerRecord<byte[], byte[]> r = new ProducerRecord<>("orders", null, t0 + i, key(i), value(i));
                r.headers().add("i", Integer.toString(i).getBytes(StandardCharsets.UTF_8));
                acks.add(producer.send(r));
            }
            for (Future<RecordMetadata> f : acks) {
                RecordMetadata md = f.get();
                offsetsByPartition
                        .computeIfAbsent(md.partition(), p -> new ArrayList<>())
                        .add(md.offset());
            }
        }
        assertThat(offsetsByPartition).hasSize(6);
        List<ConsumerRecord<byte[], byte[]>> got = consumeAll("orders", 6, n);
        assertThat(got).hasSize(n);
        Map<Integer, Long> lastOffset = new HashMap<>();
        Set<Integer> seen = new java.util.HashSet<>();
        for (ConsumerRecord<byte[], byte[]> r : got) {
            int i = Integer.parseInt(new String(r.headers().lastHeader("i").value(), StandardCharsets.UTF_8));
            assertThat(r.key()).isEqualTo(key(i));
            assertThat(r.value()).isEqualTo(value(i));
            assertThat(r.timestamp()).isEqualTo(t0 + i);
            Long prev = lastOffset.put(r.partition(), r.offset());
            assertThat(r.offset()).isEqualTo(prev == null ? 0 : prev + 1);
            assertThat(seen.add(i)).isTrue();
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"none", "gzip", "snappy", "lz4", "zstd"})
    void shouldRoundTripEveryCompressionCodec(String codec) throws Exception {
        String topic = "codec-" + codec;
        createTopic(topic, 2);
        int n = 5_000;
        try (KafkaProducer<byte[], byte[]> producer =
                producer(Map.of(ProducerConfig.COMPRESSION_TYPE_CONFIG, codec, ProducerConfig.LINGER_MS_CONFIG, "5"))) {
            for (int i = 0; i < n; i++) {
                producer.send(new ProducerRecord<>(topic, key(i), value(i)));
            }
            producer.flush();
        }
        List<ConsumerRecord<byte[], byte[]>> got = consumeAll(topic, 2, n);
        assertThat(got).hasSize(n);
        Set<String> values = new java.util.HashSet<>();
        got.forEach(r -> values.add(new String(r.value(), StandardCharsets.UTF_8)));
        assertThat(values).hasSize(n);
    }

    private void createTopic(String name, int partitions) throws Exception {
        try (Admin admin = Admin.create(fjord.clientProps())) {
            admin.createTopics(List.of(new NewTopic(name, partitions, (short) 1)))
                    .all()
                    .get();
        }
    }

    private KafkaProducer<byte[], byte[]> producer(Map<String, String> extra) {
        Properties p = fjord.clientProps();
        p.putAll(extra);
        return new KafkaProducer<>(p, new ByteArraySerializer(), new ByteArraySerializer());
    }

    private List<ConsumerRecord<byte[], byte[]>> consumeAll(String topic, int partitions, int expected) {
        Properties p = fjord.clientProps();
        p.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
        List<ConsumerRecord<byte[], byte[]>> got = new ArrayList<>();
        try (KafkaConsumer<byte[], byte[]> consumer =
                new KafkaConsumer<>(p, new ByteArrayDeserializer(), new ByteArrayDeserializer())) {
            List<TopicPartition> tps = new ArrayList<>();
            for (int i = 0; i < partitions; i++) {
                tps.add(new TopicPartition(topic, i));
            }
            consumer.assign(tps);
            long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
            while (got.size() < expected && System.nanoTime() < deadline) {
                consumer.poll(Duration.ofMillis(500)).forEach(got::add);
            }
        }
        return got;
    }

    static byte[] key(int i) {
        return ("key-" + (i % 997)).getBytes(StandardCharsets.UTF_8);
    }

    static byte[] value(int i) {
        return ("value-" + i + "-" + "x".repeat(i % 50)).getBytes(StandardCharsets.UTF_8);
    }
}
