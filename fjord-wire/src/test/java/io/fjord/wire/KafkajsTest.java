package io.fjord.wire;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * kafkajs 2.2.4 (Node) against a real Fjord node, through {@code src/test/js/produce-consume.js}:
 * create a topic, produce 1,000 records, consume them with a kafkajs consumer group, check each
 * one and commit. This test then checks the group's committed offsets with the Java admin client,
 * and reads the records again with the Java consumer in assign mode. Skipped when node or npm is
 * not installed; {@code .ci/run} installs them. {@code npm ci} runs only when {@code node_modules}
 * is missing.
 */
class KafkajsTest {
    private static final Path JS_DIR = Path.of("src", "test", "js").toAbsolutePath();
    private static final Duration NPM_TIMEOUT = Duration.ofSeconds(120);
    private static final Duration NODE_TIMEOUT = Duration.ofSeconds(60);
    private static final int RECORDS = 1_000;
    private static final int PARTITIONS = 3;
    private static final int KEYS = 37;
    private static final String GROUP = "kafkajs-group";

    static Path node;
    static Path npm;

    @TempDir
    Path dir;

    TestServer fjord;

    @BeforeAll
    static void installKafkajs() throws Exception {
        node = ExternalCommand.onPath("node", "nodejs").orElse(null);
        npm = ExternalCommand.onPath("npm").orElse(null);
        if (node == null || npm == null) {
            return; // each test reports the skip
        }
        assertThat(JS_DIR.resolve("package-lock.json")).exists();
        if (!Files.exists(JS_DIR.resolve("node_modules").resolve("kafkajs").resolve("package.json"))) {
            ExternalCommand.Result r = ExternalCommand.run(
                    List.of(npm.toString(), "ci", "--prefer-offline", "--no-audit", "--no-fund"),
                    JS_DIR,
                    "",
                    NPM_TIMEOUT);
            assertThat(r.exitCode()).as(r.describe()).isZero();
        }
    }

    @BeforeEach
    void start() throws Exception {
        Assumptions.assumeTrue(
                node != null && npm != null,
                "node or npm is not installed: skipping (apt-get install nodejs npm; .ci/run installs them)");
        fjord = new TestServer(dir);
    }

    @AfterEach
    void stop() {
        if (fjord != null) {
            fjord.close();
        }
    }

    @Test
    void shouldProduceAndReadBackThousandRecords() throws Exception {
        ExternalCommand.Result r = ExternalCommand.run(
                List.of(
                        node.toString(),
                        "produce-consume.js",
                        fjord.bootstrap(),
                        "kafkajs",
                        Integer.toString(RECORDS),
                        GROUP),
                JS_DIR,
                "",
                NODE_TIMEOUT);

        assertThat(r.exitCode()).as(r.describe()).isZero();
        assertThat(r.stdout()).as(r.describe()).contains("\"produced\":1000,\"consumed\":1000");
        assertThat(fjord.server.broker().topic("kafkajs").partitions()).isEqualTo(PARTITIONS);
        assertCommittedAtTheEnd("kafkajs");
        assertJavaConsumerReadsEveryRecord("kafkajs");
    }

    /** The kafkajs group committed, for every partition, the offset after its last record. */
    private void assertCommittedAtTheEnd(String topic) throws Exception {
        Map<TopicPartition, Long> ends = new HashMap<>();
        for (int p = 0; p < PARTITIONS; p++) {
            ends.put(
                    new TopicPartition(topic, p),
                    fjord.server.broker().replica(topic, p).highWatermark());
        }
        assertThat(ends.values().stream().mapToLong(Long::longValue).sum()).isEqualTo(RECORDS);
        try (Admin admin = Admin.create(fjord.clientProps())) {
            Map<TopicPartition, Long> committed = new HashMap<>();
            admin.listConsumerGroupOffsets(GROUP)
                    .partitionsToOffsetAndMetadata()
                    .get()
                    .forEach((tp, o) -> committed.put(tp, o.offset()));
            assertThat(committed).isEqualTo(ends);
        }
    }

    /** What kafkajs wrote, as the Java consumer (assign mode, no group) sees it. */
    private void assertJavaConsumerReadsEveryRecord(String topic) {
        Properties p = fjord.clientProps();
        p.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
        List<ConsumerRecord<String, String>> got = new ArrayList<>();
        try (KafkaConsumer<String, String> consumer =
                new KafkaConsumer<>(p, new StringDeserializer(), new StringDeserializer())) {
            List<TopicPartition> tps = new ArrayList<>();
            for (int i = 0; i < PARTITIONS; i++) {
                tps.add(new TopicPartition(topic, i));
            }
            consumer.assign(tps);
            long deadlineNs = System.nanoTime() + Duration.ofSeconds(30).toNanos();
            while (got.size() < RECORDS && System.nanoTime() < deadlineNs) {
                consumer.poll(Duration.ofMillis(200)).forEach(got::add);
            }
        }
        assertThat(got).hasSize(RECORDS);
        Map<Integer, Long> nextOffset = new HashMap<>();
        Map<Integer, Integer> lastIndex = new HashMap<>();
        Set<Integer> seen = new HashSet<>();
        for (ConsumerRecord<String, String> r : got) {
            int i = Integer.parseInt(new String(r.headers().lastHeader("i").value(), StandardCharsets.UTF_8));
            assertThat(r.key()).as("%s", r).isEqualTo("key-" + (i % KEYS));
            assertThat(r.value()).as("%s", r).isEqualTo("value-" + i + "-" + "abcdefgh".repeat(1 + i % 8));
            assertThat(r.offset()).as("%s", r).isEqualTo(nextOffset.getOrDefault(r.partition(), 0L));
            nextOffset.put(r.partition(), r.offset() + 1);
            assertThat(i).as("%s", r).isGreaterThan(lastIndex.getOrDefault(r.partition(), -1));
            lastIndex.put(r.partition(), i);
            assertThat(seen.add(i)).as("%s", r).isTrue();
        }
    }
}
