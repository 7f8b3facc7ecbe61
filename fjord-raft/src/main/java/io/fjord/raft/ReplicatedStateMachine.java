package io.fjord.raft;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Path;

/**
 * What a data group replicates, in Fjord's terms (no Ratis types).
 *
 * <p>Two kinds of entries. A plain entry ({@link DataGroup#submit(byte[])}) is held whole in the
 * Raft log and only {@link #apply applied} once committed. An entry with data ({@link
 * DataGroup#submit(byte[], ByteBuffer)}) keeps just its header in the Raft log: its data is handed
 * to {@link #write} on every replica as the entry is appended (before it commits, in log order), and
 * the state machine stores it where it will live; {@link #read} gives it back for a follower that
 * needs it, {@link #truncate} takes back entries a new leader overwrote, and {@link #apply} later
 * sees the header only. So each byte of data is written once per replica.
 *
 * <p>Entries are named by <b>ids</b> that follow log order (not Raft indexes: a group's submitter
 * packs queued entries with data into one Raft entry, so several ids share an index). Ids are only
 * compared and used as keys here.
 *
 * <p>Threads: {@link #restore}, {@link #apply}, {@link #checkpoint}, {@link #checkpointed} and {@link
 * #leaderReady} run on the group's apply thread, one at a time. {@link #write} and {@link #truncate} run one at a time in
 * log order, on a Raft thread (not the apply thread). {@link #read}, {@link #serveInstall} and {@link #writeSolo} run on any thread; {@link #install} on an install thread, while nothing is written, truncated or applied. {@link
 * #leaderChanged} runs on a Raft thread, possibly under a Raft lock: hand work off, never block.
 */
public interface ReplicatedStateMachine {

    /**
     * Called once before anything else: restore the state described by {@code checkpoint} (from
     * {@link #checkpoint}, covering entries up to id {@code lastId}), or the empty state when it is
     * null (lastId -1). Entries after {@code lastId} are applied next. {@code dir} is this group's
     * own directory for state the state machine keeps besides checkpoints (it survives restarts).
     */
    void restore(byte[] checkpoint, long lastId, Path dir);

    /**
     * Once after a restart, before the first {@link #write}, {@link #truncate}, {@link #read} or
     * {@link #apply}: forget whatever was written ahead for entries the Raft log does not hold
     * (written, but the log entry did not reach the disk, or was replaced since). {@code terms}
     * tells the term of the Raft log's entry holding an id, or -1 when there is none with data. May be
     * called more than once, concurrently, from different threads: only the first call counts, and
     * lookups in {@code terms} must not happen under a lock that {@link #write} takes.
     */
    default void reconcile(EntryTerms terms) {}

    /** Looks up entries of the Raft log. */
    @FunctionalInterface
    interface EntryTerms {
        long termOf(long id);
    }

    /**
     * Stores the data of entry {@code id} (appended, not yet committed). Deterministic
     * like {@link #apply}. Throw only when the data cannot be stored (a disk error): the replica then
     * stops taking entries.
     *
     * @param local true on the leader that submitted it: {@code data} is the submitter's own,
     *     writable buffer; false when it came from another replica ({@link #read} there), read-only
     */
    default void write(long id, long term, ByteBuffer header, ByteBuffer data, boolean local) {
        throw new UnsupportedOperationException("entries with data are not supported");
    }

    /** The data of an entry this replica {@link #write wrote}, for a follower. Any thread. */
    default ByteBuffer read(long id, ByteBuffer header) {
        throw new UnsupportedOperationException("entries with data are not supported");
    }

    /** Entries from id {@code fromId} on are gone from the log (never committed): undo their writes. */
    default void truncate(long fromId) {}

    /**
     * The Raft log is about to be made durable up to id {@code lastId}: make what {@link #write}
     * stored for those entries at least as durable. Called only when acknowledgements wait for fsync.
     */
    default void flush(long lastId) {}

    /**
     * Applies one committed entry ({@code entry} is the header for an entry with data). Must be
     * deterministic (same entries, same state on every replica) and must not throw for bad input:
     * encode the failure in the reply instead.
     *
     * @return the reply handed to whoever submitted the entry (only on the leader that did)
     */
    byte[] apply(long id, long term, ByteBuffer entry);

