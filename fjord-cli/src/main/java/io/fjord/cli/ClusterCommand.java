package io.fjord.cli;

import io.fjord.raft.RaftAdmin;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutionException;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.DescribeTopicsOptions;
import org.apache.kafka.clients.admin.ListTopicsOptions;
import org.apache.kafka.clients.admin.TopicDescription;
import org.apache.kafka.common.TopicPartitionInfo;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/**
 * {@code fjord cluster up|status|down}: a cluster of Fjord nodes on this machine, one background
 * JVM per node, for trying replication and failover. The nodes, their ports and files are {@link
 * LocalCluster}'s.
 */
@Command(
        name = "cluster",
        mixinStandardHelpOptions = true,
        description = "Start, inspect and stop a cluster of Fjord nodes on this machine.",
        subcommands = {ClusterCommand.Up.class, ClusterCommand.Status.class, ClusterCommand.Down.class})
final class ClusterCommand {
    static final String DATA_DIR_DEFAULT = "cluster-data";
    static final int NODES_DEFAULT = 3;
    static final int BASE_PORT_DEFAULT = 9092;
    static final String HEAP_DEFAULT = "512m";
    /** What {@code up} waits for every node to serve. */
    static final long UP_TIMEOUT_MS_DEFAULT = 60_000;
    /** What {@code down} gives a node to close cleanly after SIGTERM before SIGKILL. */
    static final long DOWN_GRACE_MS_DEFAULT = 30_000;
    /** Upper bound of each question {@code status} asks a node. */
    static final Duration STATUS_PROBE_TIMEOUT = Duration.ofSeconds(3);

    private ClusterCommand() {}

    /**
     * While nodes start (or when some are down) kafka-clients warns about every refused
     * connection; the commands here say what matters themselves. An explicit setting wins.
     */
    static void quietConnectionWarnings() {
        String key = "org.slf4j.simpleLogger.log.org.apache.kafka.clients.NetworkClient";
        if (System.getProperty(key) == null) {
            System.setProperty(key, "error");
        }
    }

    /**
     * JVM options of node processes: bin/fjord's, the heap, the server's AOT cache when bin/fjord
     * has one for this jar ({@link #aotOptions}), then {@code $FJORD_JVM_OPTS}.
     */
    static List<String> nodeJvmOptions(String heap) {
        List<String> opts = new ArrayList<>(List.of("--enable-native-access=ALL-UNNAMED", "-Xmx" + heap));
        opts.addAll(aotOptions(
                System.getProperty("java.class.path"),
                Runtime.version().feature(),
                System.getenv("FJORD_AOT"),
                System.getenv("FJORD_AOT_CACHE")));
        String extra = System.getenv("FJORD_JVM_OPTS");
        if (extra != null && !extra.isBlank()) {
            opts.addAll(Arrays.asList(extra.trim().split("\\s+")));
        }
        return opts;
    }

    /**
     * The AOT cache bin/fjord keeps beside the jar for {@code fjord server} (JDK 25+), unless
     * {@code FJORD_AOT_CACHE} names another file.
     */
    static final String AOT_CACHE_FILE = "fjord-server.aot";

    /**
     * Options that map bin/fjord's AOT cache into a node's JVM, so that nodes started by {@code
     * cluster up} load, link and JIT-compile the server's hot paths from the cache's classes and
     * profiles as {@code bin/fjord server} does (a 3-node cluster measured ~20% more produce
     * throughput and ~20% less CPU over a run soon after its start, docs/benchmarks.md). None when
     * the JDK is older than 25, {@code FJORD_AOT=0}, the class path is not a single jar, or the
     * jar has no cache newer than itself (bin/fjord trains one on the first server start after a
     * build; nodes do not train one themselves). {@code cacheEnv} ({@code FJORD_AOT_CACHE}), when
     * set, names the cache file as it does for bin/fjord.
     */
    static List<String> aotOptions(String classPath, int javaFeature, String aotEnv, String cacheEnv) {
        if (javaFeature < 25 || "0".equals(aotEnv) || classPath == null || !classPath.endsWith(".jar")) {
            return List.of();
        }
        if (classPath.contains(java.io.File.pathSeparator)) {
            return List.of();
        }
        java.io.File jar = new java.io.File(classPath);
        java.io.File cache = cacheEnv != null && !cacheEnv.isBlank()
                ? new java.io.File(cacheEnv)
                : new java.io.File(jar.getAbsoluteFile().getParentFile(), AOT_CACHE_FILE);
        if (!jar.isFile() || !cache.isFile() || cache.lastModified() <= jar.lastModified()) {
            return List.of();
        }
        return List.of("-XX:AOTCache=" + cache.getPath(), "-Xlog:aot=error,cds=error");
    }

