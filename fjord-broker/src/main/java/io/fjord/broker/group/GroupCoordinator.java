package io.fjord.broker.group;

import io.fjord.broker.PartitionReplica;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReferenceArray;
import java.util.function.Function;
import java.util.function.LongSupplier;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The classic consumer-group coordinator. A group lives in the {@link GroupShard} of partition
 * {@code hash(groupId) mod N} of {@code __consumer_offsets}; every call is handed to that shard's
 * owner thread (message passing, no locks) and answers with a future. Free of Kafka types: the
 * wire layer translates requests and responses.
 *
 * <p>Threads: any thread may call; state lives on the shards' owner threads.
 */
public final class GroupCoordinator implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(GroupCoordinator.class);
    public static final String OFFSETS_TOPIC = "__consumer_offsets";

    private final GroupConfig config;
    private final LongSupplier clockMs;
    /** The shard of each offsets partition this node leads; null elsewhere (or while loading). */
    private final AtomicReferenceArray<GroupShard> shards;
    /** The replica each partition's shard was (or is being) loaded from, to make activation idempotent. */
    private final PartitionReplica[] loadedFrom;

    private final ScheduledFuture<?> ticker;
    private volatile Function<byte[], Set<String>> subscriptionDecoder = md -> Set.of();

    /**
     * Builds the coordinator for {@code partitions} offsets partitions, none of them served yet:
     * {@link #activate} a shard when this node leads its partition. Starts the deadline ticks on
     * {@code timer}.
     */
    public GroupCoordinator(GroupConfig config, int partitions, ScheduledExecutorService timer, LongSupplier clockMs) {
        this.config = config;
        this.clockMs = clockMs;
        this.shards = new AtomicReferenceArray<>(partitions);
        this.loadedFrom = new PartitionReplica[partitions];
        this.ticker = timer.scheduleWithFixedDelay(
                () -> {
                    for (int p = 0; p < shards.length(); p++) {
                        GroupShard s = shards.get(p);
                        if (s == null) {
                            continue;
                        }
                        try {
                            s.owner.execute(s::tick);
                        } catch (RuntimeException e) {
                            return; // owners stopping
                        }
                    }
                },
                config.tickIntervalMs(),
                config.tickIntervalMs(),
                TimeUnit.MILLISECONDS);
    }

    /**
     * Starts serving the groups of offsets partition {@code p} from {@code replica} (which this
     * node now leads): replays it on {@code owner}, then serves. A no-op if already serving from
     * that replica.
     */
    public synchronized void activate(int p, PartitionReplica replica, Executor owner) {
        if (loadedFrom[p] == replica) {
            return;
        }
        loadedFrom[p] = replica;
        shards.set(p, null);
        GroupShard s = new GroupShard(p, replica, owner, config, clockMs);
        owner.execute(() -> {
            s.load();
            synchronized (this) {
                if (loadedFrom[p] == replica) {
                    shards.set(p, s);
                    log.info("{}-{}: coordinator shard serving", OFFSETS_TOPIC, p);
                }
            }
        });
    }

    /** Stops serving the groups of offsets partition {@code p} (this node no longer leads it). */
    public synchronized void deactivate(int p) {
        if (loadedFrom[p] == null) {
            return;
        }
        loadedFrom[p] = null;
        shards.set(p, null);
        log.info("{}-{}: coordinator shard stopped (not the leader)", OFFSETS_TOPIC, p);
    }

    /** Whether this node serves the groups of offsets partition {@code p} right now. */
    public boolean serves(int p) {
        return shards.get(p) != null;
    }

    public GroupConfig config() {
        return config;
    }

    /** Decodes a "consumer" protocol member's subscribed topics (set by the wire layer). */
    public void setSubscriptionDecoder(Function<byte[], Set<String>> decoder) {
        this.subscriptionDecoder = decoder;
    }

    /** The offsets partition that coordinates {@code groupId}. */
    public int partitionFor(String groupId) {
        return Math.floorMod(groupId.hashCode(), shards.length());
    }

    public CompletableFuture<GroupResults.Join> join(
            String groupId,
            String memberId,
            String groupInstanceId,
            String clientId,
            String clientHost,
            int sessionTimeoutMs,
            int rebalanceTimeoutMs,
            String protocolType,
            Map<String, byte[]> protocols,
            boolean requireKnownMemberId) {
        if (groupId == null || groupId.isEmpty()) {
            return CompletableFuture.completedFuture(GroupResults.Join.error(GroupError.INVALID_GROUP_ID, memberId));
        }
        ClassicGroup.JoinArgs args = new ClassicGroup.JoinArgs(
                memberId == null ? "" : memberId,
                groupInstanceId,
                clientId == null ? "" : clientId,
                clientHost,
                sessionTimeoutMs,
                rebalanceTimeoutMs,
                protocolType,
                protocols,
                requireKnownMemberId);
        return onShard(
                groupId,
                s -> s.join(groupId, args),
                () -> GroupResults.Join.error(GroupError.COORDINATOR_NOT_AVAILABLE, memberId));
    }

    public CompletableFuture<GroupResults.Sync> sync(
            String groupId,
            String memberId,
            String groupInstanceId,
            int generation,
            String protocolType,
            String protocolName,
            Map<String, byte[]> assignments) {
        if (groupId == null || groupId.isEmpty()) {
            return CompletableFuture.completedFuture(GroupResults.Sync.error(GroupError.INVALID_GROUP_ID));
        }
        return onShard(
                groupId,
                s -> s.sync(groupId, memberId, groupInstanceId, generation, protocolType, protocolName, assignments),
                () -> GroupResults.Sync.error(GroupError.COORDINATOR_NOT_AVAILABLE));
    }

    public CompletableFuture<GroupError> heartbeat(
            String groupId, String memberId, String groupInstanceId, int generation) {
        if (groupId == null || groupId.isEmpty()) {
            return CompletableFuture.completedFuture(GroupError.INVALID_GROUP_ID);
        }
        return onShard(
                groupId,
                s -> CompletableFuture.completedFuture(s.heartbeat(groupId, memberId, groupInstanceId, generation)),
                () -> GroupError.COORDINATOR_NOT_AVAILABLE);
    }

    public CompletableFuture<GroupResults.Leave> leave(String groupId, List<GroupResults.LeaveMember> members) {
        return onShard(
                groupId,
                s -> CompletableFuture.completedFuture(s.leave(groupId, members)),
                () -> new GroupResults.Leave(GroupError.COORDINATOR_NOT_AVAILABLE, List.of()));
    }

    public CompletableFuture<GroupResults.Commit> commit(
            String groupId,
            String memberId,
            String groupInstanceId,
            int generation,
            Map<GroupResults.TopicPartitionKey, GroupResults.Committed> offsets) {
        if (groupId == null || groupId.isEmpty()) {
            return CompletableFuture.completedFuture(new GroupResults.Commit(GroupError.INVALID_GROUP_ID, Map.of()));
        }
        return onShard(
                groupId,
                s -> s.commit(groupId, memberId, groupInstanceId, generation, offsets),
                () -> new GroupResults.Commit(GroupError.COORDINATOR_NOT_AVAILABLE, Map.of()));
    }

    public CompletableFuture<GroupResults.Fetch> fetch(
            String groupId, Collection<GroupResults.TopicPartitionKey> partitions) {
        if (groupId == null || groupId.isEmpty()) {
            return CompletableFuture.completedFuture(new GroupResults.Fetch(GroupError.INVALID_GROUP_ID, Map.of()));
        }
        return onShard(
                groupId,
                s -> CompletableFuture.completedFuture(s.fetch(groupId, partitions)),
                () -> new GroupResults.Fetch(GroupError.COORDINATOR_NOT_AVAILABLE, Map.of()));
    }

    public CompletableFuture<GroupResults.Described> describe(String groupId) {
        return onShard(
                groupId,
                s -> CompletableFuture.completedFuture(s.describe(groupId)),
                () -> new GroupResults.Described(
                        groupId, GroupError.COORDINATOR_NOT_AVAILABLE, "Dead", "", "", List.of()));
    }

    /** Every group of every shard. */
    public CompletableFuture<List<GroupResults.Listed>> list() {
        List<CompletableFuture<List<GroupResults.Listed>>> parts = new ArrayList<>();
        for (int p = 0; p < shards.length(); p++) {
            GroupShard s = shards.get(p);
            if (s != null) {
                parts.add(onShard(s, () -> CompletableFuture.completedFuture(s.list()), List::of));
            }
        }
        return CompletableFuture.allOf(parts.toArray(new CompletableFuture<?>[0]))
                .thenApply(v -> {
                    List<GroupResults.Listed> all = new ArrayList<>();
                    parts.forEach(p -> all.addAll(p.join()));
                    return all;
                });
    }

    public CompletableFuture<GroupError> delete(String groupId) {
        return onShard(groupId, s -> s.delete(groupId), () -> GroupError.COORDINATOR_NOT_AVAILABLE);
    }

    public CompletableFuture<Map<GroupResults.TopicPartitionKey, GroupError>> deleteOffsets(
            String groupId, List<GroupResults.TopicPartitionKey> partitions) {
        Function<byte[], Set<String>> decoder = subscriptionDecoder;
        return onShard(groupId, s -> s.deleteOffsets(groupId, partitions, decoder), Map::of);
    }

    private <T> CompletableFuture<T> onShard(
            String groupId, Function<GroupShard, CompletableFuture<T>> op, Supplier<T> unavailable) {
        GroupShard s = shards.get(partitionFor(groupId));
        if (s == null) {
            return CompletableFuture.completedFuture(unavailable.get());
        }
        return onShard(s, () -> op.apply(s), unavailable);
    }

    private static <T> CompletableFuture<T> onShard(
            GroupShard s, Supplier<CompletableFuture<T>> op, Supplier<T> unavailable) {
        CompletableFuture<T> result = new CompletableFuture<>();
        try {
            s.owner.execute(() -> {
                try {
                    op.get().whenComplete((v, e) -> {
                        if (e != null) {
                            log.error("group operation failed", e);
                            result.complete(unavailable.get());
                        } else {
                            result.complete(v);
                        }
                    });
                } catch (RuntimeException e) {
                    log.error("group operation failed", e);
                    result.complete(unavailable.get());
                }
            });
        } catch (RuntimeException rejected) {
            result.complete(unavailable.get());
        }
        return result;
    }

    @Override
    public void close() {
        ticker.cancel(false);
    }
}
