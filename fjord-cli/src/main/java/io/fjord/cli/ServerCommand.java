package io.fjord.cli;

import io.fjord.broker.BrokerConfig;
import io.fjord.wire.KafkaServer;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Properties;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code fjord server}: a single-node Fjord serving the Kafka protocol. Settings come from
 * defaults, then an optional properties file ({@code --config}), then flags. SIGTERM (or Ctrl-C)
 * stops accepting, finishes queued work and closes every log cleanly.
 */
@Command(
        name = "server",
        mixinStandardHelpOptions = true,
        description = "Start a single-node Fjord serving the Kafka protocol (default 127.0.0.1:9092).")
final class ServerCommand implements Callable<Integer> {
    private static final Logger log = LoggerFactory.getLogger(ServerCommand.class);

    @Option(
            names = "--config",
            description =
                    "A properties file: port, data.dir, io.threads, num.partitions, auto.create.topics.enable, socket.request.max.bytes.")
    Path configFile;

    @Option(names = "--data-dir", description = "Where partition logs live (default: ./data).")
    Path dataDir;

    @Option(names = "--port", description = "Kafka listener port on 127.0.0.1 (default: 9092; 0 picks a free one).")
    Integer port;

    @Option(names = "--io-threads", description = "Event loops for connections and partitions (default: one per core).")
    Integer ioThreads;

    @Option(names = "--default-partitions", description = "Partitions of auto-created topics (default: 1).")
    Integer defaultPartitions;

    @Override
    public Integer call() throws Exception {
        Properties p = new Properties();
        if (configFile != null) {
            try (InputStream in = Files.newInputStream(configFile)) {
                p.load(in);
            } catch (IOException e) {
                System.err.println("fjord: cannot read config file " + configFile + ": " + e.getMessage());
                return 2;
            }
        }
        Path dir = dataDir != null ? dataDir : Path.of(p.getProperty("data.dir", "data"));
        int listenPort = port != null ? port : Integer.parseInt(p.getProperty("port", "9092"));
        BrokerConfig config = BrokerConfig.defaults(dir.toAbsolutePath().normalize(), listenPort);
        if (ioThreads != null || p.containsKey("io.threads")) {
            config =
                    config.withIoThreads(ioThreads != null ? ioThreads : Integer.parseInt(p.getProperty("io.threads")));
        }
        if (defaultPartitions != null || p.containsKey("num.partitions")) {
            config = config.withDefaultPartitions(
                    defaultPartitions != null ? defaultPartitions : Integer.parseInt(p.getProperty("num.partitions")));
        }
        if (p.containsKey("auto.create.topics.enable")) {
            config = config.withAutoCreateTopics(Boolean.parseBoolean(p.getProperty("auto.create.topics.enable")));
        }
        if (p.containsKey("group.initial.rebalance.delay.ms")) {
            config = config.withGroups(config.groups()
                    .withInitialRebalanceDelayMs(Integer.parseInt(p.getProperty("group.initial.rebalance.delay.ms"))));
        }
        if (p.containsKey("socket.request.max.bytes")) {
            config = config.withMaxFrameBytes(Integer.parseInt(p.getProperty("socket.request.max.bytes")));
        }
        KafkaServer server = KafkaServer.start(config);
        CountDownLatch stopped = new CountDownLatch(1);
        Runtime.getRuntime()
                .addShutdownHook(new Thread(
                        () -> {
                            log.info("stopping");
                            server.close();
                            stopped.countDown();
                        },
                        "fjord-shutdown"));
        stopped.await();
        return 0;
    }
}
