package io.fjord.wire;

import io.fjord.broker.BrokerConfig;
import java.nio.file.Path;
import java.util.Properties;
import org.apache.kafka.clients.admin.AdminClientConfig;

/** A Fjord node on 127.0.0.1 and a free port, for tests. */
final class TestServer implements AutoCloseable {
    final Path dataDir;
    final BrokerConfig config;
    KafkaServer server;

    TestServer(Path dataDir) throws InterruptedException {
        this(BrokerConfig.defaults(dataDir, 0).withIoThreads(2));
    }

    TestServer(BrokerConfig config) throws InterruptedException {
        this.dataDir = config.dataDir();
        this.config = config;
        this.server = KafkaServer.start(config);
    }

    String bootstrap() {
        return "127.0.0.1:" + server.port();
    }

    Properties clientProps() {
        Properties p = new Properties();
        p.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap());
        return p;
    }

    /** Stops and starts the node on the same port and data directory. */
    void restart() throws InterruptedException {
        int port = server.port();
        server.close();
        server = KafkaServer.start(config.withPort(port));
    }

    @Override
    public void close() {
        server.close();
    }
}
