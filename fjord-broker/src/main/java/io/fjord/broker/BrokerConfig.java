package io.fjord.broker;

import io.fjord.storage.LogConfig;
import java.nio.file.Path;

/**
 * Settings of one broker node. Defaults are Kafka's where Kafka has one.
 *
 * @param nodeId this node's id (Kafka broker id)
 * @param host the address the Kafka listener binds to and advertises
 * @param port the Kafka listener port
 * @param dataDir where partition logs and broker metadata live
 * @param ioThreads event loops: connections and partition ownership are spread over them
 * @param autoCreateTopics create a topic when a Metadata request names an unknown one
 * @param defaultPartitions partitions of an auto-created topic or a CreateTopics with -1
 * @param maxFrameBytes the largest request frame accepted; larger ones close the connection
 * @param housekeepingIntervalMs how often each partition flushes by time, applies retention and
 *     snapshots producer state
 * @param logDefaults log settings for topics that do not override them
 * @param groups consumer-group coordinator settings
 * @param cluster Raft and placement settings
 */
public record BrokerConfig(
        int nodeId,
        String host,
        int port,
        Path dataDir,
        int ioThreads,
        boolean autoCreateTopics,
        int defaultPartitions,
        int maxFrameBytes,
        long housekeepingIntervalMs,
        LogConfig logDefaults,
        io.fjord.broker.group.GroupConfig groups,
        ClusterConfig cluster) {

    public static final int MAX_FRAME_BYTES_DEFAULT = 100 * 1024 * 1024;

    public BrokerConfig {
        if (ioThreads < 1 || ioThreads > 1024) {
            throw new IllegalArgumentException("ioThreads must be 1..1024: " + ioThreads);
        }
        if (defaultPartitions < 1) {
            throw new IllegalArgumentException("defaultPartitions must be >= 1: " + defaultPartitions);
        }
        if (maxFrameBytes < 1024) {
            throw new IllegalArgumentException("maxFrameBytes too small: " + maxFrameBytes);
        }
        if (maxFrameBytes < logDefaults.maxBatchBytes()) {
            throw new IllegalArgumentException("maxFrameBytes must be at least the largest batch");
        }
    }

    /** A single node on 127.0.0.1 with everything else at its default. */
    public static BrokerConfig defaults(Path dataDir, int port) {
        return new BrokerConfig(
                0,
                "127.0.0.1",
                port,
                dataDir,
                Runtime.getRuntime().availableProcessors(),
                true,
                1,
                MAX_FRAME_BYTES_DEFAULT,
                1000,
                LogConfig.DEFAULT,
                io.fjord.broker.group.GroupConfig.DEFAULT,
                ClusterConfig.DEFAULT);
    }

    public BrokerConfig withIoThreads(int n) {
        return new BrokerConfig(
                nodeId,
                host,
                port,
                dataDir,
                n,
                autoCreateTopics,
                defaultPartitions,
                maxFrameBytes,
                housekeepingIntervalMs,
                logDefaults,
                groups,
                cluster);
    }

    public BrokerConfig withAutoCreateTopics(boolean on) {
        return new BrokerConfig(
                nodeId,
                host,
                port,
                dataDir,
                ioThreads,
                on,
                defaultPartitions,
                maxFrameBytes,
                housekeepingIntervalMs,
                logDefaults,
                groups,
                cluster);
    }

    public BrokerConfig withDefaultPartitions(int n) {
        return new BrokerConfig(
                nodeId,
                host,
                port,
                dataDir,
                ioThreads,
                autoCreateTopics,
                n,
                maxFrameBytes,
                housekeepingIntervalMs,
                logDefaults,
                groups,
                cluster);
    }

    public BrokerConfig withMaxFrameBytes(int n) {
        return new BrokerConfig(
                nodeId,
                host,
                port,
                dataDir,
                ioThreads,
                autoCreateTopics,
                defaultPartitions,
                n,
                housekeepingIntervalMs,
                logDefaults,
                groups,
                cluster);
    }

    public BrokerConfig withGroups(io.fjord.broker.group.GroupConfig g) {
        return new BrokerConfig(
                nodeId,
                host,
                port,
                dataDir,
                ioThreads,
                autoCreateTopics,
                defaultPartitions,
                maxFrameBytes,
                housekeepingIntervalMs,
                logDefaults,
                g,
                cluster);
    }

    /** The same settings on another port (a restart on the port the first start picked). */
    public BrokerConfig withPort(int p) {
        return new BrokerConfig(
                nodeId,
                host,
                p,
                dataDir,
                ioThreads,
                autoCreateTopics,
                defaultPartitions,
                maxFrameBytes,
                housekeepingIntervalMs,
                logDefaults,
                groups,
                cluster);
    }

    public BrokerConfig withLogDefaults(LogConfig c) {
        return new BrokerConfig(
                nodeId,
                host,
                port,
                dataDir,
                ioThreads,
                autoCreateTopics,
                defaultPartitions,
                maxFrameBytes,
                housekeepingIntervalMs,
                c,
                groups,
                cluster);
    }

    public BrokerConfig withCluster(ClusterConfig c) {
        return new BrokerConfig(
                nodeId,
                host,
                port,
                dataDir,
                ioThreads,
                autoCreateTopics,
                defaultPartitions,
                maxFrameBytes,
                housekeepingIntervalMs,
                logDefaults,
                groups,
                c);
    }

    public BrokerConfig withNodeId(int id) {
        return new BrokerConfig(
                id,
                host,
                port,
                dataDir,
                ioThreads,
                autoCreateTopics,
                defaultPartitions,
                maxFrameBytes,
                housekeepingIntervalMs,
                logDefaults,
                groups,
                cluster);
    }

    public BrokerConfig withHost(String h) {
        return new BrokerConfig(
                nodeId,
                h,
                port,
                dataDir,
                ioThreads,
                autoCreateTopics,
                defaultPartitions,
                maxFrameBytes,
                housekeepingIntervalMs,
                logDefaults,
                groups,
                cluster);
    }
}
