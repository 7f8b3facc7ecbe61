package io.fjord.wire;

import static org.assertj.core.api.Assertions.assertThat;

import io.fjord.storage.RecordBatchBuilder;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import org.apache.kafka.common.message.CreateTopicsRequestData;
import org.apache.kafka.common.message.FetchRequestData;
import org.apache.kafka.common.message.MetadataRequestData;
import org.apache.kafka.common.message.ProduceRequestData;
import org.apache.kafka.common.protocol.ApiKeys;
import org.apache.kafka.common.protocol.Errors;
import org.apache.kafka.common.record.MemoryRecords;
import org.apache.kafka.common.record.RecordBatch;
import org.apache.kafka.common.requests.FetchResponse;
import org.apache.kafka.common.requests.MetadataResponse;
import org.apache.kafka.common.requests.ProduceResponse;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Long polls: parked fetches answer at max wait, wake on append, and keep responses in order. */
class FetchLongPollTest {
    @TempDir
    Path dir;

    TestServer fjord;

    @BeforeEach
    void start() throws Exception {
        fjord = new TestServer(dir);
        try (RawClient c = new RawClient(fjord.server.port())) {
            CreateTopicsRequestData req = new CreateTopicsRequestData().setTimeoutMs(5000);
            req.topics()
                    .add(new CreateTopicsRequestData.CreatableTopic()
                            .setName("lp")
                            .setNumPartitions(1)
                            .setReplicationFactor((short) 1));
            c.call(ApiKeys.CREATE_TOPICS, (short) 7, req);
        }
    }

    @AfterEach
    void stop() {
        fjord.close();
    }

    @Test
    void shouldAnswerAnEmptyPartitionAtMaxWait() throws Exception {
        try (RawClient c = new RawClient(fjord.server.port())) {
            long startNs = System.nanoTime();
            FetchResponse r = (FetchResponse) c.call(ApiKeys.FETCH, (short) 12, fetch(0, 300));
            long elapsedMs = (System.nanoTime() - startNs) / 1_000_000;
            assertThat(elapsedMs).isBetween(250L, 10_000L);
            FetchResponseAssert.partition(r).satisfies(p -> {
                assertThat(p.errorCode()).isEqualTo(Errors.NONE.code());
                assertThat(p.highWatermark()).isZero();
                assertThat(p.records().sizeInBytes()).isZero();
            });
        }
    }

    @Test
    void shouldWakeAParkedFetchWhenARecordArrives() throws Exception {
        try (RawClient consumer = new RawClient(fjord.server.port());
                RawClient producer = new RawClient(fjord.server.port())) {
            // Parked for up to 20 s: only an append can answer it before the deadline below.
            int cid = consumer.send(ApiKeys.FETCH, (short) 12, fetch(0, 20_000));
            long startNs = System.nanoTime();
            ProduceResponse pr = produce(producer, "hello");
            assertThat(pr.data()
                            .responses()
                            .iterator()
                            .next()
                            .partitionResponses()
                            .get(0)
                            .errorCode())
                    .isEqualTo(Errors.NONE.code());
            FetchResponse r = (FetchResponse) consumer.receive(ApiKeys.FETCH, (short) 12, cid);
            long elapsedMs = (System.nanoTime() - startNs) / 1_000_000;
            assertThat(elapsedMs).isLessThan(10_000L);
            FetchResponseAssert.partition(r).satisfies(p -> {
                MemoryRecords records = (MemoryRecords) p.records();
                RecordBatch batch = records.batches().iterator().next();
                assertThat(batch.baseOffset()).isZero();
                assertThat(StandardCharsets.UTF_8
                                .decode(batch.iterator().next().value())
                                .toString())
                        .isEqualTo("hello");
            });
        }
    }

    @Test
    void shouldKeepResponsesInRequestOrderBehindAParkedFetch() throws Exception {
        try (RawClient c = new RawClient(fjord.server.port())) {
            int fetchCid = c.send(ApiKeys.FETCH, (short) 12, fetch(0, 500));
            int metadataCid = c.send(ApiKeys.METADATA, (short) 12, new MetadataRequestData().setTopics(null));
            // receive() checks the correlation id: the fetch must come first although it finished last.
            FetchResponse f = (FetchResponse) c.receive(ApiKeys.FETCH, (short) 12, fetchCid);
            MetadataResponse m = (MetadataResponse) c.receive(ApiKeys.METADATA, (short) 12, metadataCid);
            assertThat(f.data().errorCode()).isEqualTo(Errors.NONE.code());
            assertThat(m.data().topics().find("lp")).isNotNull();
        }
    }

    @Test
    void shouldReturnOffsetOutOfRangeAboveTheHighWatermark() throws Exception {
        try (RawClient c = new RawClient(fjord.server.port())) {
            FetchResponse r = (FetchResponse) c.call(ApiKeys.FETCH, (short) 12, fetch(5, 5_000));
            FetchResponseAssert.partition(r)
                    .satisfies(p -> assertThat(p.errorCode()).isEqualTo(Errors.OFFSET_OUT_OF_RANGE.code()));
        }
    }

    private static FetchRequestData fetch(long offset, int maxWaitMs) {
        FetchRequestData req = new FetchRequestData()
                .setReplicaId(-1)
                .setMaxWaitMs(maxWaitMs)
                .setMinBytes(1)
                .setMaxBytes(1 << 20)
                .setSessionId(0)
                .setSessionEpoch(-1);
        req.topics()
                .add(new FetchRequestData.FetchTopic()
                        .setTopic("lp")
                        .setPartitions(List.of(new FetchRequestData.FetchPartition()
                                .setPartition(0)
                                .setFetchOffset(offset)
                                .setPartitionMaxBytes(1 << 20))));
        return req;
    }

    private static ProduceResponse produce(RawClient c, String value) throws Exception {
        ByteBuffer batch = new RecordBatchBuilder()
                .add(null, value.getBytes(StandardCharsets.UTF_8), System.currentTimeMillis())
                .build();
        ProduceRequestData req = new ProduceRequestData().setAcks((short) 1).setTimeoutMs(5000);
        ProduceRequestData.TopicProduceData td = new ProduceRequestData.TopicProduceData().setName("lp");
        td.partitionData()
                .add(new ProduceRequestData.PartitionProduceData()
                        .setIndex(0)
                        .setRecords(MemoryRecords.readableRecords(batch)));
        req.topicData().add(td);
        return (ProduceResponse) c.call(ApiKeys.PRODUCE, (short) 9, req);
    }

    /** Picks the single partition out of a fetch response. */
    static final class FetchResponseAssert {
        static org.assertj.core.api.ObjectAssert<org.apache.kafka.common.message.FetchResponseData.PartitionData>
                partition(FetchResponse r) {
            assertThat(r.data().responses()).hasSize(1);
            assertThat(r.data().responses().get(0).partitions()).hasSize(1);
            return assertThat(r.data().responses().get(0).partitions().get(0));
        }
    }
}
