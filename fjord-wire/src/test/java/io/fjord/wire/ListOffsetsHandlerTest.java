package io.fjord.wire;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.apache.kafka.common.message.ListOffsetsRequestData;
import org.apache.kafka.common.message.ListOffsetsResponseData;
import org.apache.kafka.common.protocol.ApiKeys;
import org.apache.kafka.common.protocol.Errors;
import org.apache.kafka.common.requests.ListOffsetsResponse;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** ListOffsets at every served version, over the wire. */
class ListOffsetsHandlerTest {
    @TempDir
    Path dir;

    TestServer fjord;

    @BeforeEach
    void start() throws Exception {
        fjord = new TestServer(dir);
        fjord.server.broker().createTopic("t", 1, 1, Map.of(), false);
    }

    @AfterEach
    void stop() {
        fjord.close();
    }

    /** librdkafka 2.0 asks v2: the v4+ leader epoch must not be encoded below v4. */
    @ParameterizedTest
    @ValueSource(shorts = {1, 2, 3, 4, 5, 6, 7})
    void shouldAnswerEarliestAndLatestAtEveryServedVersion(short version) throws Exception {
        try (RawClient c = new RawClient(fjord.server.port())) {
            for (long ts : new long[] {ListOffsetsHandler.EARLIEST, ListOffsetsHandler.LATEST}) {
                ListOffsetsRequestData req = new ListOffsetsRequestData().setReplicaId(-1);
                req.topics()
                        .add(new ListOffsetsRequestData.ListOffsetsTopic()
                                .setName("t")
                                .setPartitions(List.of(new ListOffsetsRequestData.ListOffsetsPartition()
                                        .setPartitionIndex(0)
                                        .setTimestamp(ts))));
                ListOffsetsResponse r = (ListOffsetsResponse) c.call(ApiKeys.LIST_OFFSETS, version, req);
                ListOffsetsResponseData.ListOffsetsPartitionResponse p =
                        r.data().topics().get(0).partitions().get(0);
                assertThat(p.errorCode()).isEqualTo(Errors.NONE.code());
                assertThat(p.offset()).isZero();
                // The leader epoch is the partition's Raft term (v4+); older versions carry -1.
                int epoch = fjord.server.broker().replica("t", 0).leaderEpoch();
                assertThat(epoch).isPositive();
                assertThat(p.leaderEpoch()).isEqualTo(version >= 4 ? epoch : -1);
            }
        }
    }
}
