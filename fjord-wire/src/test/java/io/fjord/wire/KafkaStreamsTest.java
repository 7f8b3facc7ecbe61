package io.fjord.wire;

import static org.assertj.core.api.Assertions.assertThat;

import io.fjord.broker.BrokerConfig;
import io.fjord.broker.group.GroupConfig;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.Config;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.config.ConfigResource;
import org.apache.kafka.common.serialization.LongDeserializer;
import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.apache.kafka.streams.KafkaStreams;
import org.apache.kafka.streams.StreamsBuilder;
import org.apache.kafka.streams.StreamsConfig;
import org.apache.kafka.streams.kstream.Consumed;
import org.apache.kafka.streams.kstream.Grouped;
import org.apache.kafka.streams.kstream.Materialized;
import org.apache.kafka.streams.kstream.Produced;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A stateful Kafka Streams application (a word count: a repartition topic and a compacted changelog
 * topic that Streams creates itself) runs against Fjord, and a new instance with empty local state
 * restores its counts from the changelog.
 */
class KafkaStreamsTest {
    private static final String APP = "word-count";

    @TempDir
    Path dir;

    TestServer fjord;

    @BeforeEach
    void start() throws Exception {
        fjord = new TestServer(BrokerConfig.defaults(dir.resolve("data"), 0)
                .withIoThreads(2)
                .withGroups(GroupConfig.DEFAULT.withInitialRebalanceDelayMs(0)));
    }

    @AfterEach
    void stop() {
        fjord.close();
    }

    @Test
    void wordCountRunsAndRestoresItsStateFromTheChangelog() throws Exception {
        try (Admin admin = Admin.create(fjord.clientProps())) {
            admin.createTopics(List.of(new NewTopic("lines", 2, (short) 1), new NewTopic("counts", 2, (short) 1)))
                    .all()
                    .get();
        }
        send(List.of("a b a", "c a b"));
        try (KafkaStreams streams = wordCount(dir.resolve("state-1"))) {
            streams.start();
            awaitCounts(Map.of("a", 3L, "b", 2L, "c", 1L));
        }

        // The changelog is a compacted topic that Streams created with its own configs.
        String changelog = APP + "-counts-store-changelog";
        try (Admin admin = Admin.create(fjord.clientProps())) {
            ConfigResource r = new ConfigResource(ConfigResource.Type.TOPIC, changelog);
            Config c = admin.describeConfigs(List.of(r)).all().get().get(r);
            assertThat(c.get("cleanup.policy").value()).isEqualTo("compact");
        }

        // A second instance with an empty state directory rebuilds the store from the changelog.
        send(List.of("a d"));
        try (KafkaStreams streams = wordCount(dir.resolve("state-2"))) {
            streams.start();
            awaitCounts(Map.of("a", 4L, "b", 2L, "c", 1L, "d", 1L));
        }
    }

    private KafkaStreams wordCount(Path stateDir) {
        StreamsBuilder b = new StreamsBuilder();
        b.stream("lines", Consumed.with(Serdes.String(), Serdes.String()))
                .flatMapValues(line -> List.of(line.split(" ")))
                .groupBy((k, word) -> word, Grouped.with(Serdes.String(), Serdes.String()))
                .count(Materialized.as("counts-store"))
                .toStream()
                .to("counts", Produced.with(Serdes.String(), Serdes.Long()));
        Properties p = new Properties();
        p.put(StreamsConfig.APPLICATION_ID_CONFIG, APP);
        p.put(StreamsConfig.BOOTSTRAP_SERVERS_CONFIG, fjord.bootstrap());
        p.put(StreamsConfig.STATE_DIR_CONFIG, stateDir.toString());
        p.put(StreamsConfig.COMMIT_INTERVAL_MS_CONFIG, 100);
        p.put(StreamsConfig.STATESTORE_CACHE_MAX_BYTES_CONFIG, 0);
        p.put(StreamsConfig.consumerPrefix(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG), "earliest");
        // Streams members do not leave the group when they close: the second instance's rebalance
        // waits for the first one's session to time out (45 s by default).
        p.put(StreamsConfig.consumerPrefix(ConsumerConfig.SESSION_TIMEOUT_MS_CONFIG), 6000);
        p.put(StreamsConfig.consumerPrefix(ConsumerConfig.HEARTBEAT_INTERVAL_MS_CONFIG), 1000);
        return new KafkaStreams(b.build(), p);
    }

    private void send(List<String> lines) throws Exception {
        Properties p = fjord.clientProps();
        p.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, StringSerializer.class.getName());
        p.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, StringSerializer.class.getName());
        try (KafkaProducer<String, String> producer = new KafkaProducer<>(p)) {
            for (String line : lines) {
                producer.send(new ProducerRecord<>("lines", line)).get();
            }
        }
    }

    /** Reads "counts" from the start until the latest value of every key is as expected. */
    private void awaitCounts(Map<String, Long> expected) {
        Properties p = fjord.clientProps();
        p.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class.getName());
        p.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, LongDeserializer.class.getName());
        Map<String, Long> latest = new HashMap<>();
        try (KafkaConsumer<String, Long> consumer = new KafkaConsumer<>(p)) {
            List<TopicPartition> parts = List.of(new TopicPartition("counts", 0), new TopicPartition("counts", 1));
            consumer.assign(parts);
            consumer.seekToBeginning(parts);
            long deadline = System.nanoTime() + Duration.ofSeconds(90).toNanos();
            while (!latest.equals(expected) && System.nanoTime() < deadline) {
                for (ConsumerRecord<String, Long> r : consumer.poll(Duration.ofMillis(200))) {
                    latest.put(r.key(), r.value());
                }
            }
        }
        assertThat(latest).isEqualTo(expected);
    }
}
