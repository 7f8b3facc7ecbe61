package io.fjord.broker;

import io.fjord.storage.LogManager;
import io.fjord.storage.PartitionId;
import io.fjord.storage.PartitionLog;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executor;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.regex.Pattern;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One broker node's state: the topics, their partitions (each owned by one of the given owner
 * executors, in practice the network event loops: thread-per-core), the log manager, producer ids.
 * Free of Kafka client and Netty types; the wire layer translates requests into calls here.
 *
 * <p>Threads: lookups ({@link #replica}, {@link #topics}) are lock-free on any thread. Topic
 * creation and deletion are serialized with {@code synchronized} (admin path). Each partition's
 * writes run on its owner executor.
 */
public final class Broker implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(Broker.class);
    private static final Pattern LEGAL_TOPIC = Pattern.compile("[a-zA-Z0-9._-]{1,249}");
    public static final int PARTITIONS_MAX = 10_000;

    private final BrokerConfig config;
    private final List<? extends Executor> owners;
    private final LogManager logs;
    private final TopicRegistry topics;
    private final ProducerIdAllocator producerIds;
    private final String clusterId;
    private final Map<PartitionId, LocalReplica> replicas = new ConcurrentHashMap<>();
    /** Topics whose partitions are still being deleted on their owners; the name cannot be reused yet. */
    private final java.util.Set<String> deleting = ConcurrentHashMap.newKeySet();

    private final ScheduledExecutorService timer;
    private io.fjord.broker.group.GroupCoordinator groups;
    private volatile boolean closed;

    /** Result of a topic creation. */
    public enum CreateResult {
        CREATED,
        TOPIC_ALREADY_EXISTS,
        INVALID_TOPIC_EXCEPTION,
        INVALID_PARTITIONS,
        INVALID_REPLICATION_FACTOR,
        INVALID_CONFIG
    }

    private Broker(BrokerConfig config, List<? extends Executor> owners) {
        this.config = config;
        this.owners = List.copyOf(owners);
        Path metaDir = config.dataDir().resolve(".meta");
        this.topics = TopicRegistry.open(metaDir);
        this.logs = LogManager.open(config.dataDir(), this::logConfigFor, System::currentTimeMillis);
        try {
            this.producerIds = ProducerIdAllocator.open(metaDir);
            this.clusterId = readOrCreateClusterId(metaDir);
        } catch (RuntimeException e) {
            logs.close(); // release the data directory's lock: a failed start must not hold it
            throw e;
        }
        this.timer = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "fjord-housekeeping");
            t.setDaemon(true);
            return t;
        });
    }

    /**
     * Opens the data directory, recovers every log, and creates the partitions of every known
     * topic. {@code owners} are the executors that will own partitions (one per core).
     */
    public static Broker open(BrokerConfig config, List<? extends Executor> owners) {
        if (owners.isEmpty()) {
            throw new IllegalArgumentException("at least one owner executor is needed");
        }
        Broker b = new Broker(config, owners);
        try {
            for (TopicInfo t : b.topics.all().values()) {
                for (int p = 0; p < t.partitions(); p++) {
                    b.openReplica(t, p);
                }
            }
            for (PartitionId id : b.logs.logsById().keySet()) {
                if (b.topics.get(id.topic()) == null) {
                    log.warn("{}: partition directory of no known topic; leaving it alone", id);
                }
            }
            b.groups = b.openGroupCoordinator();
        } catch (RuntimeException e) {
            b.close(); // release the lock and the timer thread; nothing was served yet
            throw e;
        }
        long interval = config.housekeepingIntervalMs();
        b.timer.scheduleWithFixedDelay(b::housekeeping, interval, interval, TimeUnit.MILLISECONDS);
        return b;
    }

    /**
     * Creates {@code __consumer_offsets} on first start (never expiring: retention.ms=-1; the
     * coordinator deletes what it no longer needs) and starts the group coordinator over it.
     */
    private io.fjord.broker.group.GroupCoordinator openGroupCoordinator() {
        String name = io.fjord.broker.group.GroupCoordinator.OFFSETS_TOPIC;
        if (topics.get(name) == null) {
            var r = createTopic(
                    name, config.groups().offsetsPartitions(), 1, Map.of(TopicConfigs.RETENTION_MS, "-1"), false);
            if (r.getKey() != CreateResult.CREATED) {
                throw new IllegalStateException("cannot create " + name + ": " + r.getValue());
            }
        }
        TopicInfo t = topics.get(name);
        List<LocalReplica> parts = new ArrayList<>();
        List<Executor> partOwners = new ArrayList<>();
        for (int p = 0; p < t.partitions(); p++) {
            LocalReplica r = replicas.get(new PartitionId(name, p));
            parts.add(r);
            partOwners.add(r.owner());
        }
        return new io.fjord.broker.group.GroupCoordinator(
                config.groups(), parts, partOwners, timer, System::currentTimeMillis);
    }

    /** The consumer-group coordinator. */
    public io.fjord.broker.group.GroupCoordinator groups() {
        return groups;
    }

    /** Internal topics (the offsets log) take no produce and no delete from clients. */
    public static boolean isInternal(String topic) {
        return io.fjord.broker.group.GroupCoordinator.OFFSETS_TOPIC.equals(topic);
    }

    private LocalReplica openReplica(TopicInfo t, int partition) {
        PartitionId id = new PartitionId(t.name(), partition);
        PartitionLog pl = logs.getOrCreate(id, logConfigFor(id));
        Executor owner = owners.get(Math.floorMod(id.hashCode(), owners.size()));
        LocalReplica r = new LocalReplica(id, pl, owner);
        replicas.put(id, r);
        return r;
    }

    private io.fjord.storage.LogConfig logConfigFor(PartitionId id) {
        TopicInfo t = topics.get(id.topic());
        return TopicConfigs.toLogConfig(t == null ? Map.of() : t.configs(), config.logDefaults());
    }

    public BrokerConfig config() {
        return config;
    }

    public String clusterId() {
        return clusterId;
    }

    public int nodeId() {
        return config.nodeId();
    }

    /** The replica of a partition on this node, or null. Any thread, lock-free. */
    public PartitionReplica replica(String topic, int partition) {
        if (!PartitionId.isLegalTopic(topic) || partition < 0) {
            return null;
        }
        return replicas.get(new PartitionId(topic, partition));
    }

    public TopicInfo topic(String name) {
        return topics.get(name);
    }

    public Map<String, TopicInfo> topics() {
        return topics.all();
    }

    public long allocateProducerId() {
        return producerIds.next();
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

    /** Validates a CreateTopics entry; returns the outcome and, when refused, why. */
    public synchronized Map.Entry<CreateResult, String> createTopic(
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
        if (replicationFactor != -1 && replicationFactor != 1) {
            return Map.entry(
                    CreateResult.INVALID_REPLICATION_FACTOR,
                    "replication factor " + replicationFactor + " is larger than the 1 broker of this cluster");
        }
        String badConfig = TopicConfigs.validate(configs, config.logDefaults());
        if (badConfig != null) {
            return Map.entry(CreateResult.INVALID_CONFIG, badConfig);
        }
        if (topics.get(name) != null) {
            return Map.entry(CreateResult.TOPIC_ALREADY_EXISTS, "topic '" + name + "' already exists");
        }
        if (deleting.contains(name)) {
            // Its logs are still in the log manager: a new topic would take them over, then lose them.
            return Map.entry(
                    CreateResult.TOPIC_ALREADY_EXISTS,
                    "topic '" + name + "' is being deleted; retry when the deletion completes");
        }
        if (validateOnly) {
            return Map.entry(CreateResult.CREATED, "");
        }
        TopicInfo t = new TopicInfo(name, UUID.randomUUID(), n, configs);
        // Logs first: a crash between the two leaves orphan directories, never a topic without logs.
        for (int p = 0; p < n; p++) {
            PartitionId id = new PartitionId(name, p);
            logs.getOrCreate(id, TopicConfigs.toLogConfig(configs, config.logDefaults()));
        }
        topics.create(t);
        for (int p = 0; p < n; p++) {
            openReplica(t, p);
        }
        log.info("created topic {} ({} partitions, id {})", name, n, t.id());
        return Map.entry(CreateResult.CREATED, "");
    }

    /** Creates a topic the way auto-creation does: default partitions and configs. */
    public TopicInfo autoCreate(String name) {
        Map.Entry<CreateResult, String> r = createTopic(name, -1, -1, Map.of(), false);
        if (r.getKey() != CreateResult.CREATED && r.getKey() != CreateResult.TOPIC_ALREADY_EXISTS) {
            return null;
        }
        return topics.get(name);
    }

    /**
     * Changes a topic's config overrides: {@code set} adds or replaces, {@code delete} reverts to
     * the default. Applies to the partitions' logs at once. Returns why it was refused, or null.
     */
    public synchronized String alterTopicConfigs(
            String name, Map<String, String> set, java.util.Set<String> delete, boolean validateOnly) {
        ensureOpen();
        TopicInfo t = topics.get(name);
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
        topics.update(new TopicInfo(name, t.id(), t.partitions(), next));
        io.fjord.storage.LogConfig lc = TopicConfigs.toLogConfig(next, config.logDefaults());
        for (int p = 0; p < t.partitions(); p++) {
            LocalReplica r = replicas.get(new PartitionId(name, p));
            if (r != null) {
                r.partitionLog().updateConfig(lc);
            }
        }
        log.info("topic {} configs now {}", name, next);
        return null;
    }

    /** Grows a topic to {@code total} partitions. Returns why it was refused, or null. */
    public synchronized String createPartitions(String name, int total, boolean validateOnly) {
        ensureOpen();
        TopicInfo t = topics.get(name);
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
        TopicInfo grown = new TopicInfo(name, t.id(), total, t.configs());
        for (int p = t.partitions(); p < total; p++) {
            logs.getOrCreate(new PartitionId(name, p), TopicConfigs.toLogConfig(t.configs(), config.logDefaults()));
        }
        topics.update(grown);
        for (int p = t.partitions(); p < total; p++) {
            openReplica(grown, p);
        }
        log.info("topic {} grown to {} partitions", name, total);
        return null;
    }

    /**
     * Deletes a topic and its data. Completes with false if it did not exist. Never blocks: each
     * partition's files are deleted on its owner thread (the log's single writer), after any
     * append already queued there; the caller may itself be one of the owners.
     */
    public CompletableFuture<Boolean> deleteTopic(String name) {
        List<CompletableFuture<Void>> deletions = new ArrayList<>();
        TopicInfo t;
        synchronized (this) {
            ensureOpen();
            t = topics.delete(name);
            if (t == null) {
                return CompletableFuture.completedFuture(false);
            }
            deleting.add(name);
            for (int p = 0; p < t.partitions(); p++) {
                PartitionId id = new PartitionId(name, p);
                LocalReplica r = replicas.remove(id);
                if (r == null) {
                    continue;
                }
                CompletableFuture<Void> done = new CompletableFuture<>();
                deletions.add(done);
                try {
                    r.owner().execute(() -> {
                        try {
                            r.markClosed();
                            logs.delete(id);
                        } catch (RuntimeException e) {
                            log.error("{}: cannot delete partition data: {}", id, e.toString());
                        } finally {
                            done.complete(null);
                        }
                    });
                } catch (RuntimeException rejected) {
                    done.complete(null); // stopping: the directory stays, the topic is gone
                }
            }
        }
        return CompletableFuture.allOf(deletions.toArray(new CompletableFuture<?>[0]))
                .thenApply(v -> {
                    deleting.remove(name);
                    log.info("deleted topic {}", name);
                    return true;
                });
    }

    private void housekeeping() {
        long nowMs = System.currentTimeMillis();
        for (LocalReplica r : replicas.values()) {
            try {
                r.owner().execute(() -> r.housekeeping(nowMs));
            } catch (RuntimeException e) {
                return; // owners are shutting down
            }
        }
    }

    /**
     * Closes every partition cleanly. Call after the owner executors have stopped (no append can
     * run concurrently), so this thread may act as each log's writer.
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
        for (LocalReplica r : new ArrayList<>(replicas.values())) {
            r.closeOnOwner();
        }
        logs.close();
        log.info("broker closed: {} partitions", replicas.size());
    }

    private void ensureOpen() {
        if (closed) {
            throw new IllegalStateException("broker is closed");
        }
    }

    private static String readOrCreateClusterId(Path metaDir) {
        Path file = metaDir.resolve("cluster-id");
        try {
            if (Files.exists(file)) {
                String id = Files.readString(file, StandardCharsets.UTF_8).trim();
                if (!id.isEmpty()) {
                    return id;
                }
            }
        } catch (IOException e) {
            throw new IllegalStateException("cannot read " + file, e);
        }
        // Kafka's shape: 16 random bytes, URL-safe base64 without padding (22 characters).
        UUID u = UUID.randomUUID();
        java.nio.ByteBuffer b = java.nio.ByteBuffer.allocate(16)
                .putLong(u.getMostSignificantBits())
                .putLong(u.getLeastSignificantBits());
        String id = java.util.Base64.getUrlEncoder().withoutPadding().encodeToString(b.array());
        TopicRegistry.DurableFiles.replace(file, id + "\n");
        return id;
    }
}
