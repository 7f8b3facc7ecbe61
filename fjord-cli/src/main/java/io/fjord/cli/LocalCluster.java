package io.fjord.cli;

import io.fjord.raft.RaftPeerSpec;
import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import java.util.Properties;
import java.util.concurrent.TimeUnit;
import java.util.stream.IntStream;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.DescribeClusterOptions;
import org.apache.kafka.clients.admin.DescribeTopicsOptions;
import org.apache.kafka.clients.admin.TopicDescription;

/**
 * A cluster of Fjord nodes on this machine, each a {@code fjord server} in a background JVM of its
 * own: what {@code fjord cluster up|status|down} manage, and what the process-based cluster tests
 * kill and restart.
 *
 * <p>Files under the cluster directory {@code D}:
 *
 * <ul>
 *   <li>{@code D/cluster.properties}: the layout ({@link Layout}), written by {@link #create} so
 *       later commands know the ports and the quorum: {@code host}, {@code nodes}, {@code
 *       base.port}.
 *   <li>{@code D/node-<id>/}: node {@code id}'s data directory ({@code --data-dir}).
 *   <li>{@code D/node-<id>/pid}: the node's process id, decimal, one line; written when it starts.
 *   <li>{@code D/node-<id>/server.log}: the node's stdout and stderr, appended to.
 * </ul>
 *
 * <p>Processes are found and stopped by pid only. A pid file is trusted only while that process
 * is alive and its command line names the node's data directory, so a stale file whose pid the
 * OS has handed to another process never leads to stopping that process.
 *
 * <p>Not thread-safe: one caller at a time.
 */
final class LocalCluster {
    static final String LAYOUT_FILE = "cluster.properties";
    static final String PID_FILE = "pid";
    static final String LOG_FILE = "server.log";
    static final String HOST = "127.0.0.1";
    /** Node ids are 1..NODES_MAX; ports base..base+NODES_MAX-1 must fit. */
    static final int NODES_MAX = 9;
    /** Nodes 1..VOTERS_MAX vote in the metadata group; more voters only slow every metadata write. */
    static final int VOTERS_MAX = 5;
    /** Node {@code id}'s Raft port is its Kafka port plus this. */
    static final int RAFT_PORT_OFFSET = 1000;
    /** Upper bound of one probe (describeCluster, describeTopics) while waiting for nodes. */
    static final int PROBE_TIMEOUT_MS = 2_000;
    /** Pause between rounds of probes. */
    static final long POLL_INTERVAL_MS = 200;
    /** The consumer offsets topic, which the cluster creates once enough nodes are live. */
    static final String OFFSETS_TOPIC = "__consumer_offsets";

    /** Where the nodes listen: Kafka on {@code basePort + id - 1}, Raft {@link #RAFT_PORT_OFFSET} above. */
    record Layout(String host, int nodes, int basePort) {
        Layout {
            if (nodes < 1 || nodes > NODES_MAX) {
                throw new IllegalArgumentException("nodes must be 1.." + NODES_MAX + ": " + nodes);
            }
            if (basePort < 1024 || basePort + RAFT_PORT_OFFSET + nodes - 1 > 65_535) {
                throw new IllegalArgumentException("base port " + basePort + " leaves no room for " + nodes
                        + " Kafka ports and their Raft ports (+" + RAFT_PORT_OFFSET + ")");
            }
        }

        List<Integer> ids() {
            return IntStream.rangeClosed(1, nodes).boxed().toList();
        }

        int kafkaPort(int id) {
            return basePort + id - 1;
        }

        int raftPort(int id) {
            return kafkaPort(id) + RAFT_PORT_OFFSET;
        }

        String kafkaAddress(int id) {
            return host + ":" + kafkaPort(id);
        }

        RaftPeerSpec raftPeer(int id) {
            return new RaftPeerSpec(id, host, raftPort(id));
        }

        /** Voters of the metadata group: nodes 1..min(nodes, {@link #VOTERS_MAX}). */
        List<RaftPeerSpec> voters() {
            return IntStream.rangeClosed(1, Math.min(nodes, VOTERS_MAX))
                    .mapToObj(this::raftPeer)
                    .toList();
        }

        boolean isVoter(int id) {
            return id <= Math.min(nodes, VOTERS_MAX);
        }

