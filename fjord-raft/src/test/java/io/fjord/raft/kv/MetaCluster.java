package io.fjord.raft.kv;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import org.apache.ratis.conf.RaftProperties;
import org.apache.ratis.grpc.GrpcConfigKeys;
import org.apache.ratis.protocol.RaftGroup;
import org.apache.ratis.server.RaftServer;
import org.apache.ratis.server.RaftServerConfigKeys;
import org.apache.ratis.server.storage.RaftStorage;
import org.apache.ratis.util.SizeInBytes;
import org.apache.ratis.util.TimeDuration;

/**
 * A metadata group of real Ratis servers (gRPC on 127.0.0.1, free ports) in this JVM, for tests.
 * Nodes are numbered from 1; node i's Raft peer id is {@code "n" + i} and its storage is {@code
 * <dir>/n<i>}, kept across {@link #stop}/{@link #restart}.
 */
final class MetaCluster implements AutoCloseable {
    static final Duration WAIT = Duration.ofSeconds(20);

    private final Path dir;
    private final int historyEventsMax;
    private final long snapshotThresholdEntries;
    private final int[] ports;
    private final RaftServer[] servers;
    private final RaftGroup group;
    private final List<RaftKvStore> stores = new ArrayList<>();

    MetaCluster(Path dir, int nodes, int historyEventsMax, long snapshotThresholdEntries) throws IOException {
        this.dir = dir;
        this.historyEventsMax = historyEventsMax;
        this.snapshotThresholdEntries = snapshotThresholdEntries;
        this.ports = new int[nodes + 1];
        this.servers = new RaftServer[nodes + 1];
        StringBuilder voters = new StringBuilder();
        for (int i = 1; i <= nodes; i++) {
            ports[i] = freePort();
            voters.append(i == 1 ? "" : ",").append(i).append("@127.0.0.1:").append(ports[i]);
        }
        this.group = MetaGroup.group(voters.toString());
        for (int i = 1; i <= nodes; i++) {
            start(i);
        }
    }

    String voters() {
        StringBuilder voters = new StringBuilder();
        for (int i = 1; i < ports.length; i++) {
            voters.append(i == 1 ? "" : ",").append(i).append("@127.0.0.1:").append(ports[i]);
        }
        return voters.toString();
    }

    int size() {
        return ports.length - 1;
    }

    RaftGroup group() {
        return group;
    }

    private void start(int i) throws IOException {
        Path storage = dir.resolve("n" + i);
        boolean exists =
                Files.isDirectory(storage.resolve(MetaGroup.ID.getUuid().toString()));
        RaftProperties p = new RaftProperties();
        RaftServerConfigKeys.setStorageDir(p, List.of(storage.toFile()));
        GrpcConfigKeys.Server.setHost(p, "127.0.0.1");
        GrpcConfigKeys.Server.setPort(p, ports[i]);
        RaftServerConfigKeys.Rpc.setTimeoutMin(p, TimeDuration.valueOf(300, TimeUnit.MILLISECONDS));
        RaftServerConfigKeys.Rpc.setTimeoutMax(p, TimeDuration.valueOf(600, TimeUnit.MILLISECONDS));
        // Small segments and purge gap so a test's few hundred entries close segments that a
        // snapshot lets Ratis purge; small buffers because several servers share this JVM.
        RaftServerConfigKeys.Log.setSegmentSizeMax(p, SizeInBytes.valueOf("16KB"));
        RaftServerConfigKeys.Log.setPreallocatedSize(p, SizeInBytes.valueOf("16KB"));
        RaftServerConfigKeys.Log.setPurgeGap(p, 8);
        RaftServerConfigKeys.Log.setWriteBufferSize(p, SizeInBytes.valueOf("2MB"));
        RaftServerConfigKeys.Log.Appender.setBufferByteLimit(p, SizeInBytes.valueOf("1MB"));
        MetaGroup.configureServer(p, snapshotThresholdEntries);
        servers[i] = RaftServer.newBuilder()
                .setServerId(MetaGroup.peerId(i))
                .setGroup(group)
                .setProperties(p)
                .setStateMachine(new MetaStateMachine(historyEventsMax))
                .setOption(exists ? RaftStorage.StartupOption.RECOVER : RaftStorage.StartupOption.FORMAT)
                .build();
        servers[i].start();
    }

    RaftServer server(int i) {
        return servers[i];
    }

    RaftServer.Division division(int i) {
        try {
            return servers[i].getDivision(MetaGroup.ID);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    MetaStateMachine stateMachine(int i) {
        return (MetaStateMachine) division(i).getStateMachine();
    }

    boolean isRunning(int i) {
        return servers[i] != null;
    }

    /** Waits for a ready leader among running nodes; returns its number. */
    int awaitLeader() {
        int[] leader = new int[1];
        await("a ready leader", () -> {
            for (int i = 1; i < servers.length; i++) {
                if (servers[i] != null && division(i).getInfo().isLeaderReady()) {
                    leader[0] = i;
                    return true;
                }
            }
            return false;
        });
        return leader[0];
    }

    /** A running node that is not the leader. */
    int follower() {
        int leader = awaitLeader();
        for (int i = 1; i < servers.length; i++) {
            if (i != leader && servers[i] != null) {
                return i;
            }
        }
        throw new IllegalStateException("no running follower");
    }

    void stop(int i) throws IOException {
        servers[i].close();
        servers[i] = null;
    }

    void restart(int i) throws IOException {
        start(i);
    }

    /** A client-only store (like the CLI's); closed with the cluster. */
    RaftKvStore client() {
        RaftKvStore s = RaftKvStore.connect(group);
        stores.add(s);
        return s;
    }

    /** A store served by node i's replica for serializable reads and watches; closed with the cluster. */
    RaftKvStore localStore(int i) throws IOException {
        RaftKvStore s = RaftKvStore.forLocalServer(servers[i]);
        stores.add(s);
        return s;
    }

    @Override
    public void close() throws IOException {
        stores.forEach(RaftKvStore::close);
        for (int i = 1; i < servers.length; i++) {
            if (servers[i] != null) {
                stop(i);
            }
        }
    }

    /** Polls {@code condition} until it holds, failing after {@link #WAIT}. */
    static void await(String what, BooleanSupplier condition) {
        long deadlineNs = System.nanoTime() + WAIT.toNanos();
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() - deadlineNs > 0) {
                throw new AssertionError("timed out after " + WAIT + " waiting for " + what);
            }
            try {
                Thread.sleep(10);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new AssertionError("interrupted waiting for " + what, e);
            }
        }
    }

    static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            s.setReuseAddress(true);
            return s.getLocalPort();
        }
    }
}
