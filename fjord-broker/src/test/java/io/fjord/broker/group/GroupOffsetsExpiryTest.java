package io.fjord.broker.group;

import static org.assertj.core.api.Assertions.assertThat;

import io.fjord.broker.Broker;
import io.fjord.broker.BrokerConfig;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Offsets of a group that stays empty longer than offsets.retention.minutes are dropped, durably. */
class GroupOffsetsExpiryTest {
    private static final long WAIT_S = 30;

    @TempDir
    Path dir;

    private List<ExecutorService> owners;

    private Broker open(long retentionMs) {
        owners = new ArrayList<>();
        for (int i = 0; i < 2; i++) {
            owners.add(Executors.newSingleThreadExecutor());
        }
        return Broker.open(
                BrokerConfig.defaults(dir, 0).withGroups(GroupConfig.DEFAULT.withOffsetsRetentionMs(retentionMs)),
                owners);
    }

    private void close(Broker broker) throws InterruptedException {
        for (ExecutorService o : owners) {
            o.shutdown();
            assertThat(o.awaitTermination(WAIT_S, TimeUnit.SECONDS)).isTrue();
        }
        broker.close();
    }

    @Test
    void shouldExpireOffsetsOfAGroupEmptyForLongerThanTheRetention() throws Exception {
        Broker broker = open(300);
        broker.createTopic("t", 1, 1, Map.of(), false);
        var tp = new GroupResults.TopicPartitionKey("t", 0);
        broker.groups()
                .commit("short-lived", "", null, -1, Map.of(tp, new GroupResults.Committed(7, -1, null, 0)))
                .get(WAIT_S, TimeUnit.SECONDS);
        assertThat(broker.groups()
                        .fetch("short-lived", null)
                        .get(WAIT_S, TimeUnit.SECONDS)
                        .offsets())
                .containsKey(tp);

        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(WAIT_S);
        while (!broker.groups()
                        .fetch("short-lived", null)
                        .get(WAIT_S, TimeUnit.SECONDS)
                        .offsets()
                        .isEmpty()
                && System.nanoTime() < deadline) {
            Thread.onSpinWait();
        }
        assertThat(broker.groups()
                        .fetch("short-lived", null)
                        .get(WAIT_S, TimeUnit.SECONDS)
                        .offsets())
                .isEmpty();
        close(broker);

        // The expiry was written as tombstones: a restart does not bring the offsets back.
        broker = open(TimeUnit.DAYS.toMillis(7));
        assertThat(broker.groups()
                        .fetch("short-lived", null)
                        .get(WAIT_S, TimeUnit.SECONDS)
                        .offsets())
                .isEmpty();
        assertThat(broker.groups().list().get(WAIT_S, TimeUnit.SECONDS))
                .noneMatch(g -> g.groupId().equals("short-lived"));
        close(broker);
    }

    @Test
    void shouldKeepOffsetsOfAGroupWithinTheRetention() throws Exception {
        Broker broker = open(TimeUnit.DAYS.toMillis(7));
        broker.createTopic("t", 1, 1, Map.of(), false);
        var tp = new GroupResults.TopicPartitionKey("t", 0);
        broker.groups()
                .commit("kept", "", null, -1, Map.of(tp, new GroupResults.Committed(3, -1, "md", 0)))
                .get(WAIT_S, TimeUnit.SECONDS);
        close(broker);
        broker = open(TimeUnit.DAYS.toMillis(7));
        GroupResults.Committed c = broker.groups()
                .fetch("kept", null)
                .get(WAIT_S, TimeUnit.SECONDS)
                .offsets()
                .get(tp);
        assertThat(c.offset()).isEqualTo(3);
        assertThat(c.metadata()).isEqualTo("md");
        close(broker);
    }
}
