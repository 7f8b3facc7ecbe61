package io.fjord.wire;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.fjord.broker.BrokerConfig;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Starting a node: the listener binds beside the node's own start, and its failure is the start's. */
class KafkaServerTest {
    @TempDir
    Path dir;

    @Test
    void shouldFailTheStartWithTheListenersErrorWhenTheKafkaPortIsTakenAndReleaseTheDataDirectory() throws Exception {
        int port;
        try (ServerSocket taken = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            port = taken.getLocalPort();
            BrokerConfig config = BrokerConfig.defaults(dir, port).withIoThreads(2);
            assertThatThrownBy(() -> KafkaServer.start(config))
                    .hasMessageContaining("cannot listen for Kafka clients on 127.0.0.1:" + port);
        }
        // Nothing is left holding the data directory or the port.
        try (KafkaServer server =
                KafkaServer.start(BrokerConfig.defaults(dir, port).withIoThreads(2))) {
            assertThat(server.port()).isEqualTo(port);
        }
    }
}