    @Command(
            name = "up",
            mixinStandardHelpOptions = true,
            description = {
                "Start a cluster of N nodes on 127.0.0.1 in the background and wait until every node serves.",
                "Node i (1..N) serves Kafka on BASE+i-1 and Raft on BASE+1000+i-1, keeps its data in DIR/node-i "
                        + "and logs to DIR/node-i/server.log. Nodes 1..min(N,5) vote in the metadata group.",
                "Starting again on the same DIR restarts the same cluster with its data."
            })
    static final class Up implements Callable<Integer> {
        private final Stdio stdio;

        @Spec
        CommandSpec spec;

        @Option(
                names = "--nodes",
                paramLabel = "N",
                description =
                        "Nodes, 1.." + LocalCluster.NODES_MAX + " (default: " + NODES_DEFAULT + ", or what DIR holds).")
        Integer nodes;

        @Option(
                names = "--base-port",
                paramLabel = "P",
                description = "Kafka port of node 1; the others follow (default: " + BASE_PORT_DEFAULT
                        + ", or what DIR holds).")
        Integer basePort;

        @Option(
                names = "--data-dir",
                paramLabel = "DIR",
                description = "The cluster's directory (default: ./" + DATA_DIR_DEFAULT + ").")
        Path dataDir = Path.of(DATA_DIR_DEFAULT);

        @Option(
                names = "--heap",
                paramLabel = "SIZE",
                description = "Each node's -Xmx (default: " + HEAP_DEFAULT + ").")
        String heap = HEAP_DEFAULT;

        @Option(
                names = "--timeout-ms",
                paramLabel = "MS",
                description = "How long to wait for every node to serve (default: " + UP_TIMEOUT_MS_DEFAULT + ").")
        long timeoutMs = UP_TIMEOUT_MS_DEFAULT;

        Up(Stdio stdio) {
            this.stdio = stdio;
        }

        @Override
        public Integer call() throws Exception {
            quietConnectionWarnings();
            if (!heap.matches("[0-9]+[kKmMgG]?")) {
                throw new ParameterException(spec.commandLine(), "--heap takes a size such as 512m, got " + heap);
            }
            Optional<LocalCluster.Layout> stored = LocalCluster.storedLayout(dataDir);
            LocalCluster.Layout layout;
            try {
                layout = new LocalCluster.Layout(
                        LocalCluster.HOST,
                        nodes != null
                                ? nodes
                                : stored.map(LocalCluster.Layout::nodes).orElse(NODES_DEFAULT),
                        basePort != null
                                ? basePort
                                : stored.map(LocalCluster.Layout::basePort).orElse(BASE_PORT_DEFAULT));
            } catch (IllegalArgumentException e) {
                throw new ParameterException(spec.commandLine(), e.getMessage());
            }
            if (stored.isPresent() && !stored.get().equals(layout)) {
                // The Raft groups on disk remember every member's address: another layout cannot reuse them.
                return stdio.fail(
                        spec,
                        dataDir + " holds a cluster of " + stored.get().nodes() + " nodes on base port "
                                + stored.get().basePort() + "; start it as it is or use another --data-dir");
            }
            LocalCluster cluster =
                    LocalCluster.create(dataDir, layout, LocalCluster.Launcher.ofThisJvm(nodeJvmOptions(heap)));
            List<String> running = new ArrayList<>();
            for (int id : layout.ids()) {
                cluster.process(id).ifPresent(ph -> running.add("node " + id + " (pid " + ph.pid() + ")"));
            }
            if (!running.isEmpty()) {
                return stdio.fail(
                        spec,
                        "already running in " + cluster.dir() + ": " + String.join(", ", running)
                                + "; see `fjord cluster status`");
            }
            List<Integer> started = new ArrayList<>();
            try {
                for (int id : layout.ids()) {
                    ProcessHandle ph = cluster.start(id);
                    started.add(id);
                    stdio.err()
                            .println("started node " + id + " (pid " + ph.pid() + ") on " + layout.kafkaAddress(id)
                                    + ", log " + cluster.logFile(id));
                }
                stdio.err().println("waiting for " + layout.nodes() + " nodes to serve...");
                cluster.awaitServing(layout.ids(), Duration.ofMillis(timeoutMs));
            } catch (IOException e) {
                for (int id : started) {
                    cluster.stop(id, Duration.ofMillis(DOWN_GRACE_MS_DEFAULT));
                }
                return stdio.fail(
                        spec,
                        Fjord.describe(e)
                                + (started.isEmpty()
                                        ? ""
                                        : "\nstopped the nodes started; logs in " + cluster.dir() + "/node-*/"
                                                + LocalCluster.LOG_FILE));
            }
            stdio.out().println(layout.bootstrap());
            stdio.err()
                    .println(layout.nodes() + " nodes serving; bootstrap servers on stdout; stop with `fjord cluster"
                            + " down --data-dir " + dataDir + "`");
            return 0;
        }
    }

