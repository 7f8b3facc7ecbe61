package io.fjord.wire;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AlterConfigOp;
import org.apache.kafka.clients.admin.Config;
import org.apache.kafka.clients.admin.ConfigEntry;
import org.apache.kafka.clients.admin.NewPartitions;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.admin.OffsetSpec;
import org.apache.kafka.clients.admin.RecordsToDelete;
import org.apache.kafka.clients.admin.TopicDescription;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.Uuid;
import org.apache.kafka.common.config.ConfigResource;
import org.apache.kafka.common.errors.InvalidConfigurationException;
import org.apache.kafka.common.errors.InvalidPartitionsException;
import org.apache.kafka.common.errors.InvalidReplicationFactorException;
import org.apache.kafka.common.errors.TopicExistsException;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The Java Admin client against a real node: topics, configs, partitions, records, cluster. */
class AdminApiTest {
    @TempDir
    Path dir;

    TestServer fjord;
    Admin admin;

    @BeforeEach
    void start() throws Exception {
        fjord = new TestServer(dir);
        admin = Admin.create(fjord.clientProps());
    }

    @AfterEach
    void stop() {
        admin.close();
        fjord.close();
    }

    @Test
    void shouldDescribeTheClusterWithALiveController() throws Exception {
        var cluster = admin.describeCluster();
        assertThat(cluster.controller().get().id()).isZero();
        assertThat(cluster.nodes().get()).hasSize(1);
        assertThat(cluster.clusterId().get()).isNotBlank();
    }

    @Test
    void shouldCreateDescribeAndDeleteTopics() throws Exception {
        admin.createTopics(List.of(new NewTopic("a", 3, (short) 1).configs(Map.of("retention.ms", "60000"))))
                .all()
                .get();
        TopicDescription d =
                admin.describeTopics(List.of("a")).allTopicNames().get().get("a");
        assertThat(d.partitions()).hasSize(3);
        assertThat(d.topicId()).isNotEqualTo(Uuid.ZERO_UUID);
        assertThat(admin.listTopics().names().get()).contains("a");

        assertThatThrownBy(() -> admin.createTopics(List.of(new NewTopic("a", 1, (short) 1)))
                        .all()
                        .get())
                .hasCauseInstanceOf(TopicExistsException.class);
        assertThatThrownBy(() -> admin.createTopics(List.of(new NewTopic("b", 1, (short) 3)))
                        .all()
                        .get())
                .hasCauseInstanceOf(InvalidReplicationFactorException.class);
        assertThatThrownBy(() -> admin.createTopics(
                                List.of(new NewTopic("c", 1, (short) 1).configs(Map.of("cleanup.policy", "shred"))))
                        .all()
                        .get())
                .hasCauseInstanceOf(InvalidConfigurationException.class)
                .hasMessageContaining("cleanup.policy");

        admin.deleteTopics(List.of("a")).all().get();
        assertThat(admin.listTopics().names().get()).doesNotContain("a");
        // The Admin client retries UNKNOWN_TOPIC_OR_PARTITION until its timeout; ask on the wire instead.
        try (RawClient raw = new RawClient(fjord.server.port())) {
            var resp = (org.apache.kafka.common.requests.DeleteTopicsResponse) raw.call(
                    org.apache.kafka.common.protocol.ApiKeys.DELETE_TOPICS,
                    (short) 5,
                    new org.apache.kafka.common.message.DeleteTopicsRequestData()
                            .setTopicNames(List.of("a"))
                            .setTimeoutMs(1000));
            assertThat(resp.data().responses().find("a").errorCode())
                    .isEqualTo(org.apache.kafka.common.protocol.Errors.UNKNOWN_TOPIC_OR_PARTITION.code());
        }
        assertThat(dir.resolve("a-0")).doesNotExist();
    }

