package io.fjord.cli;

import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.DescribeClusterOptions;
import org.junit.jupiter.api.Assumptions;

/**
 * A cluster of Fjord nodes, each a child JVM in a network namespace of its own, joined by a bridge
 * in the test's namespace: node i is {@code 10.X.Y.i} (Kafka on 9092, Raft on 10092), the test
 * reaches every node at {@code 10.X.Y.254}, and no namespace has a default route, so nothing
 * leaves the machine. {@link #cut} drops the traffic between two nodes (a blackhole route in each
 * one's namespace), leaving the test's connections to both alone, so a client may go on talking
 * to a node that is cut off from the others. Setting up needs root (CAP_NET_ADMIN) and iproute2:
 * otherwise {@link #startOrSkip} skips the test.
 *
 * <p>{@link #close} kills the nodes it started (by pid) and deletes the namespaces and the bridge.
 * Not thread-safe: the test thread drives it.
 */
final class NetnsCluster implements AutoCloseable {
    static final int KAFKA_PORT = 9092;
    static final int RAFT_PORT = 10092;

    private final Path dir;
    private final int nodes;
    private final String prefix;
    private final String subnet;
    private final List<String> namespaces = new ArrayList<>();
    private boolean bridge;
    private final Map<Integer, ProcessHandle> processes = new TreeMap<>();
    private final Set<String> cuts = new TreeSet<>();

    private NetnsCluster(Path dir, int nodes, String prefix, String subnet) {
        this.dir = dir;
        this.nodes = nodes;
        this.prefix = prefix;
        this.subnet = subnet;
    }

    /** Sets up {@code nodes} namespaces and starts a node in each; waits until all serve. */
    static NetnsCluster startOrSkip(Path dir, int nodes) throws IOException, InterruptedException {
        ThreadLocalRandom r = ThreadLocalRandom.current();
        String prefix = "fj" + Integer.toHexString(0x10000 + r.nextInt(0xf0000));
        String subnet = null;
        String routes =
                Commands.run("ip", "-4", "route", "show", "table", "all").output();
        for (int attempt = 0; attempt < 50 && subnet == null; attempt++) {
            String candidate = "10." + r.nextInt(100, 250) + "." + r.nextInt(1, 250);
            if (!routes.contains(candidate + ".")) {
                subnet = candidate;
            }
        }
        if (subnet == null) {
            throw new IllegalStateException("no free 10.x.y.0/24 found");
        }
        NetnsCluster c = new NetnsCluster(dir, nodes, prefix, subnet);
        try {
            try {
                c.setUpNetwork();
            } catch (IOException e) {
                // The kernel or the sandbox lacks something (veth, bridges, namespaces): not Fjord's
                // failure, and no node runs yet.
                Assumptions.abort("network partition test skipped: setting up its network failed: " + e.getMessage());
            }
            for (int id = 1; id <= nodes; id++) {
                c.start(id);
            }
            c.awaitServing(Duration.ofSeconds(90));
        } catch (IOException | InterruptedException | RuntimeException | Error e) {
            c.close();
            throw e;
        }
        return c;
    }

    private void setUpNetwork() throws IOException, InterruptedException {
        String br = prefix + "br";
        Commands.Result made = Commands.run("ip", "link", "add", br, "type", "bridge");
        if (made.exitCode() != 0) {
            Assumptions.abort("network partition test skipped: it creates network namespaces and a bridge, and so"
                    + " must run as root with iproute2; `ip link add` said: "
                    + made.output().strip());
        }
        bridge = true;
        Commands.must("ip", "addr", "add", subnet + ".254/24", "dev", br);
        Commands.must("ip", "link", "set", br, "up");
        for (int id = 1; id <= nodes; id++) {
            String ns = namespace(id);
            Commands.must("ip", "netns", "add", ns);
            namespaces.add(ns);
            String host = prefix + "h" + id;
            String inside = prefix + "n" + id;
            Commands.must("ip", "link", "add", host, "type", "veth", "peer", "name", inside);
            Commands.must("ip", "link", "set", inside, "netns", ns);
            Commands.must("ip", "link", "set", host, "master", br);
            Commands.must("ip", "link", "set", host, "up");
            Commands.must("ip", "netns", "exec", ns, "ip", "addr", "add", address(id) + "/24", "dev", inside);
            Commands.must("ip", "netns", "exec", ns, "ip", "link", "set", inside, "up");
            Commands.must("ip", "netns", "exec", ns, "ip", "link", "set", "lo", "up");
        }
    }

    private String namespace(int id) {
        return prefix + "-" + id;
    }

    /** Node {@code id}'s address. */
    String address(int id) {
        return subnet + "." + id;
    }

    List<Integer> ids() {
        List<Integer> ids = new ArrayList<>();
        for (int id = 1; id <= nodes; id++) {
            ids.add(id);
        }
        return ids;
    }

    String bootstrap() {
        return String.join(
                ",", ids().stream().map(id -> address(id) + ":" + KAFKA_PORT).toList());
    }

    Path nodeDir(int id) {
        return dir.resolve("node-" + id);
    }

