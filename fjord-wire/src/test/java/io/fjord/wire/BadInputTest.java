package io.fjord.wire;

import static org.assertj.core.api.Assertions.assertThat;

import io.fjord.broker.BrokerConfig;
import io.fjord.storage.RecordBatchBuilder;
import io.fjord.storage.RecordBatchHeader;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.Random;
import org.apache.kafka.common.message.ApiVersionsRequestData;
import org.apache.kafka.common.message.ApiVersionsResponseData;
import org.apache.kafka.common.message.CreateTopicsRequestData;
import org.apache.kafka.common.message.InitProducerIdRequestData;
import org.apache.kafka.common.message.ListOffsetsRequestData;
import org.apache.kafka.common.message.MetadataRequestData;
import org.apache.kafka.common.message.ProduceRequestData;
import org.apache.kafka.common.protocol.ApiKeys;
import org.apache.kafka.common.protocol.ByteBufferAccessor;
import org.apache.kafka.common.protocol.Errors;
import org.apache.kafka.common.record.MemoryRecords;
import org.apache.kafka.common.requests.CreateTopicsResponse;
import org.apache.kafka.common.requests.InitProducerIdResponse;
import org.apache.kafka.common.requests.ListOffsetsResponse;
import org.apache.kafka.common.requests.MetadataResponse;
import org.apache.kafka.common.requests.ProduceResponse;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Malformed and hostile requests: each gets a Kafka error code or a closed connection, nothing
 * bad reaches the log, and the broker keeps serving everyone else.
 */
class BadInputTest {
    private static final int FRAME_LIMIT_BYTES = 2 * 1024 * 1024;

    @TempDir
    Path dir;

    TestServer fjord;

    @BeforeEach
    void start() throws Exception {
        fjord = new TestServer(BrokerConfig.defaults(dir, 0).withIoThreads(2).withMaxFrameBytes(FRAME_LIMIT_BYTES));
        try (RawClient c = new RawClient(fjord.server.port())) {
            CreateTopicsRequestData req = new CreateTopicsRequestData().setTimeoutMs(5000);
            req.topics()
                    .add(new CreateTopicsRequestData.CreatableTopic()
                            .setName("t")
                            .setNumPartitions(1)
                            .setReplicationFactor((short) 1));
            CreateTopicsResponse r = (CreateTopicsResponse) c.call(ApiKeys.CREATE_TOPICS, (short) 7, req);
            assertThat(r.data().topics().find("t").errorCode()).isEqualTo(Errors.NONE.code());
        }
    }

    @AfterEach
    void stop() {
        fjord.close();
    }

    @Test
    void shouldCloseConnectionOnGarbageFrameAndKeepServingOthers() throws Exception {
        try (RawClient bystander = new RawClient(fjord.server.port());
                RawClient bad = new RawClient(fjord.server.port())) {
            byte[] garbage = new byte[64];
            new Random(42).nextBytes(garbage);
            ByteBuffer frame = ByteBuffer.allocate(4 + garbage.length)
                    .putInt(garbage.length)
                    .put(garbage);
            bad.sendRaw(frame.array());
            assertThat(bad.isClosedByPeer()).isTrue();
            assertServes(bystander);
        }
    }

    @Test
    void shouldCloseConnectionOnFrameOverTheLimitWithoutReadingIt() throws Exception {
        try (RawClient bystander = new RawClient(fjord.server.port());
                RawClient bad = new RawClient(fjord.server.port())) {
            // Announce 1 GiB; send only the size. The broker must refuse at once, not buffer.
            bad.sendRaw(ByteBuffer.allocate(4).putInt(1 << 30).array());
            assertThat(bad.isClosedByPeer()).isTrue();
            assertServes(bystander);
        }
    }

    @Test
    void shouldCloseConnectionOnUnknownApiKey() throws Exception {
        try (RawClient bad = new RawClient(fjord.server.port())) {
            ByteBuffer frame = ByteBuffer.allocate(4 + 10);
            frame.putInt(10).putShort((short) 999).putShort((short) 0).putInt(7).putShort((short) -1);
            bad.sendRaw(frame.array());
            assertThat(bad.isClosedByPeer()).isTrue();
        }
        try (RawClient bystander = new RawClient(fjord.server.port())) {
            assertServes(bystander);
        }
    }

