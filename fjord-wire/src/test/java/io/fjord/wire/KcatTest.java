package io.fjord.wire;

import static org.assertj.core.api.Assertions.assertThat;

import io.fjord.broker.Broker.CreateResult;
import io.fjord.storage.RecordBatchHeader;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.common.TopicPartition;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * kcat (librdkafka; Debian ships librdkafka 2.0.2) against a real Fjord node: produce with every
 * codec and read back with the plain, group-less consumer, consume with a balanced consumer group,
 * and list metadata. Skipped when kcat is not installed; {@code .ci/run} installs it.
 */
class KcatTest {
    private static final Duration KCAT_TIMEOUT = Duration.ofSeconds(30);
    private static final int PARTITIONS = 3;
    private static final int RECORDS = 3_000;
    private static final int KEYS = 37;
    private static final Map<String, Integer> CODEC_IDS =
            Map.of("none", 0, "gzip", 1, "snappy", 2, "lz4", 3, "zstd", 4);

    static Path kcat;

    @TempDir
    Path dir;

    TestServer fjord;

    @BeforeAll
    static void findKcat() {
        kcat = ExternalCommand.onPath("kcat", "kafkacat").orElse(null);
    }

    @BeforeEach
    void start() throws Exception {
        // Here rather than in @BeforeAll, so that every skipped test is reported with the reason.
        Assumptions.assumeTrue(
                kcat != null, "kcat is not installed: skipping (apt-get install kcat; .ci/run installs it)");
        fjord = new TestServer(dir);
    }

    @AfterEach
    void stop() {
        if (fjord != null) {
            fjord.close();
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"none", "gzip", "snappy", "lz4", "zstd"})
    void shouldProduceAndConsumeKeyedRecordsWithEveryCodec(String codec) throws Exception {
        String topic = "kcat-" + codec;
        createTopic(topic, PARTITIONS);

        produce(topic, List.of("-z", codec));

        assertConsumedInOrder(topic, codec);
        // librdkafka before 2.11 enables lz4 only when the broker advertises FindCoordinator (the
        // API that came with lz4 in Kafka 0.8.2) and otherwise sends lz4 batches uncompressed.
        // Fjord serves FindCoordinator since consumer groups, so lz4 must now be stored as lz4.
        // librdkafka also sends a batch uncompressed when compressing would not make it smaller,
        // which happens to a batch of one short record: batches of several must be compressed.
        assertThat(storedCodecs(topic, 2))
                .as("codecs of the batches of several records stored for %s", topic)
                .containsExactly(CODEC_IDS.get(codec));
        assertThat(storedCodecs(topic, 1))
                .as("codecs of all batches stored for %s", topic)
                .isSubsetOf(CODEC_IDS.get(codec), CODEC_IDS.get("none"));
    }

    @Test
    void shouldProduceIdempotently() throws Exception {
        createTopic("kcat-idempotent", PARTITIONS);

        produce("kcat-idempotent", List.of("-z", "zstd", "-X", "enable.idempotence=true"));

        assertConsumedInOrder("kcat-idempotent", "zstd");
    }

    @Test
    void shouldConsumeWithABalancedGroupAndCommitTheEndOffsets() throws Exception {
        String topic = "kcat-group";
        createTopic(topic, PARTITIONS);
        produce(topic, List.of("-z", "lz4"));

        // -G: librdkafka's balanced consumer (FindCoordinator, JoinGroup, SyncGroup, Heartbeat,
        // OffsetCommit with auto-commit, LeaveGroup); -c stops it after every record, and its
        // close commits the offsets it stored.
        ExternalCommand.Result r = kcat(
                List.of(
                        "-G",
                        "kcat-group-g",
                        "-o",
                        "beginning",
                        "-c",
                        Integer.toString(RECORDS),
                        "-f",
                        "%p\t%o\n",
                        topic),
                "");

        assertThat(r.exitCode()).as(r.describe()).isZero();
        String[] lines = r.stdout().split("\n");
        assertThat(lines).as(r.describe()).hasSize(RECORDS);
        assertThat(new HashSet<>(List.of(lines))).as("no record twice").hasSize(RECORDS);
        Map<TopicPartition, Long> ends = new HashMap<>();
        for (int p = 0; p < PARTITIONS; p++) {
            ends.put(
                    new TopicPartition(topic, p),
                    fjord.server.broker().replica(topic, p).highWatermark());
        }
        try (Admin admin = Admin.create(fjord.clientProps())) {
            Map<TopicPartition, Long> committed = new HashMap<>();
            admin.listConsumerGroupOffsets("kcat-group-g")
                    .partitionsToOffsetAndMetadata()
                    .get()
                    .forEach((tp, o) -> committed.put(tp, o.offset()));
            assertThat(committed).as(r.describe()).isEqualTo(ends);
        }
    }

