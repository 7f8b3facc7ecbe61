package io.fjord.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Properties;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.DescribeTopicsOptions;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.admin.TopicDescription;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.Node;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.StringDeserializer;

/**
 * A cluster of Fjord nodes, each a child JVM ({@link LocalCluster}: this JVM's java and class
 * path), on free ports in a directory of the test's, for tests that kill nodes without warning.
 * {@link #close} kills every process it started, whatever state the test left them in.
 *
 * <p>Not thread-safe: the test thread drives it.
 */
final class ClusterProcesses implements AutoCloseable {
    /** Small heaps and C1 only: three node JVMs share a small machine with the test JVM. */
    static final List<String> NODE_JVM_OPTIONS =
            List.of("--enable-native-access=ALL-UNNAMED", "-Xmx256m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1");

    static final Duration START_TIMEOUT = Duration.ofSeconds(90);

    private final LocalCluster cluster;
    private final List<ProcessHandle> started = new ArrayList<>();

    private ClusterProcesses(LocalCluster cluster) {
        this.cluster = cluster;
    }

    /** Starts {@code nodes} nodes in {@code dir} and waits until every one serves. */
    static ClusterProcesses start(Path dir, int nodes) throws IOException, InterruptedException {
        return start(dir, nodes, nodes);
    }

    /**
     * Lays out {@code nodes} nodes in {@code dir} (every one a metadata voter, up to 5) but starts
     * only the first {@code running} and waits until they serve; {@link #restart} starts the others.
     */
    static ClusterProcesses start(Path dir, int nodes, int running) throws IOException, InterruptedException {
        LocalCluster.Layout layout = new LocalCluster.Layout(LocalCluster.HOST, nodes, freeBasePort(nodes));
        ClusterProcesses c = new ClusterProcesses(LocalCluster.create(
                dir,
                layout,
                new LocalCluster.Launcher(
                        ProcessHandle.current().info().command().orElseThrow(),
                        System.getProperty("java.class.path"),
                        NODE_JVM_OPTIONS)));
        try {
            List<Integer> first = layout.ids().subList(0, running);
            for (int id : first) {
                c.started.add(c.cluster.start(id));
            }
            c.cluster.awaitServing(first, START_TIMEOUT);
        } catch (IOException | InterruptedException | RuntimeException e) {
            c.close();
            throw e;
        }
        return c;
    }

    /**
     * A base port with all Kafka ports and their Raft ports free. Another process may take one
     * before the node binds it; then the node fails to start and the test says so.
     */
    static int freeBasePort(int nodes) {
        for (int attempt = 0; attempt < 100; attempt++) {
            int base = ThreadLocalRandom.current().nextInt(20_000, 40_000);
            boolean free = true;
            for (int i = 0; i < nodes && free; i++) {
                free = LocalCluster.isFree(LocalCluster.HOST, base + i)
                        && LocalCluster.isFree(LocalCluster.HOST, base + i + LocalCluster.RAFT_PORT_OFFSET);
            }
            if (free) {
                return base;
            }
        }
        throw new IllegalStateException("no free range of ports found");
    }

    LocalCluster cluster() {
        return cluster;
    }

    List<Integer> ids() {
        return cluster.layout().ids();
    }

    String bootstrap() {
        return cluster.layout().bootstrap();
    }

    Path nodeDir(int id) {
        return cluster.nodeDir(id);
    }

    boolean isRunning(int id) {
        return cluster.process(id).isPresent();
    }

    /** SIGKILL to node {@code id}: no clean close, no last fsync. Returns once it is gone. */
    void kill9(int id) throws InterruptedException {
        if (!cluster.kill(id)) {
            throw new IllegalStateException("node " + id + " is not running");
        }
    }

    /**
     * SIGSTOP to node {@code id}: the process stays, frozen, as in a long GC pause or a VM stall;
     * {@link #resume} lets it go on where it stopped. (A paused node is still killed by {@link
     * #close}.)
     */
    void pause(int id) throws IOException, InterruptedException {
        signal(id, "STOP");
    }

    /** SIGCONT to node {@code id}, paused by {@link #pause}. */
    void resume(int id) throws IOException, InterruptedException {
        signal(id, "CONT");
    }

    private void signal(int id, String signal) throws IOException, InterruptedException {
        long pid = cluster.process(id)
                .orElseThrow(() -> new IllegalStateException("node " + id + " is not running"))
                .pid();
        Commands.must("kill", "-" + signal, Long.toString(pid));
    }

    /** SIGTERM to node {@code id}, waiting for its clean close. */
    void stop(int id) throws InterruptedException {
        if (!cluster.stop(id, Duration.ofSeconds(30))) {
            throw new IllegalStateException("node " + id + " is not running");
        }
    }