    /**
     * Describes everything applied so far (up to id {@code lastId}). Runs on the apply thread, so it
     * must not wait for the disk: the returned checkpoint's {@link Checkpoint#makeDurable} does that
     * later, on another thread, while entries go on being written and applied. Only once it has
     * returned does the checkpoint count: then Raft may purge its log up to {@code lastId}, so its
     * bytes plus the durable state must be enough to continue after {@code lastId}.
     */
    Checkpoint checkpoint(long lastId);

    /**
     * The checkpoint at {@code lastId} is durable and stored; {@link #read} will not be asked for ids
     * below {@code firstKeptId} (the Raft log's start) any more. On the apply thread.
     */
    void checkpointed(long lastId, long firstKeptId);

    /**
     * A checkpoint being taken: what {@link #restore} gets back, and what makes the state it
     * describes durable (fsyncs; any thread but the apply thread; throws when it cannot).
     */
    record Checkpoint(byte[] bytes, Runnable makeDurable) {}

    /**
     * This replica must take over another replica's state: its own Raft log ends before the first
     * entry the leader still has (a member a move just added, or one that was away while the others
     * purged their logs). Replace everything this replica holds by the state {@code checkpoint}
     * describes (a checkpoint the other replica took, covering ids up to {@code lastId}), copying what
     * else that state needs (records) through {@code source}, which hands each request to {@link
     * #serveInstall} on that replica. The state must be durable when this returns; entries after
     * {@code lastId} follow as usual. Runs on a thread of its own while nothing is written,
     * truncated or applied here; the next {@link #checkpoint} comes after.
     *
     * @throws IOException when the source fails or the state cannot be stored (it is tried again)
     */
    default void install(byte[] checkpoint, long lastId, InstallSource source) throws IOException {
        throw new UnsupportedOperationException("this state machine cannot install another replica's state");
    }

    /** Asks the replica whose state is being installed for a part of it. Blocking. */
    @FunctionalInterface
    interface InstallSource {
        byte[] call(byte[] request) throws IOException;
    }

    /**
     * Answers a request that {@link #install} on another replica made, from this replica's state
     * (whatever it holds now: at least what its latest stored checkpoint describes). Any thread.
     */
    default byte[] serveInstall(byte[] request) {
        throw new UnsupportedOperationException("this state machine cannot serve an install");
    }

    // ---- solo writes: a group whose only voter is this node (see DataGroup#allowSolo)

    /**
     * The group is about to take entries with data through {@link #writeSolo}, outside the Raft log:
     * make a durable note that this replica's state may run ahead of its Raft log, so that {@link
     * #restore} keeps whatever was stored (rather than cutting it back to what the log describes)
     * until {@link #endSolo}. Called while no entry with data is in flight, on the group's submitter
     * thread. Returns false when this state machine does not take solo writes (or cannot store the
     * note): the group then stays on the Raft path.
     */
    default boolean beginSolo() {
        return false;
    }

    /**
     * Whether the note {@link #beginSolo} made is there (solo writes that no stored checkpoint
     * covers yet, also after a restart), until {@link #endSolo}. Any thread.
     */
    default boolean soloNoted() {
        return false;
    }

    /**
     * Stores and applies an entry with data at once, without a Raft entry: the group's only voter
     * is this node, which leads {@code term}. Any thread, concurrently with other calls of this, with
     * {@link #apply} of plain entries and with {@link #checkpoint}. {@code data} is the submitter's
     * writable buffer, as in a local {@link #write}.
     *
     * @return the reply (as {@link #apply} would give it), or null when this entry must go through
     *     the Raft log after all (it is then submitted as usual)
     */
    default byte[] writeSolo(long term, ByteBuffer header, ByteBuffer data) {
        return null;
    }

    /**
     * Solo writes have stopped and a stored checkpoint covers every one of them: the note from
     * {@link #beginSolo} goes (durably). Entries with data go through the Raft log from now on.
     *
     * @throws java.io.UncheckedIOException when the note cannot be removed (solo writes then resume)
     */
    default void endSolo() {}

    /** This node leads {@code term} and every entry of earlier terms has been applied. */
    default void leaderReady(long term) {}

    /** The group's leader changed ({@code leaderNodeId} -1 when unknown). */
    default void leaderChanged(int leaderNodeId, long term) {}

    /** The group is going away on this node (shutdown or removal). */
    default void close() {}
}