    @Test
    void shouldListBrokerTopicsAndPartitions() throws Exception {
        createTopic("alpha", 3);
        createTopic("beta", 1);

        ExternalCommand.Result all = kcat(List.of("-L"), "");
        assertThat(all.exitCode()).as(all.describe()).isZero();
        Metadata md = Metadata.parse(all.stdout());
        assertThat(md.brokers).as(all.describe()).containsExactly("0 at " + fjord.bootstrap() + " (controller)");
        assertThat(md.partitionsByTopic)
                .as(all.describe())
                .containsOnlyKeys("alpha", "beta", "__consumer_offsets") // Kafka lists internal topics too
                .containsEntry("alpha", List.of(0, 1, 2))
                .containsEntry("beta", List.of(0));
        assertThat(md.partitionLines).as(all.describe()).allMatch(l -> l.endsWith(", leader 0, replicas: 0, isrs: 0"));

        ExternalCommand.Result one = kcat(List.of("-L", "-t", "alpha"), "");
        assertThat(one.exitCode()).as(one.describe()).isZero();
        assertThat(Metadata.parse(one.stdout()).partitionsByTopic)
                .as(one.describe())
                .containsOnlyKeys("alpha")
                .containsEntry("alpha", List.of(0, 1, 2));
    }

    private void createTopic(String name, int partitions) {
        var r = fjord.server.broker().createTopic(name, partitions, 1, Map.of(), false);
        assertThat(r.getKey()).as("create %s: %s", name, r.getValue()).isEqualTo(CreateResult.CREATED);
    }

    /** Produces RECORDS lines "key:value" through kcat -P -K: (acks=all, librdkafka's default). */
    private void produce(String topic, List<String> extra) throws Exception {
        StringBuilder lines = new StringBuilder();
        for (int i = 0; i < RECORDS; i++) {
            lines.append(key(i)).append(':').append(value(i)).append('\n');
        }
        List<String> args = new ArrayList<>(List.of("-P", "-t", topic, "-K", ":"));
        args.addAll(extra);
        ExternalCommand.Result r = kcat(args, lines.toString());
        assertThat(r.exitCode()).as(r.describe()).isZero();
    }