    /** Starts node {@code id} again on its data; returns without waiting for it to serve. */
    void startNode(int id) throws IOException {
        started.add(cluster.start(id));
    }

    /** Starts node {@code id} again and waits until every node serves and sees all the others. */
    void restart(int id) throws IOException, InterruptedException {
        startNode(id);
        cluster.awaitServing(ids(), START_TIMEOUT);
    }

    /** An Admin bootstrapped from every node (those that are down are skipped by the client). */
    Admin admin() {
        return admin(bootstrap());
    }

    /** An Admin of the cluster at {@code bootstrap}, with 5 s requests and 10 s calls. */
    static Admin admin(String bootstrap) {
        Properties p = new Properties();
        p.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        p.put(AdminClientConfig.REQUEST_TIMEOUT_MS_CONFIG, 5_000);
        p.put(AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, 10_000);
        return Admin.create(p);
    }

    void createTopic(String topic, int partitions, short replicationFactor)
            throws InterruptedException, ExecutionException {
        try (Admin admin = admin()) {
            admin.createTopics(List.of(new NewTopic(topic, partitions, replicationFactor)))
                    .all()
                    .get();
        }
    }

    /** The leader of a partition as Metadata reports it, or -1 when there is none. */
    static int leaderOf(Admin admin, String topic, int partition) throws InterruptedException {
        try {
            TopicDescription d = admin.describeTopics(List.of(topic), new DescribeTopicsOptions().timeoutMs(3_000))
                    .allTopicNames()
                    .get(5, TimeUnit.SECONDS)
                    .get(topic);
            Node leader = d.partitions().get(partition).leader();
            return leader == null || leader.id() < 0 ? -1 : leader.id();
        } catch (ExecutionException | java.util.concurrent.TimeoutException e) {
            return -1;
        }
    }

    int leaderOf(String topic, int partition) throws InterruptedException {
        try (Admin admin = admin()) {
            return leaderOf(admin, topic, partition);
        }
    }

    /** Every record of the topic, per partition, from the start to the end offsets read first. */
    Map<Integer, List<ConsumerRecord<String, String>>> readAll(String topic, int partitions) {
        return readAll(bootstrap(), topic, partitions);
    }

    /** {@link #readAll(String, int)} from the cluster at {@code bootstrap}. */
    static Map<Integer, List<ConsumerRecord<String, String>>> readAll(String bootstrap, String topic, int partitions) {
        Properties p = new Properties();
        p.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        p.put(ConsumerConfig.MAX_POLL_RECORDS_CONFIG, 2_000);
        Map<Integer, List<ConsumerRecord<String, String>>> out = new HashMap<>();
        try (KafkaConsumer<String, String> c =
                new KafkaConsumer<>(p, new StringDeserializer(), new StringDeserializer())) {
            List<TopicPartition> tps = new ArrayList<>();
            for (int i = 0; i < partitions; i++) {
                tps.add(new TopicPartition(topic, i));
                out.put(i, new ArrayList<>());
            }
            c.assign(tps);
            c.seekToBeginning(tps);
            Map<TopicPartition, Long> end = c.endOffsets(tps, Duration.ofSeconds(30));
            long deadlineNs = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
            while (tps.stream().anyMatch(tp -> c.position(tp) < end.get(tp))) {
                assertThat(System.nanoTime())
                        .as("read to the end offsets %s in 60 s", end)
                        .isLessThan(deadlineNs);
                for (ConsumerRecord<String, String> r : c.poll(Duration.ofMillis(200))) {
                    if (r.offset() < end.get(new TopicPartition(topic, r.partition()))) {
                        out.get(r.partition()).add(r);
                    }
                }
            }
        }
        return out;
    }

    /** Pids of the processes this harness started that are still alive. */
    Map<Integer, Long> livePids() {
        Map<Integer, Long> out = new java.util.TreeMap<>();
        for (int id : ids()) {
            cluster.process(id).ifPresent(ph -> out.put(id, ph.pid()));
        }
        return out;
    }

    /** Kills every node process this harness started and waits for them to exit. */
    @Override
    public void close() {
        for (int id : ids()) {
            Optional<ProcessHandle> ph = cluster.process(id);
            ph.ifPresent(ProcessHandle::destroyForcibly);
        }
        for (ProcessHandle ph : started) {
            ph.destroyForcibly();
        }
        for (ProcessHandle ph : started) {
            try {
                ph.onExit().get(10, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            } catch (ExecutionException | java.util.concurrent.TimeoutException e) {
                // reported by the tests that check for leftover processes
            }
        }
    }
}