    @Test
    void shouldAnswerUnsupportedApiVersionsVersionWithV0ErrorAndRanges() throws Exception {
        try (RawClient c = new RawClient(fjord.server.port())) {
            // ApiVersions v99, as a newer client would send it: header v2 (null client id, no tags), some body.
            ByteBuffer frame = ByteBuffer.allocate(4 + 14);
            frame.putInt(14)
                    .putShort(ApiKeys.API_VERSIONS.id)
                    .putShort((short) 99)
                    .putInt(5)
                    .putShort((short) -1);
            frame.put((byte) 0).put(new byte[] {1, 2, 3});
            c.sendRaw(frame.array());
            ByteBuffer resp = c.receiveFrame();
            assertThat(resp.getInt()).as("correlation id, header v0").isEqualTo(5);
            ApiVersionsResponseData body = new ApiVersionsResponseData(new ByteBufferAccessor(resp), (short) 0);
            assertThat(body.errorCode()).isEqualTo(Errors.UNSUPPORTED_VERSION.code());
            assertThat(body.apiKeys().find(ApiKeys.PRODUCE.id).minVersion()).isZero();
            assertThat(body.apiKeys().find(ApiKeys.API_VERSIONS.id).maxVersion())
                    .isEqualTo((short) 4);
            assertServes(c);
        }
    }

    @Test
    void shouldCloseConnectionOnUnservedVersionOfOtherApis() throws Exception {
        try (RawClient c = new RawClient(fjord.server.port())) {
            c.send(ApiKeys.FETCH, (short) 3, new org.apache.kafka.common.message.FetchRequestData());
            assertThat(c.isClosedByPeer()).isTrue();
        }
    }

    @Test
    void shouldRejectBatchWithBadCrcAsCorruptAndAppendNothing() throws Exception {
        ByteBuffer batch = new RecordBatchBuilder()
                .add(
                        "k".getBytes(StandardCharsets.UTF_8),
                        "v".getBytes(StandardCharsets.UTF_8),
                        System.currentTimeMillis())
                .build();
        batch.put(batch.limit() - 1, (byte) (batch.get(batch.limit() - 1) ^ 0x55));
        try (RawClient c = new RawClient(fjord.server.port())) {
            ProduceResponse r = produce(c, batch);
            assertThat(r.data()
                            .responses()
                            .iterator()
                            .next()
                            .partitionResponses()
                            .get(0)
                            .errorCode())
                    .isEqualTo(Errors.CORRUPT_MESSAGE.code());
            assertThat(latestOffset(c)).isZero();
            assertServes(c);
        }
    }

    @Test
    void shouldRejectTwoBatchesInOnePartitionAndControlBatches() throws Exception {
        ByteBuffer one = new RecordBatchBuilder().add(null, new byte[] {1}, 1L).build();
        ByteBuffer two = ByteBuffer.allocate(one.remaining() * 2)
                .put(one.duplicate())
                .put(one.duplicate())
                .flip();
        try (RawClient c = new RawClient(fjord.server.port())) {
            assertThat(errorOf(produce(c, two))).isEqualTo(Errors.INVALID_RECORD.code());
            ByteBuffer control =
                    new RecordBatchBuilder().add(null, new byte[] {1}, 1L).build();
            short attrs = (short)
                    (control.getShort(RecordBatchHeader.ATTRIBUTES_OFFSET) | RecordBatchHeader.ATTRIBUTE_CONTROL);
            control.putShort(RecordBatchHeader.ATTRIBUTES_OFFSET, attrs);
            control.putInt(
                    RecordBatchHeader.CRC_OFFSET, (int) RecordBatchHeader.computeCrc(control, 0, control.limit()));
            assertThat(errorOf(produce(c, control))).isEqualTo(Errors.INVALID_RECORD.code());
            assertThat(latestOffset(c)).isZero();
        }
    }

