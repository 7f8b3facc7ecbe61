package io.fjord.broker;

import io.fjord.broker.group.GroupCoordinator;
import io.fjord.raft.DataGroup;
import io.fjord.raft.RaftNode;
import io.fjord.raft.RaftNodeConfig;
import io.fjord.raft.RaftPeerSpec;
import io.fjord.raft.kv.Compare;
import io.fjord.raft.kv.Consistency;
import io.fjord.raft.kv.KvException;
import io.fjord.raft.kv.KvStore;
import io.fjord.raft.kv.Op;
import io.fjord.raft.kv.RangeResult;
import io.fjord.raft.kv.Txn;
import io.fjord.raft.kv.TxnResult;
import io.fjord.raft.kv.WatchEvent;
import io.fjord.storage.LogConfig;
import io.fjord.storage.LogManager;
import io.fjord.storage.PartitionId;
import java.io.IOException;
import java.net.ServerSocket;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Executor;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.regex.Pattern;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One node of a Fjord cluster (a single node is a cluster of one): its Raft server, its view of
 * the cluster metadata, the partitions of the data groups it is a member of, and the consumer-group
 * coordinator shards it leads. Free of Kafka client and Netty types; the wire layer translates
 * requests into calls here.
 *
 * <p>Threads: lookups ({@link #replica}, {@link #topics}, {@link #partitionView}) are lock-free on
 * any thread. Admin operations ({@link #createTopic} and friends) block on the metadata service:
 * call them off the network event loops. Metadata changes are applied by one watch thread and
 * acted on (join groups, open partitions) by one "fjord-cluster" thread.
 */
public final class Broker implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(Broker.class);
    private static final Pattern LEGAL_TOPIC = Pattern.compile("[a-zA-Z0-9._-]{1,249}");
    public static final int PARTITIONS_MAX = 10_000;
    private static final long KV_TIMEOUT_MS = 15_000;
    private static final long STARTUP_TIMEOUT_MS = 120_000;
    private static final long CREATE_WAIT_MS = 10_000;
    private static final int PRODUCER_ID_BLOCK = 1000;

    private final BrokerConfig config;
    /** The consumer-group shards' executors; may still be in the making while the Raft server starts. */
    private final CompletableFuture<? extends List<? extends Executor>> owners;

    private final LogManager logs;
    private final RaftNode raft;
    private final KvStore kv;
    /**
     * Set with {@link #kv} once the Raft server is up. Data groups may become leaders while it
     * starts (before the constructor has the node): their leadership is published then.
     */
    private volatile boolean kvReady;

    private final List<long[]> leadersToPublish = new ArrayList<>(); // guarded by itself
    private final ClusterState view;
    private final Map<Integer, PartitionGroup> partitionGroups = new ConcurrentHashMap<>();
    private final Map<PartitionId, RaftReplica> replicas = new ConcurrentHashMap<>();
    private final ScheduledExecutorService timer;
    private final ExecutorService clusterThread;
    private final AtomicBoolean reconcileQueued = new AtomicBoolean();
    private final ExecutorService controllerThread;
    /** The log cleaner: compaction passes, never interrupted (an interrupt would close shared file channels). */
    private final ScheduledExecutorService cleaner;

    private final AtomicBoolean moveInFlight = new AtomicBoolean();
    private final Object producerIdLock = new Object();
    private long producerIdNext;
    private long producerIdLimit;
    private volatile AutoCloseable watch;
    private GroupCoordinator groups;
    private volatile boolean closed;
    private final StartupPhases phases;

    /** Result of a topic creation. */
    public enum CreateResult {
        CREATED,
        TOPIC_ALREADY_EXISTS,
        INVALID_TOPIC_EXCEPTION,
        INVALID_PARTITIONS,
        INVALID_REPLICATION_FACTOR,
        INVALID_CONFIG,
        NOT_CONTROLLER
    }

    /** Where a node serves Kafka clients. */
    public record NodeInfo(int id, String host, int port, String rack) {}

    /** A partition's replication state, for Metadata. */
    public record PartitionView(int leader, int leaderEpoch, List<Integer> replicas, List<Integer> isr) {}

    private Broker(
            BrokerConfig config, CompletableFuture<? extends List<? extends Executor>> owners, StartupPhases phases)
            throws IOException {
        RaftNode.startMBeanServerInBackground();
        this.config = config;
        this.view = new ClusterState(config.cluster().brokerLeaseMs() / 2);
        this.owners = owners;
        this.phases = phases;
        phases.mark("until the broker");
        this.logs = LogManager.open(config.dataDir(), this::logConfigFor, System::currentTimeMillis);
        phases.mark("logs");
        this.timer = Executors.newSingleThreadScheduledExecutor(daemon("fjord-housekeeping"));
        this.clusterThread = Executors.newSingleThreadExecutor(daemon("fjord-cluster"));
        this.controllerThread = Executors.newSingleThreadExecutor(daemon("fjord-controller"));
        this.cleaner = Executors.newSingleThreadScheduledExecutor(daemon("fjord-cleaner"));
        RaftNode node = null;
        try {
            node = RaftNode.start(raftConfig(config), this::newPartitionGroup);
            phases.mark("raft server");
            this.raft = node;
            this.kv = node.kv();
            List<long[]> early;
            synchronized (leadersToPublish) {
                kvReady = true;
                early = List.copyOf(leadersToPublish);
                leadersToPublish.clear();
            }
            early.forEach(l -> publishLeader((int) l[0], l[1]));
        } catch (IOException | RuntimeException e) {
            if (node != null) {
                node.close();
            }
            logs.close(); // release the data directory's lock: a failed start must not hold it
            timer.shutdownNow();
            cleaner.shutdownNow(); // nothing scheduled on it yet
            clusterThread.shutdownNow();
            controllerThread.shutdownNow();
            throw e;
        }
    }

    private static java.util.concurrent.ThreadFactory daemon(String name) {
        return r -> {
            Thread t = new Thread(r, name);
            t.setDaemon(true);
            return t;
        };
    }

    private static RaftNodeConfig raftConfig(BrokerConfig c) throws IOException {
        ClusterConfig cc = withRaftPort(c).cluster();
        int port = cc.raftPort();
        List<RaftPeerSpec> voters = cc.metaVoters();
        if (voters.isEmpty()) {
            voters = List.of(new RaftPeerSpec(c.nodeId(), c.host(), port));
        }
        return new RaftNodeConfig(
                c.nodeId(),
                c.host(),
                port,
                c.dataDir().resolve(".raft"),
                voters,
                cc.electionTimeoutMs(),
                cc.raftSnapshotThreshold(),
                Math.max(RaftNodeConfig.DEFAULT_MAX_ENTRY_BYTES, c.logDefaults().maxBatchBytes() + 1024),
                cc.raftLogSegmentBytes(),
                cc.fsyncBeforeAck());
    }

    /**
     * Fills in the ports the config leaves to Fjord, Raft first. The Raft port: this node's entry in
     * the quorum; else the port chosen at the first start, kept in {@code <data>/.raft-port} (the
     * Raft groups on disk remember this node's address); else the Kafka port + 1000, or a free port
     * when the Kafka port is itself left to the OS (tests). Then a Kafka port of 0 becomes a free
     * port: a node registers its Kafka address in the cluster metadata before it listens.
     */
    public static BrokerConfig resolvePorts(BrokerConfig c) {
        BrokerConfig r = withRaftPort(c);
        if (r.port() != 0) {
            return r;
        }
        try {
            return r.withPort(freePort(r.host()));
        } catch (IOException e) {
            throw new IllegalStateException("cannot find a free port on " + r.host() + ": " + e, e);
        }
    }

    private static BrokerConfig withRaftPort(BrokerConfig c) {
        if (c.cluster().raftPort() != 0) {
            return c;
        }
        RaftPeerSpec self = c.cluster().metaVoters().stream()
                .filter(v -> v.nodeId() == c.nodeId())
                .findFirst()
                .orElse(null);
        int port;
        java.nio.file.Path file = c.dataDir().resolve(".raft-port");
        try {
            if (self != null) {
                port = self.port();
            } else if (java.nio.file.Files.exists(file)) {
                port = Integer.parseInt(java.nio.file.Files.readString(file).trim());
            } else {
                port = c.port() > 0 ? c.port() + 1000 : freePort(c.host());
                java.nio.file.Files.createDirectories(c.dataDir());
                DurableFiles.replace(file, port + "\n");
            }
        } catch (IOException | NumberFormatException e) {
            throw new IllegalStateException("cannot choose a Raft port in " + c.dataDir() + ": " + e, e);
        }
        return c.withCluster(c.cluster().withRaftPort(port));
    }

    private static int freePort(String host) throws IOException {
        try (ServerSocket s = new ServerSocket(0, 1, java.net.InetAddress.getByName(host))) {
            return s.getLocalPort();
        }
    }

    private PartitionGroup newPartitionGroup(int groupNo) {
        PartitionGroup g = new PartitionGroup(groupNo, logs, this::logConfigFor, new PartitionGroup.Listener() {
            @Override
            public void leaderReady(int no, long term) {
                publishLeader(no, term);
                scheduleReconcile();
            }

            @Override
            public void leaderChanged(int no, int leaderNodeId) {
                scheduleReconcile();
            }
        });
        partitionGroups.put(groupNo, g);
        return g;
    }

    /**
     * Opens the data directory, starts the Raft server (recovering every data group on disk),
     * waits for the metadata service, registers this node and starts serving its partitions.
     * {@code owners} are the executors that run consumer-group shards (one per core).
     */
    public static Broker open(BrokerConfig config, List<? extends Executor> owners) {
        if (owners.isEmpty()) {
            throw new IllegalArgumentException("at least one owner executor is needed");
        }
        return open(config, CompletableFuture.completedFuture(List.copyOf(owners)), new StartupPhases());
    }

    /**
     * As {@link #open(BrokerConfig, List)}, timing its phases in {@code phases}. The owners may
     * still be in the making (the network's event loops, started beside the node): they are needed
     * only once this node is registered.
     */
    public static Broker open(
            BrokerConfig config, CompletableFuture<? extends List<? extends Executor>> owners, StartupPhases phases) {
        Broker b;
        try {
            b = new Broker(config, owners, phases);
        } catch (IOException e) {
            throw new IllegalStateException("cannot start the Raft server: " + e.getMessage(), e);
        }
        try {
            b.start();
        } catch (RuntimeException e) {
            b.close(); // release the lock, the Raft server and the timer; nothing was served yet
            throw e;
        }
        return b;
    }

    private void start() {
        if (owners.isCompletedExceptionally()) {
            ownerExecutors(); // e.g. the Kafka port is taken: fail before touching the metadata
        }
        long deadline = System.currentTimeMillis() + STARTUP_TIMEOUT_MS;
        RangeResult all = retry("read the cluster metadata", deadline, () -> kv.range("", Consistency.LINEARIZABLE));
        view.load(all.kvs(), all.revision());
        watch = kv.watch("", all.revision(), this::onMetadataEvent);
        phases.mark("metadata read");
        String id = newClusterId();
        retry(
                "create the cluster id",
                deadline,
                () -> kv.txn(new Txn(
                        List.of(new Compare.ModRevision(ClusterState.CLUSTER_ID, 0)),
                        List.of(new Op.Put(ClusterState.CLUSTER_ID, id.getBytes(StandardCharsets.UTF_8))),
                        List.of())));
        retry("register this node", deadline, this::heartbeat);
        long hb = Math.max(100, config.cluster().brokerLeaseMs() / 6);
        timer.scheduleWithFixedDelay(this::heartbeatQuietly, hb, hb, TimeUnit.MILLISECONDS);
        awaitView(
                "this node's registration",
                deadline,
                () -> view.clusterId != null && view.brokers.containsKey(config.nodeId()));
        phases.mark("registration");
        timer.execute(this::reserveProducerIdsQuietly);
        List<? extends Executor> loops = ownerExecutors();
        if (loops.isEmpty()) {
            throw new IllegalArgumentException("at least one owner executor is needed");
        }
        this.groups = new GroupCoordinator(
                config.groups(), config.groups().offsetsPartitions(), timer, System::currentTimeMillis);
        reconcileNow();
        controllerThread.execute(this::controllerTickQuietly);
        // Controller duties may block on the metadata service: on their own thread, so heartbeats
        // (on the timer) are never late because of them.
        timer.scheduleWithFixedDelay(
                () -> {
                    try {
                        controllerThread.execute(this::controllerTickQuietly);
                    } catch (RuntimeException stopping) {
                        // closing
                    }
                },
                1000,
                1000,
                TimeUnit.MILLISECONDS);
        timer.scheduleWithFixedDelay(this::scheduleReconcile, 1000, 1000, TimeUnit.MILLISECONDS);
        long interval = config.housekeepingIntervalMs();
        timer.scheduleWithFixedDelay(this::housekeeping, interval, interval, TimeUnit.MILLISECONDS);
        cleaner.scheduleWithFixedDelay(this::clean, interval, interval, TimeUnit.MILLISECONDS);
        if (isSingleVoter()) {
            // A cluster of one: be ready to take writes when open returns.
            awaitView("the offsets topic", deadline, () -> view.topics.containsKey(GroupCoordinator.OFFSETS_TOPIC));
            phases.mark("offsets topic");
            reconcileNow();
            awaitView(
                    "partition leaders",
                    deadline,
                    () -> replicas.values().stream().allMatch(r -> r.isLeader()));
            phases.mark("partition leaders");
            reconcileNow();
            awaitView("the group coordinator", deadline, () -> {
                for (int p = 0; p < config.groups().offsetsPartitions(); p++) {
                    if (!groups.serves(p)) {
                        scheduleReconcile();
                        return false;
                    }
                }
                return true;
            });
            phases.mark("group coordinator");
        }
        log.info(
                "node {} serving: cluster {}, {} topics, {} local partitions, {} data groups; start: {}",
                config.nodeId(),
                view.clusterId,
                view.topics.size(),
                replicas.size(),
                raft.groups().size(),
                phases);
    }

    /** The owners, waiting for them if they are still being made; their failure fails the start. */
    private List<? extends Executor> ownerExecutors() {
        try {
            return owners.join();
        } catch (java.util.concurrent.CompletionException | java.util.concurrent.CancellationException e) {
            Throwable c = e.getCause() != null ? e.getCause() : e;
            throw new IllegalStateException("the owner executors were not made: " + c, c);
        }
    }

    private boolean isSingleVoter() {
        return raft.config().metaVoters().size() == 1;
    }

    private static String newClusterId() {
        UUID u = UUID.randomUUID();
        java.nio.ByteBuffer b = java.nio.ByteBuffer.allocate(16)
                .putLong(u.getMostSignificantBits())
                .putLong(u.getLeastSignificantBits());
        return java.util.Base64.getUrlEncoder().withoutPadding().encodeToString(b.array());
    }

    // ---- metadata service plumbing

    private interface KvCall<T> {
        CompletableFuture<T> call();
    }

    /** Retries retriable KV failures (no leader yet) until the deadline. */
    private <T> T retry(String what, long deadlineMs, KvCall<T> call) {
        RuntimeException last = null;
        while (System.currentTimeMillis() < deadlineMs && !closed) {
            try {
                return call.call().get(KV_TIMEOUT_MS, TimeUnit.MILLISECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException("interrupted while trying to " + what, e);
            } catch (ExecutionException | TimeoutException e) {
                Throwable c = e instanceof ExecutionException && e.getCause() != null ? e.getCause() : e;
                if (c instanceof KvException k && !k.retriable()) {
                    throw k;
                }
                last = new IllegalStateException("cannot " + what + ": " + c, c);
            } catch (KvException k) {
                if (!k.retriable()) {
                    throw k;
                }
                last = k;
            }
            pause(100);
        }
        throw last != null ? last : new IllegalStateException("cannot " + what + ": timed out");
    }

    private <T> T kvOnce(String what, KvCall<T> call) {
        return retry(what, System.currentTimeMillis() + KV_TIMEOUT_MS, call);
    }

    private void awaitView(String what, long deadlineMs, java.util.function.BooleanSupplier cond) {
        while (!cond.getAsBoolean()) {
            if (System.currentTimeMillis() > deadlineMs || closed) {
                throw new IllegalStateException("timed out waiting for " + what);
            }
            pause(5);
        }
    }

    private static void pause(long ms) {
        try {
            Thread.sleep(ms); // a retry back-off between attempts, not a wait for a condition
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private void onMetadataEvent(WatchEvent e) {
        String key = view.apply(e);
        if (!key.startsWith(ClusterState.BROKERS) || !view.brokers.containsKey(config.nodeId())) {
            scheduleReconcile();
        }
    }

    private CompletableFuture<Long> heartbeat() {
        ClusterState.BrokerInfo me = new ClusterState.BrokerInfo(
                config.nodeId(),
                config.host(),
                config.port(),
                config.cluster().rack(),
                raft.config().host(),
                raft.config().port(),
                System.currentTimeMillis());
        return kv.put(ClusterState.BROKERS + config.nodeId(), ClusterState.encodeBroker(me));
    }

    /** The metadata leader this node saw at its last heartbeat (-1: none). Timer thread only. */
    private int metaLeaderSeen = -1;

    private void heartbeatQuietly() {
        if (!closed) {
            int leader = raft.metaLeader();
            if (leader >= 0 && leader != metaLeaderSeen) {
                // Other nodes' heartbeats reach the new leader only once their clients have given up
                // on the old one, which can take longer than a lease: a new Kafka controller gives
                // every broker a fresh session for the same reason.
                if (metaLeaderSeen >= 0) {
                    view.freshLeases();
                }
                metaLeaderSeen = leader;
            }
            heartbeat().exceptionally(e -> {
                log.warn("heartbeat failed: {}", e.toString());
                return null;
            });
        }
    }

    private void publishLeader(int groupNo, long term) {
        if (!kvReady) {
            synchronized (leadersToPublish) {
                if (!kvReady) {
                    leadersToPublish.add(new long[] {groupNo, term});
                    return;
                }
            }
        }
        Map<String, String> m = new java.util.LinkedHashMap<>();
        m.put("node", Integer.toString(config.nodeId()));
        m.put("term", Long.toString(term));
        kv.put(ClusterState.LEADERS + groupNo, ClusterState.format(m)).exceptionally(e -> {
            log.debug("cannot publish leadership of group {}: {}", groupNo, e.toString());
            return null;
        });
    }

    // ---- reconciliation: make this node match the metadata

    private void scheduleReconcile() {
        if (closed || !reconcileQueued.compareAndSet(false, true)) {
            return;
        }
        try {
            clusterThread.execute(() -> {
                reconcileQueued.set(false);
                reconcileNow();
            });
        } catch (RuntimeException rejected) {
            reconcileQueued.set(false);
        }
    }

    /** The last join failure logged per data group, so that a retried one is not logged each second. */
    private record JoinFailure(String why, long atMs) {}

    private static final long JOIN_FAILURE_LOG_MS = 60_000;
    private final Map<Integer, JoinFailure> joinFailureLogged = new java.util.concurrent.ConcurrentHashMap<>();

    private synchronized void reconcileNow() {
        if (closed || !kvReady) {
            return; // before kvReady the Raft node is not assigned yet; start() reconciles then
        }
        try {
            joinGroups();
            leaveGroups();
            allowSoloWrites();
            openPartitions();
            if (groups != null) {
                updateCoordinatorShards();
            }
        } catch (RuntimeException e) {
            log.warn("reconcile failed (will retry): {}", e.toString());
        }
    }

    private void joinGroups() {
        for (ClusterState.RGroup g : view.rgroups.values()) {
            boolean hosted = raft.group(g.no()).isPresent() && !raft.isShutDown(g.no());
            if (g.adding() == config.nodeId() && !hosted) {
                try {
                    List<Integer> target = new ArrayList<>(g.members());
                    if (!Placement.movesInTwoSteps(g.members())) {
                        // In two steps this node first joins beside the old member (see executeMove):
                        // alone in its configuration, it would elect itself leader of an empty group.
                        target.remove(Integer.valueOf(g.removing()));
                    }
                    target.add(config.nodeId());
                    target.sort(null);
                    raft.joinGroup(g.no(), specs(target), g.preferred()); // empty, with the target voters
                    log.info("joined data group {} as a new member (moving in)", g.no());
                } catch (IOException | RuntimeException e) {
                    log.warn("cannot join data group {} as a new member: {}", g.no(), e.toString());
                }
                continue;
            }
            if (!g.members().contains(config.nodeId()) || hosted) {
                continue;
            }
            List<RaftPeerSpec> members = new ArrayList<>();
            for (int m : g.members()) {
                ClusterState.BrokerInfo b = view.brokers.get(m);
                if (b == null) {
                    break;
                }
                members.add(new RaftPeerSpec(m, b.raftHost(), b.raftPort()));
            }
            if (members.size() != g.members().size()) {
                continue; // a member has not registered yet
            }
            try {
                raft.joinGroup(g.no(), members, g.preferred());
                log.info("joined data group {} {}", g.no(), g.members());
                joinFailureLogged.remove(g.no());
            } catch (IOException | RuntimeException e) {
                // Reconcile retries every second (e.g. while a full disk keeps a member from
                // restarting): the same failure is logged once a minute.
                String why = e.toString();
                long now = System.currentTimeMillis();
                JoinFailure last = joinFailureLogged.get(g.no());
                if (last == null || !last.why().equals(why) || now - last.atMs() >= JOIN_FAILURE_LOG_MS) {
                    joinFailureLogged.put(g.no(), new JoinFailure(why, now));
                    log.warn("cannot join data group {} (retrying every second): {}", g.no(), why);
                }
            }
        }
    }

    /**
     * Solo writes (no Raft entry per produce batch) for the groups whose record names this node
     * alone and announces no move. A move announced here turns them off before the controller asks
     * for the new configuration; the group's leader also leaves solo when the joining member asks
     * for its checkpoint, whichever comes first.
     */
    private void allowSoloWrites() {
        for (DataGroup dg : raft.groups()) {
            ClusterState.RGroup g = view.rgroups.get(dg.id());
            dg.allowSolo(config.cluster().soloWrites()
                    && g != null
                    && g.adding() < 0
                    && g.removing() < 0
                    && g.members().equals(List.of(config.nodeId())));
        }
    }

    /** Leaves the data groups this node was moved out of, and deletes their partition data here. */
    private void leaveGroups() {
        for (DataGroup dg : raft.groups()) {
            ClusterState.RGroup g = view.rgroups.get(dg.id());
            if (g == null || g.members().contains(config.nodeId()) || g.adding() == config.nodeId()) {
                continue;
            }
            try {
                raft.leaveGroup(dg.id());
                PartitionGroup pg = partitionGroups.remove(dg.id());
                if (pg != null) {
                    pg.deleteAllPartitions();
                }
                log.info("left data group {} (moved to {})", dg.id(), g.members());
            } catch (IOException | RuntimeException e) {
                log.warn("cannot leave data group {}: {}", dg.id(), e.toString());
            }
        }
    }

    private void openPartitions() {
        Set<PartitionId> wanted = new HashSet<>();
        for (TopicInfo t : view.topics.values()) {
            for (int p = 0; p < t.partitions(); p++) {
                int g = t.groupOf(p);
                PartitionGroup pg = partitionGroups.get(g);
                Optional<DataGroup> dg = raft.group(g);
                if (pg == null || dg.isEmpty()) {
                    continue;
                }
                PartitionId id = new PartitionId(t.name(), p);
                wanted.add(id);
                RaftReplica r = replicas.get(id);
                if (r != null && r.topicId().equals(t.id())) {
                    LogConfig want = logConfigFor(id);
                    if (!want.equals(r.partitionLog().config())) {
                        pg.updateConfig(id, want);
                    }
                    continue;
                }
                PartitionGroup.Slot slot = pg.ensurePartition(id, t.id());
                if (slot != null && slot.topicId().equals(t.id())) {
                    replicas.put(id, new RaftReplica(id, t.id(), slot.replica(), dg.get()));
                    pg.updateConfig(id, logConfigFor(id));
                }
            }
        }
        replicas.keySet().removeIf(id -> !wanted.contains(id));
    }

    private void updateCoordinatorShards() {
        TopicInfo offsets = view.topics.get(GroupCoordinator.OFFSETS_TOPIC);
        int n = config.groups().offsetsPartitions();
        List<? extends Executor> loops = ownerExecutors();
        for (int p = 0; p < n; p++) {
            RaftReplica r = offsets == null ? null : replicas.get(new PartitionId(GroupCoordinator.OFFSETS_TOPIC, p));
            if (r != null && r.isLeader()) {
                groups.activate(p, r, loops.get(p % loops.size()));
            } else {
                groups.deactivate(p);
            }
        }
    }

    // ---- the controller's periodic duties (any node may run them: every change is a compare-and-set)

    private void controllerTickQuietly() {
        try {
            controllerTick();
        } catch (RuntimeException e) {
            log.debug("controller tick: {}", e.toString());
        }
    }

    private void controllerTick() {
        if (closed || !"LEADER".equals(raft.metaRole()) && !isSingleVoter()) {
            return;
        }
        maybeMove();
        if (!view.topics.containsKey(GroupCoordinator.OFFSETS_TOPIC)) {
            int rf = Math.min(3, raft.config().metaVoters().size());
            if (liveBrokers().size() >= rf) {
                var r = createTopic(
                        GroupCoordinator.OFFSETS_TOPIC,
                        config.groups().offsetsPartitions(),
                        rf,
                        Map.of(TopicConfigs.RETENTION_MS, "-1"),
                        false);
                if (r.getKey() != CreateResult.CREATED && r.getKey() != CreateResult.TOPIC_ALREADY_EXISTS) {
                    log.warn("cannot create {}: {}", GroupCoordinator.OFFSETS_TOPIC, r.getValue());
                }
            }
        }
    }

    /**
     * Runs the next re-placement or balancing step (see {@link Placement#nextMove}), on the
     * controller thread. Only the metadata leader does this.
     */
    private void maybeMove() {
        if (moveInFlight.get() || isSingleVoter()) {
            return;
        }
        List<Integer> live = new ArrayList<>();
        view.liveBrokers(config.cluster().brokerLeaseMs()).forEach(b -> live.add(b.id()));
        Set<Integer> gone = new HashSet<>();
        for (ClusterState.BrokerInfo b : view.brokers.values()) {
            if (view.silentMs(b.id()) > config.cluster().replaceAfterMs()) {
                gone.add(b.id());
            }
        }
        ClusterState.RGroup unfinished = view.rgroups.values().stream()
                .filter(g -> g.adding() >= 0)
                .findFirst()
                .orElse(null);
        Placement.Move m = unfinished != null
                ? new Placement.Move(
                        unfinished.no(), unfinished.removing(), unfinished.adding(), unfinished.preferred())
                : Placement.nextMove(view.rgroups, live, gone, partitionLoad());
        if (m == null || !moveInFlight.compareAndSet(false, true)) {
            return;
        }
        try {
            executeMove(m);
        } catch (IOException | RuntimeException e) {
            log.warn("move {} failed (will retry): {}", m, e.toString());
        } finally {
            moveInFlight.set(false);
        }
    }

    /**
     * Asks for data group {@code groupNo}'s replica on node {@code from} to move to node {@code to}:
     * records the move in the group's metadata, as the controller records its own, and whichever
     * node is controller carries it out like an interrupted move (the seam for Kafka's partition
     * reassignment APIs). False when the group is unknown or already moving, {@code from} is not a
     * member, {@code to} is one or is not registered, or the group changed meanwhile.
     */
    boolean requestMove(int groupNo, int from, int to) {
        ClusterState.RGroup g = view.rgroups.get(groupNo);
        if (g == null
                || g.adding() >= 0
                || !g.members().contains(from)
                || g.members().contains(to)
                || !view.brokers.containsKey(to)) {
            return false;
        }
        ClusterState.RGroup announced = new ClusterState.RGroup(
                g.no(), g.rf(), g.members(), g.preferred() == from ? to : g.preferred(), to, from);
        boolean done = replaceGroup("request a move", g, announced);
        if (done) {
            log.info("group {}: move requested, node {} out, node {} in", groupNo, from, to);
        }
        return done;
    }

    /** Replaces a data group's metadata record if it is still {@code expected}; false if it changed. */
    private boolean replaceGroup(String what, ClusterState.RGroup expected, ClusterState.RGroup next) {
        String key = ClusterState.RGROUPS + expected.no();
        TxnResult r = kvOnce(
                what,
                () -> kv.txn(new Txn(
                        List.of(new Compare.Value(key, ClusterState.encodeGroup(expected))),
                        List.of(new Op.Put(key, ClusterState.encodeGroup(next))),
                        List.of())));
        return r.succeeded();
    }

    private List<RaftPeerSpec> specs(List<Integer> nodes) {
        List<RaftPeerSpec> out = new ArrayList<>();
        for (int n : nodes) {
            ClusterState.BrokerInfo b = view.brokers.get(n);
            if (b == null) {
                throw new IllegalStateException("node " + n + " is not registered");
            }
            out.add(new RaftPeerSpec(n, b.raftHost(), b.raftPort()));
        }
        return out;
    }

    /**
     * Moves a replica of a data group by Raft membership change: announce the new member (it joins
     * empty), change the voters through the group's leader (Ratis catches the new one up before the
     * change commits), then record the new membership; the removed node leaves and deletes its
     * copy when it sees that. A preferred-leader change alone only changes priorities.
     */
    private void executeMove(Placement.Move m) throws IOException {
        ClusterState.RGroup g = view.rgroups.get(m.group());
        if (g == null) {
            return;
        }
        List<Integer> next = new ArrayList<>(g.members());
        if (m.add() >= 0) {
            next.remove(Integer.valueOf(m.remove()));
            if (!next.contains(m.add())) {
                next.add(m.add());
            }
            next.sort(null);
            if (g.adding() < 0) {
                ClusterState.RGroup announced =
                        new ClusterState.RGroup(g.no(), g.rf(), g.members(), g.preferred(), m.add(), m.remove());
                if (!replaceGroup("announce a move", g, announced)) {
                    return;
                }
                g = announced;
            }
            log.info(
                    "moving group {}: {} -> {} (node {} out, node {} in)",
                    g.no(),
                    g.members(),
                    next,
                    m.remove(),
                    m.add());
        } else {
            log.info("group {}: preferred leader {} -> {}", g.no(), g.preferred(), m.preferred());
        }
        List<RaftPeerSpec> current = specs(g.members());
        List<RaftPeerSpec> target = specs(next);
        if (m.add() >= 0) {
            // The new member must run the group before the leader starts sending to it.
            RaftPeerSpec added = specs(List.of(m.add())).get(0);
            long deadline = System.currentTimeMillis() + 30_000;
            while (!io.fjord.raft.RaftAdmin.hasDataGroup(added, g.no(), java.time.Duration.ofSeconds(2))) {
                if (System.currentTimeMillis() > deadline || closed) {
                    throw new IOException("node " + m.add() + " did not start group " + g.no());
                }
                pause(100);
            }
        }
        List<Integer> both = new ArrayList<>(g.members());
        if (m.add() >= 0 && !both.contains(m.add())) {
            both.add(m.add());
        }
        both.sort(null);
        // A move an earlier controller was carrying out when it stopped may have changed the
        // voters already: ask the group's leader, and skip what is done (repeating the first of
        // two steps would add back the member the second removed).
        List<Integer> voters =
                m.add() >= 0 ? raft.leaderVoters(g.no(), specs(both)).orElse(List.of()) : List.of();
        boolean done = voters.equals(next);
        if (m.add() >= 0 && Placement.movesInTwoSteps(g.members()) && !done) {
            // Ratis refuses a change whose new voters are as many as the ones kept (a lone new
            // voter could elect itself): add the new member first, then remove the old one.
            List<RaftPeerSpec> between = specs(both);
            if (!voters.equals(both)) {
                reconfigureWithRetries(g.no(), current, between, m.preferred());
            }
            current = between;
        }
        if (done) {
            log.info("group {}: its voters are {} already (a move interrupted before it was recorded)", g.no(), next);
        } else {
            reconfigureWithRetries(g.no(), current, target, m.preferred());
        }
        if (moveFault != null) {
            moveFault.run();
        }
        replaceGroup("record a move", g, new ClusterState.RGroup(g.no(), g.rf(), next, m.preferred(), -1, -1));
        log.info("group {} now {} (preferred leader {})", g.no(), next, m.preferred());
    }

    /**
     * Tests only: runs after a move's membership changes and before they are recorded; a throw
     * stands for a controller that stopped there.
     */
    volatile Runnable moveFault;

    private void reconfigureWithRetries(int groupNo, List<RaftPeerSpec> current, List<RaftPeerSpec> next, int preferred)
            throws IOException {
        IOException last = null;
        for (int attempt = 0; attempt < 5 && !closed; attempt++) {
            try {
                raft.reconfigure(groupNo, current, next, preferred);
                return;
            } catch (IOException e) {
                last = e;
                pause(1000);
            }
        }
        throw last != null ? last : new IOException("node is closing");
    }

    /** The consumer-group coordinator. */
    public GroupCoordinator groups() {
        return groups;
    }

    /** Internal topics (the offsets log) take no produce and no delete from clients. */
    public static boolean isInternal(String topic) {
        return GroupCoordinator.OFFSETS_TOPIC.equals(topic);
    }

    private LogConfig logConfigFor(PartitionId id) {
        TopicInfo t = view.topics.get(id.topic());
        return TopicConfigs.toLogConfig(t == null ? Map.of() : t.configs(), config.logDefaults());
    }

    public BrokerConfig config() {
        return config;
    }

    /** This node's view of the cluster metadata (tests and diagnostics). */
    ClusterState clusterView() {
        return view;
    }

    public String clusterId() {
        return view.clusterId;
    }

    public int nodeId() {
        return config.nodeId();
    }

    /** The metadata group's current leader as this node knows it (the "controller"), or -1. */
    public int controllerId() {
        return raft.metaLeader();
    }

    /** This node's role in the metadata group (LEADER, FOLLOWER, ...). */
    public String metadataRole() {
        return raft.metaRole();
    }

    /** Nodes whose lease is current, by id. */
    public List<NodeInfo> liveBrokers() {
        List<NodeInfo> out = new ArrayList<>();
        for (ClusterState.BrokerInfo b : view.liveBrokers(config.cluster().brokerLeaseMs())) {
            out.add(new NodeInfo(b.id(), b.host(), b.port(), b.rack()));
        }
        if (out.stream().noneMatch(n -> n.id() == config.nodeId())) {
            out.add(new NodeInfo(
                    config.nodeId(),
                    config.host(),
                    config.port(),
                    config.cluster().rack()));
        }
        return out;
    }

    /** A node's Kafka address, live or not; null when unknown. */
    public NodeInfo node(int id) {
        ClusterState.BrokerInfo b = view.brokers.get(id);
        return b == null ? null : new NodeInfo(b.id(), b.host(), b.port(), b.rack());
    }

    /** This node's member of data group {@code no}, if it hosts one (tests, diagnostics). */
    Optional<DataGroup> dataGroup(int no) {
        return raft.group(no);
    }

    /** Leader, epoch, replicas and in-sync replicas of a partition; null when unknown. */
    public PartitionView partitionView(String topic, int partition) {
        TopicInfo t = view.topics.get(topic);
        if (t == null || partition < 0 || partition >= t.partitions()) {
            return null;
        }
        int g = t.groupOf(partition);
        ClusterState.RGroup rg = view.rgroups.get(g);
        List<Integer> members = rg == null ? List.of() : rg.members();
        int leader = -1;
        long term = 0;
        Optional<DataGroup> local = raft.group(g);
        if (local.isPresent()) {
            leader = local.get().leaderNodeId();
            term = local.get().term();
            if (leader == config.nodeId() && !local.get().isLeader()) {
                leader = -1; // elected but not ready for writes yet
            }
        } else {
            ClusterState.Leader l = view.leaders.get(g);
            if (l != null) {
                leader = l.node();
                term = l.term();
            }
        }
        Set<Integer> live = new HashSet<>();
        view.liveBrokers(config.cluster().brokerLeaseMs()).forEach(b -> live.add(b.id()));
        List<Integer> isr = members.stream().filter(live::contains).toList();
        if (leader >= 0 && !live.contains(leader) && leader != config.nodeId()) {
            leader = -1;
        }
        return new PartitionView(leader, (int) term, members, isr);
    }

    /**
     * The node that coordinates consumer group {@code groupId}: the leader of its offsets
     * partition. Null when that partition has no leader right now.
     */
    public NodeInfo groupCoordinator(String groupId) {
        if (groups == null) {
            return null;
        }
        PartitionView v = partitionView(GroupCoordinator.OFFSETS_TOPIC, groups.partitionFor(groupId));
        if (v == null || v.leader() < 0) {
            return null;
        }
        if (v.leader() == config.nodeId()) {
            return new NodeInfo(
                    config.nodeId(),
                    config.host(),
                    config.port(),
                    config.cluster().rack());
        }
        return node(v.leader());
    }

    /** The replica of a partition on this node, or null. Any thread, lock-free. */
    public PartitionReplica replica(String topic, int partition) {
        if (!PartitionId.isLegalTopic(topic) || partition < 0) {
            return null;
        }
        return replicas.get(new PartitionId(topic, partition));
    }

    public TopicInfo topic(String name) {
        return view.topics.get(name);
    }

    public Map<String, TopicInfo> topics() {
        return Map.copyOf(view.topics);
    }

    /** A producer id unique in the cluster (blocks of ids are reserved in the metadata service). */
    public long allocateProducerId() {
        synchronized (producerIdLock) {
            if (producerIdNext >= producerIdLimit) {
                reserveProducerIds();
            }
            return producerIdNext++;
        }
    }

    /**
     * Reserves this node's first block of producer ids while it starts (on the timer thread), so
     * the first InitProducerId, which every idempotent producer sends before its first produce, is
     * answered without two metadata round trips.
     */
    private void reserveProducerIdsQuietly() {
        try {
            synchronized (producerIdLock) {
                if (producerIdNext >= producerIdLimit && !closed) {
                    reserveProducerIds();
                }
            }
        } catch (RuntimeException e) {
            log.debug("cannot reserve producer ids yet (the first InitProducerId will): {}", e.toString());
        }
    }

    /** Takes the next block of producer ids from the metadata (compare-and-set). Holds producerIdLock. */
    private void reserveProducerIds() {
        assert Thread.holdsLock(producerIdLock);
        for (int attempt = 0; ; attempt++) {
            var cur = kvOnce("read producer ids", () -> kv.get(ClusterState.PRODUCER_IDS, Consistency.LINEARIZABLE));
            long from = cur.map(kvp -> Long.parseLong(new String(kvp.value(), StandardCharsets.UTF_8)))
                    .orElse(0L);
            long to = from + PRODUCER_ID_BLOCK;
            Compare c = cur.isPresent()
                    ? new Compare.ModRevision(
                            ClusterState.PRODUCER_IDS, cur.get().modRevision())
                    : new Compare.ModRevision(ClusterState.PRODUCER_IDS, 0);
            TxnResult r = kvOnce(
                    "reserve producer ids",
                    () -> kv.txn(new Txn(
                            List.of(c),
                            List.of(new Op.Put(
                                    ClusterState.PRODUCER_IDS, Long.toString(to).getBytes(StandardCharsets.UTF_8))),
                            List.of())));
            if (r.succeeded()) {
                producerIdNext = from;
                producerIdLimit = to;
                return;
            }
            if (attempt > 50) {
                throw new IllegalStateException("cannot reserve producer ids: too much contention");
            }
        }
    }

    /** Why a topic name is illegal, or null when it is fine. */
    public static String checkTopicName(String name) {
        if (name == null || name.isEmpty()) {
            return "topic name is empty";
        }
        if (name.equals(".") || name.equals("..")) {
            return "topic name cannot be '.' or '..'";
        }
        if (!LEGAL_TOPIC.matcher(name).matches()) {
            return "topic name '" + name + "' is illegal: use at most 249 of [a-zA-Z0-9._-]";
        }
        return null;
    }

    private int defaultReplicationFactor() {
        int rf = config.cluster().defaultReplicationFactor();
        return rf > 0 ? rf : Math.min(3, raft.config().metaVoters().size());
    }

    /**
     * Validates and creates a topic: places its partitions on data groups (creating the groups its
     * replication factor still lacks) and commits the topic and groups in one compare-and-set.
     * Waits (boundedly) until every partition has a leader. Blocks: not on an event loop.
     */
    public Map.Entry<CreateResult, String> createTopic(
            String name, int partitions, int replicationFactor, Map<String, String> configs, boolean validateOnly) {
        ensureOpen();
        String bad = checkTopicName(name);
        if (bad != null) {
            return Map.entry(CreateResult.INVALID_TOPIC_EXCEPTION, bad);
        }
        int n = partitions == -1 ? config.defaultPartitions() : partitions;
        if (n < 1 || n > PARTITIONS_MAX) {
            return Map.entry(
                    CreateResult.INVALID_PARTITIONS, "partitions must be 1.." + PARTITIONS_MAX + ": " + partitions);
        }
        int rf = replicationFactor == -1 ? defaultReplicationFactor() : replicationFactor;
        List<ClusterState.BrokerInfo> live = view.liveBrokers(config.cluster().brokerLeaseMs());
        if (rf < 1 || rf > live.size()) {
            return Map.entry(
                    CreateResult.INVALID_REPLICATION_FACTOR,
                    "replication factor " + rf + " needs " + rf + " live brokers; " + live.size() + " are live"
                            + heartbeatAges());
        }
        String badConfig = TopicConfigs.validate(configs, config.logDefaults());
        if (badConfig != null) {
            return Map.entry(CreateResult.INVALID_CONFIG, badConfig);
        }
        if (view.topics.get(name) != null) {
            return Map.entry(CreateResult.TOPIC_ALREADY_EXISTS, "topic '" + name + "' already exists");
        }
        if (validateOnly) {
            return Map.entry(CreateResult.CREATED, "");
        }
        UUID id = UUID.randomUUID();
        for (int attempt = 0; attempt < 20; attempt++) {
            List<ClusterState.RGroup> newGroups = Placement.groupsToCreate(
                    view.rgroups, live, rf, config.cluster().groupsPerNode());
            List<ClusterState.RGroup> candidates = new ArrayList<>(newGroups);
            view.rgroups.values().stream().filter(g -> g.rf() == rf).forEach(candidates::add);
            List<Integer> placed = Placement.assign(n, candidates, partitionLoad());
            TopicInfo t = new TopicInfo(name, id, n, configs, rf, placed);
            List<Compare> compares = new ArrayList<>();
            List<Op> ops = new ArrayList<>();
            compares.add(new Compare.ModRevision(ClusterState.TOPICS + name, 0));
            ops.add(new Op.Put(ClusterState.TOPICS + name, ClusterState.encodeTopic(t)));
            for (ClusterState.RGroup g : newGroups) {
                compares.add(new Compare.ModRevision(ClusterState.RGROUPS + g.no(), 0));
                ops.add(new Op.Put(ClusterState.RGROUPS + g.no(), ClusterState.encodeGroup(g)));
            }
            TxnResult r = kvOnce("create topic " + name, () -> kv.txn(new Txn(compares, ops, List.of())));
            if (r.succeeded()) {
                log.info("created topic {} ({} partitions, rf {}, groups {}, id {})", name, n, rf, placed, id);
                awaitVisible(name, r.revision());
                return Map.entry(CreateResult.CREATED, "");
            }
            // Lost a race: re-read and decide again.
            RangeResult fresh = kvOnce("re-read metadata", () -> kv.range("", Consistency.LINEARIZABLE));
            view.load(fresh.kvs(), fresh.revision());
            if (view.topics.get(name) != null) {
                return Map.entry(CreateResult.TOPIC_ALREADY_EXISTS, "topic '" + name + "' already exists");
            }
        }
        return Map.entry(CreateResult.NOT_CONTROLLER, "could not place topic " + name + ": too much contention");
    }

    private String heartbeatAges() {
        StringBuilder sb = new StringBuilder(" (silent for:");
        view.brokers
                .values()
                .forEach(b -> sb.append(" node ")
                        .append(b.id())
                        .append(' ')
                        .append(view.silentMs(b.id()))
                        .append(" ms"));
        return sb.append(')').toString();
    }

    private Map<Integer, Integer> partitionLoad() {
        Map<Integer, Integer> load = new HashMap<>();
        for (TopicInfo t : view.topics.values()) {
            for (int g : t.groups()) {
                load.merge(g, 1, Integer::sum);
            }
        }
        return load;
    }

    /** Waits until this node sees the topic and every partition of it has a known leader. */
    private void awaitVisible(String name, long revision) {
        long deadline = System.currentTimeMillis() + CREATE_WAIT_MS;
        while (System.currentTimeMillis() < deadline && !closed) {
            TopicInfo t = view.topics.get(name);
            if (t != null && view.revision >= revision) {
                boolean ready = true;
                for (int p = 0; p < t.partitions() && ready; p++) {
                    PartitionView pv = partitionView(name, p);
                    ready = pv != null && pv.leader() >= 0;
                    if (ready && pv.leader() == config.nodeId()) {
                        PartitionReplica r = replica(name, p);
                        ready = r != null && r.isLeader();
                    }
                }
                if (ready) {
                    return;
                }
            }
            scheduleReconcile();
            pause(10);
        }
        log.info("topic {}: not every partition has a leader yet; clients will retry", name);
    }

    /** Creates a topic the way auto-creation does: default partitions and configs. */
    public TopicInfo autoCreate(String name) {
        Map.Entry<CreateResult, String> r = createTopic(name, -1, -1, Map.of(), false);
        if (r.getKey() != CreateResult.CREATED && r.getKey() != CreateResult.TOPIC_ALREADY_EXISTS) {
            return null;
        }
        return view.topics.get(name);
    }

    /** Replaces a topic's metadata if it is still {@code current}; false when it changed meanwhile. */
    private boolean replaceTopic(TopicInfo current, TopicInfo next, List<Op> extraOps, List<Compare> extraCompares) {
        String key = ClusterState.TOPICS + current.name();
        List<Compare> compares = new ArrayList<>(extraCompares);
        compares.add(new Compare.Value(key, ClusterState.encodeTopic(current)));
        List<Op> ops = new ArrayList<>(extraOps);
        ops.add(new Op.Put(key, ClusterState.encodeTopic(next)));
        TxnResult r = kvOnce("update topic " + current.name(), () -> kv.txn(new Txn(compares, ops, List.of())));
        if (r.succeeded()) {
            awaitRevision(r.revision());
        }
        return r.succeeded();
    }

    /**
     * Changes a topic's config overrides: {@code set} adds or replaces, {@code delete} reverts to
     * the default. Returns why it was refused, or null.
     */
    public String alterTopicConfigs(String name, Map<String, String> set, Set<String> delete, boolean validateOnly) {
        ensureOpen();
        for (int attempt = 0; attempt < 20; attempt++) {
            TopicInfo t = view.topics.get(name);
            if (t == null) {
                return "unknown topic " + name;
            }
            Map<String, String> next = new java.util.TreeMap<>(t.configs());
            delete.forEach(next::remove);
            next.putAll(set);
            String bad = TopicConfigs.validate(next, config.logDefaults());
            if (bad != null) {
                return bad;
            }
            if (validateOnly) {
                return null;
            }
            TopicInfo updated = new TopicInfo(name, t.id(), t.partitions(), next, t.replicationFactor(), t.groups());
            if (replaceTopic(t, updated, List.of(), List.of())) {
                reconcileNow();
                log.info("topic {} configs now {}", name, next);
                return null;
            }
        }
        return "topic " + name + " changed concurrently; retry";
    }

    /** Grows a topic to {@code total} partitions. Returns why it was refused, or null. */
    public String createPartitions(String name, int total, boolean validateOnly) {
        ensureOpen();
        for (int attempt = 0; attempt < 20; attempt++) {
            TopicInfo t = view.topics.get(name);
            if (t == null) {
                return "unknown topic " + name;
            }
            if (total <= t.partitions()) {
                return "topic " + name + " has " + t.partitions() + " partitions; the new count must be larger, got "
                        + total;
            }
            if (total > PARTITIONS_MAX) {
                return "at most " + PARTITIONS_MAX + " partitions per topic";
            }
            if (validateOnly) {
                return null;
            }
            List<ClusterState.RGroup> candidates = view.rgroups.values().stream()
                    .filter(g -> g.rf() == t.replicationFactor())
                    .toList();
            if (candidates.isEmpty()) {
                return "no data group of replication factor " + t.replicationFactor();
            }
            List<Integer> groupsNow = new ArrayList<>(t.groups());
            groupsNow.addAll(Placement.assign(total - t.partitions(), candidates, partitionLoad()));
            TopicInfo grown = new TopicInfo(name, t.id(), total, t.configs(), t.replicationFactor(), groupsNow);
            if (replaceTopic(t, grown, List.of(), List.of())) {
                awaitVisible(name, view.revision);
                log.info("topic {} grown to {} partitions", name, total);
                return null;
            }
        }
        return "topic " + name + " changed concurrently; retry";
    }

    /**
     * Deletes a topic and its data: a DELETE_TOPIC entry goes through each data group that carries
     * some of its partitions (so every replica drops them at the same point of its log), then the
     * topic leaves the metadata. Completes with false if it did not exist.
     */
    public CompletableFuture<Boolean> deleteTopic(String name) {
        ensureOpen();
        TopicInfo t = view.topics.get(name);
        if (t == null) {
            return CompletableFuture.completedFuture(false);
        }
        byte[] header = GroupEntry.deleteTopic(t.id(), name);
        List<CompletableFuture<byte[]>> deletions = new ArrayList<>();
        for (int g : new java.util.TreeSet<>(t.groups())) {
            deletions.add(submitToGroup(g, header, GroupEntry.deleteTopicData()));
        }
        return CompletableFuture.allOf(deletions.toArray(new CompletableFuture<?>[0]))
                .thenCompose(v -> kv.txn(new Txn(
                        List.of(new Compare.Value(ClusterState.TOPICS + name, ClusterState.encodeTopic(t))),
                        List.of(new Op.Delete(ClusterState.TOPICS + name, false)),
                        List.of())))
                .thenApplyAsync(
                        r -> {
                            if (r.succeeded()) {
                                // "Deleted" means gone here too: the view and the partitions served.
                                awaitRevision(r.revision());
                                reconcileNow();
                            }
                            log.info(
                                    "deleted topic {} ({})", name, r.succeeded() ? "done" : "it had changed meanwhile");
                            return r.succeeded();
                        },
                        clusterThread);
    }

    /** Waits (boundedly) until this node's metadata view has applied {@code revision}. */
    private void awaitRevision(long revision) {
        long deadline = System.currentTimeMillis() + CREATE_WAIT_MS;
        while (view.revision < revision && System.currentTimeMillis() < deadline && !closed) {
            pause(5);
        }
    }

    /** Submits an entry with data to a data group through its leader, wherever it is. */
    private CompletableFuture<byte[]> submitToGroup(int groupNo, byte[] header, ByteBuffer data) {
        Optional<DataGroup> local = raft.group(groupNo);
        if (local.isPresent() && local.get().isLeader()) {
            return local.get().submit(header, data);
        }
        ClusterState.RGroup g = view.rgroups.get(groupNo);
        if (g == null) {
            return CompletableFuture.failedFuture(new IllegalStateException("unknown data group " + groupNo));
        }
        List<RaftPeerSpec> members = new ArrayList<>();
        for (int m : g.members()) {
            ClusterState.BrokerInfo b = view.brokers.get(m);
            if (b != null) {
                members.add(new RaftPeerSpec(m, b.raftHost(), b.raftPort()));
            }
        }
        return raft.submitRemote(groupNo, members, header, data);
    }

    private void clean() {
        for (PartitionGroup g : partitionGroups.values()) {
            if (closed) {
                return;
            }
            try {
                g.clean(System.currentTimeMillis());
            } catch (RuntimeException e) {
                log.error("group {}: log cleaning failed: {}", g.groupNo(), e.toString());
            }
        }
    }

    private void housekeeping() {
        long nowMs = System.currentTimeMillis();
        for (PartitionGroup g : partitionGroups.values()) {
            try {
                g.housekeeping(nowMs);
            } catch (RuntimeException e) {
                log.error("group {}: housekeeping failed: {}", g.groupNo(), e.toString());
            }
        }
    }

    /**
     * Stops serving: the coordinator, the timers, the Raft server (which checkpoints every data
     * group), then the logs. Call after the network has stopped.
     */
    @Override
    public synchronized void close() {
        if (closed) {
            return;
        }
        closed = true;
        if (groups != null) {
            groups.close();
        }
        timer.shutdownNow();
        cleaner.shutdown(); // no interrupt: a pass ends, then the logs close
        try {
            if (!cleaner.awaitTermination(60, TimeUnit.SECONDS)) {
                log.warn("a log-cleaner pass is still running after 60 s; closing the logs anyway");
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        clusterThread.shutdownNow();
        controllerThread.shutdownNow();
        AutoCloseable w = watch;
        if (w != null) {
            try {
                w.close();
            } catch (Exception e) {
                log.debug("closing the metadata watch: {}", e.toString());
            }
        }
        raft.close();
        for (PartitionGroup g : partitionGroups.values()) {
            g.close();
        }
        logs.close();
        log.info("node {} closed: {} local partitions", config.nodeId(), replicas.size());
    }

    private void ensureOpen() {
        if (closed) {
            throw new IllegalStateException("broker is closed");
        }
    }
}