    @Command(
            name = "status",
            mixinStandardHelpOptions = true,
            description = {
                "Each node of the cluster in DIR: id, Kafka address, process id and whether it runs, its role in the"
                        + " metadata group (LEADER, FOLLOWER, CANDIDATE; UNREACHABLE when it runs but does not"
                        + " answer; - when stopped or not a voter), and how many partitions it leads (internal topics included)."
            })
    static final class Status implements Callable<Integer> {
        private final Stdio stdio;

        @Spec
        CommandSpec spec;

        @Option(
                names = "--data-dir",
                paramLabel = "DIR",
                description = "The cluster's directory (default: ./" + DATA_DIR_DEFAULT + ").")
        Path dataDir = Path.of(DATA_DIR_DEFAULT);

        Status(Stdio stdio) {
            this.stdio = stdio;
        }

        @Override
        public Integer call() throws Exception {
            quietConnectionWarnings();
            if (!Files.exists(dataDir.resolve(LocalCluster.LAYOUT_FILE))) {
                return stdio.fail(spec, "no cluster in " + dataDir + " (start one with `fjord cluster up`)");
            }
            LocalCluster cluster = LocalCluster.open(dataDir, LocalCluster.Launcher.ofThisJvm(List.of()));
            LocalCluster.Layout layout = cluster.layout();
            List<Integer> live = new ArrayList<>();
            for (int id : layout.ids()) {
                if (cluster.process(id).isPresent()) {
                    live.add(id);
                }
            }
            Map<Integer, Integer> leaders = live.isEmpty() ? Map.of() : leaderCounts(layout, live);
            List<String[]> rows = new ArrayList<>();
            rows.add(new String[] {"node", "address", "pid", "process", "metadata", "leaders"});
            for (int id : layout.ids()) {
                boolean running = live.contains(id);
                String role;
                if (!layout.isVoter(id)) {
                    role = "-";
                } else if (!running) {
                    role = "-";
                } else {
                    role = RaftAdmin.metaRole(layout.raftPeer(id), layout.voters(), STATUS_PROBE_TIMEOUT);
                }
                rows.add(new String[] {
                    Integer.toString(id),
                    layout.kafkaAddress(id),
                    cluster.recordedPid(id).map(String::valueOf).orElse("-"),
                    running ? "running" : "stopped",
                    role,
                    running && !leaders.isEmpty() ? Integer.toString(leaders.getOrDefault(id, 0)) : "-"
                });
            }
            Table.print(rows, stdio.out());
            stdio.err().println(live.size() + " of " + layout.nodes() + " nodes running");
            return 0;
        }

