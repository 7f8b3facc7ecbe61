package io.fjord.broker;

import io.fjord.broker.GroupJournal.Written;
import io.fjord.raft.ReplicatedStateMachine;
import io.fjord.storage.AppendResult;
import io.fjord.storage.LogCleaner;
import io.fjord.storage.LogConfig;
import io.fjord.storage.LogManager;
import io.fjord.storage.LogSlice;
import io.fjord.storage.PartitionId;
import io.fjord.storage.PartitionLog;
import io.fjord.storage.ReadResult;
import io.fjord.storage.RecordBatchHeader;
import io.fjord.storage.StorageException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.NavigableMap;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentSkipListMap;
import java.util.function.Function;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The state machine of one data group: every partition the group carries.
 *
 * <p>Produce batches are entries with data ({@link ReplicatedStateMachine#write}): as an entry is
 * appended to the Raft log, on every replica and in log order, its batch goes through
 * idempotent-producer dedupe and is appended to the partition log <em>ahead of the high
 * watermark</em>, with offsets from the log end (so every replica assigns the same). The Raft log
 * holds only a small header. When the entry commits and is applied, the partition's high watermark
 * moves over the batch and fetches see it. A new leader that overwrites uncommitted entries makes
 * the replica take those writes back ({@link #truncate}). So each batch is written once per replica.
 * The {@link GroupJournal} records where each entry's batch went: restart recovery uses it to match
 * partition logs with the Raft log, and a leader uses it to read an entry back for a follower.
 *
 * <p>Which partitions belong to the group is decided by the log alone, so it is the same on every
 * replica: a partition is created by the first entry that names it, and removed by a DELETE_TOPIC
 * entry, also written in log order (its topic id is then remembered, and later entries for it are
 * refused). A marker file in each partition directory ({@value #MARKER}) says which group and topic
 * id own it, so a restart finds them before any entry is replayed.
 *
 * <p>Entries are named by ids that follow log order (several per Raft entry, see {@link
 * ReplicatedStateMachine}); parameters and journal fields called {@code index} hold such ids.
 *
 * <p>Threads: {@link #write}, {@link #truncate}, {@link #reconcile} on a Raft thread, one at a time
 * (and synchronized on this); {@link #apply}, {@link #checkpoint}, {@link #restore} on the apply
 * thread; {@link #read}, {@link #partition} and {@link #housekeeping} on any thread. Writers of one
 * partition log synchronize on its {@link LocalReplica}; readers take no lock.
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
    /** What each entry with data did here, by Raft index (see {@link GroupJournal}). */
    private final ConcurrentSkipListMap<Long, Written> written = new ConcurrentSkipListMap<>();
    /** At least the highest id in {@link #written} (its last key, without a walk of the map). */
    private long lastWrittenId = -1;

    private GroupJournal journal;
    /** The group's own directory (journal, solo note). */
    private Path stateDir;
    /** The solo note is there: solo writes may be ahead of the Raft log (see {@link #beginSolo}). */
    private volatile boolean soloNoted;

    private long restoredId;
    private boolean reconciled; // guarded by this

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

    /** The partition's slot, created if need be; null when its topic id was deleted. */
    private synchronized Slot createSlot(PartitionId id, UUID topicId) {
        Slot s = slots.get(id);
        if (s != null) {
            return s;
        }
        if (tombstoneSet.contains(topicId)) {
            return null; // a solo write that raced the topic's deletion
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

    /** A partition as a checkpoint describes it: its topic id and committed end. */
    private record CheckpointedPartition(UUID topicId, long end) {}

    /** Reads a checkpoint: adds its tombstones, returns its partitions. */
    private Map<PartitionId, CheckpointedPartition> readCheckpoint(byte[] checkpoint) {
        Map<PartitionId, CheckpointedPartition> parts = new LinkedHashMap<>();
        if (checkpoint == null) {
            return parts;
        }
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
            UUID topicId = new UUID(b.getLong(), b.getLong());
            long end = b.getLong();
            parts.put(
                    new PartitionId(new String(name, StandardCharsets.UTF_8), p),
                    new CheckpointedPartition(topicId, end));
        }
        return parts;
    }

    @Override
    public void restore(byte[] checkpoint, long lastId, Path stateDir) {
        restoredId = lastId;
        Map<PartitionId, CheckpointedPartition> ends = readCheckpoint(checkpoint);
        this.stateDir = stateDir;
        journal = new GroupJournal(stateDir);
        soloNoted = Files.exists(stateDir.resolve(SOLO_NOTE));
        if (soloNoted) {
            log.info("group {}: was taking solo writes: keeps everything its partition logs hold", groupNo);
        }
        // Where each partition's writes after the checkpoint ended, by the journal (per topic id:
        // a partition of a deleted topic's name may have been recreated since).
        Map<String, Long> writeEnds = new HashMap<>();
        for (Written w : journal.load()) {
            written.put(w.index(), w);
            lastWrittenId = Math.max(lastWrittenId, w.index());
            if (w.index() <= lastId) {
                continue;
            }
            if (w.movesEnd()) {
                writeEnds.merge(w.partition() + "/" + w.topicId(), w.next(), Math::max);
            } else if (w.type() == GroupEntry.DELETE_TOPIC) {
                addTombstone(w.topicId());
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
            if (tombstoneSet.contains(topicId)) {
                logs.delete(id); // deleted by an entry written before the crash, not yet removed
                continue;
            }
            CheckpointedPartition cp = ends.get(id);
            long committed = cp != null && cp.topicId().equals(topicId) ? cp.end() : 0; // 0: created after it
            long writeEnd = Math.max(committed, writeEnds.getOrDefault(id + "/" + topicId, committed));
            if (soloNoted) {
                // Solo writes have no Raft entries, and this node was the only voter: every record
                // the log holds was written alone here and counts (as on a Kafka broker).
                committed = Math.max(committed, pl.logEndOffset());
                writeEnd = committed;
            }
            if (pl.logEndOffset() > writeEnd) {
                log.info(
                        "{}: cutting {} -> {}: written, but its Raft entry was not (group {})",
                        id,
                        pl.logEndOffset(),
                        writeEnd,
                        groupNo);
                pl.truncateTo(writeEnd);
            } else if (pl.logEndOffset() < writeEnd) {
                log.error(
                        "{}: log ends at {} but group {} wrote up to {}: records lost (power loss without fsync?)",
                        id,
                        pl.logEndOffset(),
                        groupNo,
                        writeEnd);
            }
            pl.hideFrom(committed); // the rest becomes readable as its entries are applied again
            slots.put(id, new Slot(topicId, new LocalReplica(id, pl, Runnable::run)));
        }
        log.info("group {}: restored {} partitions, {} journal records", groupNo, slots.size(), written.size());
    }

    @Override
    public void reconcile(EntryTerms terms) {
        List<Written> candidates;
        synchronized (this) {
            if (reconciled) {
                return;
            }
            candidates = new ArrayList<>(written.tailMap(restoredId, false).values());
        }
        long firstStale = -1;
        for (Written w : candidates) { // no lock held: the lookups take Raft's log lock
            if (terms.termOf(w.index()) != w.term()) {
                firstStale = w.index();
                break;
            }
        }
        synchronized (this) {
            if (reconciled) {
                return;
            }
            if (firstStale >= 0) {
                log.info(
                        "group {}: entries from {} were written but are not in the Raft log: undoing",
                        groupNo,
                        firstStale);
                truncate(firstStale);
            }
            reconciled = true;
        }
    }

    @Override
    public synchronized void write(long index, long term, ByteBuffer header, ByteBuffer data, boolean local) {
        if (lastWrittenId >= index) {
            truncate(index); // a rewrite of the log from here (not reported separately)
        }
        Written w = writeEntry(index, term, header, data, local);
        journal.append(w);
        written.put(index, w);
        lastWrittenId = index;
    }

    private Written writeEntry(long index, long term, ByteBuffer header, ByteBuffer data, boolean local) {
        GroupEntry.Decoded d = GroupEntry.decode(header);
        if (d == null) {
            log.warn("group {}: malformed entry at index {} ignored", groupNo, index);
            return new Written(
                    index,
                    term,
                    (byte) 0,
                    new PartitionId("-", 0),
                    new UUID(0, 0),
                    -1,
                    -1,
                    0,
                    GroupEntry.failed(ProduceError.CORRUPT_MESSAGE, "malformed entry"));
        }
        if (d.type() == GroupEntry.DELETE_TOPIC) {
            deleteTopic(d.topicId());
            return nothingStored(index, term, d, GroupEntry.okLogStart(0));
        }
        if (d.type() != GroupEntry.APPEND) {
            return nothingStored(
                    index, term, d, GroupEntry.failed(ProduceError.CORRUPT_MESSAGE, "unknown entry type " + d.type()));
        }
        ByteBuffer batch = data;
        long leaderBase = -1;
        if (!local) {
            switch (GroupEntry.payloadKind(data)) {
                case GroupEntry.PAYLOAD_VERDICT -> {
                    return nothingStored(index, term, d, GroupEntry.payloadBody(data));
                }
                case GroupEntry.PAYLOAD_GAP -> {
                    return writeGap(index, term, d, data.getLong(data.position() + 4));
                }
                case GroupEntry.PAYLOAD_BATCH -> {
                    // Stored by the leader: offsets and epoch are normally the ones this replica
                    // assigns, so the bytes are written as they arrive (see stamp).
                    batch = data.slice(data.position() + 4, data.remaining() - 4);
                    leaderBase = RecordBatchHeader.baseOffset(batch, 0);
                }
                default -> {
                    // a raw batch, from a submitter on another node
                }
            }
        }
        Slot s = slotForEntry(d);
        if (s == null) {
            return nothingStored(index, term, d, GroupEntry.topicDeleted(d.partition()));
        }
        int size = batch.remaining();
        batch = stamp(batch, term, s.replica().partitionLog().logEndOffset());
        AppendOutcome outcome;
        synchronized (s.replica()) {
            outcome = s.replica().onAppendAhead(batch);
        }
        if (outcome instanceof AppendOutcome.Appended a && !a.duplicate()) {
            if (leaderBase >= 0 && leaderBase != a.baseOffset()) {
                log.error(
                        "{}: replica diverged: the leader wrote entry {} at offset {}, this replica at {}",
                        d.partition(),
                        index,
                        leaderBase,
                        a.baseOffset());
            }
            return new Written( // the slot's own id objects: a Written lives until a checkpoint
                    index,
                    term,
                    d.type(),
                    s.replica().id(),
                    s.topicId(),
                    a.baseOffset(),
                    a.lastOffset() + 1,
                    size,
                    GroupEntry.reply(a));
        }
        return nothingStored(index, term, d, GroupEntry.reply(outcome));
    }

    /** The leader no longer has an entry's records (retention or DeleteRecords removed them). */
    private Written writeGap(long index, long term, GroupEntry.Decoded d, long next) {
        Slot s = slotForEntry(d);
        if (s == null) {
            return nothingStored(index, term, d, GroupEntry.topicDeleted(d.partition()));
        }
        long before;
        synchronized (s.replica()) {
            before = s.replica().partitionLog().logEndOffset();
            if (before < next) {
                log.warn(
                        "{}: the leader no longer has records [{}, {}): this replica's log restarts at {}",
                        d.partition(),
                        before,
                        next,
                        next);
                s.replica().restartAt(next);
            }
        }
        return new Written(
                index,
                term,
                d.type(),
                s.replica().id(),
                s.topicId(),
                before,
                next,
                Written.GAP,
                GroupEntry.okAppend(new AppendOutcome.Appended(before, next - 1, next, false)));
    }

    /**
     * The batch as the log will store it: leader epoch = {@code term}, base offset = {@code
     * logEnd}. A buffer that already says so is returned as it is (read-only is fine: the log then
     * rewrites nothing); otherwise a read-only one is copied first. Too short for a header: as it is
     * (the log refuses it).
     */
    private static ByteBuffer stamp(ByteBuffer batch, long term, long logEnd) {
        if (batch.remaining() < RecordBatchHeader.HEADER_SIZE) {
            return batch;
        }
        int at = batch.position();
        if (batch.getInt(at + RecordBatchHeader.PARTITION_LEADER_EPOCH_OFFSET) == (int) term
                && RecordBatchHeader.baseOffset(batch, at) == logEnd) {
            return batch;
        }
        ByteBuffer b = batch.isReadOnly() ? copyOf(batch) : batch;
        b.putInt(b.position() + RecordBatchHeader.PARTITION_LEADER_EPOCH_OFFSET, (int) term);
        return b;
    }

    private static Written nothingStored(long index, long term, GroupEntry.Decoded d, byte[] reply) {
        return new Written(index, term, d.type(), d.partition(), d.topicId(), -1, -1, 0, reply);
    }

    private static ByteBuffer copyOf(ByteBuffer data) {
        ByteBuffer b = ByteBuffer.allocate(data.remaining());
        b.put(data.duplicate()).flip();
        return b;
    }

    @Override
    public ByteBuffer read(long index, ByteBuffer header) {
        Written w = written.get(index);
        if (w == null) {
            throw new IllegalStateException("group " + groupNo + ": no record of entry " + index);
        }
        if (w.sizeBytes() == Written.GAP) {
            return GroupEntry.gapPayload(w.next());
        }
        if (!w.stored()) {
            return GroupEntry.verdictPayload(w.reply());
        }
        Slot s = slots.get(w.partition());
        if (s == null || !s.topicId().equals(w.topicId())) {
            return GroupEntry.verdictPayload(GroupEntry.topicDeleted(w.partition()));
        }
        ReadResult r = s.replica().partitionLog().readAhead(w.base(), w.sizeBytes());
        if (r instanceof LogSlice slice) {
            try (slice) {
                if (slice.firstBatchOffset() == w.base() && slice.length() == w.sizeBytes()) {
                    ByteBuffer out = GroupEntry.batchPayload(w.sizeBytes());
                    slice.readInto(out);
                    return out.flip();
                }
            } catch (IOException e) {
                throw new StorageException(
                        "cannot read entry " + index + " back",
                        s.replica().partitionLog().dir(),
                        e);
            }
        }
        return GroupEntry.gapPayload(w.next()); // retention or DeleteRecords removed the records
    }

    @Override
    public synchronized void truncate(long index) {
        NavigableMap<Long, Written> gone = written.tailMap(index, true);
        if (gone.isEmpty()) {
            return;
        }
        Map<PartitionId, Written> firstPerPartition = new LinkedHashMap<>();
        for (Written w : gone.values()) {
            if (w.movesEnd()) {
                firstPerPartition.putIfAbsent(w.partition(), w);
            }
        }
        for (Written w : firstPerPartition.values()) {
            Slot s = slots.get(w.partition());
            if (s != null && s.topicId().equals(w.topicId())) {
                synchronized (s.replica()) {
                    s.replica().truncateAhead(w.base());
                }
            }
        }
        log.info("group {}: took back {} entries written from index {}", groupNo, gone.size(), index);
        gone.clear();
        lastWrittenId = index - 1;
        journal.appendTruncate(index);
    }

    @Override
    public void flush(long index) {
        for (Slot s : slots.values()) {
            synchronized (s.replica()) {
                s.replica().partitionLog().flush();
            }
        }
        synchronized (this) {
            journal.force();
        }
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
                case GroupEntry.APPEND, GroupEntry.DELETE_TOPIC -> applyWritten(index);
                case GroupEntry.DELETE_RECORDS -> applyDeleteRecords(d);
                default -> GroupEntry.failed(ProduceError.CORRUPT_MESSAGE, "unknown entry type " + d.type());
            };
        } catch (RuntimeException e) {
            log.error("group {}: applying entry {} for {} failed", groupNo, index, d.partition(), e);
            return GroupEntry.failed(ProduceError.KAFKA_STORAGE_ERROR, e.toString());
        }
    }

    /** A committed entry with data: its records (written ahead) become readable. */
    private byte[] applyWritten(long index) {
        Written w = written.get(index);
        if (w == null) {
            log.error("group {}: committed entry {} was never written here", groupNo, index);
            return GroupEntry.failed(ProduceError.KAFKA_STORAGE_ERROR, "entry " + index + " was not written here");
        }
        if (w.movesEnd()) {
            Slot s = slots.get(w.partition());
            if (s != null && s.topicId().equals(w.topicId())) {
                synchronized (s.replica()) {
                    long end = s.replica().partitionLog().logEndOffset();
                    s.replica().commitTo(Math.min(w.next(), end));
                }
            }
        }
        return w.reply();
    }

    private Slot slotForEntry(GroupEntry.Decoded d) {
        if (tombstoneSet.contains(d.topicId())) {
            return null;
        }
        Slot s = slots.get(d.partition());
        if (s == null) {
            s = createSlot(d.partition(), d.topicId());
        }
        return s != null && s.topicId().equals(d.topicId()) ? s : null;
    }

    private byte[] applyDeleteRecords(GroupEntry.Decoded d) {
        Slot s = slotForEntry(d);
        if (s == null) {
            return GroupEntry.topicDeleted(d.partition());
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

    /** Written in log order: the topic's partitions go at once, and later entries for it are refused. */
    private void deleteTopic(UUID topicId) {
        addTombstone(topicId);
        for (Map.Entry<PartitionId, Slot> e : new ArrayList<>(slots.entrySet())) {
            if (e.getValue().topicId().equals(topicId)) {
                drop(e.getKey(), e.getValue());
            }
        }
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
    public Checkpoint checkpoint(long lastId) {
        // Each partition's end and producer state as of lastId, taken under its lock (cheap); the
        // fsyncs run later in makeDurable, holding no lock, while the writer appends on.
        List<Object[]> parts = new ArrayList<>();
        List<Runnable> durable = new ArrayList<>();
        for (Map.Entry<PartitionId, Slot> e : slots.entrySet()) {
            LocalReplica r = e.getValue().replica();
            long end;
            LocalReplica.ProducerSnapshot producers;
            synchronized (r) {
                end = r.partitionLog().highWatermark();
                producers = r.takeProducerSnapshot();
            }
            parts.add(new Object[] {e.getKey(), e.getValue().topicId(), end});
            durable.add(() -> {
                r.partitionLog().makeDurable(end);
                if (producers != null) {
                    r.writeProducerSnapshot(producers);
                }
            });
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
        return new Checkpoint(out, () -> {
            for (Runnable d : durable) {
                d.run();
            }
        });
    }

    @Override
    public void checkpointed(long lastId, long firstKeptId) {
        synchronized (this) {
            // Entries up to lastId are applied and their records durable; the journal keeps what a
            // follower may still need (from the Raft log's start) and what is not applied.
            journal.checkpoint(lastId + 1, firstKeptId);
            written.headMap(Math.min(firstKeptId, journal.firstIndex()), false).clear();
        }
    }

    // ---- solo writes: this node is the group's only voter (see DataGroup#allowSolo)

    /** The note, in the group's directory, that solo writes may be ahead of the Raft log. */
    static final String SOLO_NOTE = "solo";

    @Override
    public boolean beginSolo() {
        if (!soloNoted) {
            try {
                DurableFiles.replace(
                        stateDir.resolve(SOLO_NOTE), "solo writes: keep whatever the partition logs hold\n");
            } catch (RuntimeException e) {
                log.warn("group {}: cannot note solo writes, so they stay off: {}", groupNo, e.toString());
                return false;
            }
            soloNoted = true;
        }
        return true;
    }

    @Override
    public boolean soloNoted() {
        return soloNoted;
    }

    /**
     * A produce batch, without a Raft entry: dedupe, append and commit under the partition's lock,
     * on the caller's thread; the reply is the one {@link #apply} would give. Other entries (topic
     * deletion) go through the Raft log.
     */
    @Override
    public byte[] writeSolo(long term, ByteBuffer header, ByteBuffer data) {
        GroupEntry.Decoded d = GroupEntry.decode(header);
        if (d == null || d.type() != GroupEntry.APPEND) {
            return null;
        }
        Slot s = slotForEntry(d);
        if (s == null) {
            return GroupEntry.topicDeleted(d.partition());
        }
        LocalReplica r = s.replica();
        synchronized (r) {
            return GroupEntry.reply(
                    r.onAppend(stamp(data, term, r.partitionLog().logEndOffset())));
        }
    }

    @Override
    public void endSolo() {
        try {
            Files.deleteIfExists(stateDir.resolve(SOLO_NOTE));
        } catch (IOException e) {
            throw new java.io.UncheckedIOException("group " + groupNo + ": cannot remove the solo note", e);
        }
        DurableFiles.fsyncDirectory(stateDir);
        soloNoted = false;
    }

    // ---- installing another replica's state (a member whose Raft log ends before the leader's)

    /** Bytes of records per install request. */
    private static final int INSTALL_CHUNK_BYTES = 1024 * 1024;

    private static final byte INSTALL_OK = 0;
    private static final byte INSTALL_GONE = 1;

    /**
     * Replaces everything this replica holds by the state another replica's checkpoint describes:
     * its tombstones, and for each partition the records up to the checkpoint's end, copied from
     * that replica (from its log start: what retention removed there is not copied). A partition this
     * replica already has keeps its objects (the broker holds them) and restarts empty before the
     * copy; idempotent-producer state is rebuilt from the copied batches, as after a restart
     * without a snapshot.
     */
    @Override
    public void install(byte[] checkpoint, long lastId, InstallSource source) throws IOException {
        Map<PartitionId, CheckpointedPartition> parts;
        synchronized (this) {
            tombstones.clear();
            tombstoneSet.clear();
            parts = readCheckpoint(checkpoint);
            for (Map.Entry<PartitionId, Slot> e : new ArrayList<>(slots.entrySet())) {
                CheckpointedPartition cp = parts.get(e.getKey());
                if (cp == null || !cp.topicId().equals(e.getValue().topicId())) {
                    drop(e.getKey(), e.getValue());
                }
            }
            deleteUnheldLogs();
            written.clear();
            lastWrittenId = lastId;
            journal.appendTruncate(0); // what the journal held described the replaced state
            journal.checkpoint(lastId + 1, lastId + 1);
            if (soloNoted) {
                endSolo(); // a member that installs never wrote alone since
            }
            restoredId = lastId;
            reconciled = true;
        }
        long bytes = 0;
        for (Map.Entry<PartitionId, CheckpointedPartition> e : parts.entrySet()) {
            PartitionId id = e.getKey();
            CheckpointedPartition cp = e.getValue();
            Slot s = createSlot(id, cp.topicId()); // the broker may have asked for it already
            synchronized (s.replica()) {
                s.replica().restartAt(0);
            }
            bytes += copyPartition(id, cp, s.replica(), source);
            synchronized (s.replica()) {
                s.replica().resetProducerState();
            }
            s.replica().partitionLog().makeDurable(cp.end());
        }
        log.info(
                "group {}: installed {} partitions ({} bytes of records) up to entry {}",
                groupNo,
                parts.size(),
                bytes,
                lastId);
    }

    /** Copies a partition's records below {@code cp.end()} from the source into its empty log. */
    private long copyPartition(PartitionId id, CheckpointedPartition cp, LocalReplica r, InstallSource source)
            throws IOException {
        PartitionLog pl = r.partitionLog();
        long copied = 0;
        byte[] name = id.topic().getBytes(StandardCharsets.UTF_8);
        while (pl.logEndOffset() < cp.end()) {
            long next = pl.logEndOffset();
            ByteBuffer req = ByteBuffer.allocate(2 + name.length + 4 + 16 + 8 + 8 + 4);
            req.putShort((short) name.length).put(name).putInt(id.partition());
            req.putLong(cp.topicId().getMostSignificantBits())
                    .putLong(cp.topicId().getLeastSignificantBits());
            req.putLong(next).putLong(cp.end()).putInt(INSTALL_CHUNK_BYTES);
            ByteBuffer reply = ByteBuffer.wrap(source.call(req.array())); // no lock held while waiting
            byte status = reply.get();
            long sourceStart = reply.getLong();
            synchronized (r) {
                if (status == INSTALL_GONE) {
                    // Deleted there since the checkpoint: a later entry deletes it here too.
                    r.restartAt(cp.end());
                    break;
                }
                if (next < sourceStart) {
                    r.restartAt(Math.min(sourceStart, cp.end())); // retention removed these there
                    continue;
                }
                ByteBuffer batches = reply.slice();
                if (!batches.hasRemaining() || RecordBatchHeader.baseOffset(batches, 0) != next) {
                    throw new IOException("group " + groupNo + ": " + id + ": install read at " + next
                            + " got no batch starting there");
                }
                if (pl.appendStoredAhead(batches) instanceof AppendResult.Rejected rejected) {
                    throw new IOException("group " + groupNo + ": " + id + ": copied batches refused: " + rejected);
                }
                r.commitTo(pl.logEndOffset());
                copied += batches.limit();
            }
        }
        return copied;
    }

    /**
     * Serves {@link #copyPartition} on another replica: whole committed batches of the partition from
     * the offset asked for, below the end asked for, at most the bytes asked for (at least one
     * batch); with this log's start, or "gone" when the partition no longer exists here.
     */
    @Override
    public byte[] serveInstall(byte[] request) {
        ByteBuffer b = ByteBuffer.wrap(request);
        byte[] name = new byte[Short.toUnsignedInt(b.getShort())];
        b.get(name);
        PartitionId id = new PartitionId(new String(name, StandardCharsets.UTF_8), b.getInt());
        UUID topicId = new UUID(b.getLong(), b.getLong());
        long offset = b.getLong();
        long end = b.getLong();
        int maxBytes = b.getInt();
        Slot s = slots.get(id);
        if (s == null || !s.topicId().equals(topicId)) {
            return ByteBuffer.allocate(9).put(INSTALL_GONE).putLong(-1).array();
        }
        PartitionLog pl = s.replica().partitionLog();
        ReadResult r = pl.read(offset, maxBytes);
        if (r instanceof ReadResult.OffsetOutOfRange o) {
            if (offset < o.logStartOffset()) {
                return ByteBuffer.allocate(9)
                        .put(INSTALL_OK)
                        .putLong(o.logStartOffset())
                        .array();
            }
            throw new IllegalStateException(
                    "group " + groupNo + ": " + id + ": install read at " + offset + " above the high watermark");
        }
        try (LogSlice slice = (LogSlice) r) {
            ByteBuffer data = ByteBuffer.allocate(slice.length());
            slice.readInto(data);
            data.flip();
            int keep = 0;
            while (keep + RecordBatchHeader.LOG_OVERHEAD <= data.limit()
                    && keep + RecordBatchHeader.sizeBytes(data, keep) <= data.limit()
                    && RecordBatchHeader.baseOffset(data, keep) < end) {
                keep += RecordBatchHeader.sizeBytes(data, keep);
            }
            ByteBuffer out = ByteBuffer.allocate(9 + keep).put(INSTALL_OK).putLong(slice.logStartOffset());
            out.put(data.limit(keep));
            return out.array();
        } catch (IOException e) {
            throw new StorageException("cannot read records for an install", pl.dir(), e);
        }
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
            LocalReplica.ProducerSnapshot producers;
            synchronized (s.replica()) {
                producers = s.replica().housekeeping(nowMs);
            }
            if (producers != null) {
                s.replica().writeProducerSnapshot(producers); // fsyncs: not under the lock
            }
        }
    }

    /**
     * One log-cleaner pass over each compacted partition of the group that is due (docs/architecture.md,
     * "Compaction"). The copies are written without the partition's lock and swapped in under it.
     * Never below what a Raft follower may still ask this replica for: an entry not yet covered by a
     * checkpoint is read back from the partition log as written. While solo writes are noted, no
     * member can replay entries: one that joins first gets a checkpoint covering all that is applied
     * (leaving solo takes it), so up to the high watermark is cleanable. On the broker's cleaner
     * thread.
     */
    void clean(long nowMs) {
        for (Map.Entry<PartitionId, Slot> e : slots.entrySet()) {
            Slot slot = e.getValue();
            LocalReplica r = slot.replica();
            PartitionLog pl = r.partitionLog();
            if (!pl.config().cleanup().compact()) {
                continue;
            }
            long bound = soloNoted
                    ? pl.highWatermark()
                    : Math.min(firstOffsetRaftMayRead(e.getKey(), slot.topicId()), pl.highWatermark());
            try {
                LogCleaner.Pass pass = LogCleaner.prepare(pl, bound, nowMs);
                if (pass == null) {
                    continue;
                }
                long freed;
                synchronized (r) {
                    if (slots.get(e.getKey()) != slot) {
                        pass.discard();
                        continue;
                    }
                    freed = pl.swapCleaned(pass);
                }
                log.info(
                        "{}: cleaned {} of the segments up to offset {} ({} bytes read, {} freed)",
                        e.getKey(),
                        pass.segments(),
                        pass.cleanedTo(),
                        pass.bytesRead(),
                        freed);
            } catch (RuntimeException ex) {
                log.warn("{}: log cleaning failed, will try again: {}", e.getKey(), ex.toString());
            }
        }
    }

    /** The lowest offset of this partition that an entry still in {@link #written} refers to. */
    private long firstOffsetRaftMayRead(PartitionId id, UUID topicId) {
        for (Written w : written.values()) { // by Raft index, so by offset within a partition
            if (w.stored() && w.partition().equals(id) && w.topicId().equals(topicId)) {
                return w.base();
            }
        }
        return Long.MAX_VALUE;
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
        deleteUnheldLogs();
    }

    /** Deletes partition logs marked as this group's that it holds no slot for (left on disk). */
    private void deleteUnheldLogs() {
        for (Map.Entry<PartitionId, PartitionLog> e : logs.logsById().entrySet()) {
            String[] m = readMarker(e.getValue().dir());
            if (m != null && m[0].equals(Integer.toString(groupNo)) && !slots.containsKey(e.getKey())) {
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
        synchronized (this) {
            if (journal != null) {
                journal.close();
            }
        }
    }
}
