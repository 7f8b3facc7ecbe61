package io.fjord.broker;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A start that fails part-way releases the data directory, so a corrected start can take it. */
class BrokerOpenFailureTest {
    @TempDir
    Path dir;

    @Test
    void shouldReleaseTheDataDirectoryWhenOpeningFails() throws Exception {
        ExecutorService owner = Executors.newSingleThreadExecutor();
        int raftPort;
        try (java.net.ServerSocket taken = new java.net.ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            raftPort = taken.getLocalPort();
            BrokerConfig config =
                    BrokerConfig.defaults(dir, 0).withCluster(ClusterConfig.DEFAULT.withRaftPort(raftPort));
            // The Raft port is taken: the start fails after the logs were opened.
            assertThatThrownBy(() -> Broker.open(config, List.of(owner))).isInstanceOf(RuntimeException.class);
        }
        try {
            Broker broker = Broker.open(
                    BrokerConfig.defaults(dir, 0).withCluster(ClusterConfig.DEFAULT.withRaftPort(raftPort)),
                    List.of(owner));
            assertThat(broker.allocateProducerId()).isGreaterThanOrEqualTo(0);
            broker.close();
        } finally {
            owner.shutdownNow();
            assertThat(owner.awaitTermination(30, TimeUnit.SECONDS)).isTrue();
        }
    }
}
