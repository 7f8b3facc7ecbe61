package io.fjord.wire;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.fjord.broker.BrokerConfig;
import io.fjord.broker.ClusterConfig;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Properties;
import java.util.concurrent.ExecutionException;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.InvalidRecordException;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * A compacted topic ({@code cleanup.policy=compact}) with the official Java client and kcat: the
 * broker's cleaner removes superseded records and deleted keys in the background, and readers from
 * the beginning get the latest value of every key and reach the end across the offset gaps and
 * empty batches the cleaner leaves.
 */
class CompactionTest {
    private static final String TOPIC = "prices";
    private static final TopicPartition TP = new TopicPartition(TOPIC, 0);
    private static final int KEYS = 10;
    private static final int RECORDS = 3_000;
    /**
     * Records after the tombstone: enough to seal its segment and, on the Raft path, for Raft to
     * purge the entries that refer to it (1,024 entries at least, Fjord's purge gap).
     */
    private static final int LATE = 1_500;

    @TempDir
    Path dir;

    TestServer fjord;

    @AfterEach
    void stop() {
        if (fjord != null) {
            fjord.close();
        }
    }

    /**
     * With solo writes (a cluster of one's default) and through a Raft entry per batch, as on a
     * replicated partition. On the Raft path, what a follower may still read back from the log is
     * cleaned only once a checkpoint covers it and Raft has purged its entries: checkpoints every 64
     * entries and 64 KiB Raft log segments here, so that happens within the test's writes.
     */
    @ParameterizedTest(name = "solo writes {0}")
    @ValueSource(booleans = {true, false})
    void theCleanerKeepsTheLatestValueOfEveryKeyForEveryClient(boolean solo) throws Exception {
        fjord = new TestServer(BrokerConfig.defaults(dir.resolve("data"), 0)
                .withIoThreads(2)
                .withCluster(ClusterConfig.DEFAULT.withRaftLog(64, 64 * 1024).withSoloWrites(solo)));
        try (Admin admin = Admin.create(fjord.clientProps())) {
            admin.createTopics(List.of(new NewTopic(TOPIC, 1, (short) 1)
                            .configs(Map.of(
                                    "cleanup.policy", "compact",
                                    "segment.bytes", "4096",
                                    "min.cleanable.dirty.ratio", "0.01",
                                    "delete.retention.ms", "0"))))
                    .all()
                    .get();
        }
        Map<String, String> latest = new LinkedHashMap<>();
        long end;
        try (KafkaProducer<String, String> producer = producer()) {
            for (int i = 0; i < RECORDS; i++) {
                String key = "k" + (i % KEYS);
                String value = "price-" + i;
                producer.send(new ProducerRecord<>(TOPIC, key, value)).get(); // a batch each
                latest.put(key, value);
            }
            producer.send(new ProducerRecord<>(TOPIC, "k9", null)); // k9 is deleted
            latest.remove("k9");
            for (int i = 0; i < LATE; i++) {
                producer.send(new ProducerRecord<>(TOPIC, "k" + (i % 3), "late-" + i))
                        .get();
                latest.put("k" + (i % 3), "late-" + i);
            }
            end = producer.send(new ProducerRecord<>(TOPIC, "k0", "last")).get().offset() + 1;
            latest.put("k0", "last");

            // A compacted topic refuses records without a key.
            assertThatThrownBy(() -> producer.send(new ProducerRecord<>(TOPIC, null, "no key"))
                            .get())
                    .isInstanceOf(ExecutionException.class)
                    .cause()
                    .isInstanceOf(InvalidRecordException.class);
        }

        // The cleaner runs in the background: poll until most records and the deleted key are gone.
        List<ConsumerRecord<String, String>> read = readAll(end);
        long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
        while (read.size() > (RECORDS + LATE) / 4
                || read.stream().anyMatch(r -> r.key().equals("k9"))) { // each read takes a while: no pause needed
            assertThat(System.nanoTime())
                    .as("%d records still there", read.size())
                    .isLessThan(deadline);
            read = readAll(end);
        }
        assertThat(lastValues(read)).isEqualTo(latest);
        assertThat(read).extracting(ConsumerRecord::key).doesNotContain("k9");
        long previous = -1;
        for (ConsumerRecord<String, String> r : read) {
            assertThat(r.offset()).isGreaterThan(previous);
            previous = r.offset();
        }

        Optional<Path> kcat = ExternalCommand.onPath("kcat", "kafkacat");
        if (kcat.isPresent()) {
            ExternalCommand.Result r = ExternalCommand.run(
                    List.of(
                            kcat.get().toString(),
                            "-b",
                            fjord.bootstrap(),
                            "-C",
                            "-t",
                            TOPIC,
                            "-o",
                            "beginning",
                            "-e",
                            "-f",
                            "%o\t%k\t%s\n"),
                    dir,
                    "",
                    Duration.ofSeconds(30));
            assertThat(r.exitCode()).as(r.toString()).isZero();
            Map<String, String> kcatLatest = new LinkedHashMap<>();
            for (String line : r.stdout().split("\n")) {
                String[] f = line.split("\t", -1);
                if (f.length == 3) {
                    kcatLatest.put(f[1], f[2]);
                }
            }
            assertThat(kcatLatest).isEqualTo(latest);
        }

        // The cleaned log survives a restart as it is.
        fjord.restart();
        assertThat(lastValues(readAll(end))).isEqualTo(latest);
    }

    private KafkaProducer<String, String> producer() {
        Properties p = fjord.clientProps();
        p.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, StringSerializer.class.getName());
        p.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, StringSerializer.class.getName());
        p.put(ProducerConfig.LINGER_MS_CONFIG, 0);
        return new KafkaProducer<>(p);
    }

    /** Every record from the beginning up to {@code end}, which the consumer's position must reach. */
    private List<ConsumerRecord<String, String>> readAll(long end) {
        Properties p = fjord.clientProps();
        p.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class.getName());
        p.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class.getName());
        p.put(ConsumerConfig.MAX_PARTITION_FETCH_BYTES_CONFIG, 1024); // many fetches, starting inside gaps
        List<ConsumerRecord<String, String>> out = new ArrayList<>();
        try (KafkaConsumer<String, String> consumer = new KafkaConsumer<>(p)) {
            consumer.assign(List.of(TP));
            consumer.seekToBeginning(List.of(TP));
            long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
            while (consumer.position(TP) < end) {
                assertThat(System.nanoTime())
                        .as("position %d, end %d", consumer.position(TP), end)
                        .isLessThan(deadline);
                consumer.poll(Duration.ofMillis(100)).forEach(out::add);
            }
        }
        return out;
    }

    private static Map<String, String> lastValues(List<ConsumerRecord<String, String>> records) {
        Map<String, String> out = new HashMap<>();
        for (ConsumerRecord<String, String> r : records) {
            if (r.value() == null) {
                out.remove(r.key());
            } else {
                out.put(r.key(), r.value());
            }
        }
        return out;
    }
}
