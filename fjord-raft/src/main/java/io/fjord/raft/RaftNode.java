package io.fjord.raft;

import io.fjord.raft.kv.KvStore;
import io.fjord.raft.kv.MetaGroup;
import io.fjord.raft.kv.MetaStateMachine;
import io.fjord.raft.kv.RaftKvStore;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Properties;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Executor;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.IntFunction;
import org.apache.ratis.client.RaftClient;
import org.apache.ratis.client.RaftClientConfigKeys;
import org.apache.ratis.conf.Parameters;
import org.apache.ratis.conf.RaftProperties;
import org.apache.ratis.grpc.GrpcConfigKeys;
import org.apache.ratis.metrics.MetricRegistries;
import org.apache.ratis.proto.RaftProtos.RaftPeerRole;
import org.apache.ratis.protocol.ClientId;
import org.apache.ratis.protocol.GroupManagementRequest;
import org.apache.ratis.protocol.Message;
import org.apache.ratis.protocol.RaftClientAsynchronousProtocol;
import org.apache.ratis.protocol.RaftClientReply;
import org.apache.ratis.protocol.RaftClientRequest;
import org.apache.ratis.protocol.RaftGroup;
import org.apache.ratis.protocol.RaftGroupId;
import org.apache.ratis.protocol.RaftPeer;
import org.apache.ratis.protocol.RaftPeerId;
import org.apache.ratis.protocol.SnapshotManagementRequest;
import org.apache.ratis.protocol.exceptions.NotLeaderException;
import org.apache.ratis.retry.RetryPolicies;
import org.apache.ratis.server.DivisionInfo;
import org.apache.ratis.server.RaftConfiguration;
import org.apache.ratis.server.RaftServer;
import org.apache.ratis.server.RaftServerConfigKeys;
import org.apache.ratis.server.protocol.TermIndex;
import org.apache.ratis.server.storage.RaftStorage;
import org.apache.ratis.statemachine.StateMachine;
import org.apache.ratis.thirdparty.com.google.protobuf.UnsafeByteOperations;
import org.apache.ratis.util.LifeCycle;
import org.apache.ratis.util.SizeInBytes;
import org.apache.ratis.util.TimeDuration;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A node's Raft server: one Ratis server (gRPC) hosting the metadata group, when this node is one
 * of its voters, and the data groups this node is a member of. Data groups carry a {@link
 * ReplicatedStateMachine} built by the factory given at start, from the group number alone, so
 * groups found on disk at restart come back by themselves.
 *
 * <p>Threads: any.
 */