    /**
     * Reads the topic from the beginning to its end with kcat -C (no group) and checks every
     * record: all present once, offsets dense from 0 in each partition, records of a partition in
     * the order they were produced, and every key in one partition only.
     */
    private void assertConsumedInOrder(String topic, String codec) throws Exception {
        ExternalCommand.Result r =
                kcat(List.of("-C", "-t", topic, "-o", "beginning", "-e", "-f", "%p\t%o\t%k\t%s\n"), "");
        assertThat(r.exitCode()).as(r.describe()).isZero();
        String[] lines = r.stdout().split("\n");
        assertThat(lines).as("records of %s (%s)", topic, codec).hasSize(RECORDS);
        Map<Integer, Long> nextOffset = new HashMap<>();
        Map<Integer, Integer> lastIndex = new HashMap<>();
        Map<String, Integer> partitionOfKey = new HashMap<>();
        Set<Integer> seen = new HashSet<>();
        for (String line : lines) {
            String[] f = line.split("\t", -1);
            assertThat(f).as(line).hasSize(4);
            int partition = Integer.parseInt(f[0]);
            long offset = Long.parseLong(f[1]);
            int i = Integer.parseInt(f[3].substring("value-".length(), f[3].indexOf('-', "value-".length())));
            assertThat(f[3]).as(line).isEqualTo(value(i));
            assertThat(f[2]).as(line).isEqualTo(key(i));
            assertThat(offset).as(line).isEqualTo(nextOffset.getOrDefault(partition, 0L));
            nextOffset.put(partition, offset + 1);
            assertThat(i).as(line).isGreaterThan(lastIndex.getOrDefault(partition, -1));
            lastIndex.put(partition, i);
            assertThat(partitionOfKey.computeIfAbsent(key(i), k -> partition))
                    .as(line)
                    .isEqualTo(partition);
            assertThat(seen.add(i)).as(line).isTrue();
        }
        assertThat(nextOffset.keySet()).as("partitions that got records").hasSize(PARTITIONS);
    }

    /**
     * The compression codec ids of the batches of at least {@code minRecords} records on disk for
     * the topic, read from its log files.
     */
    private Set<Integer> storedCodecs(String topic, int minRecords) throws IOException {
        Set<Integer> codecs = new TreeSet<>();
        for (int p = 0; p < PARTITIONS; p++) {
            List<Path> logs;
            try (Stream<Path> files = Files.list(dir.resolve(topic + "-" + p))) {
                logs = files.filter(f -> f.toString().endsWith(".log")).toList();
            }
            for (Path log : logs) {
                ByteBuffer buf = ByteBuffer.wrap(Files.readAllBytes(log));
                for (int pos = 0;
                        pos + RecordBatchHeader.HEADER_SIZE <= buf.limit();
                        pos += RecordBatchHeader.sizeBytes(buf, pos)) {
                    if (RecordBatchHeader.recordsCount(buf, pos) >= minRecords) {
                        codecs.add(RecordBatchHeader.compression(buf, pos));
                    }
                }
            }
        }
        return codecs;
    }

    private ExternalCommand.Result kcat(List<String> args, String stdin) throws Exception {
        List<String> cmd = new ArrayList<>(List.of(kcat.toString(), "-b", fjord.bootstrap()));
        cmd.addAll(args);
        return ExternalCommand.run(cmd, dir, stdin, KCAT_TIMEOUT);
    }

    static String key(int i) {
        return "key-" + (i % KEYS);
    }

    static String value(int i) {
        // Repetitive, so that every codec has something to compress.
        return "value-" + i + "-" + "abcdefgh".repeat(1 + i % 8);
    }

    /** The parts of kcat's plain-text -L output the tests check. */
    private record Metadata(
            List<String> brokers, Map<String, List<Integer>> partitionsByTopic, List<String> partitionLines) {
        private static final Pattern BROKER = Pattern.compile("^ {2}broker (.*)$");
        private static final Pattern TOPIC = Pattern.compile("^ {2}topic \"([^\"]+)\" with (\\d+) partitions:$");
        private static final Pattern PARTITION = Pattern.compile("^ {4}partition (\\d+),.*$");

        static Metadata parse(String text) {
            List<String> brokers = new ArrayList<>();
            Map<String, List<Integer>> topics = new TreeMap<>();
            List<String> partitionLines = new ArrayList<>();
            String topic = null;
            for (String line : text.split("\n")) {
                Matcher m;
                if ((m = BROKER.matcher(line)).matches()) {
                    brokers.add(m.group(1));
                } else if ((m = TOPIC.matcher(line)).matches()) {
                    topic = m.group(1);
                    topics.put(topic, new ArrayList<>());
                } else if ((m = PARTITION.matcher(line)).matches() && topic != null) {
                    topics.get(topic).add(Integer.parseInt(m.group(1)));
                    partitionLines.add(line);
                }
            }
            return new Metadata(brokers, topics, partitionLines);
        }
    }
}