    @Test
    void shouldEnforceIdempotentProducerSequencesAndEpochs() throws Exception {
        try (RawClient c = new RawClient(fjord.server.port())) {
            InitProducerIdResponse init = (InitProducerIdResponse) c.call(
                    ApiKeys.INIT_PRODUCER_ID, (short) 4, new InitProducerIdRequestData().setTransactionalId(null));
            long pid = init.data().producerId();
            short epoch = init.data().producerEpoch();
            assertThat(pid).isNotNegative();

            ProduceResponse first = produce(c, idempotentBatch(pid, epoch, 0, 3));
            assertThat(errorOf(first)).isEqualTo(Errors.NONE.code());
            long firstOffset = baseOffsetOf(first);

            // A retried duplicate is acknowledged with its original offset and not appended again.
            ProduceResponse dup = produce(c, idempotentBatch(pid, epoch, 0, 3));
            assertThat(errorOf(dup)).isEqualTo(Errors.NONE.code());
            assertThat(baseOffsetOf(dup)).isEqualTo(firstOffset);
            assertThat(latestOffset(c)).isEqualTo(3);

            // A gap in sequence numbers is refused.
            assertThat(errorOf(produce(c, idempotentBatch(pid, epoch, 5, 1))))
                    .isEqualTo(Errors.OUT_OF_ORDER_SEQUENCE_NUMBER.code());
            // The next sequence in order is taken.
            assertThat(errorOf(produce(c, idempotentBatch(pid, epoch, 3, 1)))).isEqualTo(Errors.NONE.code());
            // A bumped epoch fences the old one.
            assertThat(errorOf(produce(c, idempotentBatch(pid, (short) (epoch + 1), 0, 1))))
                    .isEqualTo(Errors.NONE.code());
            assertThat(errorOf(produce(c, idempotentBatch(pid, epoch, 4, 1))))
                    .isEqualTo(Errors.INVALID_PRODUCER_EPOCH.code());
            assertThat(latestOffset(c)).isEqualTo(5);
        }
    }

    private static ByteBuffer idempotentBatch(long pid, short epoch, int seq, int records) {
        RecordBatchBuilder b = new RecordBatchBuilder().producer(pid, epoch, seq);
        for (int i = 0; i < records; i++) {
            b.add(null, ("r" + (seq + i)).getBytes(StandardCharsets.UTF_8), System.currentTimeMillis());
        }
        return b.build();
    }

    private static ProduceResponse produce(RawClient c, ByteBuffer batch) throws Exception {
        ProduceRequestData req = new ProduceRequestData().setAcks((short) -1).setTimeoutMs(5000);
        ProduceRequestData.TopicProduceData td = new ProduceRequestData.TopicProduceData().setName("t");
        td.partitionData()
                .add(new ProduceRequestData.PartitionProduceData()
                        .setIndex(0)
                        .setRecords(MemoryRecords.readableRecords(batch.duplicate())));
        req.topicData().add(td);
        return (ProduceResponse) c.call(ApiKeys.PRODUCE, (short) 9, req);
    }

    private static short errorOf(ProduceResponse r) {
        return r.data()
                .responses()
                .iterator()
                .next()
                .partitionResponses()
                .get(0)
                .errorCode();
    }

    private static long baseOffsetOf(ProduceResponse r) {
        return r.data()
                .responses()
                .iterator()
                .next()
                .partitionResponses()
                .get(0)
                .baseOffset();
    }

    private static long latestOffset(RawClient c) throws Exception {
        ListOffsetsRequestData req = new ListOffsetsRequestData().setReplicaId(-1);
        req.topics()
                .add(new ListOffsetsRequestData.ListOffsetsTopic()
                        .setName("t")
                        .setPartitions(List.of(new ListOffsetsRequestData.ListOffsetsPartition()
                                .setPartitionIndex(0)
                                .setTimestamp(-1))));
        ListOffsetsResponse r = (ListOffsetsResponse) c.call(ApiKeys.LIST_OFFSETS, (short) 7, req);
        return r.data().topics().get(0).partitions().get(0).offset();
    }

    /** The connection (or another) still gets proper answers. */
    private static void assertServes(RawClient c) throws Exception {
        MetadataResponse md =
                (MetadataResponse) c.call(ApiKeys.METADATA, (short) 12, new MetadataRequestData().setTopics(null));
        assertThat(md.data().topics().find("t")).isNotNull();
        assertThat(md.data().controllerId()).isZero();
        c.call(
                ApiKeys.API_VERSIONS,
                (short) 3,
                new ApiVersionsRequestData().setClientSoftwareName("raw").setClientSoftwareVersion("1"));
    }
}
