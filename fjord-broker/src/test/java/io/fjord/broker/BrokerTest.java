package io.fjord.broker;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.fjord.broker.group.GroupConfig;
import io.fjord.storage.LogConfig;
import io.fjord.storage.LogSlice;
import io.fjord.storage.ReadResult;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class BrokerTest {
    private static final long WAIT_S = 10;
    private static final LogConfig LOG_DEFAULTS = LogConfig.DEFAULT.withSegmentBytes(64 * 1024);

    @TempDir
    Path dataDir;

    private BrokerConfig config;
    private List<ExecutorService> owners;
    private Broker broker;

    @BeforeEach
    void setUp() {
        // Housekeeping far in the future: tests drive everything themselves.
        config = new BrokerConfig(
                0,
                "127.0.0.1",
                0,
                dataDir,
                2,
                true,
                3,
                BrokerConfig.MAX_FRAME_BYTES_DEFAULT,
                600_000,
                LOG_DEFAULTS,
                GroupConfig.DEFAULT,
                ClusterConfig.DEFAULT.withGroupsPerNode(2));
        open();
    }

    @AfterEach
    void tearDown() throws InterruptedException {
        close();
    }

    private void open() {
        owners = new ArrayList<>();
        for (int i = 0; i < 2; i++) {
            String name = "test-owner-" + i;
            owners.add(Executors.newSingleThreadExecutor(r -> new Thread(r, name)));
        }
        broker = Broker.open(config, owners);
    }

    /** Stops the owners first, as the server does, then closes the broker on this thread. */
    private void close() throws InterruptedException {
        for (ExecutorService owner : owners) {
            owner.shutdown();
        }
        for (ExecutorService owner : owners) {
            assertThat(owner.awaitTermination(WAIT_S, TimeUnit.SECONDS)).isTrue();
        }
        broker.close();
    }

    private void reopen() throws InterruptedException {
        close();
        open();
    }

    private Broker.CreateResult create(String name, int partitions, int rf, Map<String, String> configs) {
        return broker.createTopic(name, partitions, rf, configs, false).getKey();
    }

    private AppendOutcome append(String topic, int partition, java.nio.ByteBuffer batch) throws Exception {
        return broker.replica(topic, partition).append(batch).get(WAIT_S, TimeUnit.SECONDS);
    }

    private LogConfig logConfig(String topic, int partition) {
        return ((RaftReplica) broker.replica(topic, partition)).partitionLog().config();
    }

    private List<String> partitionDirs(String topic) throws IOException {
        try (Stream<Path> s = Files.list(dataDir)) {
            return s.map(p -> p.getFileName().toString())
                    .filter(n -> n.startsWith(topic + "-") || n.startsWith(topic + "."))
                    .toList();
        }
    }

    @Test
    void shouldCreateTopicWithItsPartitionsAndConfigs() throws IOException {
        Map.Entry<Broker.CreateResult, String> r =
                broker.createTopic("orders", 4, 1, Map.of("retention.ms", "60000"), false);

        assertThat(r.getKey()).isEqualTo(Broker.CreateResult.CREATED);
        TopicInfo t = broker.topic("orders");
        assertThat(t.partitions()).isEqualTo(4);
        assertThat(t.configs()).containsExactly(Map.entry("retention.ms", "60000"));
        assertThat(userTopics()).containsOnlyKeys("orders");
        assertThat(partitionDirs("orders")).containsExactlyInAnyOrder("orders-0", "orders-1", "orders-2", "orders-3");
        assertThat(logConfig("orders", 3)).isEqualTo(LOG_DEFAULTS.withRetentionMs(60_000));
    }

    @Test
    void shouldUseDefaultPartitionsAndReplicationForMinusOne() {
        assertThat(create("orders", -1, -1, Map.of())).isEqualTo(Broker.CreateResult.CREATED);

        assertThat(broker.topic("orders").partitions()).isEqualTo(config.defaultPartitions());
    }

    @Test
    void shouldRefuseExistingTopic() {
        create("orders", 2, 1, Map.of());
        TopicInfo before = broker.topic("orders");

        Map.Entry<Broker.CreateResult, String> r = broker.createTopic("orders", 5, 1, Map.of(), false);

        assertThat(r.getKey()).isEqualTo(Broker.CreateResult.TOPIC_ALREADY_EXISTS);
        assertThat(r.getValue()).contains("orders");
        assertThat(broker.topic("orders")).isEqualTo(before);
    }

    @Test
    void shouldRefuseIllegalTopicNames() {
        for (String name : new String[] {"", ".", "..", "has space", "slash/y", "é", "x".repeat(250)}) {
            Map.Entry<Broker.CreateResult, String> r = broker.createTopic(name, 1, 1, Map.of(), false);
            assertThat(r.getKey()).as(name).isEqualTo(Broker.CreateResult.INVALID_TOPIC_EXCEPTION);
            assertThat(r.getValue()).as(name).isNotEmpty();
        }
        assertThat(broker.createTopic(null, 1, 1, Map.of(), false).getKey())
                .isEqualTo(Broker.CreateResult.INVALID_TOPIC_EXCEPTION);
        assertThat(create("x".repeat(249), 1, 1, Map.of())).isEqualTo(Broker.CreateResult.CREATED);
        assertThat(userTopics()).hasSize(1);
    }

    @Test
    void shouldRefuseBadPartitionCounts() {
        for (int partitions : new int[] {0, -2, Broker.PARTITIONS_MAX + 1}) {
            assertThat(create("orders", partitions, 1, Map.of()))
                    .as("%d", partitions)
                    .isEqualTo(Broker.CreateResult.INVALID_PARTITIONS);
        }
        assertThat(userTopics()).isEmpty();
    }

    @Test
    void shouldRefuseReplicationFactorLargerThanOne() {
        Map.Entry<Broker.CreateResult, String> r = broker.createTopic("orders", 1, 3, Map.of(), false);

        assertThat(r.getKey()).isEqualTo(Broker.CreateResult.INVALID_REPLICATION_FACTOR);
        assertThat(r.getValue()).contains("3");
        assertThat(create("orders", 1, 0, Map.of())).isEqualTo(Broker.CreateResult.INVALID_REPLICATION_FACTOR);
        assertThat(userTopics()).isEmpty();
    }

    @Test
    void shouldRefuseAnUnknownCleanupPolicy() throws IOException {
        Map.Entry<Broker.CreateResult, String> r =
                broker.createTopic("orders", 1, 1, Map.of("cleanup.policy", "shred"), false);

        assertThat(r.getKey()).isEqualTo(Broker.CreateResult.INVALID_CONFIG);
        assertThat(r.getValue()).contains("cleanup.policy");
        assertThat(userTopics()).isEmpty();
        assertThat(partitionDirs("orders")).isEmpty();
    }

    @Test
    void shouldValidateOnlyWithoutCreatingAnything() throws IOException {
        Map.Entry<Broker.CreateResult, String> ok = broker.createTopic("orders", 3, 1, Map.of(), true);
        Map.Entry<Broker.CreateResult, String> bad = broker.createTopic("orders", 0, 1, Map.of(), true);

        assertThat(ok.getKey()).isEqualTo(Broker.CreateResult.CREATED);
        assertThat(bad.getKey()).isEqualTo(Broker.CreateResult.INVALID_PARTITIONS);
        assertThat(broker.topic("orders")).isNull();
        assertThat(broker.replica("orders", 0)).isNull();
        assertThat(partitionDirs("orders")).isEmpty();
    }

    @Test
    void shouldLookUpReplicasOfExistingPartitionsOnly() {
        create("orders", 2, 1, Map.of());

        assertThat(broker.replica("orders", 0).id().partition()).isZero();
        assertThat(broker.replica("orders", 1).id().topic()).isEqualTo("orders");
        assertThat(broker.replica("orders", 2)).isNull();
        assertThat(broker.replica("orders", -1)).isNull();
        assertThat(broker.replica("unknown", 0)).isNull();
        assertThat(broker.replica("not legal", 0)).isNull();
        assertThat(broker.replica(null, 0)).isNull();
    }

    @Test
    void shouldSpreadPartitionsOverTheDataGroups() throws Exception {
        create("orders", 16, 1, Map.of());
        Map<Integer, Integer> perGroup = new java.util.TreeMap<>();

        for (int p = 0; p < 16; p++) {
            RaftReplica r = (RaftReplica) broker.replica("orders", p);
            perGroup.merge(r.group().id(), 1, Integer::sum);
        }

        // Two groups per node (set above); __consumer_offsets already put 4 partitions on each.
        assertThat(perGroup).hasSize(2);
        assertThat(perGroup.values()).containsOnly(8);
    }

    @Test
    void shouldAutoCreateWithDefaultsOnce() {
        TopicInfo first = broker.autoCreate("events");
        TopicInfo again = broker.autoCreate("events");

        assertThat(first.partitions()).isEqualTo(config.defaultPartitions());
        assertThat(first.configs()).isEmpty();
        assertThat(again).isEqualTo(first);
        assertThat(broker.replica("events", config.defaultPartitions() - 1)).isNotNull();
        assertThat(broker.autoCreate("bad name")).isNull();
    }

    @Test
    void shouldDeleteTopicFromAnOwnerThread() throws Exception {
        create("orders", 4, 1, Map.of());
        create("kept", 1, 1, Map.of());
        for (int p = 0; p < 4; p++) {
            append("orders", p, TestBatches.plain(2));
        }

        CompletableFuture<Boolean> deleted =
                owners.get(0).submit(() -> broker.deleteTopic("orders")).get(WAIT_S, TimeUnit.SECONDS);

        assertThat(deleted.get(WAIT_S, TimeUnit.SECONDS)).isTrue();
        assertThat(broker.topic("orders")).isNull();
        assertThat(broker.replica("orders", 0)).isNull();
        assertThat(partitionDirs("orders")).isEmpty();
        assertThat(userTopics()).containsOnlyKeys("kept");
        assertThat(broker.deleteTopic("orders").get(WAIT_S, TimeUnit.SECONDS)).isFalse();

        reopen();
        assertThat(userTopics()).containsOnlyKeys("kept");
    }

    @Test
    void shouldRecreateDeletedTopicEmpty() throws Exception {
        create("orders", 2, 1, Map.of());
        append("orders", 0, TestBatches.plain(5));
        assertThat(broker.deleteTopic("orders").get(WAIT_S, TimeUnit.SECONDS)).isTrue();

        assertThat(create("orders", 2, 1, Map.of())).isEqualTo(Broker.CreateResult.CREATED);

        assertThat(broker.replica("orders", 0).highWatermark()).isZero();
        assertThat(append("orders", 0, TestBatches.plain(1))).isEqualTo(new AppendOutcome.Appended(0, 0, 0, false));
    }

    @Test
    void shouldRefuseNullConfigValuesAsInvalidConfig() {
        Map<String, String> withNull = new HashMap<>();
        withNull.put("retention.ms", null);

        Map.Entry<Broker.CreateResult, String> r = broker.createTopic("orders", 1, 1, withNull, false);
        assertThat(r.getKey()).isEqualTo(Broker.CreateResult.INVALID_CONFIG);
        assertThat(r.getValue()).contains("retention.ms");
        assertThat(userTopics()).isEmpty();

        create("other", 1, 1, Map.of());
        assertThat(broker.alterTopicConfigs("other", withNull, Set.of(), false)).contains("retention.ms");
        assertThat(broker.topic("other").configs()).isEmpty();
    }

    @Test
    void shouldApplyAlteredConfigsToPartitionLogs() throws Exception {
        create("orders", 2, 1, Map.of("retention.ms", "60000"));

        String bad = broker.alterTopicConfigs(
                "orders", Map.of("segment.bytes", "8192", "retention.bytes", "100000"), Set.of(), false);

        assertThat(bad).isNull();
        LogConfig expected =
                LOG_DEFAULTS.withRetentionMs(60_000).withSegmentBytes(8192).withRetentionBytes(100_000);
        assertThat(logConfig("orders", 0)).isEqualTo(expected);
        assertThat(logConfig("orders", 1)).isEqualTo(expected);

        assertThat(broker.alterTopicConfigs("orders", Map.of(), Set.of("retention.ms", "segment.bytes"), false))
                .isNull();
        assertThat(logConfig("orders", 1)).isEqualTo(LOG_DEFAULTS.withRetentionBytes(100_000));
        assertThat(broker.topic("orders").configs()).containsExactly(Map.entry("retention.bytes", "100000"));

        reopen();
        assertThat(broker.topic("orders").configs()).containsExactly(Map.entry("retention.bytes", "100000"));
        assertThat(logConfig("orders", 0)).isEqualTo(LOG_DEFAULTS.withRetentionBytes(100_000));
    }

    @Test
    void shouldRefuseInvalidOrUnknownConfigChangesAndHonourValidateOnly() {
        create("orders", 1, 1, Map.of());

        assertThat(broker.alterTopicConfigs("orders", Map.of("cleanup.policy", "compact,shred"), Set.of(), false))
                .contains("cleanup.policy");
        assertThat(broker.alterTopicConfigs("orders", Map.of("segment.bytes", "-5"), Set.of(), false))
                .contains("segment.bytes");
        assertThat(broker.alterTopicConfigs("unknown", Map.of("retention.ms", "1"), Set.of(), false))
                .contains("unknown");
        assertThat(broker.alterTopicConfigs("orders", Map.of("retention.ms", "1"), Set.of(), true))
                .isNull();

        assertThat(broker.topic("orders").configs()).isEmpty();
        assertThat(logConfig("orders", 0)).isEqualTo(LOG_DEFAULTS);
    }

    @Test
    void shouldGrowTopicAndRefuseShrinking() throws Exception {
        create("orders", 2, 1, Map.of("retention.ms", "60000"));
        TopicInfo before = broker.topic("orders");

        assertThat(broker.createPartitions("orders", 5, true)).isNull();
        assertThat(broker.topic("orders").partitions()).isEqualTo(2);
        assertThat(broker.createPartitions("orders", 5, false)).isNull();

        TopicInfo grown = broker.topic("orders");
        assertThat(grown.partitions()).isEqualTo(5);
        assertThat(grown.id()).isEqualTo(before.id());
        assertThat(logConfig("orders", 4)).isEqualTo(LOG_DEFAULTS.withRetentionMs(60_000));
        assertThat(append("orders", 4, TestBatches.plain(1))).isInstanceOf(AppendOutcome.Appended.class);
        assertThat(broker.createPartitions("orders", 4, false)).contains("must be larger");
        assertThat(broker.createPartitions("orders", 5, false)).contains("must be larger");
        assertThat(broker.createPartitions("orders", Broker.PARTITIONS_MAX + 1, false))
                .contains(Integer.toString(Broker.PARTITIONS_MAX));
        assertThat(broker.createPartitions("unknown", 3, false)).contains("unknown");
        assertThat(broker.topic("orders").partitions()).isEqualTo(5);

        reopen();
        assertThat(broker.topic("orders").partitions()).isEqualTo(5);
        assertThat(broker.replica("orders", 4).highWatermark()).isEqualTo(1);
    }

    @Test
    void shouldKeepTopicsIdsDataAndProducerStateAcrossReopen() throws Exception {
        create("orders", 3, 1, Map.of("retention.bytes", "1000000"));
        TopicInfo before = broker.topic("orders");
        String clusterId = broker.clusterId();
        long producerId = broker.allocateProducerId();
        append("orders", 1, TestBatches.plain(4));
        AppendOutcome first = append("orders", 2, TestBatches.idempotent(producerId, (short) 0, 0, 3));

        reopen();

        assertThat(broker.topic("orders")).isEqualTo(before);
        assertThat(broker.clusterId()).isEqualTo(clusterId);
        assertThat(broker.allocateProducerId()).isGreaterThan(producerId);
        assertThat(broker.replica("orders", 0).highWatermark()).isZero();
        assertThat(broker.replica("orders", 1).highWatermark()).isEqualTo(4);
        ReadResult read = broker.replica("orders", 1).read(0, 1 << 20);
        assertThat(read).isInstanceOf(LogSlice.class);
        try (LogSlice slice = (LogSlice) read) {
            assertThat(slice.firstBatchOffset()).isZero();
            assertThat(slice.length()).isPositive();
        }
        assertThat(append("orders", 2, TestBatches.idempotent(producerId, (short) 0, 0, 3)))
                .isEqualTo(new AppendOutcome.Appended(0, 2, 0, true));
        assertThat(first).isEqualTo(new AppendOutcome.Appended(0, 2, 0, false));
    }

    @Test
    void shouldSnapshotProducerStateOnTheHousekeepingTimer() throws Exception {
        close();
        config = new BrokerConfig(
                0,
                "127.0.0.1",
                0,
                dataDir,
                2,
                true,
                1,
                BrokerConfig.MAX_FRAME_BYTES_DEFAULT,
                20,
                LOG_DEFAULTS,
                GroupConfig.DEFAULT,
                ClusterConfig.DEFAULT);
        open();
        create("orders", 1, 1, Map.of());
        append("orders", 0, TestBatches.idempotent(broker.allocateProducerId(), (short) 0, 0, 2));
        Path snapshot = dataDir.resolve("orders-0").resolve(ProducerStateTable.SNAPSHOT_FILE);

        long deadlineNs = System.nanoTime() + TimeUnit.SECONDS.toNanos(WAIT_S);
        while (!Files.exists(snapshot) && System.nanoTime() < deadlineNs) {
            Thread.onSpinWait();
        }

        assertThat(snapshot).exists();
    }

    /**
     * A cluster of one takes produce batches as solo writes (its groups' only voter is this node);
     * {@code raft.solo.writes=false} keeps every batch on the Raft path. Appends work either way,
     * and their offsets follow on across a reopen that switches solo writes off.
     */
    @Test
    void shouldTakeSoloWritesOnlyWhenAllowed() throws Exception {
        assertThat(create("solo", 1, 1, Map.of())).isEqualTo(Broker.CreateResult.CREATED);
        RaftReplica r = (RaftReplica) broker.replica("solo", 0);
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(WAIT_S);
        while (!r.group().isSolo()) {
            assertThat(System.nanoTime()).as("solo writes on").isLessThan(deadline);
            Thread.onSpinWait();
        }
        AppendOutcome first = append("solo", 0, TestBatches.plain(3));
        assertThat(first).isInstanceOf(AppendOutcome.Appended.class);

        close();
        config = config.withCluster(config.cluster().withSoloWrites(false));
        open();
        RaftReplica again = (RaftReplica) broker.replica("solo", 0);
        AppendOutcome second = append("solo", 0, TestBatches.plain(2));
        assertThat(((AppendOutcome.Appended) second).baseOffset()).isEqualTo(3);
        assertThat(again.group().isSolo()).isFalse();
        assertThat(again.highWatermark()).isEqualTo(5);
    }

    @Test
    void shouldKeepClusterIdAcrossReopen() throws Exception {
        String clusterId = broker.clusterId();

        reopen();

        assertThat(broker.clusterId()).isEqualTo(clusterId).hasSize(22);
    }

    @Test
    void shouldRefuseAdminChangesOnceClosed() throws Exception {
        create("orders", 1, 1, Map.of());
        close();

        assertThatThrownBy(() -> broker.createTopic("other", 1, 1, Map.of(), false))
                .isInstanceOf(IllegalStateException.class);
        assertThatThrownBy(() -> broker.deleteTopic("orders")).isInstanceOf(IllegalStateException.class);
        broker.close(); // idempotent

        open();
    }

    @Test
    void shouldRefuseToOpenWithoutOwners() {
        assertThatThrownBy(() -> Broker.open(config, List.of())).isInstanceOf(IllegalArgumentException.class);
    }

    /** The topics clients made (the broker adds its internal offsets topic by itself). */
    private Map<String, TopicInfo> userTopics() {
        Map<String, TopicInfo> m = new java.util.TreeMap<>(broker.topics());
        m.keySet().removeIf(Broker::isInternal);
        return m;
    }
}
