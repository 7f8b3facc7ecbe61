package io.fjord.broker;

import io.fjord.raft.ReplicatedStateMachine;
import io.fjord.storage.LogConfig;
import io.fjord.storage.LogManager;
import io.fjord.storage.PartitionId;
import io.fjord.storage.PartitionLog;
import io.fjord.storage.RecordBatchHeader;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Function;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The state machine of one data group: every partition the group carries. Committed entries
 * ({@link GroupEntry}) are applied here, on the group's apply thread, which is the single writer of
 * each partition log: idempotent-producer dedupe, offsets from the log end (so every replica
 * assigns the same), append without fsync. The high watermark is the last applied offset.
 *
 * <p>Which partitions belong to the group is decided by the log alone, so it is the same on every
 * replica: a partition is created by the first entry that names it, and removed by a DELETE_TOPIC
 * entry (its topic id is then remembered, and later entries for it are refused). A marker file in
 * each partition directory ({@value #MARKER}) says which group and topic id own it, so a restart
 * finds them before any entry is replayed.
 *
 * <p>Threads: {@link #apply}, {@link #checkpoint}, {@link #restore} on the apply thread; {@link
 * #partition} and {@link #housekeeping} on any thread. Writers of one partition log (apply,
 * housekeeping, checkpoint) synchronize on its {@link LocalReplica}; readers take no lock.
 */
final class PartitionGroup implements ReplicatedStateMachine {
    private static final Logger log = LoggerFactory.getLogger(PartitionGroup.class);
    static final String MARKER = "raft-group";
    private static final int TOMBSTONES_KEPT = 1000;
    private static final int CHECKPOINT_VERSION = 1;

    /** A partition of this group: its topic id and its local state. */
    record Slot(UUID topicId, LocalReplica replica) {}

    private final int groupNo;
    private final LogManager logs;
    private final Function<PartitionId, LogConfig> configFor;
    private final Listener listener;
    private final Map<PartitionId, Slot> slots = new ConcurrentHashMap<>();
    private final Deque<UUID> tombstones = new ArrayDeque<>();
    private final Set<UUID> tombstoneSet = ConcurrentHashMap.newKeySet();

    /** Leadership events, for the broker (group coordinator shards, metadata). */
    interface Listener {
        void leaderReady(int groupNo, long term);

        void leaderChanged(int groupNo, int leaderNodeId);
    }

    PartitionGroup(int groupNo, LogManager logs, Function<PartitionId, LogConfig> configFor, Listener listener) {
        this.groupNo = groupNo;
        this.logs = logs;
        this.configFor = configFor;
        this.listener = listener;
    }

    int groupNo() {
        return groupNo;
    }

    /** The partition's state here, or null when this group has not seen it. Any thread. */
    Slot partition(PartitionId id) {
        return slots.get(id);
    }

    /**
     * Creates the partition's (empty) log ahead of its first entry, so reads of a new topic answer
     * at once. Any thread; a no-op when it exists or its topic id was deleted.
     */
    Slot ensurePartition(PartitionId id, UUID topicId) {
        if (tombstoneSet.contains(topicId)) {
            return null;
        }
        Slot s = slots.get(id);
        if (s != null) {
            return s;
        }
        synchronized (this) {
            return createSlot(id, topicId);
        }
    }

    private synchronized Slot createSlot(PartitionId id, UUID topicId) {
        Slot s = slots.get(id);
        if (s != null) {
            return s;
        }
        PartitionLog pl = logs.getOrCreate(id, configFor.apply(id));
        if (pl.highWatermark() > pl.logStartOffset() && !ownedByMe(pl.dir(), topicId)) {
            // Data of another topic incarnation or group that a lagging delete has not removed yet.
            log.warn("{}: replacing a partition directory not owned by group {} (topic id {})", id, groupNo, topicId);
            logs.delete(id);
            pl = logs.getOrCreate(id, configFor.apply(id));
        }
        DurableFiles.replace(pl.dir().resolve(MARKER), groupNo + " " + topicId + "\n");
        s = new Slot(topicId, new LocalReplica(id, pl, Runnable::run));
        slots.put(id, s);
        return s;
    }

    private boolean ownedByMe(Path dir, UUID topicId) {
        String[] m = readMarker(dir);
        return m != null && m[0].equals(Integer.toString(groupNo)) && m[1].equals(topicId.toString());
    }

    private static String[] readMarker(Path dir) {
        try {
            String[] parts = Files.readString(dir.resolve(MARKER), StandardCharsets.UTF_8)
                    .trim()
                    .split(" ");
            return parts.length == 2 ? parts : null;
        } catch (IOException e) {
            return null;
        }
    }

    // ---- ReplicatedStateMachine

    @Override
    public void restore(byte[] checkpoint) {
        Map<PartitionId, long[]> ends = new HashMap<>(); // end offset, topic id msb, lsb
        if (checkpoint != null) {
            ByteBuffer b = ByteBuffer.wrap(checkpoint);
            int version = b.getInt();
            if (version != CHECKPOINT_VERSION) {
                throw new IllegalStateException("group " + groupNo + ": unknown checkpoint version " + version);
            }
            int nt = b.getInt();
            for (int i = 0; i < nt; i++) {
                addTombstone(new UUID(b.getLong(), b.getLong()));
            }
            int np = b.getInt();
            for (int i = 0; i < np; i++) {
                byte[] name = new byte[Short.toUnsignedInt(b.getShort())];
                b.get(name);
                int p = b.getInt();
                long msb = b.getLong();
                long lsb = b.getLong();
                long end = b.getLong();
                ends.put(new PartitionId(new String(name, StandardCharsets.UTF_8), p), new long[] {end, msb, lsb});
            }
        }
        for (Map.Entry<PartitionId, PartitionLog> e : logs.logsById().entrySet()) {
            String[] marker = readMarker(e.getValue().dir());
            if (marker == null || !marker[0].equals(Integer.toString(groupNo))) {
                continue;
            }
            PartitionId id = e.getKey();
            PartitionLog pl = e.getValue();
            UUID topicId = UUID.fromString(marker[1]);
            long[] cp = ends.get(id);
            long end;
            if (cp != null && cp[1] == topicId.getMostSignificantBits() && cp[2] == topicId.getLeastSignificantBits()) {
                end = cp[0];
            } else {
                end = 0; // created after the checkpoint: every entry of it is replayed
            }
            if (pl.highWatermark() > end) {
                log.info(
                        "{}: truncating {} -> {} to replay group {} from its checkpoint",
                        id,
                        pl.highWatermark(),
                        end,
                        groupNo);
                pl.truncateTo(end);
            } else if (pl.highWatermark() < end) {
                log.error(
                        "{}: log ends at {} but the checkpoint of group {} says {}: data lost below the checkpoint",
                        id,
                        pl.highWatermark(),
                        groupNo,
                        end);
            }
            slots.put(id, new Slot(topicId, new LocalReplica(id, pl, Runnable::run)));
        }
        log.info("group {}: restored {} partitions", groupNo, slots.size());
    }

    @Override
    public byte[] apply(long index, long term, ByteBuffer entry) {
        GroupEntry.Decoded d = GroupEntry.decode(entry);
        if (d == null) {
            log.warn("group {}: malformed entry at index {} ignored", groupNo, index);
            return GroupEntry.failed(ProduceError.CORRUPT_MESSAGE, "malformed replicated entry");
        }
        try {
            return switch (d.type()) {
                case GroupEntry.APPEND -> applyAppend(d, term);
                case GroupEntry.DELETE_RECORDS -> applyDeleteRecords(d);
                case GroupEntry.DELETE_TOPIC -> applyDeleteTopic(d);
                default -> GroupEntry.failed(ProduceError.CORRUPT_MESSAGE, "unknown entry type " + d.type());
            };
        } catch (RuntimeException e) {
            log.error("group {}: applying entry {} for {} failed", groupNo, index, d.partition(), e);
            return GroupEntry.failed(ProduceError.KAFKA_STORAGE_ERROR, e.toString());
        }
    }

    private Slot slotForEntry(GroupEntry.Decoded d) {
        if (tombstoneSet.contains(d.topicId())) {
            return null;
        }
        Slot s = slots.get(d.partition());
        if (s == null) {
            s = createSlot(d.partition(), d.topicId());
        }
        return s.topicId().equals(d.topicId()) ? s : null;
    }

    private byte[] applyAppend(GroupEntry.Decoded d, long term) {
        Slot s = slotForEntry(d);
        if (s == null) {
            return GroupEntry.failed(
                    ProduceError.UNKNOWN_TOPIC_OR_PARTITION, "topic of " + d.partition() + " was deleted");
        }
        // A private, writable copy: the log rewrites the base offset in place.
        ByteBuffer batch = ByteBuffer.allocate(d.body().remaining());
        batch.put(d.body().duplicate()).flip();
        if (batch.remaining() > RecordBatchHeader.PARTITION_LEADER_EPOCH_OFFSET + 4) {
            batch.putInt(RecordBatchHeader.PARTITION_LEADER_EPOCH_OFFSET, (int) term);
        }
        AppendOutcome outcome;
        synchronized (s.replica()) {
            outcome = s.replica().onAppend(batch);
        }
        return GroupEntry.reply(outcome);
    }

    private byte[] applyDeleteRecords(GroupEntry.Decoded d) {
        Slot s = slotForEntry(d);
        if (s == null) {
            return GroupEntry.failed(
                    ProduceError.UNKNOWN_TOPIC_OR_PARTITION, "topic of " + d.partition() + " was deleted");
        }
        long offset = d.body().getLong(0);
        synchronized (s.replica()) {
            PartitionLog pl = s.replica().partitionLog();
            long hw = pl.highWatermark();
            long target = offset == -1 ? hw : offset;
            if (target < 0 || target > hw) {
                return GroupEntry.failed(
                        ProduceError.INVALID_RECORD, "offset " + offset + " is above the high watermark " + hw);
            }
            return GroupEntry.okLogStart(pl.advanceLogStartOffset(target));
        }
    }

    private byte[] applyDeleteTopic(GroupEntry.Decoded d) {
        addTombstone(d.topicId());
        for (Map.Entry<PartitionId, Slot> e : new ArrayList<>(slots.entrySet())) {
            if (e.getValue().topicId().equals(d.topicId())) {
                drop(e.getKey(), e.getValue());
            }
        }
        return GroupEntry.okLogStart(0);
    }

    /** Forgets a partition and deletes its log, excluding its other writers while doing so. */
    private void drop(PartitionId id, Slot s) {
        synchronized (s.replica()) {
            slots.remove(id);
            s.replica().markClosed();
            logs.delete(id);
        }
    }

    private void addTombstone(UUID id) {
        if (tombstoneSet.add(id)) {
            tombstones.addLast(id);
            while (tombstones.size() > TOMBSTONES_KEPT) {
                tombstoneSet.remove(tombstones.removeFirst());
            }
        }
    }

    @Override
    public byte[] checkpoint(long index) {
        List<Object[]> parts = new ArrayList<>();
        for (Map.Entry<PartitionId, Slot> e : slots.entrySet()) {
            LocalReplica r = e.getValue().replica();
            long end;
            synchronized (r) {
                PartitionLog pl = r.partitionLog();
                pl.flush();
                r.snapshotProducers();
                end = pl.highWatermark();
            }
            parts.add(new Object[] {e.getKey(), e.getValue().topicId(), end});
        }
        int size = 4 + 4 + tombstones.size() * 16 + 4;
        for (Object[] p : parts) {
            size += 2 + ((PartitionId) p[0]).topic().length() * 4 + 4 + 16 + 8;
        }
        ByteBuffer b = ByteBuffer.allocate(size);
        b.putInt(CHECKPOINT_VERSION);
        b.putInt(tombstones.size());
        for (UUID t : tombstones) {
            b.putLong(t.getMostSignificantBits()).putLong(t.getLeastSignificantBits());
        }
        b.putInt(parts.size());
        for (Object[] p : parts) {
            PartitionId id = (PartitionId) p[0];
            UUID tid = (UUID) p[1];
            byte[] name = id.topic().getBytes(StandardCharsets.UTF_8);
            b.putShort((short) name.length).put(name).putInt(id.partition());
            b.putLong(tid.getMostSignificantBits()).putLong(tid.getLeastSignificantBits());
            b.putLong((Long) p[2]);
        }
        byte[] out = new byte[b.position()];
        b.flip().get(out);
        return out;
    }

    @Override
    public void leaderReady(long term) {
        listener.leaderReady(groupNo, term);
    }

    @Override
    public void leaderChanged(int leaderNodeId, long term) {
        listener.leaderChanged(groupNo, leaderNodeId);
    }

    /** Time-based flush, retention, producer snapshots of every partition. Any thread. */
    void housekeeping(long nowMs) {
        for (Slot s : slots.values()) {
            synchronized (s.replica()) {
                s.replica().housekeeping(nowMs);
            }
        }
    }

    void updateConfig(PartitionId id, LogConfig config) {
        Slot s = slots.get(id);
        if (s != null) {
            synchronized (s.replica()) {
                s.replica().partitionLog().updateConfig(config);
            }
        }
    }

    /** Topic ids this group still holds, for the broker's view. */
    Set<UUID> topicIds() {
        Set<UUID> out = new LinkedHashSet<>();
        slots.values().forEach(s -> out.add(s.topicId()));
        return out;
    }

    /** This node left the group: close and delete every partition log the group carried here. */
    void deleteAllPartitions() {
        for (Map.Entry<PartitionId, Slot> e : new ArrayList<>(slots.entrySet())) {
            drop(e.getKey(), e.getValue());
        }
        for (Map.Entry<PartitionId, PartitionLog> e : logs.logsById().entrySet()) {
            String[] m = readMarker(e.getValue().dir());
            if (m != null && m[0].equals(Integer.toString(groupNo))) {
                logs.delete(e.getKey());
            }
        }
    }

    @Override
    public void close() {
        for (Slot s : slots.values()) {
            synchronized (s.replica()) {
                s.replica().closeOnOwner();
            }
        }
    }
}