    private void start(int id) throws IOException {
        Files.createDirectories(nodeDir(id));
        List<String> cmd = new ArrayList<>(List.of("ip", "netns", "exec", namespace(id)));
        cmd.add(ProcessHandle.current().info().command().orElseThrow());
        cmd.addAll(ClusterProcesses.NODE_JVM_OPTIONS);
        cmd.addAll(List.of("-cp", System.getProperty("java.class.path"), Fjord.class.getName()));
        StringBuilder quorum = new StringBuilder();
        for (int v = 1; v <= nodes; v++) {
            quorum.append(v == 1 ? "" : ",")
                    .append(v)
                    .append('@')
                    .append(address(v))
                    .append(':')
                    .append(RAFT_PORT);
        }
        cmd.addAll(List.of(
                "server",
                "--node-id",
                Integer.toString(id),
                "--host",
                address(id),
                "--port",
                Integer.toString(KAFKA_PORT),
                "--raft-port",
                Integer.toString(RAFT_PORT),
                "--quorum",
                quorum.toString(),
                "--data-dir",
                nodeDir(id).toString()));
        // `ip netns exec` execs the command, so the process is the node's JVM itself.
        Process p = new ProcessBuilder(cmd)
                .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")))
                .redirectOutput(ProcessBuilder.Redirect.appendTo(
                        nodeDir(id).resolve("server.log").toFile()))
                .redirectErrorStream(true)
                .start();
        processes.put(id, p.toHandle());
    }

    private void awaitServing(Duration timeout) throws IOException, InterruptedException {
        long deadlineNs = System.nanoTime() + timeout.toNanos();
        String problem = "";
        try (Admin admin = LocalCluster.admin(bootstrap())) {
            while (System.nanoTime() < deadlineNs) {
                for (Map.Entry<Integer, ProcessHandle> e : processes.entrySet()) {
                    if (!e.getValue().isAlive()) {
                        throw new IOException(
                                "node " + e.getKey() + " exited; the end of its log:\n" + logTail(e.getKey()));
                    }
                }
                try {
                    Set<Integer> seen = new TreeSet<>();
                    admin.describeCluster(new DescribeClusterOptions().timeoutMs(LocalCluster.PROBE_TIMEOUT_MS))
                            .nodes()
                            .get()
                            .forEach(n -> seen.add(n.id()));
                    if (seen.containsAll(ids()) && LocalCluster.offsetsTopicLed(admin)) {
                        return;
                    }
                    problem = "brokers seen: " + seen;
                } catch (ExecutionException e) {
                    problem = Fjord.describe(e.getCause());
                }
                Thread.sleep(LocalCluster.POLL_INTERVAL_MS); // between probes
            }
        }
        throw new IOException(
                "not serving after " + timeout.toSeconds() + " s (" + problem + "); node 1's log:\n" + logTail(1));
    }

    /** Admin bootstrapped from every node. */
    Admin admin() {
        return ClusterProcesses.admin(bootstrap());
    }

    /** Drops all traffic between nodes {@code a} and {@code b}, both ways. */
    void cut(int a, int b) throws IOException, InterruptedException {
        Commands.must("ip", "netns", "exec", namespace(a), "ip", "route", "add", "blackhole", address(b) + "/32");
        Commands.must("ip", "netns", "exec", namespace(b), "ip", "route", "add", "blackhole", address(a) + "/32");
        cuts.add(a + "-" + b);
    }

    /** Cuts node {@code id} off from every other node (the test still reaches it). */
    void isolate(int id) throws IOException, InterruptedException {
        for (int other : ids()) {
            if (other != id) {
                cut(id, other);
            }
        }
    }

    /** Undoes every {@link #cut}. */
    void heal() throws IOException, InterruptedException {
        for (String cut : List.copyOf(cuts)) {
            int a = Integer.parseInt(cut.substring(0, cut.indexOf('-')));
            int b = Integer.parseInt(cut.substring(cut.indexOf('-') + 1));
            Commands.must("ip", "netns", "exec", namespace(a), "ip", "route", "del", "blackhole", address(b) + "/32");
            Commands.must("ip", "netns", "exec", namespace(b), "ip", "route", "del", "blackhole", address(a) + "/32");
            cuts.remove(cut);
        }
    }

    boolean isRunning(int id) {
        ProcessHandle p = processes.get(id);
        return p != null && p.isAlive();
    }

    String logTail(int id) {
        try {
            List<String> all = Files.readAllLines(nodeDir(id).resolve("server.log"), StandardCharsets.UTF_8);
            return String.join("\n", all.subList(Math.max(0, all.size() - 40), all.size()));
        } catch (IOException e) {
            return "(no log: " + e.getMessage() + ")";
        }
    }

    /** Kills the nodes (by pid) and waits for them, then deletes the namespaces and the bridge. */
    @Override
    public void close() {
        for (ProcessHandle p : processes.values()) {
            p.destroyForcibly();
        }
        for (ProcessHandle p : processes.values()) {
            try {
                p.onExit().get(10, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            } catch (ExecutionException | java.util.concurrent.TimeoutException e) {
                System.out.println("[netns] node pid " + p.pid() + " did not exit: " + e);
            }
        }
        List<String> failures = new ArrayList<>();
        for (String ns : namespaces) {
            quietly(failures, "ip", "netns", "del", ns);
        }
        if (bridge) {
            quietly(failures, "ip", "link", "del", prefix + "br");
        }
        if (!failures.isEmpty()) {
            throw new IllegalStateException("cleaning up the test network: " + failures);
        }
    }

    private static void quietly(List<String> failures, String... command) {
        try {
            Commands.Result r = Commands.run(command);
            if (r.exitCode() != 0) {
                failures.add(String.join(" ", command) + ": " + r.output().strip());
            }
        } catch (IOException | InterruptedException e) {
            failures.add(String.join(" ", command) + ": " + e);
        }
    }
}