    @Test
    void shouldDescribeAndAlterTopicConfigs() throws Exception {
        admin.createTopics(List.of(new NewTopic("cfg", 1, (short) 1).configs(Map.of("retention.ms", "60000"))))
                .all()
                .get();
        ConfigResource res = new ConfigResource(ConfigResource.Type.TOPIC, "cfg");
        Config c = admin.describeConfigs(List.of(res)).all().get().get(res);
        assertThat(c.get("retention.ms").value()).isEqualTo("60000");
        assertThat(c.get("retention.ms").source()).isEqualTo(ConfigEntry.ConfigSource.DYNAMIC_TOPIC_CONFIG);
        assertThat(c.get("segment.bytes").source()).isEqualTo(ConfigEntry.ConfigSource.DEFAULT_CONFIG);

        admin.incrementalAlterConfigs(Map.of(
                        res,
                        List.of(
                                new AlterConfigOp(
                                        new ConfigEntry("retention.bytes", "1048576"), AlterConfigOp.OpType.SET),
                                new AlterConfigOp(new ConfigEntry("retention.ms", ""), AlterConfigOp.OpType.DELETE))))
                .all()
                .get();
        c = admin.describeConfigs(List.of(res)).all().get().get(res);
        assertThat(c.get("retention.bytes").value()).isEqualTo("1048576");
        assertThat(c.get("retention.ms").source()).isEqualTo(ConfigEntry.ConfigSource.DEFAULT_CONFIG);
        assertThatThrownBy(() -> admin.incrementalAlterConfigs(Map.of(
                                res,
                                List.of(new AlterConfigOp(
                                        new ConfigEntry("no.such.config", "1"), AlterConfigOp.OpType.SET))))
                        .all()
                        .get())
                .hasCauseInstanceOf(InvalidConfigurationException.class);

        ConfigResource brokerRes = new ConfigResource(ConfigResource.Type.BROKER, "0");
        assertThat(admin.describeConfigs(List.of(brokerRes))
                        .all()
                        .get()
                        .get(brokerRes)
                        .get("num.partitions"))
                .isNotNull();
    }

    @Test
    void shouldGrowPartitionsAndDeleteRecords() throws Exception {
        admin.createTopics(List.of(new NewTopic("g", 1, (short) 1))).all().get();
        admin.createPartitions(Map.of("g", NewPartitions.increaseTo(3))).all().get();
        assertThat(admin.describeTopics(List.of("g"))
                        .allTopicNames()
                        .get()
                        .get("g")
                        .partitions())
                .hasSize(3);
        assertThatThrownBy(() -> admin.createPartitions(Map.of("g", NewPartitions.increaseTo(2)))
                        .all()
                        .get())
                .hasCauseInstanceOf(InvalidPartitionsException.class);

        long t0 = System.currentTimeMillis();
        Properties p = fjord.clientProps();
        try (KafkaProducer<byte[], byte[]> producer =
                new KafkaProducer<>(p, new ByteArraySerializer(), new ByteArraySerializer())) {
            for (int i = 0; i < 10; i++) {
                producer.send(new ProducerRecord<>(
                                "g", 2, t0 + i * 1000L, null, ("v" + i).getBytes(StandardCharsets.UTF_8)))
                        .get();
            }
        }
        TopicPartition tp = new TopicPartition("g", 2);
        assertThat(admin.listOffsets(Map.of(tp, OffsetSpec.latest()))
                        .all()
                        .get()
                        .get(tp)
                        .offset())
                .isEqualTo(10);
        assertThat(admin.listOffsets(Map.of(tp, OffsetSpec.forTimestamp(t0 + 4500)))
                        .all()
                        .get()
                        .get(tp)
                        .offset())
                .isEqualTo(5);

        var deleted = admin.deleteRecords(Map.of(tp, RecordsToDelete.beforeOffset(4)))
                .all()
                .get();
        assertThat(deleted).isNull(); // all() completes with null; the low watermark is per partition
        assertThat(admin.listOffsets(Map.of(tp, OffsetSpec.earliest()))
                        .all()
                        .get()
                        .get(tp)
                        .offset())
                .isEqualTo(4);
    }

    @Test
    void shouldKeepTopicsIdsConfigsAndDataAcrossARestart() throws Exception {
        admin.createTopics(List.of(new NewTopic("durable", 2, (short) 1).configs(Map.of("retention.ms", "123456"))))
                .all()
                .get();
        Uuid id = admin.describeTopics(List.of("durable"))
                .allTopicNames()
                .get()
                .get("durable")
                .topicId();
        try (KafkaProducer<byte[], byte[]> producer =
                new KafkaProducer<>(fjord.clientProps(), new ByteArraySerializer(), new ByteArraySerializer())) {
            producer.send(new ProducerRecord<>("durable", 1, null, "x".getBytes(StandardCharsets.UTF_8)))
                    .get();
        }
        admin.close();
        fjord.restart();
        admin = Admin.create(fjord.clientProps());
        TopicDescription d =
                admin.describeTopics(List.of("durable")).allTopicNames().get().get("durable");
        assertThat(d.topicId()).isEqualTo(id);
        assertThat(d.partitions()).hasSize(2);
        ConfigResource res = new ConfigResource(ConfigResource.Type.TOPIC, "durable");
        assertThat(admin.describeConfigs(List.of(res))
                        .all()
                        .get()
                        .get(res)
                        .get("retention.ms")
                        .value())
                .isEqualTo("123456");
        TopicPartition tp = new TopicPartition("durable", 1);
        assertThat(admin.listOffsets(Map.of(tp, OffsetSpec.latest()))
                        .all()
                        .get()
                        .get(tp)
                        .offset())
                .isEqualTo(1);
    }
}