public final class RaftNode implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(RaftNode.class);
    private static final long META_MSB = 0x666a6f7264000000L;
    private static final long DATA_MSB = 0x666a6f7264000001L;

    public static final RaftGroupId META_GROUP = MetaGroup.ID;

    private final RaftNodeConfig config;
    private final IntFunction<ReplicatedStateMachine> dataFactory;
    private final RaftServer server;
    private final ClientId clientId = ClientId.randomId();
    /** Writes data groups' checkpoints (fsyncs), off their apply threads; one at a time. */
    private final ExecutorService checkpointer = Executors.newSingleThreadExecutor(
            r -> Thread.ofPlatform().name("fjord-raft-checkpoint").daemon().unstarted(r));

    private final AtomicLong callIds = new AtomicLong();
    private final Map<Integer, Group> groups = new ConcurrentHashMap<>();
    private volatile RaftKvStore kv;
    private final Map<Integer, RaftClient> remoteClients = new ConcurrentHashMap<>();
    /**
     * The metadata group's state machine: the same instance for every start of this node's member
     * (a restart after its Raft log failed keeps its state, and the watches that live on it).
     */
    private final MetaStateMachine meta =
            new MetaStateMachine(MetaStateMachine.HISTORY_EVENTS_DEFAULT, this::metaLogFailed);
    /** Set while the metadata member is closed after its Raft log failed, until it runs again. */
    private final AtomicBoolean metaRestarting = new AtomicBoolean();

    private volatile boolean closing;

    private RaftNode(RaftNodeConfig config, IntFunction<ReplicatedStateMachine> dataFactory) throws IOException {
        this.config = config;
        this.dataFactory = dataFactory;
        Files.createDirectories(config.dir());
        RaftProperties props = properties(config);
        RaftGroup meta = metaGroup(config.metaVoters());
        boolean metaVoter = config.metaVoters().stream().anyMatch(p -> p.nodeId() == config.nodeId());
        boolean metaExists =
                Files.isDirectory(config.dir().resolve(META_GROUP.getUuid().toString()));
        this.server = RaftServer.newBuilder()
                .setServerId(peerId(config.nodeId()))
                .setProperties(props)
                .setStateMachineRegistry(this::stateMachineFor)
                .setGroup(metaVoter ? meta : null)
                .setOption(metaExists ? RaftStorage.StartupOption.RECOVER : RaftStorage.StartupOption.FORMAT)
                .build();
    }

    static {
        // Ratis ends the JVM on some fatal errors (a gRPC port it cannot bind, among others). Fjord
        // runs embedded in tests and tools, and reports such failures itself.
        org.apache.ratis.util.ExitUtils.disableSystemExit();
        // Ratis publishes every group's metrics over JMX unless a reporter is registered before its
        // first metric registry: a JMX reporter per registry, MBeans for each metric, and the
        // platform MBean server's own start on the path of the node's start. Nothing reads them
        // there; the registries still count. (A no-op reporter keeps Ratis from adding JMX's.)
        MetricRegistries.global().addReporterRegistration(registry -> {}, registry -> {});
    }

    /**
     * Starts the JVM's platform MBean server on a background thread. Ratis registers each group it
     * starts as an MBean; the server's own start (50-80 ms, measured) then overlaps the node's
     * start instead of delaying its first group. Call it first thing.
     */
    public static void startMBeanServerInBackground() {
        Thread.ofPlatform()
                .name("fjord-mbean-server-start")
                .daemon()
                .start(java.lang.management.ManagementFactory::getPlatformMBeanServer);
    }

    /** Starts the server; groups found in the storage directory are recovered. */
    public static RaftNode start(RaftNodeConfig config, IntFunction<ReplicatedStateMachine> dataFactory)
            throws IOException {
        try (java.net.ServerSocket probe = new java.net.ServerSocket()) {
            probe.setReuseAddress(true);
            probe.bind(new java.net.InetSocketAddress(config.host(), config.port()));
        } catch (IOException e) {
            throw new IOException(
                    "cannot listen for Raft on " + config.host() + ":" + config.port() + ": " + e.getMessage(), e);
        }
        RaftNode node = new RaftNode(config, dataFactory);
        node.server.start();
        if (isLoneVoter(config)) {
            // A lone voter elects itself within its first election timeout (5-10 ms): be ready
            // for the first metadata call, so it is not refused and retried a client back-off later.
            node.awaitMetaLeader(System.currentTimeMillis() + 2L * config.electionTimeoutMinMs());
        }
        log.info(
                "raft node {} serving on {}:{} (groups: {})",
                config.nodeId(),
                config.host(),
                config.port(),
                node.groups.keySet());
        return node;
    }

    /** First election timeout (lower bound; upper = 2x) of a node that is the metadata group's only voter. */
    static final int FIRST_ELECTION_ALONE_MIN_MS = 5;

    /** A cluster of one: this node is the metadata group's only voter. */
    static boolean isLoneVoter(RaftNodeConfig c) {
        return c.metaVoters().size() == 1 && c.metaVoters().get(0).nodeId() == c.nodeId();
    }

    static RaftProperties properties(RaftNodeConfig c) {
        RaftProperties p = new RaftProperties();
        RaftServerConfigKeys.setStorageDir(p, List.of(c.dir().toFile()));
        GrpcConfigKeys.Server.setHost(p, c.host());
        GrpcConfigKeys.Server.setPort(p, c.port());
        int min = c.electionTimeoutMinMs();
        RaftServerConfigKeys.Rpc.setTimeoutMin(p, TimeDuration.valueOf(min, TimeUnit.MILLISECONDS));
        RaftServerConfigKeys.Rpc.setTimeoutMax(p, TimeDuration.valueOf(2L * min, TimeUnit.MILLISECONDS));
        // A group's first election need not wait out a full timeout. In a cluster of one every
        // group has this node as its only voter: nobody to split the vote with or to disturb, so it
        // elects itself at once (each recovered or new group's election is on the path to the first
        // acknowledged produce). Elsewhere 50-150 ms spreads the members' first campaigns; pre-vote
        // keeps an early campaign from disturbing a group that has a leader.
        boolean alone = isLoneVoter(c);
        RaftServerConfigKeys.Rpc.setFirstElectionTimeoutMin(
                p, TimeDuration.valueOf(alone ? FIRST_ELECTION_ALONE_MIN_MS : 50, TimeUnit.MILLISECONDS));
        RaftServerConfigKeys.Rpc.setFirstElectionTimeoutMax(
                p, TimeDuration.valueOf(alone ? FIRST_ELECTION_ALONE_MIN_MS * 2 : 150, TimeUnit.MILLISECONDS));
        RaftServerConfigKeys.Rpc.setRequestTimeout(
                p, TimeDuration.valueOf(Math.max(3000, 3L * min), TimeUnit.MILLISECONDS));
        RaftServerConfigKeys.Read.setOption(p, RaftServerConfigKeys.Read.Option.LINEARIZABLE);
        // Entry size: one produce batch plus a header. The write buffer must hold the largest entry.
        int byteLimit = c.maxEntryBytes() + 64 * 1024;
        RaftServerConfigKeys.Log.Appender.setBufferByteLimit(p, SizeInBytes.valueOf(byteLimit));
        RaftServerConfigKeys.Log.setWriteBufferSize(p, SizeInBytes.valueOf(byteLimit + 64));
        GrpcConfigKeys.setMessageSizeMax(p, SizeInBytes.valueOf(byteLimit + 1024 * 1024));
        // A small entry cache: the partition logs hold the data for readers, so the Raft log only
        // needs enough in memory to feed followers that are nearly caught up. Its entries are
        // headers of ~60 bytes (~250 bytes of objects each when cached). The log is purged a closed
        // segment at a time; a member whose log ends before the leader's start installs the
        // leader's state instead (DataStateMachine.notifyInstallSnapshotFromLeader).
        RaftServerConfigKeys.Log.setSegmentSizeMax(p, SizeInBytes.valueOf(c.logSegmentBytes()));
        RaftServerConfigKeys.Log.setPreallocatedSize(p, SizeInBytes.valueOf("1MB"));
        RaftServerConfigKeys.Log.setSegmentCacheNumMax(p, 2);
        RaftServerConfigKeys.Log.setSegmentCacheSizeMax(p, SizeInBytes.valueOf("16MB"));
        // Checkpoints let Ratis purge its log; the state machines make them cheap (flush + a few bytes).
        RaftServerConfigKeys.Snapshot.setAutoTriggerEnabled(p, true);
        RaftServerConfigKeys.Snapshot.setAutoTriggerThreshold(p, c.snapshotThreshold());
        RaftServerConfigKeys.Snapshot.setTriggerWhenStopEnabled(p, true);
        RaftServerConfigKeys.Log.setPurgeGap(p, 1024);
        // Without fsync-before-ack, an entry counts as stored once it is in the OS page cache (a
        // killed process loses nothing); the fsync runs right after, off the write path.
        RaftServerConfigKeys.Log.setUnsafeFlushEnabled(p, !c.fsyncBeforeAck());
        // Entries with data (produce batches) keep only a header in the Raft log; the state machine
        // stores the data and serves it back for followers (Ratis' "caching enabled" means the
        // state machine holds the data, so the log cache keeps the small stripped entries).
        RaftServerConfigKeys.Log.StateMachineData.setCachingEnabled(p, true);
        // In-process submissions never retry, so the retry cache need not remember long.
        RaftServerConfigKeys.RetryCache.setExpiryTime(p, TimeDuration.valueOf(5, TimeUnit.SECONDS));
        // A data group's checkpoint describes partition logs that live outside Ratis, so Ratis'
        // own transfer (the checkpoint file alone) would be wrong: Ratis notifies the lagging member
        // instead, and its state machine copies the leader's state itself.
        RaftServerConfigKeys.Log.Appender.setInstallSnapshotEnabled(p, false);
        applyOverrides(p, System.getProperties());
        return p;
    }

    /** Prefix of the JVM system properties that set Ratis keys directly. */
    static final String RATIS_OVERRIDE_PREFIX = "fjord.ratis.";

    /**
     * For experiments and expert tuning: every {@code fjord.ratis.<Ratis key>=<value>} in {@code
     * source} sets that Ratis key after Fjord's own choices (for example {@code
     * -Dfjord.ratis.raft.server.log.appender.wait-time.min=0ms}); each one is logged.
     */
    static void applyOverrides(RaftProperties p, Properties source) {
        source.stringPropertyNames().stream()
                .filter(k -> k.startsWith(RATIS_OVERRIDE_PREFIX) && k.length() > RATIS_OVERRIDE_PREFIX.length())
                .sorted()
                .forEach(k -> {
                    String key = k.substring(RATIS_OVERRIDE_PREFIX.length());
                    log.info("Ratis setting from -D{}: {} = {}", k, key, source.getProperty(k));
                    p.set(key, source.getProperty(k));
                });
    }

    private StateMachine stateMachineFor(RaftGroupId gid) {
        UUID u = gid.getUuid();
        if (u.getMostSignificantBits() == META_MSB && u.getLeastSignificantBits() == 0L) {
            return meta;
        }
        if (u.getMostSignificantBits() == DATA_MSB) {
            int no = (int) u.getLeastSignificantBits();
            DataStateMachine sm = new DataStateMachine(no, dataFactory.apply(no), this);
            groups.computeIfAbsent(no, Group::new).machine = sm;
            return sm;
        }
        throw new IllegalArgumentException("not a Fjord group: " + gid);
    }

    private boolean hasGroup(RaftGroupId gid) {
        for (RaftGroupId g : server.getGroupIds()) {
            if (g.equals(gid)) {
                return true;
            }
        }
        return false;
    }

    public static RaftPeerId peerId(int nodeId) {
        return RaftPeerId.valueOf("n" + nodeId);
    }

    static int nodeIdOf(RaftPeerId id) {
        String s = id.toString();
        try {
            return s.startsWith("n") ? Integer.parseInt(s.substring(1)) : -1;
        } catch (NumberFormatException e) {
            return -1;
        }
    }

    static RaftGroupId dataGroupId(int groupNo) {
        return RaftGroupId.valueOf(new UUID(DATA_MSB, groupNo));
    }

    static RaftPeer peer(RaftPeerSpec s, int priority) {
        return RaftPeer.newBuilder()
                .setId(peerId(s.nodeId()))
                .setAddress(s.address())
                .setPriority(priority)
                .build();
    }

    public static RaftGroup metaGroup(List<RaftPeerSpec> voters) {
        return RaftGroup.valueOf(
                META_GROUP, voters.stream().map(v -> peer(v, 0)).toList());
    }

    public RaftNodeConfig config() {
        return config;
    }

    public int nodeId() {
        return config.nodeId();
    }

    /** The underlying server; for the KV wiring inside this module. */
    RaftServer server() {
        return server;
    }

    /**
     * Makes this node a member of data group {@code groupNo} with {@code members} (this node must be
     * one); a no-op when it already is. {@code preferredLeader} gets a higher Raft priority, so
     * leadership settles there while it is alive and caught up.
     */
    public DataGroup joinGroup(int groupNo, List<RaftPeerSpec> members, int preferredLeader) throws IOException {
        RaftGroupId gid = dataGroupId(groupNo);
        if (hasGroup(gid)) {
            if (!isShutDown(groupNo)) {
                return groups.computeIfAbsent(groupNo, Group::new);
            }
            // Ratis shut this member down (below), or it was closed after its Raft log failed: take
            // it out, keeping its storage, and start it again from there; the leader's next append
            // brings it the configuration it is in. Not on a (nearly) full disk: a start writes
            // Ratis' metadata files, and one written there can be left unreadable.
            long free = config.dir().toFile().getUsableSpace();
            if (free < RESTART_MIN_FREE_BYTES) {
                throw new IOException("data group " + groupNo + ": not restarting this member while " + config.dir()
                        + " has " + free + " bytes free (at least " + RESTART_MIN_FREE_BYTES + " needed)");
            }
            log.warn("data group {}: this member is shut down; restarting it from its storage", groupNo);
            removeKeepingStorage(gid);
        }
        if (members.stream().noneMatch(m -> m.nodeId() == config.nodeId())) {
            throw new IllegalArgumentException("node " + config.nodeId() + " is not a member of " + members);
        }
        RaftGroup group = RaftGroup.valueOf(
                gid,
                members.stream()
                        .map(m -> peer(m, m.nodeId() == preferredLeader ? 1 : 0))
                        .toList());
        boolean dirExists = Files.isDirectory(config.dir().resolve(gid.getUuid().toString()));
        RaftClientReply reply = server.groupManagement(
                GroupManagementRequest.newAdd(clientId, server.getId(), callIds.incrementAndGet(), group, !dirExists));
        if (!reply.isSuccess() && !hasGroup(gid)) {
            throw new IOException("cannot add group " + groupNo + ": " + reply.getException());
        }
        return groups.computeIfAbsent(groupNo, Group::new);
    }

    /**
     * Whether this node hosts data group {@code groupNo} but Ratis has shut that member down. Ratis
     * does so when an election timeout finds the member outside its configuration: a member a move
     * adds replays the old configuration from the leader's log, and if the move commits (on the
     * other voters) and the old leader leaves before this member has received the new
     * configuration, its next election timeout ends it. {@link #joinGroup} restarts it.
     */
    public boolean isShutDown(int groupNo) {
        RaftGroupId gid = dataGroupId(groupNo);
        if (!hasGroup(gid)) {
            return false;
        }
        try {
            return !server.getDivision(gid).getInfo().isAlive();
        } catch (IOException e) {
            return false;
        }
    }

    /**
     * Changes the voters (and the preferred leader) of data group {@code groupNo}, through its
     * leader, from {@code current} to {@code next}. Ratis first catches new voters up from the
     * leader's log, then commits the new configuration (joint consensus); removed voters stop taking
     * part. Blocks until the new configuration is committed or the attempt fails. New voters must
     * have called {@link #joinGroup} with the target configuration first: they start empty, never
     * find themselves outside their own configuration (Ratis shuts such a member down at its first
     * election timeout) and, with pre-vote, cannot disturb the current voters.
     */
    public void reconfigure(int groupNo, List<RaftPeerSpec> current, List<RaftPeerSpec> next, int preferredLeader)
            throws IOException {
        try (RaftClient client = dataGroupClient(groupNo, current)) {
            RaftClientReply reply = client.admin()
                    .setConfiguration(next.stream()
                            .map(m -> peer(m, m.nodeId() == preferredLeader ? 1 : 0))
                            .toList());
            if (!reply.isSuccess()) {
                throw new IOException("group " + groupNo + ": configuration change refused: " + reply.getException());
            }
        }
    }

    /**
     * The voters (node ids, sorted) of data group {@code groupNo} in the configuration its leader
     * holds, asked of each of {@code askable} in turn: the first member that leads the group
     * answers; when none of them leads it, empty (the caller then does not know, and must not
     * guess). A configuration still in joint consensus counts as the old and new voters together.
     */
    public Optional<List<Integer>> leaderVoters(int groupNo, List<RaftPeerSpec> askable) {
        RaftGroupId gid = dataGroupId(groupNo);
        for (RaftPeerSpec s : askable) {
            try (RaftClient client = oneMemberClient(gid, peer(s, 0), new RaftProperties(), 2, 200)) {
                org.apache.ratis.protocol.GroupInfoReply info =
                        client.getGroupManagementApi(peerId(s.nodeId())).info(gid);
                // The reply's group lists the leader's configuration (its conf field stays empty over
                // gRPC in Ratis 3.2.2); during joint consensus it holds the old and new voters.
                if (!info.isSuccess() || info.getRoleInfoProto().getRole() != RaftPeerRole.LEADER) {
                    continue;
                }
                return Optional.of(info.getGroup().getPeers().stream()
                        .map(p -> nodeIdOf(p.getId()))
                        .sorted()
                        .toList());
            } catch (IOException | RuntimeException e) {
                log.debug("group {}: no configuration from node {}: {}", groupNo, s.nodeId(), e.toString());
            }
        }
        return Optional.empty();
    }

    /**
     * Waits for a member that Ratis is closing to finish closing, so that removing it does not block
     * forever. Ratis 3.2.2 can deadlock here: a leader that commits a configuration without itself
     * closes its division on its leader-state thread while holding the division's lock, and waits
     * for the division's server executor to finish; a configuration request that reached that
     * executor in the meantime waits for the same lock. A remove would then wait for the close for
     * ever (and the caller with it: the broker reconciles under its own lock). The wait is broken by
     * interrupting the closing leader-state thread, which makes its wait for the executor return and
     * the close complete (the request then fails). A close that still does not end is reported.
     */
    private void awaitClosed(RaftGroupId gid) throws IOException {
        RaftServer.Division division = server.getDivision(gid);
        long deadline = System.nanoTime() + CLOSE_WAIT.toNanos();
        boolean interrupted = false;
        while (division.getInfo().getLifeCycleState() == LifeCycle.State.CLOSING) {
            if (System.nanoTime() - deadline > 0) {
                if (interrupted) {
                    throw new IOException(gid + ": Ratis did not finish closing this member");
                }
                interruptClosingLeaderState(division);
                interrupted = true;
                deadline = System.nanoTime() + CLOSE_WAIT.toNanos();
            }
            try {
                Thread.sleep(20);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IOException("interrupted while " + gid + " closes", e);
            }
        }
    }

    private static final Duration CLOSE_WAIT = Duration.ofSeconds(5);

    /** Free bytes a data directory needs before a shut-down member is restarted from it. */
    static final long RESTART_MIN_FREE_BYTES = 64L * 1024 * 1024;

    /** Members being closed after their Raft log failed (one close each, however many notices). */
    private final Set<RaftGroupId> closingFailed = ConcurrentHashMap.newKeySet();

    /**
     * Closes a data group's member whose Raft log writer failed (Ratis keeps such a writer failed
     * and refuses every later entry), on a thread of its own: Ratis reports the failure on the
     * writer's thread, which the close stops. The member then counts as shut down ({@link
     * #isShutDown}), and the broker's reconcile restarts it from its storage through {@link
     * #joinGroup}, retrying (each second) while that fails, e.g. while the disk is still full.
     */
    void closeFailedMember(RaftGroupId gid, int groupNo, Throwable cause) {
        if (!closingFailed.add(gid)) {
            return;
        }
        log.error(
                "data group {}: the Raft log failed on this node ({}); closing this member, to be"
                        + " restarted from its storage",
                groupNo,
                cause.toString());
        Thread.ofPlatform().daemon().name("fjord-raft-close-" + groupNo).start(() -> {
            try {
                server.getDivision(gid).close();
            } catch (IOException | RuntimeException e) {
                log.warn("data group {}: closing the failed member: {}", groupNo, e.toString());
            } finally {
                closingFailed.remove(gid);
            }
        });
    }

    /** Waits for {@code gid}'s member to be closed, then takes it off this server, keeping its storage. */
    private void removeKeepingStorage(RaftGroupId gid) throws IOException {
        awaitClosed(gid);
        removeClosedKeepingStorage(gid);
    }

    /** Takes {@code gid}'s member, closed already, off this server, keeping its storage. */
    private void removeClosedKeepingStorage(RaftGroupId gid) throws IOException {
        server.groupManagement(GroupManagementRequest.newRemove(
                clientId, server.getId(), callIds.incrementAndGet(), gid, false, false));
    }

    /** Pause between attempts to start the metadata member again while that fails (a full disk). */
    static final long META_RESTART_RETRY_MS = 1_000;

    /**
     * The metadata member's Raft log writer failed (a full disk, usually): Ratis keeps that writer
     * failed and refuses every later entry of the member, so this node's replica would stop where it
     * is for good, and with it this node's serializable reads and watches (the broker's view of the
     * cluster), even once the disk has room. So the member is closed, the other voters go on without
     * it, and it starts again from its storage once the disk has {@link #RESTART_MIN_FREE_BYTES}
     * free, keeping its state and its watches (see {@link #restartMeta}). Runs on Ratis' log writer
     * thread, which the close stops: the work is on a thread of its own.
     */
    private void metaLogFailed(Throwable cause) {
        if (closing || !metaRestarting.compareAndSet(false, true)) {
            return;
        }
        log.error(
                "the metadata group's Raft log failed on this node ({}); closing this member, to be"
                        + " restarted from its storage once {} has room",
                cause.toString(),
                config.dir());
        Thread.ofPlatform().daemon().name("fjord-raft-meta-restart").start(this::restartMeta);
    }

    /**
     * Closes the metadata member and starts it again from its storage, retrying every {@link
     * #META_RESTART_RETRY_MS} until that works or the node closes. Before the start, a snapshot of
     * exactly what the replica has applied is stored ({@link MetaStateMachine#snapshotApplied}):
     * Ratis replays the log after the latest snapshot, and the replica's state must not go back (a
     * node's serializable reads and watches come from it meanwhile, and keep coming).
     */
    private void restartMeta() {
        try {
            RaftGroup group;
            try {
                RaftServer.Division division = server.getDivision(META_GROUP);
                group = division.getGroup();
                meta.prepareRestart();
                division.close();
            } catch (IOException | RuntimeException e) {
                log.warn("closing the metadata member after its Raft log failed: {}", e.toString());
                return;
            }
            long lastWarnNs = 0;
            while (!closing) {
                String failure = startMetaAgain(group);
                if (failure == null) {
                    log.info("the metadata group's member on this node runs again, restarted from its storage");
                    return;
                }
                if (lastWarnNs == 0 || System.nanoTime() - lastWarnNs > TimeUnit.SECONDS.toNanos(30)) {
                    log.warn("the metadata member is not restarted yet: {}; retrying every second", failure);
                    lastWarnNs = System.nanoTime();
                }
                Thread.sleep(META_RESTART_RETRY_MS); // a retry interval, not a wait for a condition
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } finally {
            metaRestarting.set(false);
        }
    }

    /** One attempt of {@link #restartMeta}: null when the member runs again, else why not. */
    private String startMetaAgain(RaftGroup group) {
        long free = config.dir().toFile().getUsableSpace();
        if (free < RESTART_MIN_FREE_BYTES) {
            return config.dir() + " has " + free + " bytes free (at least " + RESTART_MIN_FREE_BYTES + " needed)";
        }
        try {
            if (hasGroup(META_GROUP)) {
                awaitClosed(META_GROUP); // the apply thread has stopped: what is applied stays put
                meta.snapshotApplied();
                removeClosedKeepingStorage(META_GROUP);
            }
            RaftClientReply reply = server.groupManagement(
                    GroupManagementRequest.newAdd(clientId, server.getId(), callIds.incrementAndGet(), group, false));
            return reply.isSuccess() || hasGroup(META_GROUP) ? null : String.valueOf(reply.getException());
        } catch (IOException | RuntimeException e) {
            return e.toString();
        }
    }

    /** Whether this node's metadata member is closed after its Raft log failed, and not running again yet. */
    public boolean metaRestarting() {
        return metaRestarting.get();
    }

    /** Interrupts the division's leader-state thread if it is the one closing the division. */
    private static void interruptClosingLeaderState(RaftServer.Division division) {
        String name = division.getMemberId() + "-LeaderStateImpl";
        Thread[] threads = new Thread[division.getThreadGroup().activeCount() + 8];
        int n = division.getThreadGroup().enumerate(threads);
        for (int i = 0; i < n; i++) {
            Thread t = threads[i];
            if (t.getName().equals(name)
                    && Arrays.stream(t.getStackTrace())
                            .anyMatch(f -> f.getMethodName().equals("close")
                                    && f.getClassName().endsWith("RaftServerImpl"))) {
                log.warn(
                        "{}: Ratis' close of this member is stuck (leader-state thread waiting for the"
                                + " server executor, whose request waits for the member's lock); interrupting it",
                        division.getMemberId());
                t.interrupt();
                return;
            }
        }
        log.warn("{}: Ratis is still closing this member after {}", division.getMemberId(), CLOSE_WAIT);
    }

    /** Leaves data group {@code groupNo} and deletes its Raft storage on this node. */
    public void leaveGroup(int groupNo) throws IOException {
        RaftGroupId gid = dataGroupId(groupNo);
        if (!hasGroup(gid)) {
            groups.remove(groupNo);
            return;
        }
        awaitClosed(gid);
        RaftClientReply reply = server.groupManagement(GroupManagementRequest.newRemove(
                clientId, server.getId(), callIds.incrementAndGet(), gid, true, false));
        groups.remove(groupNo);
        if (!reply.isSuccess()) {
            throw new IOException("cannot remove group " + groupNo + ": " + reply.getException());
        }
    }

    public Optional<DataGroup> group(int groupNo) {
        Group g = groups.get(groupNo);
        return g == null || !hasGroup(dataGroupId(groupNo)) ? Optional.empty() : Optional.of(g);
    }

    /** Whether group {@code groupNo}'s submitter waits for room for an entry in Ratis (tests). */
    boolean waitingForWindow(int groupNo) {
        Group g = groups.get(groupNo);
        return g != null && g.waitingForWindow;
    }

    /** Data groups this node is a member of. */
    public List<DataGroup> groups() {
        List<DataGroup> out = new ArrayList<>();
        for (Integer no : groups.keySet()) {
            group(no).ifPresent(out::add);
        }
        return out;
    }

    /**
     * The metadata service's KV as seen from this node: served by the local replica (serializable
     * reads, watches) when this node is a voter, else through a client of the voters.
     */
    public synchronized KvStore kv() throws IOException {
        if (kv == null) {
            boolean voter = config.metaVoters().stream().anyMatch(p -> p.nodeId() == config.nodeId());
            kv = voter ? RaftKvStore.forLocalServer(server) : RaftKvStore.connect(metaGroup(config.metaVoters()));
        }
        return kv;
    }

    /** The metadata group's leader as this node knows it, or -1. */
    public int metaLeader() {
        try {
            DivisionInfo info = server.getDivision(META_GROUP).getInfo();
            RaftPeerId id = info.isAlive() ? info.getLeaderId() : null;
            return id == null ? -1 : nodeIdOf(id);
        } catch (IOException e) {
            return -1;
        }
    }

    /** A Ratis client of data group {@code groupNo} with these members (it finds the leader). */
    private static RaftClient dataGroupClient(int groupNo, List<RaftPeerSpec> members) {
        return RaftClient.newBuilder()
                .setClientId(ClientId.randomId())
                .setRaftGroup(RaftGroup.valueOf(
                        dataGroupId(groupNo),
                        members.stream().map(m -> peer(m, 0)).toList()))
                .setProperties(new RaftProperties())
                .setParameters(new Parameters())
                .build();
    }

    /**
     * Submits an entry with data to data group {@code groupNo} through whichever member leads it (this
     * node need not be a member). The Ratis client retries on leader changes.
     */
    public CompletableFuture<byte[]> submitRemote(
            int groupNo, List<RaftPeerSpec> members, byte[] header, ByteBuffer data) {
        RaftClient client = remoteClients.computeIfAbsent(groupNo, no -> dataGroupClient(no, members));
        return client.async()
                .send(new DataMessage(List.of(header), List.of(data)))
                .thenApply(reply -> {
                    if (!reply.isSuccess()) {
                        throw new ReplicationException(
                                "group " + groupNo + ": " + reply.getException(), reply.getException());
                    }
                    return DataMessage.unpackReplies(
                                    reply.getMessage().getContent().toByteArray())
                            .get(0);
                });
    }

    /** Polls (every 2 ms, until the deadline) for this node to lead the metadata group, ready. */
    private void awaitMetaLeader(long deadlineMs) {
        while (System.currentTimeMillis() < deadlineMs) {
            try {
                DivisionInfo info = server.getDivision(META_GROUP).getInfo();
                if (info.isLeader() && info.isLeaderReady()) {
                    return;
                }
                Thread.sleep(2); // polling a condition with a deadline
            } catch (IOException e) {
                return; // not there yet: the metadata client's retries take over
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            }
        }
    }

    /**
     * This node's role in the metadata group: LEADER, FOLLOWER, CANDIDATE, LISTENER, or NONE (not a
     * voter, or its member is closed: a closed member goes on reporting the role it had).
     */
    public String metaRole() {
        try {
            DivisionInfo info = server.getDivision(META_GROUP).getInfo();
            return info.isAlive() ? info.getCurrentRole().name() : "NONE";
        } catch (IOException e) {
            return "NONE";
        }
    }

    long currentTerm(int groupNo) {
        try {
            return server.getDivision(dataGroupId(groupNo)).getInfo().getCurrentTerm();
        } catch (IOException e) {
            return 0;
        }
    }

    /**
     * Stops solo writes in data group {@code groupNo} and completes once a stored checkpoint covers
     * every one of them (at once when the group is not solo): a member is about to be added.
     */
    CompletableFuture<Void> leaveSolo(int groupNo) {
        Group g = groups.get(groupNo);
        return g == null ? CompletableFuture.completedFuture(null) : g.requestLeave();
    }

    /** Leader changes and configuration changes may make a group eligible for solo writes, or not. */
    void onGroupChanged(int groupNo) {
        Group g = groups.get(groupNo);
        if (g != null) {
            g.nudge();
        }
    }

    void onLeaderChanged(int groupNo, int leader) {
        log.debug("group {}: leader is now {}", groupNo, leader);
    }

    @Override
    public void close() {
        closing = true;
        RaftKvStore k = kv;
        if (k != null) {
            k.close();
        }
        for (RaftClient c : remoteClients.values()) {
            try {
                c.close();
            } catch (IOException e) {
                log.debug("closing a group client: {}", e.toString());
            }
        }
        try {
            server.close();
        } catch (IOException e) {
            log.warn("raft server close: {}", e.toString());
        }
        for (Group g : groups.values()) {
            g.stop();
        }
        checkpointer.shutdown();
        installer.shutdownNow();
    }

    /** Threads that install another member's state on a lagging member (rare; one per install). */
    private final ExecutorService installer = Executors.newCachedThreadPool(
            r -> Thread.ofPlatform().name("fjord-raft-install").daemon().unstarted(r));

    Executor installer() {
        return installer;
    }

    /**
     * A client for read-only queries to one member of a data group, for an install: a few quick
     * retries, then the install fails and Ratis asks again.
     */
    RaftClient installClient(RaftGroupId gid, RaftPeer member) {
        RaftProperties p = new RaftProperties();
        RaftClientConfigKeys.Rpc.setRequestTimeout(p, TimeDuration.valueOf(30, TimeUnit.SECONDS));
        return oneMemberClient(gid, member, p, 3, 500);
    }

    /** A client that talks to {@code member} of group {@code gid} only, with bounded retries. */
    private static RaftClient oneMemberClient(
            RaftGroupId gid, RaftPeer member, RaftProperties p, int attempts, long sleepMs) {
        return RaftClient.newBuilder()
                .setClientId(ClientId.randomId())
                .setRaftGroup(RaftGroup.valueOf(gid, member))
                .setProperties(p)
                .setParameters(new Parameters())
                .setRetryPolicy(RetryPolicies.retryUpToMaximumCountWithFixedSleep(
                        attempts, TimeDuration.valueOf(sleepMs, TimeUnit.MILLISECONDS)))
                .build();
    }

    Executor checkpointer() {
        return checkpointer;
    }

    /** An entry waiting for the group's submitter: plain ({@code plain} set) or with data. */
    private record Submission(Message plain, byte[] header, ByteBuffer data, CompletableFuture<byte[]> done) {
        int bytes() {
            return plain != null ? plain.size() : header.length + data.remaining() + 8;
        }
    }

    /** Wakes a group's submitter to look at its mode (solo or Raft writes); carries nothing. */
    private static final Submission NUDGE = new Submission(null, new byte[0], ByteBuffer.allocate(0), null);

    /**
     * How often a group's submitter checks whether it should enter or leave solo writes, besides
     * the nudges of leader, configuration and broker changes (Ratis staging a member has none).
     */
    private static final long SOLO_CHECK_MS = 100;
    /** No solo writes for this long after a joining member asked for this node's checkpoint. */
    private static final long SOLO_HOLD_OFF_S = 30;
    /** Bound on each wait while changing between solo and Raft writes. */
    private static final long SOLO_WAIT_S = 30;

    /**
     * Entries with data a group's submitter keeps in Ratis at once (submitted, not yet answered);
     * {@code -Dfjord.raft.entries.in.flight=N} changes it. With one, batches that arrive while an
     * entry replicates wait and go together in the next entry (up to {@link DataMessage#PARTS} and
     * the largest entry size), the way a Kafka follower's next fetch takes everything appended
     * since its last: Ratis' per-entry work (on three nodes ~90 context switches per entry in all,
     * a fifth of them around the fsync of its log) is paid once for all of them. Measured on three
     * nodes of a 2-core machine: 8-13% more throughput at 12-15% less CPU than no limit
     * (docs/benchmarks.md). A lone entry (one message at a time) goes at once either way, and so
     * does a whole entry's worth of queued batches (64 or the largest entry size): the window
     * holds back partial entries only, so it never caps a group at one entry per round trip.
     */
    static final int ENTRIES_IN_FLIGHT = entriesInFlight(System.getProperty("fjord.raft.entries.in.flight"));

    static int entriesInFlight(String value) {
        if (value == null || value.isBlank()) {
            return 1;
        }
        int n;
        try {
            n = Integer.parseInt(value.strip());
        } catch (NumberFormatException e) {
            n = 0;
        }
        if (n < 1) {
            throw new IllegalArgumentException(
                    "fjord.raft.entries.in.flight must be a whole number of at least 1: " + value);
        }
        return n;
    }

    /** How often a submitter waiting for room in its window looks whether it should give up. */
    private static final long WINDOW_POLL_MS = 50;

    /**
     * A data group as seen from this node. One submitter thread per group appends entries in
     * submission order; entries with data that are queued together go into one Raft entry (up to
     * {@link DataMessage#PARTS} of them and the largest entry size), so Raft's per-entry work is
     * shared by every produce batch that arrived while the previous entry was being submitted.
     */
    private final class Group implements DataGroup {
        private final int no;
        private final RaftGroupId gid;
        private final LinkedBlockingQueue<Submission> queue = new LinkedBlockingQueue<>();

        private final Thread submitter;
        private volatile boolean stopped;
        /** This group's state machine (replaced when the group is added again after a removal). */
        volatile DataStateMachine machine;

        // ---- solo writes (see DataGroup#allowSolo). Mode changes run on the submitter thread.
        /** What the broker said (null: nothing yet, e.g. early in a start). */
        private volatile Boolean soloAllowed;
        /** Entries with data go to the state machine's writeSolo. Set under modeLock. */
        private volatile boolean solo;
        /** The term this node led when solo writes began. */
        private volatile long soloTerm;
        /** Threads inside writeSolo; leaving waits for them. */
        private final AtomicInteger soloWriters = new AtomicInteger();
        /** Orders "enqueue for Raft" against the switch to solo: never a queued entry behind a solo write. */
        private final Object modeLock = new Object();
        /** Callers waiting until solo writes stopped and a checkpoint covers them. */
        private final ConcurrentLinkedQueue<CompletableFuture<Void>> leaveRequests = new ConcurrentLinkedQueue<>();
        /** The reply of the last entry this submitter handed to Ratis (submitter thread only). */
        private CompletableFuture<RaftClientReply> lastSubmitted = CompletableFuture.completedFuture(null);
        /** After a member asked to install: no solo writes before this (System.nanoTime). */
        private long soloHoldOffUntil = System.nanoTime();

        private long nextModeCheck;
        /** Room for entries with data in Ratis (see ENTRIES_IN_FLIGHT); taken by the submitter. */
        private final Semaphore window = new Semaphore(ENTRIES_IN_FLIGHT);
        /** The submitter is waiting for room in the window (what it holds waits with it). */
        volatile boolean waitingForWindow;
        /**
         * Room granted beyond the window because a whole entry's worth queued up (see {@link
         * #enqueue}); answers take it back before giving room back to the window.
         */
        private final AtomicInteger overdraft = new AtomicInteger();

        Group(int no) {
            this.no = no;
            this.gid = dataGroupId(no);
            this.submitter =
                    Thread.ofPlatform().name("fjord-raft-submit-" + no).daemon().start(this::submitLoop);
        }

        void stop() {
            stopped = true;
            solo = false;
            submitter.interrupt();
            Submission s;
            while ((s = queue.poll()) != null) {
                if (s != NUDGE) {
                    s.done().completeExceptionally(new io.fjord.raft.NotLeaderException("node is stopping", -1));
                }
            }
            CompletableFuture<Void> r;
            while ((r = leaveRequests.poll()) != null) {
                r.completeExceptionally(new io.fjord.raft.NotLeaderException("node is stopping", -1));
            }
        }

        private void submitLoop() {
            List<Submission> batch = new ArrayList<>();
            while (!stopped) {
                Submission first;
                try {
                    first = queue.poll(SOLO_CHECK_MS, TimeUnit.MILLISECONDS);
                } catch (InterruptedException e) {
                    break;
                }
                try {
                    maybeChangeMode(first == NUDGE);
                } catch (RuntimeException e) {
                    log.error("group {}: changing between solo and Raft writes failed", no, e);
                }
                if (first == null || first == NUDGE) {
                    continue;
                }
                if (first.plain() != null) {
                    submitNow(first.plain(), List.of(first), false, false);
                    continue;
                }
                // Batches arriving while the window is full queue up behind `first` and join it.
                boolean held;
                try {
                    held = awaitWindow();
                } catch (InterruptedException e) {
                    first.done().completeExceptionally(new io.fjord.raft.NotLeaderException("node is stopping", -1));
                    break;
                }
                batch.clear();
                batch.add(first);
                int bytes = first.bytes();
                Submission next;
                while (batch.size() < DataMessage.PARTS
                        && (next = queue.peek()) != null
                        && next != NUDGE
                        && next.plain() == null
                        && bytes + next.bytes() <= config.maxEntryBytes()) {
                    batch.add(queue.poll());
                    bytes += next.bytes();
                }
                List<byte[]> headers = new ArrayList<>(batch.size());
                List<ByteBuffer> data = new ArrayList<>(batch.size());
                for (Submission s : batch) {
                    headers.add(s.header());
                    data.add(s.data());
                }
                List<Submission> subs = List.copyOf(batch);
                try {
                    submitNow(new DataMessage(headers, data), subs, true, held);
                } catch (RuntimeException e) {
                    if (held) {
                        releaseWindow();
                    }
                    log.error("group {}: submitting {} entries failed", no, subs.size(), e);
                    subs.forEach(s -> s.done().completeExceptionally(e));
                }
            }
            stop();
        }

        @Override
        public int id() {
            return no;
        }

        private DivisionInfo info() throws IOException {
            return server.getDivision(gid).getInfo();
        }

        @Override
        public CompletableFuture<byte[]> submit(byte[] entry) {
            return enqueue(new Submission(
                    Message.valueOf(UnsafeByteOperations.unsafeWrap(entry)), null, null, new CompletableFuture<>()));
        }

        @Override
        public CompletableFuture<byte[]> submit(byte[] header, ByteBuffer data) {
            if (!solo) {
                synchronized (modeLock) {
                    if (!solo) {
                        return enqueue(new Submission(null, header, data, new CompletableFuture<>()));
                    }
                }
            }
            soloWriters.incrementAndGet();
            try {
                if (solo) {
                    CompletableFuture<byte[]> done = writeSolo(header, data);
                    if (done != null) {
                        return done;
                    }
                }
            } finally {
                soloWriters.decrementAndGet();
            }
            // declined (e.g. a topic deletion) or solo just ended: through the Raft log
            return enqueue(new Submission(null, header, data, new CompletableFuture<>()));
        }

        /** The state machine stores and applies the entry at once; null when it declines. */
        private CompletableFuture<byte[]> writeSolo(byte[] header, ByteBuffer data) {
            try {
                byte[] reply = machine.delegate().writeSolo(soloTerm, ByteBuffer.wrap(header), data);
                return reply == null ? null : CompletableFuture.completedFuture(reply);
            } catch (RuntimeException e) {
                return CompletableFuture.failedFuture(new ReplicationException("group " + no + ": " + e, e));
            }
        }

        @Override
        public void allowSolo(boolean allowed) {
            if (!Boolean.valueOf(allowed).equals(soloAllowed)) {
                soloAllowed = allowed;
                nudge();
            }
        }

        @Override
        public boolean isSolo() {
            return solo;
        }

        /** Makes the submitter look at the mode now, not at its next periodic check. */
        void nudge() {
            queue.offer(NUDGE);
        }

        CompletableFuture<Void> requestLeave() {
            CompletableFuture<Void> f = new CompletableFuture<>();
            leaveRequests.add(f);
            if (stopped) {
                stop();
            } else {
                nudge();
            }
            return f.orTimeout(60, TimeUnit.SECONDS);
        }

        /**
         * Solo writes are possible while the broker allows them, this node leads the group with
         * every earlier entry applied, the configuration is stable and this node alone, and Ratis
         * sends to nobody (a member being staged for a configuration change has a sender).
         */
        private boolean soloEligible() {
            if (!Boolean.TRUE.equals(soloAllowed) || stopped || config.fsyncBeforeAck() || machine == null) {
                return false;
            }
            try {
                RaftServer.Division d = server.getDivision(gid);
                DivisionInfo i = d.getInfo();
                return i.isLeader()
                        && i.isLeaderReady()
                        && !membersComing()
                        && d.getRaftConf()
                                .getAllPeers()
                                .iterator()
                                .next()
                                .getId()
                                .equals(server.getId())
                        && (!solo || i.getCurrentTerm() == soloTerm);
            } catch (IOException e) {
                return false;
            }
        }

        /** Submitter thread: enters or leaves solo writes as the group's situation asks. */
        private void maybeChangeMode(boolean nudged) {
            long now = System.nanoTime();
            if (!nudged && leaveRequests.isEmpty() && now - nextModeCheck < 0) {
                return;
            }
            nextModeCheck = now + TimeUnit.MILLISECONDS.toNanos(SOLO_CHECK_MS);
            if (!leaveRequests.isEmpty()) {
                soloHoldOffUntil = now + TimeUnit.SECONDS.toNanos(SOLO_HOLD_OFF_S);
            }
            boolean eligible = now - soloHoldOffUntil >= 0 && soloEligible();
            if (eligible) {
                if (!solo) {
                    enterSolo();
                }
                return;
            }
            if (solo) {
                stopSoloWrites();
            }
            DataStateMachine m = machine;
            if (m == null || !m.delegate().soloNoted()) {
                completeLeaves(null);
            } else if (!leaveRequests.isEmpty() || Boolean.FALSE.equals(soloAllowed) || membersComing()) {
                closeSolo(m);
            }
            // else: solo writes may resume (a start, a pause); the note stays until a member comes
        }

        /**
         * Another member is (or is about to be) in the configuration, or Ratis sends to one. Solo
         * writes must then be covered by a checkpoint before it gets anything.
         */
        private boolean membersComing() {
            try {
                RaftServer.Division d = server.getDivision(gid);
                RaftConfiguration conf = d.getRaftConf();
                long[] followers = d.getInfo().getFollowerNextIndices(); // null unless leader
                return conf.getAllPeers().size() != 1 // current and, while changing, previous
                        || !conf.getAllPeers(RaftPeerRole.LISTENER).isEmpty()
                        || (followers != null && followers.length > 0);
            } catch (IOException e) {
                return false;
            }
        }

        /**
         * Waits until every entry handed to Ratis so far has been applied (so no solo write
         * overtakes one), has the state machine note that its state may run ahead of the Raft log,
         * then writes what queued up meanwhile directly, in order, until the queue is empty at the
         * switch.
         */
        private void enterSolo() {
            try {
                lastSubmitted.get(SOLO_WAIT_S, TimeUnit.SECONDS);
                RaftServer.Division d = server.getDivision(gid);
                TermIndex last = d.getRaftLog().getLastEntryTermIndex();
                if (last != null && d.getInfo().getLastAppliedIndex() < last.getIndex()) {
                    return; // entries still being applied: tried again at the next check
                }
            } catch (ExecutionException e) {
                lastSubmitted = CompletableFuture.completedFuture(null); // failed: nothing of it is pending
                return;
            } catch (TimeoutException | IOException e) {
                return; // tried again at the next check
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            }
            long term = term();
            if (!machine.delegate().beginSolo()) {
                return;
            }
            soloTerm = term;
            List<Submission> held = new ArrayList<>();
            while (true) {
                held.clear();
                synchronized (modeLock) {
                    queue.drainTo(held);
                    if (held.isEmpty()) {
                        solo = true;
                        break;
                    }
                }
                for (Submission s : held) {
                    if (s == NUDGE) {
                        continue;
                    }
                    if (s.plain() != null) {
                        submitNow(s.plain(), List.of(s), false, false);
                        continue;
                    }
                    CompletableFuture<byte[]> done = writeSolo(s.header(), s.data());
                    if (done == null) {
                        submitNow(new DataMessage(List.of(s.header()), List.of(s.data())), List.of(s), true, false);
                    } else {
                        done.whenComplete((r, e) -> {
                            if (e == null) {
                                s.done().complete(r);
                            } else {
                                s.done().completeExceptionally(e);
                            }
                        });
                    }
                }
            }
            log.info("group {}: solo writes on (this node is the only voter, term {})", no, term);
        }

        /** Entries with data go through the Raft log again, once the solo writes under way are done. */
        private void stopSoloWrites() {
            synchronized (modeLock) {
                solo = false;
            }
            while (soloWriters.get() > 0) {
                Thread.onSpinWait();
            }
            log.info("group {}: solo writes off", no);
        }

        /**
         * As leader, appends a SOLO_END entry and takes a checkpoint at or after it, which covers
         * every solo write; only then does the state machine drop its note. Until that succeeds the
         * note stays (a restart keeps what the partition logs hold; an install waits for it).
         */
        private void closeSolo(DataStateMachine m) {
            if (!isLeader()) {
                completeLeaves(new io.fjord.raft.NotLeaderException("group " + no + ": not the leader", -1));
                return;
            }
            try {
                RaftClientReply end = submitAndWait(
                        Message.valueOf(UnsafeByteOperations.unsafeWrap(DataMessage.soloEnd(config.nodeId()))));
                long at = -1;
                for (int attempt = 0; attempt < 100 && at < end.getLogIndex(); attempt++) {
                    RaftClientReply r = server.snapshotManagementAsync(SnapshotManagementRequest.newCreate(
                                    clientId, server.getId(), gid, callIds.incrementAndGet(), 60_000, 1))
                            .get(SOLO_WAIT_S, TimeUnit.SECONDS);
                    if (!r.isSuccess()) {
                        throw new IOException("checkpoint refused: " + r.getException());
                    }
                    at = r.getLogIndex();
                    if (at < end.getLogIndex()) {
                        Thread.sleep(20); // a checkpoint still being written: ask again
                    }
                }
                if (at < end.getLogIndex()) {
                    throw new IOException("no checkpoint at or after entry " + end.getLogIndex());
                }
                m.delegate().endSolo();
                log.info("group {}: solo writes closed by entry {}, checkpoint at {}", no, end.getLogIndex(), at);
                completeLeaves(null);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                completeLeaves(e);
            } catch (IOException | ExecutionException | TimeoutException | RuntimeException e) {
                log.warn("group {}: cannot close solo writes yet (tried again): {}", no, e.toString());
                completeLeaves(e);
            }
        }

        private void completeLeaves(Throwable failure) {
            CompletableFuture<Void> r;
            while ((r = leaveRequests.poll()) != null) {
                if (failure == null) {
                    r.complete(null);
                } else {
                    r.completeExceptionally(failure);
                }
            }
        }

        private RaftClientRequest writeRequest(Message message) {
            return RaftClientRequest.newBuilder()
                    .setClientId(clientId)
                    .setServerId(server.getId())
                    .setGroupId(gid)
                    .setCallId(callIds.incrementAndGet())
                    .setMessage(message)
                    .setType(RaftClientRequest.writeRequestType())
                    .build();
        }

        /** Submits a plain entry through this node's division and waits until it is applied. */
        private RaftClientReply submitAndWait(Message message)
                throws IOException, InterruptedException, ExecutionException, TimeoutException {
            RaftClientRequest request = writeRequest(message);
            RaftClientReply reply = server.submitClientRequestAsync(request).get(SOLO_WAIT_S, TimeUnit.SECONDS);
            if (!reply.isSuccess()) {
                throw new IOException("entry refused: " + reply.getException());
            }
            return reply;
        }

        private CompletableFuture<byte[]> enqueue(Submission s) {
            queue.add(s);
            if (stopped) {
                stop();
            } else if (waitingForWindow && window.availablePermits() == 0 && wholeEntryQueued()) {
                // The window holds back partial entries only: a full one goes at once, so the
                // window never caps a group at one entry's worth per round trip.
                overdraft.incrementAndGet();
                window.release();
            }
            return s.done();
        }

        /** Enough entries with data wait behind the submitter's own to fill a Raft entry. */
        private boolean wholeEntryQueued() {
            int count = 1;
            long bytes = 0;
            for (Submission q : queue) {
                if (q == NUDGE || q.plain() != null) {
                    return false;
                }
                bytes += q.bytes();
                if (++count >= DataMessage.PARTS || bytes >= config.maxEntryBytes()) {
                    return true;
                }
            }
            return false;
        }

        /** An entry that took room in the window is answered. */
        private void releaseWindow() {
            if (overdraft.getAndUpdate(n -> n > 0 ? n - 1 : 0) == 0) {
                window.release();
            }
        }

        /**
         * Takes room in the window for the next entry, waiting while it is full. Gives up waiting
         * (false: the entry goes without room) when this node stops leading: Ratis then refuses
         * the entry at once and its submitters learn of the new leader, instead of waiting behind
         * entries that may never be answered here.
         */
        private boolean awaitWindow() throws InterruptedException {
            if (window.tryAcquire()) {
                return true;
            }
            waitingForWindow = true;
            try {
                while (!window.tryAcquire(WINDOW_POLL_MS, TimeUnit.MILLISECONDS)) {
                    if (stopped) {
                        throw new InterruptedException("stopping");
                    }
                    if (!isLeader()) {
                        return false;
                    }
                }
                return true;
            } finally {
                waitingForWindow = false;
            }
        }

        /**
         * Submits one Raft entry; completes each submission with its reply (parts: packed). {@code
         * held}: the entry took room in the window, given back when Ratis answers.
         */
        private void submitNow(Message message, List<Submission> subs, boolean parts, boolean held) {
            RaftClientRequest request = writeRequest(message);
            CompletableFuture<RaftClientReply> f;
            try {
                // The division itself takes client requests: calling it here skips the server's
                // hop to its client thread pool (which this thread would only wait for).
                f = server.getDivision(gid) instanceof RaftClientAsynchronousProtocol division
                        ? division.submitClientRequestAsync(request)
                        : server.submitClientRequestAsync(request);
            } catch (IOException | RuntimeException e) {
                if (held) {
                    releaseWindow();
                }
                RuntimeException t = translate(e);
                subs.forEach(s -> s.done().completeExceptionally(t));
                return;
            }
            lastSubmitted = f;
            f.whenComplete((reply, err) -> {
                if (held) {
                    releaseWindow();
                }
                if (err == null && reply.isSuccess()) {
                    byte[] content = reply.getMessage().getContent().toByteArray();
                    if (!parts) {
                        subs.get(0).done().complete(content);
                        return;
                    }
                    List<byte[]> replies = DataMessage.unpackReplies(content);
                    for (int i = 0; i < subs.size(); i++) {
                        subs.get(i).done().complete(replies.get(i));
                    }
                    return;
                }
                Throwable e = err != null
                        ? err
                        : reply.getNotLeaderException() != null ? reply.getNotLeaderException() : reply.getException();
                RuntimeException t = translate(e);
                subs.forEach(s -> s.done().completeExceptionally(t));
            });
        }

        private RuntimeException translate(Throwable e) {
            Throwable t = e;
            while ((t instanceof java.util.concurrent.CompletionException
                            || t instanceof java.util.concurrent.ExecutionException)
                    && t.getCause() != null) {
                t = t.getCause();
            }
            if (t instanceof NotLeaderException nle) {
                RaftPeer hint = nle.getSuggestedLeader();
                return new io.fjord.raft.NotLeaderException(
                        "group " + no + ": not the leader", hint == null ? -1 : nodeIdOf(hint.getId()));
            }
            if (t instanceof org.apache.ratis.protocol.exceptions.LeaderNotReadyException
                    || t instanceof org.apache.ratis.protocol.exceptions.LeaderSteppingDownException
                    || t instanceof org.apache.ratis.protocol.exceptions.GroupMismatchException
                    || t instanceof org.apache.ratis.protocol.exceptions.ServerNotReadyException) {
                return new io.fjord.raft.NotLeaderException("group " + no + ": " + t.getMessage(), -1);
            }
            return new ReplicationException("group " + no + ": " + t, t);
        }

        @Override
        public boolean isLeader() {
            try {
                DivisionInfo i = info();
                return i.isLeader() && i.isLeaderReady();
            } catch (IOException e) {
                return false;
            }
        }

        @Override
        public long term() {
            try {
                return info().getCurrentTerm();
            } catch (IOException e) {
                return 0;
            }
        }

        @Override
        public int leaderNodeId() {
            try {
                RaftPeerId id = info().getLeaderId();
                return id == null ? -1 : nodeIdOf(id);
            } catch (IOException e) {
                return -1;
            }
        }

        @Override
        public List<Integer> members() {
            try {
                return server.getDivision(gid).getRaftConf().getCurrentPeers().stream()
                        .map(p -> nodeIdOf(p.getId()))
                        .sorted()
                        .toList();
            } catch (IOException e) {
                return List.of();
            }
        }

        @Override
        public long firstLogIndex() {
            try {
                return server.getDivision(gid).getRaftLog().getStartIndex();
            } catch (IOException e) {
                return -1;
            }
        }

        @Override
        public String toString() {
            return "group " + no;
        }
    }
}
