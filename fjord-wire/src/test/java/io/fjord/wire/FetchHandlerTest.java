package io.fjord.wire;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatCode;

import io.fjord.broker.Broker.CreateResult;
import io.netty.channel.DefaultEventLoop;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.common.message.FetchRequestData;
import org.apache.kafka.common.protocol.ApiKeys;
import org.apache.kafka.common.requests.RequestHeader;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The fetch handler on its own, driven on a loop the test controls. */
class FetchHandlerTest {
    @TempDir
    Path dir;

    /**
     * Closing the broker wakes parked fetches; a fetch whose connection loop has already stopped
     * (KafkaServer.close stops the loops first) must not throw out of the close, or the remaining
     * logs are never closed cleanly. kcat's consumer leaves such a fetch behind when it exits.
     */
    @Test
    void shouldLetTheBrokerCloseCleanlyWhileAFetchIsParkedOnAStoppedLoop() throws Exception {
        TestServer fjord = new TestServer(dir);
        DefaultEventLoop loop = new DefaultEventLoop();
        try {
            assertThat(fjord.server
                            .broker()
                            .createTopic("lp", 1, 1, Map.of(), false)
                            .getKey())
                    .isEqualTo(CreateResult.CREATED);
            FetchHandler handler = new FetchHandler(fjord.server.broker());
            RequestContext ctx = new RequestContext(new RequestHeader(ApiKeys.FETCH, (short) 12, "test", 1), loop);
            CompletableFuture<Response> parked =
                    loop.submit(() -> handler.handle(ctx, fetch(20_000))).get(10, TimeUnit.SECONDS);
            assertThat(parked).isNotDone();
            loop.shutdownGracefully(0, 0, TimeUnit.MILLISECONDS).sync();
        } finally {
            assertThatCode(fjord::close).doesNotThrowAnyException();
            loop.shutdownGracefully(0, 0, TimeUnit.MILLISECONDS);
        }
        assertThat(dir.resolve("lp-0").resolve(".clean-shutdown")).exists();
    }

    private static FetchRequestData fetch(int maxWaitMs) {
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
                                .setFetchOffset(0)
                                .setPartitionMaxBytes(1 << 20))));
        return req;
    }
}
