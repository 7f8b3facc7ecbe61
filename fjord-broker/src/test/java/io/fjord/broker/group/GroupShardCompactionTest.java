package io.fjord.broker.group;

import static org.assertj.core.api.Assertions.assertThat;

import io.fjord.broker.Broker;
import io.fjord.broker.BrokerConfig;
import io.fjord.broker.PartitionReplica;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The offsets log does not grow without bound, and compaction loses no committed offset. */
class GroupShardCompactionTest {
    private static final long WAIT_S = 30;

    @TempDir
    Path dir;

    private List<ExecutorService> owners;

    private Broker open() {
        owners = new ArrayList<>();
        for (int i = 0; i < 2; i++) {
            owners.add(Executors.newSingleThreadExecutor());
        }
        BrokerConfig config = BrokerConfig.defaults(dir, 0).withGroups(GroupConfig.DEFAULT.withCompactionRecords(100));
        return Broker.open(config, owners);
    }

    private void close(Broker broker) throws InterruptedException {
        for (ExecutorService o : owners) {
            o.shutdown();
            assertThat(o.awaitTermination(WAIT_S, TimeUnit.SECONDS)).isTrue();
        }
        broker.close();
    }

    @Test
    void shouldRewriteLiveOffsetsAndDropTheOlderLogKeepingTheLatestCommits() throws Exception {
        Broker broker = open();
        GroupCoordinator groups = broker.groups();
        String group = "busy";
        PartitionReplica offsetsPartition = broker.replica(GroupCoordinator.OFFSETS_TOPIC, groups.partitionFor(group));
        var tp0 = new GroupResults.TopicPartitionKey("t", 0);
        var tp1 = new GroupResults.TopicPartitionKey("t", 1);
        broker.createTopic("t", 2, 1, Map.of(), false);
        for (int i = 1; i <= 500; i++) {
            GroupResults.Commit c = groups.commit(
                            group,
                            "",
                            null,
                            -1,
                            Map.of(
                                    tp0, new GroupResults.Committed(i, -1, "m" + i, 0),
                                    tp1, new GroupResults.Committed(10L * i, -1, null, 0)))
                    .get(WAIT_S, TimeUnit.SECONDS);
            assertThat(c.partitions().values()).containsOnly(GroupError.NONE);
        }
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(WAIT_S);
        while (offsetsPartition.logStartOffset() == 0 && System.nanoTime() < deadline) {
            Thread.onSpinWait();
        }
        assertThat(offsetsPartition.logStartOffset())
                .as("older records dropped")
                .isPositive();
        assertThat(offsetsPartition.highWatermark() - offsetsPartition.logStartOffset())
                .as("what remains is bounded")
                .isLessThan(1000 - 100);
        close(broker);

        broker = open();
        GroupResults.Fetch f = broker.groups().fetch(group, null).get(WAIT_S, TimeUnit.SECONDS);
        assertThat(f.offsets().get(tp0).offset()).isEqualTo(500);
        assertThat(f.offsets().get(tp0).metadata()).isEqualTo("m500");
        assertThat(f.offsets().get(tp1).offset()).isEqualTo(5000);
        close(broker);
    }
}
