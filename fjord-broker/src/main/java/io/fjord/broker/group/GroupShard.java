package io.fjord.broker.group;

import io.fjord.broker.AppendOutcome;
import io.fjord.broker.BatchScan;
import io.fjord.broker.PartitionReplica;
import io.fjord.storage.RecordBatchBuilder;
import io.fjord.storage.RecordBatchReader;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;
import java.util.function.Function;
import java.util.function.LongSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The groups whose id hashes to one partition of {@code __consumer_offsets}, and their committed
 * offsets. Every method runs on the owner thread of that partition, so group state needs no lock
 * and an offset commit is one append to the partition's log (the same machinery, and soon the same
 * replication, as user data). On start the shard replays the partition to rebuild the offsets.
 *
 * <p>Threads: owned by {@link #owner}; {@link GroupCoordinator} hands every call there.
 */
final class GroupShard {
    private static final Logger log = LoggerFactory.getLogger(GroupShard.class);

    final int partition;
    final Executor owner;
    private final PartitionReplica replica;
    private final GroupConfig config;
    private final LongSupplier clockMs;
    private final Map<String, ClassicGroup> groups = new HashMap<>();
    private final Map<String, Map<GroupResults.TopicPartitionKey, GroupResults.Committed>> offsets = new HashMap<>();
    /** Offset records written (or replayed) since the last compaction. */
    private long recordsSinceCompaction;

    private boolean compacting;
    /** Records per batch when rewriting live offsets: well under the default max batch size. */
    private static final int COMPACTION_BATCH_RECORDS = 2_000;

    GroupShard(int partition, PartitionReplica replica, Executor owner, GroupConfig config, LongSupplier clockMs) {
        this.partition = partition;
        this.replica = replica;
        this.owner = owner;
        this.config = config;
        this.clockMs = clockMs;
    }

    /** Replays the partition's log into the offset cache. Before the shard serves anything. */
    void load() {
        int[] records = {0};
        try {
            BatchScan.forEach(
                    replica::read,
                    replica.logStartOffset(),
                    replica.highWatermark(),
                    (b, pos) -> RecordBatchReader.forEachRecord(b, pos, (offset, ts, key, value) -> {
                        apply(key, value);
                        records[0]++;
                    }));
        } catch (IOException | RuntimeException e) {
            log.error("__consumer_offsets-{}: cannot replay: {}", partition, e.toString());
        }
        recordsSinceCompaction = records[0];
        long nowMs = clockMs.getAsLong();
        offsets.forEach((group, committed) -> {
            ClassicGroup g = new ClassicGroup(group, config, nowMs);
            g.emptySinceMs = committed.values().stream()
                    .mapToLong(GroupResults.Committed::commitTimestampMs)
                    .max()
                    .orElse(nowMs);
            groups.put(group, g);
        });
        if (records[0] > 0) {
            log.info("__consumer_offsets-{}: loaded {} offsets of {} groups", partition, records[0], offsets.size());
        }
    }

    private void apply(ByteBuffer keyBytes, ByteBuffer valueBytes) {
        OffsetRecords.Key key = OffsetRecords.readKey(keyBytes);
        if (key == null) {
            return;
        }
        GroupResults.TopicPartitionKey tp = new GroupResults.TopicPartitionKey(key.topic(), key.partition());
        if (valueBytes == null) {
            Map<GroupResults.TopicPartitionKey, GroupResults.Committed> m = offsets.get(key.group());
            if (m != null) {
                m.remove(tp);
                if (m.isEmpty()) {
                    offsets.remove(key.group());
                }
            }
        } else {
            offsets.computeIfAbsent(key.group(), g -> new HashMap<>()).put(tp, OffsetRecords.readValue(valueBytes));
        }
    }

    CompletableFuture<GroupResults.Join> join(String groupId, ClassicGroup.JoinArgs args) {
        long nowMs = clockMs.getAsLong();
        ClassicGroup g = groups.get(groupId);
        if (g == null) {
            if (!args.memberId().isEmpty()) {
                return done(GroupResults.Join.error(GroupError.UNKNOWN_MEMBER_ID, args.memberId()));
            }
            g = new ClassicGroup(groupId, config, nowMs);
            groups.put(groupId, g);
        }
        return g.join(args, nowMs);
    }

    CompletableFuture<GroupResults.Sync> sync(
            String groupId,
            String memberId,
            String instanceId,
            int generation,
            String protocolType,
            String protocolName,
            Map<String, byte[]> assignments) {
        ClassicGroup g = groups.get(groupId);
        if (g == null) {
            return done(GroupResults.Sync.error(GroupError.UNKNOWN_MEMBER_ID));
        }
        return g.sync(memberId, instanceId, generation, protocolType, protocolName, assignments, clockMs.getAsLong());
    }

    GroupError heartbeat(String groupId, String memberId, String instanceId, int generation) {
        ClassicGroup g = groups.get(groupId);
        return g == null
                ? GroupError.UNKNOWN_MEMBER_ID
                : g.heartbeat(memberId, instanceId, generation, clockMs.getAsLong());
    }

    GroupResults.Leave leave(String groupId, List<GroupResults.LeaveMember> leaving) {
        ClassicGroup g = groups.get(groupId);
        List<GroupResults.LeaveMember> out = new ArrayList<>();
        for (GroupResults.LeaveMember m : leaving) {
            GroupError e = g == null
                    ? GroupError.UNKNOWN_MEMBER_ID
                    : g.leave(m.memberId(), m.groupInstanceId(), clockMs.getAsLong());
            out.add(new GroupResults.LeaveMember(m.memberId(), m.groupInstanceId(), e));
        }
        return new GroupResults.Leave(GroupError.NONE, out);
    }

    CompletableFuture<GroupResults.Commit> commit(
            String groupId,
            String memberId,
            String instanceId,
            int generation,
            Map<GroupResults.TopicPartitionKey, GroupResults.Committed> requested) {
        long nowMs = clockMs.getAsLong();
        ClassicGroup g = groups.get(groupId);
        boolean simple = generation < 0 && (memberId == null || memberId.isEmpty()) && instanceId == null;
        GroupError groupError;
        if (simple) {
            // A consumer that assigns partitions itself commits outside any generation; only an
            // empty group can take that.
            groupError = g != null && g.hasMembers() ? GroupError.UNKNOWN_MEMBER_ID : GroupError.NONE;
        } else {
            groupError =
                    g == null ? GroupError.UNKNOWN_MEMBER_ID : g.checkCommit(memberId, instanceId, generation, nowMs);
        }
        Map<GroupResults.TopicPartitionKey, GroupError> result = new LinkedHashMap<>();
        if (groupError != GroupError.NONE) {
            requested.keySet().forEach(tp -> result.put(tp, groupError));
            return done(new GroupResults.Commit(groupError, result));
        }
        RecordBatchBuilder batch = new RecordBatchBuilder();
        Map<GroupResults.TopicPartitionKey, GroupResults.Committed> toWrite = new LinkedHashMap<>();
        requested.forEach((tp, c) -> {
            if (c.metadata() != null && c.metadata().length() > config.offsetMetadataMaxBytes()) {
                result.put(tp, GroupError.OFFSET_METADATA_TOO_LARGE);
            } else {
                GroupResults.Committed stamped =
                        new GroupResults.Committed(c.offset(), c.leaderEpoch(), c.metadata(), nowMs);
                toWrite.put(tp, stamped);
                batch.add(OffsetRecords.key(groupId, tp.topic(), tp.partition()), OffsetRecords.value(stamped), nowMs);
            }
        });
        if (toWrite.isEmpty()) {
            return done(new GroupResults.Commit(GroupError.NONE, result));
        }
        return replica.append(batch.build()).thenApply(outcome -> {
            boolean ok = outcome instanceof AppendOutcome.Appended;
            if (ok) {
                if (groups.get(groupId) == null) {
                    groups.put(groupId, new ClassicGroup(groupId, config, nowMs));
                }
                offsets.computeIfAbsent(groupId, k -> new HashMap<>()).putAll(toWrite);
                recordsSinceCompaction += toWrite.size();
            } else {
                log.warn("__consumer_offsets-{}: commit for group {} failed: {}", partition, groupId, outcome);
            }
            toWrite.keySet().forEach(tp -> result.put(tp, ok ? GroupError.NONE : GroupError.COORDINATOR_NOT_AVAILABLE));
            return new GroupResults.Commit(GroupError.NONE, result);
        });
    }

    /** Committed offsets of a group: all of them, or those of {@code partitions} that have one. */
    GroupResults.Fetch fetch(String groupId, Collection<GroupResults.TopicPartitionKey> partitions) {
        Map<GroupResults.TopicPartitionKey, GroupResults.Committed> all = offsets.getOrDefault(groupId, Map.of());
        if (partitions == null) {
            return new GroupResults.Fetch(GroupError.NONE, new LinkedHashMap<>(all));
        }
        Map<GroupResults.TopicPartitionKey, GroupResults.Committed> some = new LinkedHashMap<>();
        for (GroupResults.TopicPartitionKey tp : partitions) {
            GroupResults.Committed c = all.get(tp);
            if (c != null) {
                some.put(tp, c);
            }
        }
        return new GroupResults.Fetch(GroupError.NONE, some);
    }

    GroupResults.Described describe(String groupId) {
        ClassicGroup g = groups.get(groupId);
        if (g == null) {
            return new GroupResults.Described(groupId, GroupError.NONE, "Dead", "", "", List.of());
        }
        return g.describe();
    }

    List<GroupResults.Listed> list() {
        List<GroupResults.Listed> out = new ArrayList<>();
        for (ClassicGroup g : groups.values()) {
            out.add(new GroupResults.Listed(
                    g.groupId, g.protocolType == null ? "" : g.protocolType, g.state.kafkaName));
        }
        return out;
    }

    CompletableFuture<GroupError> delete(String groupId) {
        ClassicGroup g = groups.get(groupId);
        if (g == null && !offsets.containsKey(groupId)) {
            return done(GroupError.GROUP_ID_NOT_FOUND);
        }
        if (g != null && g.hasMembers()) {
            return done(GroupError.NON_EMPTY_GROUP);
        }
        Map<GroupResults.TopicPartitionKey, GroupResults.Committed> committed = offsets.getOrDefault(groupId, Map.of());
        if (committed.isEmpty()) {
            groups.remove(groupId);
            return done(GroupError.NONE);
        }
        return tombstones(groupId, committed.keySet()).thenApply(ok -> {
            if (ok) {
                groups.remove(groupId);
            }
            return ok ? GroupError.NONE : GroupError.COORDINATOR_NOT_AVAILABLE;
        });
    }

    /** OffsetDelete: forgets offsets of topics the group's members are not subscribed to. */
    CompletableFuture<Map<GroupResults.TopicPartitionKey, GroupError>> deleteOffsets(
            String groupId,
            List<GroupResults.TopicPartitionKey> partitions,
            Function<byte[], Set<String>> subscriptions) {
        ClassicGroup g = groups.get(groupId);
        Map<GroupResults.TopicPartitionKey, GroupError> result = new LinkedHashMap<>();
        if (g == null && !offsets.containsKey(groupId)) {
            partitions.forEach(tp -> result.put(tp, GroupError.GROUP_ID_NOT_FOUND));
            return done(result);
        }
        java.util.Set<String> subscribed = new java.util.HashSet<>();
        if (g != null && "consumer".equals(g.protocolType) && g.protocolName != null) {
            for (GroupMember m : g.members.values()) {
                byte[] md = m.protocols.get(g.protocolName);
                if (md != null) {
                    subscribed.addAll(subscriptions.apply(md));
                }
            }
        }
        List<GroupResults.TopicPartitionKey> doomed = new ArrayList<>();
        for (GroupResults.TopicPartitionKey tp : partitions) {
            if (subscribed.contains(tp.topic())) {
                result.put(tp, GroupError.GROUP_SUBSCRIBED_TO_TOPIC);
            } else {
                result.put(tp, GroupError.NONE);
                doomed.add(tp);
            }
        }
        Map<GroupResults.TopicPartitionKey, GroupResults.Committed> committed = offsets.getOrDefault(groupId, Map.of());
        List<GroupResults.TopicPartitionKey> present =
                doomed.stream().filter(committed::containsKey).toList();
        if (present.isEmpty()) {
            return done(result);
        }
        return tombstones(groupId, present).thenApply(ok -> {
            if (!ok) {
                present.forEach(tp -> result.put(tp, GroupError.COORDINATOR_NOT_AVAILABLE));
            }
            return result;
        });
    }

    private CompletableFuture<Boolean> tombstones(String groupId, Collection<GroupResults.TopicPartitionKey> tps) {
        long nowMs = clockMs.getAsLong();
        RecordBatchBuilder batch = new RecordBatchBuilder();
        List<GroupResults.TopicPartitionKey> list = List.copyOf(tps);
        for (GroupResults.TopicPartitionKey tp : list) {
            batch.add(OffsetRecords.key(groupId, tp.topic(), tp.partition()), null, nowMs);
        }
        return replica.append(batch.build()).thenApply(outcome -> {
            boolean ok = outcome instanceof AppendOutcome.Appended;
            if (ok) {
                recordsSinceCompaction += list.size();
                Map<GroupResults.TopicPartitionKey, GroupResults.Committed> m = offsets.get(groupId);
                if (m != null) {
                    list.forEach(m::remove);
                    if (m.isEmpty()) {
                        offsets.remove(groupId);
                    }
                }
            }
            return ok;
        });
    }

    /** Deadlines: sessions, rebalances, and the expiry of offsets of long-empty groups. */
    void tick() {
        long nowMs = clockMs.getAsLong();
        List<String> expired = new ArrayList<>();
        for (ClassicGroup g : groups.values()) {
            g.tick(nowMs);
            if (g.isIdle()) {
                if (!offsets.containsKey(g.groupId)) {
                    expired.add(g.groupId);
                } else if (nowMs - g.emptySinceMs >= config.offsetsRetentionMs()) {
                    log.info("group {}: offsets expired after {} ms empty", g.groupId, nowMs - g.emptySinceMs);
                    tombstones(g.groupId, offsets.get(g.groupId).keySet());
                }
            }
        }
        expired.forEach(groups::remove);
        maybeCompact();
    }

    /**
     * Fjord's stand-in for log compaction of {@code __consumer_offsets}: once the partition holds
     * many more records than live offsets, append every live offset again and move the log start
     * to the first of those records, so retention drops everything older. All rewrite batches are
     * queued in one go on this thread, so no commit can land between them with a newer value that
     * a later rewrite batch would then hide on replay. A crash before the log start moves only
     * leaves duplicates that replay in order.
     */
    private void maybeCompact() {
        long live = 0;
        for (Map<GroupResults.TopicPartitionKey, GroupResults.Committed> m : offsets.values()) {
            live += m.size();
        }
        if (compacting || recordsSinceCompaction < Math.max(config.compactionRecords(), 2 * live)) {
            return;
        }
        compacting = true;
        List<ByteBuffer> batches = new ArrayList<>();
        RecordBatchBuilder b = new RecordBatchBuilder();
        long nowMs = clockMs.getAsLong();
        for (Map.Entry<String, Map<GroupResults.TopicPartitionKey, GroupResults.Committed>> g : offsets.entrySet()) {
            for (Map.Entry<GroupResults.TopicPartitionKey, GroupResults.Committed> e :
                    g.getValue().entrySet()) {
                b.add(
                        OffsetRecords.key(
                                g.getKey(), e.getKey().topic(), e.getKey().partition()),
                        OffsetRecords.value(e.getValue()),
                        nowMs);
                if (b.count() == COMPACTION_BATCH_RECORDS) {
                    batches.add(b.build());
                    b = new RecordBatchBuilder();
                }
            }
        }
        if (b.count() > 0) {
            batches.add(b.build());
        }
        long liveCount = live;
        if (batches.isEmpty()) {
            replica.deleteRecordsBefore(-1).whenComplete((start, err) -> finishCompaction(start, err, liveCount));
            return;
        }
        List<CompletableFuture<AppendOutcome>> appends = new ArrayList<>();
        for (ByteBuffer batch : batches) {
            appends.add(replica.append(batch));
        }
        CompletableFuture.allOf(appends.toArray(new CompletableFuture<?>[0]))
                .thenCompose(v -> {
                    if (!(appends.getFirst().join() instanceof AppendOutcome.Appended first)
                            || appends.stream().anyMatch(a -> !(a.join() instanceof AppendOutcome.Appended))) {
                        return CompletableFuture.failedFuture(new IllegalStateException("rewrite append failed"));
                    }
                    return replica.deleteRecordsBefore(first.baseOffset());
                })
                .whenComplete((start, err) -> finishCompaction(start, err, liveCount));
    }

    private void finishCompaction(Long start, Throwable err, long live) {
        compacting = false;
        if (err != null) {
            log.warn("__consumer_offsets-{}: compaction failed: {}", partition, err.toString());
            return;
        }
        log.info("__consumer_offsets-{}: compacted to {} live offsets; log starts at {}", partition, live, start);
        recordsSinceCompaction = live;
    }

    private static <T> CompletableFuture<T> done(T value) {
        return CompletableFuture.completedFuture(value);
    }
}