        /** Partitions led by each node, through the running nodes; empty when they do not answer. */
        private Map<Integer, Integer> leaderCounts(LocalCluster.Layout layout, List<Integer> live)
                throws InterruptedException {
            String bootstrap =
                    String.join(",", live.stream().map(layout::kafkaAddress).toList());
            Map<Integer, Integer> counts = new TreeMap<>();
            try (Admin admin = LocalCluster.admin(bootstrap)) {
                var names = admin.listTopics(new ListTopicsOptions().listInternal(true))
                        .names()
                        .get();
                Map<String, TopicDescription> topics = admin.describeTopics(
                                names, new DescribeTopicsOptions().timeoutMs(LocalCluster.PROBE_TIMEOUT_MS))
                        .allTopicNames()
                        .get();
                for (TopicDescription t : topics.values()) {
                    for (TopicPartitionInfo p : t.partitions()) {
                        if (p.leader() != null && p.leader().id() >= 0) {
                            counts.merge(p.leader().id(), 1, Integer::sum);
                        }
                    }
                }
                // Running nodes that lead nothing are counted as 0, not unknown.
                live.forEach(id -> counts.putIfAbsent(id, 0));
            } catch (ExecutionException e) {
                stdio.err().println("cannot count partition leaders: " + Fjord.describe(e.getCause()));
                return Map.of();
            }
            return counts;
        }
    }

    @Command(
            name = "down",
            mixinStandardHelpOptions = true,
            description = "Stop every node of the cluster in DIR: SIGTERM (a clean close), SIGKILL after the grace"
                    + " period. Data stays; `fjord cluster up` starts the same cluster again.")
    static final class Down implements Callable<Integer> {
        private final Stdio stdio;

        @Spec
        CommandSpec spec;

        @Option(
                names = "--data-dir",
                paramLabel = "DIR",
                description = "The cluster's directory (default: ./" + DATA_DIR_DEFAULT + ").")
        Path dataDir = Path.of(DATA_DIR_DEFAULT);

        @Option(
                names = "--grace-ms",
                paramLabel = "MS",
                description = "How long a node may take to close after SIGTERM before it is killed (default: "
                        + DOWN_GRACE_MS_DEFAULT + ").")
        long graceMs = DOWN_GRACE_MS_DEFAULT;

        Down(Stdio stdio) {
            this.stdio = stdio;
        }

        @Override
        public Integer call() throws Exception {
            if (!Files.exists(dataDir.resolve(LocalCluster.LAYOUT_FILE))) {
                return stdio.fail(spec, "no cluster in " + dataDir);
            }
            LocalCluster cluster = LocalCluster.open(dataDir, LocalCluster.Launcher.ofThisJvm(List.of()));
            Map<Integer, ProcessHandle> stopping = new TreeMap<>();
            for (int id : cluster.layout().ids()) {
                Optional<ProcessHandle> ph = cluster.process(id);
                if (ph.isPresent()) {
                    ph.get().destroy(); // SIGTERM to all first: they close in parallel
                    stopping.put(id, ph.get());
                } else {
                    stdio.err().println("node " + id + " was not running");
                    Files.deleteIfExists(cluster.nodeDir(id).resolve(LocalCluster.PID_FILE));
                }
            }
            long deadlineNs = System.nanoTime() + graceMs * 1_000_000L;
            int failed = 0;
            for (var e : stopping.entrySet()) {
                ProcessHandle ph = e.getValue();
                long leftNs = Math.max(0, deadlineNs - System.nanoTime());
                boolean clean = ph.onExit()
                                .completeOnTimeout(null, leftNs, java.util.concurrent.TimeUnit.NANOSECONDS)
                                .get()
                        != null;
                if (!clean) {
                    LocalCluster.awaitExit(ph, Duration.ZERO); // SIGKILL, then wait for it
                }
                if (ph.isAlive()) {
                    failed++;
                    stdio.err().println("node " + e.getKey() + " (pid " + ph.pid() + ") is still running");
                } else {
                    Files.deleteIfExists(cluster.nodeDir(e.getKey()).resolve(LocalCluster.PID_FILE));
                    stdio.err()
                            .println("node " + e.getKey() + " (pid " + ph.pid() + ") "
                                    + (clean ? "stopped" : "killed after " + graceMs + " ms"));
                }
            }
            return failed == 0 ? 0 : Fjord.EXIT_FAILED;
        }
    }
}
