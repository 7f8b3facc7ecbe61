package io.fjord.cli;

import io.fjord.broker.BrokerConfig;
import io.fjord.broker.ClusterConfig;
import io.fjord.raft.RaftPeerSpec;
import io.fjord.wire.KafkaServer;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
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
        description = "Start a Fjord node serving the Kafka protocol (default: a cluster of one on 127.0.0.1:9092).")
final class ServerCommand implements Callable<Integer> {
    private static final Logger log = LoggerFactory.getLogger(ServerCommand.class);

    @Option(
            names = "--config",
            description =
                    "A properties file: host, port, data.dir, io.threads, num.partitions, auto.create.topics.enable, "
                            + "socket.request.max.bytes, group.initial.rebalance.delay.ms, node.id, "
                            + "controller.quorum.voters, raft.port, broker.rack, raft.groups.per.node, "
                            + "raft.election.timeout.ms, default.replication.factor, raft.fsync.before.ack, raft.solo.writes, "
                            + "replica.replace.after.ms, raft.snapshot.entries, raft.log.segment.bytes.")
    Path configFile;

    @Option(names = "--data-dir", description = "Where partition logs live (default: ./data).")
    Path dataDir;

    @Option(
            names = "--host",
            description = "The address this node listens on, for Kafka clients and for Raft, and gives clients in"
                    + " Metadata: one that clients and the other nodes reach it at (default: 127.0.0.1).")
    String host;

    @Option(names = "--port", description = "Kafka listener port (default: 9092; 0 picks a free one).")
    Integer port;

    @Option(names = "--io-threads", description = "Event loops for connections and partitions (default: one per core).")
    Integer ioThreads;

    @Option(names = "--default-partitions", description = "Partitions of auto-created topics (default: 1).")
    Integer defaultPartitions;

    @Option(names = "--node-id", description = "This node's id, unique in the cluster (default: 0).")
    Integer nodeId;

    @Option(
            names = "--quorum",
            description = "Voters of the metadata group, e.g. 1@127.0.0.1:10092,2@127.0.0.1:10093,3@127.0.0.1:10094 "
                    + "(default: this node alone, a cluster of one).")
    String quorum;

    @Option(
            names = "--raft-port",
            description = "Raft (gRPC) port (default: this node's port in --quorum, else the Kafka port + 1000).")
    Integer raftPort;

    @Option(names = "--rack", description = "This node's rack, for replica placement (default: none).")
    String rack;

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
        String listenHost = host != null ? host : p.getProperty("host");
        if (listenHost != null) {
            String refused = refusedHost(listenHost);
            if (refused != null) {
                System.err.println("fjord: " + refused);
                return 2;
            }
            config = config.withHost(listenHost.strip());
        }
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
        if (nodeId != null || p.containsKey("node.id")) {
            config = config.withNodeId(nodeId != null ? nodeId : Integer.parseInt(p.getProperty("node.id")));
        }
        ClusterConfig cluster = config.cluster();
        String voters = quorum != null ? quorum : p.getProperty("controller.quorum.voters");
        if (voters != null && !voters.isBlank()) {
            cluster = cluster.withMetaVoters(RaftPeerSpec.parseList(voters));
        }
        if (raftPort != null || p.containsKey("raft.port")) {
            cluster = cluster.withRaftPort(raftPort != null ? raftPort : Integer.parseInt(p.getProperty("raft.port")));
        }
        if (rack != null || p.containsKey("broker.rack")) {
            cluster = cluster.withRack(rack != null ? rack : p.getProperty("broker.rack"));
        }
        if (p.containsKey("raft.groups.per.node")) {
            cluster = cluster.withGroupsPerNode(Integer.parseInt(p.getProperty("raft.groups.per.node")));
        }
        if (p.containsKey("raft.election.timeout.ms")) {
            cluster = cluster.withElectionTimeoutMs(Integer.parseInt(p.getProperty("raft.election.timeout.ms")));
        }
        if (p.containsKey("default.replication.factor")) {
            cluster =
                    cluster.withDefaultReplicationFactor(Integer.parseInt(p.getProperty("default.replication.factor")));
        }
        if (p.containsKey("replica.replace.after.ms")) {
            cluster = cluster.withReplaceAfterMs(Long.parseLong(p.getProperty("replica.replace.after.ms")));
        }
        if (p.containsKey("raft.solo.writes")) {
            cluster = cluster.withSoloWrites(Boolean.parseBoolean(p.getProperty("raft.solo.writes")));
        }
        if (p.containsKey("raft.fsync.before.ack")) {
            cluster = cluster.withFsyncBeforeAck(Boolean.parseBoolean(p.getProperty("raft.fsync.before.ack")));
        }
        config = config.withCluster(raftLogSettings(cluster, p));
        KafkaServer server = KafkaServer.start(config);
        markAotTrainingServed(
                java.lang.management.ManagementFactory.getRuntimeMXBean().getInputArguments());
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

    /** Suffix of the marker a training run that served leaves beside its AOT cache output. */
    static final String AOT_SERVED_SUFFIX = ".served";

    /**
     * bin/fjord trains its AOT cache on the first server start after a build ({@code
     * -XX:AOTCacheOutput}); the JVM writes the cache when it exits, however it exits. Only a run
     * that got as far as serving has been through the server's start-up paths, so such a run says
     * so with a marker beside the output, and bin/fjord adopts only marked caches: a start that
     * failed (a port in use, a bad option) would leave a cache of little more than the option
     * parser, and every later start would use it until the next build.
     */
    static void markAotTrainingServed(List<String> jvmArgs) {
        for (String arg : jvmArgs) {
            if (arg.startsWith("-XX:AOTCacheOutput=")) {
                Path marker = Path.of(arg.substring("-XX:AOTCacheOutput=".length()) + AOT_SERVED_SUFFIX);
                try {
                    Files.writeString(marker, "");
                } catch (IOException e) {
                    log.warn("cannot mark the AOT training run as served ({}): {}", marker, e.toString());
                }
            }
        }
    }

    /**
     * Why {@code host} cannot be this node's address, or null when it can. The address is also what
     * Metadata tells clients to connect to, so a wildcard (listen everywhere) is refused: Kafka's
     * {@code advertised.listeners} has no counterpart here yet.
     */
    static String refusedHost(String host) {
        String h = host.strip();
        if (h.isEmpty()) {
            return "--host is empty";
        }
        if (h.equals("0.0.0.0") || h.equals("::") || h.equals("[::]")) {
            return "--host " + h + " listens on every address, but the host is also what clients are told to"
                    + " connect to: give an address of this machine that clients and the other nodes reach";
        }
        return null;
    }

    /**
     * The data groups' checkpoint interval ({@code raft.snapshot.entries}) and Raft log segment size
     * ({@code raft.log.segment.bytes}) from the config file, over {@code cluster}'s.
     */
    static ClusterConfig raftLogSettings(ClusterConfig cluster, Properties p) {
        long entries = p.containsKey("raft.snapshot.entries")
                ? Long.parseLong(p.getProperty("raft.snapshot.entries").trim())
                : cluster.raftSnapshotThreshold();
        int bytes = p.containsKey("raft.log.segment.bytes")
                ? Integer.parseInt(p.getProperty("raft.log.segment.bytes").trim())
                : cluster.raftLogSegmentBytes();
        if (entries < 1) {
            throw new IllegalArgumentException("raft.snapshot.entries must be at least 1: " + entries);
        }
        if (bytes < 64 * 1024) {
            throw new IllegalArgumentException("raft.log.segment.bytes must be at least 65536: " + bytes);
        }
        return cluster.withRaftLog(entries, bytes);
    }
}