        String quorum() {
            return String.join(
                    ",", voters().stream().map(RaftPeerSpec::toString).toList());
        }

        /** Every node's Kafka address, comma-separated, for {@code bootstrap.servers}. */
        String bootstrap() {
            return String.join(",", ids().stream().map(this::kafkaAddress).toList());
        }

        void write(Path file) throws IOException {
            Properties p = new Properties();
            p.setProperty("host", host);
            p.setProperty("nodes", Integer.toString(nodes));
            p.setProperty("base.port", Integer.toString(basePort));
            Path tmp = file.resolveSibling(file.getFileName() + ".tmp");
            try (OutputStream out = Files.newOutputStream(tmp)) {
                p.store(
                        out,
                        "fjord cluster layout: node N serves Kafka on base.port+N-1, Raft on that +"
                                + RAFT_PORT_OFFSET);
            }
            Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        }

        static Layout read(Path file) throws IOException {
            Properties p = new Properties();
            try (InputStream in = Files.newInputStream(file)) {
                p.load(in);
            }
            try {
                return new Layout(
                        p.getProperty("host", HOST),
                        Integer.parseInt(p.getProperty("nodes", "")),
                        Integer.parseInt(p.getProperty("base.port", "")));
            } catch (IllegalArgumentException e) {
                throw new IOException(file + " is not a cluster layout: " + e.getMessage(), e);
            }
        }
    }

    /** How node JVMs are started: the java binary, the class path and the JVM options. */
    record Launcher(String javaBinary, String classPath, List<String> jvmOptions) {
        Launcher {
            jvmOptions = List.copyOf(jvmOptions);
        }

        /** This JVM's java binary and class path (the fat jar under {@code bin/fjord}). */
        static Launcher ofThisJvm(List<String> jvmOptions) {
            String java = ProcessHandle.current()
                    .info()
                    .command()
                    .orElse(Path.of(System.getProperty("java.home"), "bin", "java")
                            .toString());
            return new Launcher(java, System.getProperty("java.class.path"), jvmOptions);
        }
    }

    private final Path dir;
    private final Layout layout;
    private final Launcher launcher;

    private LocalCluster(Path dir, Layout layout, Launcher launcher) {
        this.dir = dir.toAbsolutePath().normalize();
        this.layout = layout;
        this.launcher = launcher;
    }

    /** A cluster in {@code dir} with {@code layout}; writes the layout file (and the directory). */
    static LocalCluster create(Path dir, Layout layout, Launcher launcher) throws IOException {
        LocalCluster c = new LocalCluster(dir, layout, launcher);
        Files.createDirectories(c.dir);
        layout.write(c.dir.resolve(LAYOUT_FILE));
        return c;
    }

    /** The cluster whose layout file is in {@code dir}. */
    static LocalCluster open(Path dir, Launcher launcher) throws IOException {
        Path file = dir.resolve(LAYOUT_FILE);
        if (!Files.exists(file)) {
            throw new IOException("no cluster in " + dir.toAbsolutePath().normalize() + " (" + LAYOUT_FILE
                    + " is missing; start one with `fjord cluster up`)");
        }
        return new LocalCluster(dir, Layout.read(file), launcher);
    }

    /** The layout stored in {@code dir}, if there is one. */
    static Optional<Layout> storedLayout(Path dir) throws IOException {
        Path file = dir.resolve(LAYOUT_FILE);
        return Files.exists(file) ? Optional.of(Layout.read(file)) : Optional.empty();
    }

    Path dir() {
        return dir;
    }

    Layout layout() {
        return layout;
    }

    Path nodeDir(int id) {
        return dir.resolve("node-" + id);
    }

    Path logFile(int id) {
        return nodeDir(id).resolve(LOG_FILE);
    }

    /** The pid recorded for node {@code id}, whether or not it is still running. */
    Optional<Long> recordedPid(int id) {
        Path f = nodeDir(id).resolve(PID_FILE);
        try {
            return Files.exists(f)
                    ? Optional.of(Long.parseLong(Files.readString(f).trim()))
                    : Optional.empty();
        } catch (IOException | NumberFormatException e) {
            return Optional.empty();
        }
    }

