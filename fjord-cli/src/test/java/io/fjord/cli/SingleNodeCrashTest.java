package io.fjord.cli;

import static io.fjord.cli.Polling.await;
import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * A cluster of one as a real process, killed with SIGKILL while an idempotent acks=all producer
 * writes. Its data groups have this node as their only voter, so produce batches are solo writes
 * (no Raft entry each; the restart keeps what the partition logs hold). After the restart every
 * acknowledged record is there exactly once, in order, at the offset its acknowledgement named.
 */
class SingleNodeCrashTest {
    @TempDir
    Path dir;

    private ClusterProcesses cluster;

    @AfterEach
    void killNode() {
        if (cluster != null) {
            cluster.close();
        }
    }

    @Test
    @Timeout(value = 3, unit = TimeUnit.MINUTES)
    void shouldKeepEveryAcknowledgedSoloWriteExactlyOnceAcrossAKill() throws Exception {
        String topic = "alone";
        int partitions = 3;
        cluster = ClusterProcesses.start(dir, 1);
        int node = cluster.ids().get(0);
        cluster.createTopic(topic, partitions, (short) 1);

        try (SequencedProducer producer = new SequencedProducer(cluster.bootstrap(), topic, partitions, 120_000)) {
            await("2,000 acknowledged records", 60, () -> producer.ackedCount() >= 2_000);
            assertThat(soloNotes(cluster.nodeDir(node)))
                    .as("data groups noting solo writes at the kill")
                    .isNotEmpty();
            cluster.kill9(node);
            cluster.restart(node);
            long acked = producer.ackedCount();
            await("1,000 more acknowledged records", 60, () -> producer.ackedCount() >= acked + 1_000);
            producer.stop();
            assertThat(producer.failures())
                    .as("sends that failed (acks=all, idempotent, 120 s delivery timeout)")
                    .isEmpty();

            producer.assertEachSentRecordOnceInOrder(cluster.readAll(topic, partitions));
        }
    }

    /** The solo notes in a node's data directory (one per data group taking solo writes). */
    private static List<Path> soloNotes(Path nodeDir) throws IOException {
        try (Stream<Path> files = Files.walk(nodeDir)) {
            return files.filter(f -> f.getFileName().toString().equals("solo")).toList();
        }
    }
}
