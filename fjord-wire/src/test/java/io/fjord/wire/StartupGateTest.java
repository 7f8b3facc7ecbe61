package io.fjord.wire;

import static org.assertj.core.api.Assertions.assertThat;

import io.fjord.broker.BrokerConfig;
import io.fjord.raft.RaftPeerSpec;
import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Properties;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.message.ApiVersionsRequestData;
import org.apache.kafka.common.message.MetadataRequestData;
import org.apache.kafka.common.protocol.ApiKeys;
import org.apache.kafka.common.protocol.Errors;
import org.apache.kafka.common.requests.ApiVersionsResponse;
import org.apache.kafka.common.requests.MetadataResponse;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The Kafka listener opens before the node is ready: clients that connect while it starts are
 * served once it is, in order, without errors; a request that waits too long gets a retriable
 * not-ready answer.
 */
class StartupGateTest {
    @TempDir
    Path dir;

    private final List<CompletableFuture<KafkaServer>> starting = new ArrayList<>();
    /** Starts and blocking sends run here, not in the common pool (one thread on two cores). */
    private final ExecutorService threads = Executors.newCachedThreadPool();

    @AfterEach
    void stop() {
        for (CompletableFuture<KafkaServer> f : starting) {
            try {
                f.get(60, TimeUnit.SECONDS).close();
            } catch (Exception e) {
                // a start that failed has nothing to close
            }
        }
        threads.shutdownNow();
    }

    private static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            return s.getLocalPort();
        }
    }

    private CompletableFuture<KafkaServer> startInBackground(BrokerConfig c) {
        CompletableFuture<KafkaServer> f = CompletableFuture.supplyAsync(
                () -> {
                    try {
                        return KafkaServer.start(c);
                    } catch (InterruptedException e) {
                        throw new CompletionException(e);
                    }
                },
                threads);
        starting.add(f);
        return f;
    }

    private static KafkaProducer<byte[], byte[]> producer(int port) {
        Properties p = new Properties();
        p.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, "127.0.0.1:" + port);
        p.put(ProducerConfig.ACKS_CONFIG, "all"); // client defaults otherwise: idempotent, 100 ms retry back-off
        p.put(ProducerConfig.MAX_BLOCK_MS_CONFIG, "60000");
        p.put(ProducerConfig.DELIVERY_TIMEOUT_MS_CONFIG, "60000");
        return new KafkaProducer<>(p, new ByteArraySerializer(), new ByteArraySerializer());
    }

    /** Connects once the listener accepts, polling with a deadline. */
    private static RawClient connectWhenListening(int port) throws Exception {
        long deadlineMs = System.currentTimeMillis() + 30_000;
        while (true) {
            try {
                return new RawClient(port);
            } catch (IOException refused) {
                assertThat(System.currentTimeMillis())
                        .as("listener on port " + port)
                        .isLessThan(deadlineMs);
                Thread.onSpinWait();
            }
        }
    }

    private static void awaitRequestsSent(KafkaProducer<?, ?> producer, int n) {
        long deadlineMs = System.currentTimeMillis() + 30_000;
        while (true) {
            double sent = producer.metrics().entrySet().stream()
                    .filter(e -> e.getKey().name().equals("request-total")
                            && e.getKey().group().equals("producer-metrics"))
                    .mapToDouble(e -> ((Number) e.getValue().metricValue()).doubleValue())
                    .sum();
            if (sent >= n) {
                return;
            }
            assertThat(System.currentTimeMillis()).as(n + " requests sent").isLessThan(deadlineMs);
            Thread.onSpinWait();
        }
    }

    @Test
    void shouldAcknowledgeAProducerWhoseFirstSendRacesTheStart() throws Exception {
        int port = freePort();
        CompletableFuture<KafkaServer> node =
                startInBackground(BrokerConfig.defaults(dir, port).withIoThreads(2));
        try (KafkaProducer<byte[], byte[]> producer = producer(port)) {
            // The topic does not exist yet: the first Metadata creates it, on a node still starting.
            RecordMetadata md =
                    producer.send(new ProducerRecord<>("raced", new byte[] {1})).get(60, TimeUnit.SECONDS);
            assertThat(md.offset()).isZero();
        }
        assertThat(node.get(60, TimeUnit.SECONDS).port()).isEqualTo(port);
    }

    @Test
    void shouldHoldClientsOfANodeThatCannotServeYetAndServeThemOnceItCan() throws Exception {
        // Node 1 of a two-voter quorum cannot be ready before node 2 runs: a start that lasts as
        // long as the test wants.
        int[] kafka = {freePort(), freePort()};
        int[] raft = {freePort(), freePort()};
        List<RaftPeerSpec> voters =
                List.of(new RaftPeerSpec(1, "127.0.0.1", raft[0]), new RaftPeerSpec(2, "127.0.0.1", raft[1]));
        BrokerConfig[] configs = new BrokerConfig[2];
        for (int i = 0; i < 2; i++) {
            BrokerConfig c = BrokerConfig.defaults(dir.resolve("node-" + (i + 1)), kafka[i])
                    .withIoThreads(2)
                    .withNodeId(i + 1);
            configs[i] = c.withCluster(c.cluster().withRaftPort(raft[i]).withMetaVoters(voters));
        }
        CompletableFuture<KafkaServer> first = startInBackground(configs[0]);
        try (RawClient raw = connectWhenListening(kafka[0])) {
            ApiVersionsResponse versions = (ApiVersionsResponse) raw.call(
                    ApiKeys.API_VERSIONS,
                    (short) 3,
                    new ApiVersionsRequestData()
                            .setClientSoftwareName("raw-test")
                            .setClientSoftwareVersion("1"));
            assertThat(versions.data().errorCode()).isEqualTo(Errors.NONE.code());

            long beforeNs = System.nanoTime();
            MetadataResponse md = (MetadataResponse) raw.call(
                    ApiKeys.METADATA,
                    (short) 12,
                    new MetadataRequestData()
                            .setAllowAutoTopicCreation(true)
                            .setTopics(List.of(new MetadataRequestData.MetadataRequestTopic().setName("held"))));
            assertThat((System.nanoTime() - beforeNs) / 1_000_000).isGreaterThanOrEqualTo(StartupGate.STARTING_WAIT_MS);
            assertThat(md.data().topics().find("held").errorCode()).isEqualTo(Errors.LEADER_NOT_AVAILABLE.code());
            assertThat(md.data().brokers()).extracting(b -> b.nodeId()).containsExactly(1);
            assertThat(md.data().brokers().find(1).port()).isEqualTo(kafka[0]);
            assertThat(first).isNotDone();
        }

        try (KafkaProducer<byte[], byte[]> producer = producer(kafka[0])) {
            // send() blocks until the topic's metadata is known: from another thread.
            CompletableFuture<RecordMetadata> sent = CompletableFuture.supplyAsync(
                    () -> {
                        try {
                            return producer.send(new ProducerRecord<>("held", new byte[] {2}))
                                    .get(60, TimeUnit.SECONDS);
                        } catch (Exception e) {
                            throw new CompletionException(e);
                        }
                    },
                    threads);
            awaitRequestsSent(producer, 2); // ApiVersions, then a Metadata that node 1 holds
            assertThat(first).isNotDone();
            startInBackground(configs[1]);
            assertThat(sent.get(60, TimeUnit.SECONDS).offset()).isZero();
        }
    }
}