    /** Node {@code id}'s process, if its pid file names a live process that is that node. */
    Optional<ProcessHandle> process(int id) {
        return recordedPid(id)
                .flatMap(ProcessHandle::of)
                .filter(ProcessHandle::isAlive)
                .filter(ph -> isNode(ph, id));
    }

    private boolean isNode(ProcessHandle ph, int id) {
        // The OS may not say (another user's process): then the pid file has the last word.
        return ph.info()
                .arguments()
                .map(args -> Arrays.asList(args).contains(nodeDir(id).toString()))
                .orElse(true);
    }

    /** The command line that starts node {@code id}. */
    List<String> command(int id) {
        List<String> cmd = new ArrayList<>();
        cmd.add(launcher.javaBinary());
        cmd.addAll(launcher.jvmOptions());
        cmd.add("-cp");
        cmd.add(launcher.classPath());
        cmd.add(Fjord.class.getName());
        cmd.addAll(List.of(
                "server",
                "--node-id",
                Integer.toString(id),
                "--quorum",
                layout.quorum(),
                "--raft-port",
                Integer.toString(layout.raftPort(id)),
                "--port",
                Integer.toString(layout.kafkaPort(id)),
                "--data-dir",
                nodeDir(id).toString()));
        return cmd;
    }

    /**
     * Starts node {@code id} in the background, output appended to its {@link #logFile}, and
     * records its pid.
     *
     * @throws IOException when it is already running, a port it needs is taken, or the JVM cannot
     *     be started
     */
    ProcessHandle start(int id) throws IOException {
        if (process(id).isPresent()) {
            throw new IOException("node " + id + " is already running (pid "
                    + process(id).get().pid() + ")");
        }
        for (int port : List.of(layout.kafkaPort(id), layout.raftPort(id))) {
            if (!isFree(layout.host(), port)) {
                throw new IOException("node " + id + ": port " + layout.host() + ":" + port + " is in use");
            }
        }
        Files.createDirectories(nodeDir(id));
        Process p = new ProcessBuilder(command(id))
                .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")))
                .redirectOutput(ProcessBuilder.Redirect.appendTo(logFile(id).toFile()))
                .redirectErrorStream(true)
                .start();
        Path pidFile = nodeDir(id).resolve(PID_FILE);
        Path tmp = pidFile.resolveSibling(PID_FILE + ".tmp");
        Files.writeString(tmp, p.pid() + "\n", StandardCharsets.UTF_8);
        Files.move(tmp, pidFile, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        return p.toHandle();
    }

    static boolean isFree(String host, int port) {
        try (ServerSocket s = new ServerSocket()) {
            s.setReuseAddress(true);
            s.bind(new InetSocketAddress(InetAddress.getByName(host), port));
            return true;
        } catch (IOException e) {
            return false;
        }
    }

    /**
     * Stops node {@code id}: SIGTERM (a clean close), then SIGKILL if it has not exited within
     * {@code grace}. Returns false when it was not running.
     */
    boolean stop(int id, Duration grace) throws InterruptedException {
        Optional<ProcessHandle> ph = process(id);
        if (ph.isEmpty()) {
            return false;
        }
        ph.get().destroy();
        awaitExit(ph.get(), grace);
        return true;
    }

    /** SIGKILL to node {@code id} (no clean close), waiting until it is gone. */
    boolean kill(int id) throws InterruptedException {
        Optional<ProcessHandle> ph = process(id);
        if (ph.isEmpty()) {
            return false;
        }
        ph.get().destroyForcibly();
        awaitExit(ph.get(), Duration.ofSeconds(10));
        return true;
    }

    /** Waits up to {@code grace} for {@code ph} to exit, then kills it and waits for that. */
    static void awaitExit(ProcessHandle ph, Duration grace) throws InterruptedException {
        try {
            ph.onExit().get(grace.toMillis(), TimeUnit.MILLISECONDS);
        } catch (java.util.concurrent.TimeoutException e) {
            ph.destroyForcibly();
            try {
                ph.onExit().get(10, TimeUnit.SECONDS);
            } catch (java.util.concurrent.TimeoutException | java.util.concurrent.ExecutionException again) {
                // reported by the caller through isAlive()
            }
        } catch (java.util.concurrent.ExecutionException e) {
            // onExit does not fail; nothing to wait for
        }
    }

    /**
     * Waits until each of {@code ids} answers Metadata (describeCluster through that node alone)
     * listing every one of {@code ids} as a live broker, and the consumer offsets topic has a
     * leader for every partition, so groups work at once.
     *
     * @throws IOException when a node's process exits meanwhile (with the tail of its log), or at
     *     the deadline (naming the nodes that are not serving)
     */
    void awaitServing(List<Integer> ids, Duration timeout) throws IOException, InterruptedException {
        long deadlineNs = System.nanoTime() + timeout.toNanos();
        java.util.Map<Integer, Admin> admins = new java.util.TreeMap<>();
        try {
            for (int id : ids) {
                admins.put(id, admin(layout.kafkaAddress(id)));
            }
            java.util.Set<Integer> waiting = new java.util.TreeSet<>(ids);
            String lastProblem = "";
            while (true) {
                for (java.util.Iterator<Integer> it = waiting.iterator(); it.hasNext(); ) {
                    int id = it.next();
                    if (process(id).isEmpty()) {
                        throw new IOException(
                                "node " + id + " is not running; the end of " + logFile(id) + ":\n" + logTail(id, 20));
                    }
                    try {
                        java.util.Set<Integer> seen = new java.util.TreeSet<>();
                        admins.get(id)
                                .describeCluster(new DescribeClusterOptions().timeoutMs(PROBE_TIMEOUT_MS))
                                .nodes()
                                .get()
                                .forEach(n -> seen.add(n.id()));
                        if (seen.containsAll(ids)) {
                            it.remove();
                        } else {
                            lastProblem = "node " + id + " sees brokers " + seen;
                        }
                    } catch (java.util.concurrent.ExecutionException e) {
                        lastProblem = "node " + id + ": " + Fjord.describe(e.getCause());
                    }
                }
                if (waiting.isEmpty() && offsetsTopicLed(admins.get(ids.getFirst()))) {
                    return;
                }
                if (System.nanoTime() > deadlineNs) {
                    StringBuilder tails = new StringBuilder();
                    for (int id : waiting) {
                        tails.append("\nthe end of ")
                                .append(logFile(id))
                                .append(":\n")
                                .append(logTail(id, 40));
                    }
                    throw new IOException("not serving after " + timeout.toSeconds() + " s: "
                            + (waiting.isEmpty() ? "the consumer offsets topic has no leaders yet" : "nodes " + waiting)
                            + (lastProblem.isEmpty() ? "" : " (" + lastProblem + ")")
                            + tails);
                }
                Thread.sleep(POLL_INTERVAL_MS); // between probes
            }
        } finally {
            admins.values().forEach(a -> a.close(Duration.ZERO));
        }
    }

    static boolean offsetsTopicLed(Admin admin) throws InterruptedException {
        try {
            TopicDescription d = admin.describeTopics(
                            List.of(OFFSETS_TOPIC), new DescribeTopicsOptions().timeoutMs(PROBE_TIMEOUT_MS))
                    .allTopicNames()
                    .get()
                    .get(OFFSETS_TOPIC);
            return d != null
                    && d.partitions().stream()
                            .allMatch(p -> p.leader() != null && p.leader().id() >= 0);
        } catch (java.util.concurrent.ExecutionException e) {
            return false;
        }
    }

    /** An Admin for short probes; {@code bootstrap} is one or more Kafka addresses. */
    static Admin admin(String bootstrap) {
        Properties p = new Properties();
        p.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        p.put(AdminClientConfig.CLIENT_ID_CONFIG, "fjord-cluster");
        p.put(AdminClientConfig.REQUEST_TIMEOUT_MS_CONFIG, PROBE_TIMEOUT_MS);
        p.put(AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, PROBE_TIMEOUT_MS);
        p.put(AdminClientConfig.RECONNECT_BACKOFF_MAX_MS_CONFIG, 500);
        return Admin.create(p);
    }

    /** The last {@code lines} lines of node {@code id}'s log, for error messages. */
    String logTail(int id, int lines) {
        try {
            List<String> all = Files.readAllLines(logFile(id), StandardCharsets.UTF_8);
            return String.join("\n", all.subList(Math.max(0, all.size() - lines), all.size()));
        } catch (IOException e) {
            return "(no log: " + e.getMessage() + ")";
        }
    }
}
