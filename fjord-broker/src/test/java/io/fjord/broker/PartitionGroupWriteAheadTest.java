package io.fjord.broker;

import static org.assertj.core.api.Assertions.assertThat;

import io.fjord.raft.ReplicatedStateMachine;
import io.fjord.storage.LogConfig;
import io.fjord.storage.LogManager;
import io.fjord.storage.LogSlice;
import io.fjord.storage.PartitionId;
import io.fjord.storage.PartitionLog;
import io.fjord.storage.RecordBatchHeader;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A data group's state machine driven directly, the way Ratis drives it (write at log append,
 * apply at commit, read for followers, truncate on a new leader's overwrite, restart from a
 * checkpoint plus the journal). The Raft side is played by the test; everything below is real.
 */
class PartitionGroupWriteAheadTest {
    private static final PartitionId P0 = new PartitionId("t", 0);
    private static final UUID TOPIC = UUID.randomUUID();
    private static final LogConfig CONFIG = LogConfig.DEFAULT.withSegmentBytes(8192);

    @TempDir
    Path dir;

    private final List<AutoCloseable> toClose = new ArrayList<>();
    /** The partition's log settings in nodes opened from now on. */
    private LogConfig config = CONFIG;

    @AfterEach
    void close() throws Exception {
        for (int i = toClose.size() - 1; i >= 0; i--) {
            toClose.get(i).close();
        }
    }

    private record Node(LogManager logs, PartitionGroup group, Path state) {}

    private Node open(String name, byte[] checkpoint, long index) {
        LogConfig c = config;
        LogManager logs = LogManager.open(dir.resolve(name).resolve("data"), id -> c, System::currentTimeMillis);
        toClose.add(logs);
        PartitionGroup g = new PartitionGroup(1, logs, id -> c, new PartitionGroup.Listener() {
            @Override
            public void leaderReady(int groupNo, long term) {}

            @Override
            public void leaderChanged(int groupNo, int leaderNodeId) {}
        });
        Path state = dir.resolve(name).resolve("sm");
        g.restore(checkpoint, index, state);
        toClose.add(g::close);
        return new Node(logs, g, state);
    }

    private static ByteBuffer header() {
        return ByteBuffer.wrap(GroupEntry.append(TOPIC, P0));
    }

    private static PartitionLog log(Node n) {
        return n.group().partition(P0).replica().partitionLog();
    }

    private static AppendOutcome reply(byte[] r) {
        return GroupEntry.decodeAppendReply(r);
    }

    /** The stored bytes of the batches that start in [from, to), written ahead or not. */
    private static byte[] bytes(PartitionLog pl, long from, long to) throws IOException {
        ByteBuffer out = ByteBuffer.allocate(1 << 20);
        long at = from;
        while (at < to) {
            try (LogSlice s = (LogSlice) pl.readAhead(at, 1 << 20)) {
                ByteBuffer b = s.toByteBuffer();
                for (int pos = 0; pos < b.limit() && at < to; ) {
                    int size = RecordBatchHeader.sizeBytes(b, pos);
                    out.put(b.slice(pos, size));
                    at = RecordBatchHeader.baseOffset(b, pos) + RecordBatchHeader.lastOffsetDelta(b, pos) + 1;
                    pos += size;
                }
            }
        }
        byte[] a = new byte[out.position()];
        out.flip().get(a);
        return a;
    }

    @Test
    void writesAreHiddenUntilAppliedAndTakenBackOnTruncation() {
        Node n = open("a", null, 0);
        n.group().reconcile(i -> -1);
        for (long i = 1; i <= 3; i++) {
            n.group().write(i, 1, header(), TestBatches.plain(2), true);
        }
        assertThat(log(n).logEndOffset()).isEqualTo(6);
        assertThat(log(n).highWatermark()).isZero();

        assertThat(reply(n.group().apply(1, 1, header()))).isEqualTo(new AppendOutcome.Appended(0, 1, 0, false));
        assertThat(log(n).highWatermark()).isEqualTo(2);
        n.group().apply(2, 1, header());
        assertThat(log(n).highWatermark()).isEqualTo(4);

        n.group().truncate(3); // a new leader overwrote entry 3
        assertThat(log(n).logEndOffset()).isEqualTo(4);
        n.group().write(3, 2, header(), TestBatches.plain(5), true);
        assertThat(reply(n.group().apply(3, 2, header()))).isEqualTo(new AppendOutcome.Appended(4, 8, 0, false));
        assertThat(log(n).highWatermark()).isEqualTo(9);
    }

    @Test
    void theCleanerLeavesWhatAFollowerMayStillReadUntilACheckpointCoversIt() {
        config = LogConfig.DEFAULT
                .withSegmentBytes(1024)
                .withCleanup(LogConfig.Cleanup.DELETE.withPolicy(false, true).withMinCleanableDirtyRatio(0));
        Node n = open("a", null, 0);
        n.group().reconcile(i -> -1);
        int entries = 60;
        for (long i = 1; i <= entries; i++) {
            n.group().write(i, 1, header(), TestBatches.plain(2), true); // keys k0 and k1 each time
            n.group().apply(i, 1, header());
        }
        PartitionLog pl = log(n);
        assertThat(pl.segmentCount()).isGreaterThan(3);
        pl.makeDurable(pl.highWatermark()); // on disk: only what Raft may still read holds the cleaner back
        long size = pl.sizeBytes();
        ByteBuffer first = n.group().read(1, header());

        n.group().clean(System.currentTimeMillis());
        assertThat(pl.sizeBytes())
                .as("every entry may still be read for a follower")
                .isEqualTo(size);
        assertThat(n.group().read(1, header())).isEqualTo(first);

        ReplicatedStateMachine.Checkpoint taken = n.group().checkpoint(entries);
        taken.makeDurable().run();
        n.group().checkpointed(entries, entries + 1); // Raft's log now starts after every entry
        n.group().clean(System.currentTimeMillis());
        assertThat(pl.sizeBytes()).isLessThan(size);
        assertThat(pl.cleanerOffset()).isPositive();
    }

    @Test
    void inSoloModeTheCleanerGoesUpToTheHighWatermark() {
        config = LogConfig.DEFAULT
                .withSegmentBytes(1024)
                .withCleanup(LogConfig.Cleanup.DELETE.withPolicy(false, true).withMinCleanableDirtyRatio(0));
        Node n = open("a", null, 0);
        n.group().reconcile(i -> -1);
        for (long i = 1; i <= 60; i++) { // through Raft entries, before solo writes began
            n.group().write(i, 1, header(), TestBatches.plain(2), true);
            n.group().apply(i, 1, header());
        }
        PartitionLog pl = log(n);
        pl.makeDurable(pl.highWatermark());
        long size = pl.sizeBytes();
        assertThat(n.group().beginSolo()).isTrue();
        // No checkpoint covers those entries, but a member can only join through one taken when
        // solo writes end, so none of them will be read back.
        n.group().clean(System.currentTimeMillis());
        assertThat(pl.sizeBytes()).isLessThan(size);
    }

    @Test
    void followerFedFromTheLeadersReadsHoldTheSameBytesAndVerdicts() throws IOException {
        Node leader = open("leader", null, 0);
        Node follower = open("follower", null, 0);
        leader.group().reconcile(i -> -1);
        follower.group().reconcile(i -> -1);
        List<ByteBuffer> sent = new ArrayList<>();
        long index = 0;
        // Idempotent batches, one retried (a duplicate), one out of sequence, plain ones between.
        sent.add(TestBatches.idempotent(7, (short) 0, 0, 3));
        sent.add(TestBatches.plain(2));
        sent.add(TestBatches.idempotent(7, (short) 0, 0, 3)); // retry: duplicate
        sent.add(TestBatches.idempotent(7, (short) 0, 9, 1)); // gap in sequence: refused
        sent.add(TestBatches.idempotent(7, (short) 0, 3, 4));
        Map<Long, byte[]> leaderReplies = new HashMap<>();
        for (ByteBuffer b : sent) {
            index++;
            leader.group().write(index, 1, header(), b, true);
        }
        for (long i = 1; i <= index; i++) {
            ByteBuffer payload = leader.group().read(i, header());
            follower.group().write(i, 1, header(), payload.asReadOnlyBuffer(), false);
        }
        for (long i = 1; i <= index; i++) {
            leaderReplies.put(i, leader.group().apply(i, 1, header()));
            assertThat(follower.group().apply(i, 1, header())).isEqualTo(leaderReplies.get(i));
        }
        assertThat(reply(leaderReplies.get(3L))).isEqualTo(new AppendOutcome.Appended(0, 2, 0, true));
        assertThat(reply(leaderReplies.get(4L))).isInstanceOf(AppendOutcome.Failed.class);
        assertThat(log(leader).highWatermark())
                .isEqualTo(9)
                .isEqualTo(log(follower).highWatermark());
        assertThat(bytes(log(follower), 0, 9)).isEqualTo(bytes(log(leader), 0, 9));
    }

    @Test
    void restartKeepsCommittedAndWrittenEntriesAndDropsWritesTheRaftLogLost() throws IOException {
        Node n = open("a", null, 0);
        n.group().reconcile(i -> -1);
        for (long i = 1; i <= 6; i++) {
            n.group().write(i, 1, header(), TestBatches.plain(1), true);
        }
        n.group().apply(1, 1, header());
        n.group().apply(2, 1, header());
        // The checkpoint is described on the apply thread; its fsyncs run later while applies go on.
        ReplicatedStateMachine.Checkpoint taken = n.group().checkpoint(2);
        n.group().apply(3, 1, header());
        taken.makeDurable().run();
        n.group().checkpointed(2, 1);
        byte[] checkpoint = taken.bytes();
        byte[] before = bytes(log(n), 0, 5);
        // A crash: the files stay as they are (no clean close of the group).
        n.logs().close();
        toClose.clear();

        Node again = open("a", checkpoint, 2);
        assertThat(log(again).highWatermark())
                .as("only the checkpoint is committed")
                .isEqualTo(2);
        assertThat(log(again).logEndOffset()).isEqualTo(6);
        // The Raft log survived up to entry 5; entry 6's header was lost.
        again.group().reconcile(i -> i <= 5 ? 1 : -1);
        assertThat(log(again).logEndOffset()).isEqualTo(5);
        for (long i = 3; i <= 5; i++) {
            again.group().apply(i, 1, header());
        }
        assertThat(log(again).highWatermark()).isEqualTo(5);
        assertThat(bytes(log(again), 0, 5)).isEqualTo(before);
        again.group().write(6, 2, header(), TestBatches.plain(3), true);
        assertThat(reply(again.group().apply(6, 2, header()))).isEqualTo(new AppendOutcome.Appended(5, 7, 0, false));
        assertThat(Files.list(again.state()).count()).isPositive();
    }

    @Test
    void installCopiesTheCheckpointedStateAndFollowsTheLogFromThere() throws Exception {
        Node leader = open("leader", null, 0);
        leader.group().reconcile(i -> -1);
        long index = 0;
        // Enough batches for several 8 KiB segments and several install chunks' worth of requests.
        for (int i = 0; i < 300; i++) {
            index++;
            ByteBuffer b = i % 3 == 0 ? TestBatches.idempotent(7, (short) 0, i / 3 * 2, 2) : TestBatches.plain(3);
            leader.group().write(index, 1, header(), b, true);
            leader.group().apply(index, 1, header());
        }
        long checkpointed = index;
        ReplicatedStateMachine.Checkpoint taken = leader.group().checkpoint(checkpointed);
        taken.makeDurable().run();
        leader.group().checkpointed(checkpointed, 1);
        long end = log(leader).highWatermark();
        // The leader goes on after its checkpoint: written ahead, not part of what is installed.
        leader.group().write(index + 1, 1, header(), TestBatches.plain(4), true);

        // A stale member: it had the partition with other data, which the install replaces.
        Node member = open("member", null, 0);
        member.group().reconcile(i -> -1);
        member.group().write(1, 1, header(), TestBatches.plain(50), true);
        member.group().apply(1, 1, header());
        LocalReplica before = member.group().partition(P0).replica();
        List<Integer> requests = new ArrayList<>();
        member.group().install(taken.bytes(), checkpointed, request -> {
            requests.add(request.length);
            return leader.group().serveInstall(request);
        });

        assertThat(member.group().partition(P0).replica())
                .as("the same replica object")
                .isSameAs(before);
        assertThat(log(member).highWatermark()).isEqualTo(end);
        assertThat(log(member).logEndOffset()).isEqualTo(end);
        assertThat(bytes(log(member), 0, end)).isEqualTo(bytes(log(leader), 0, end));
        assertThat(requests.size()).as("install requests").isGreaterThan(1);

        // The log goes on after the checkpoint: the entry the leader wrote ahead, fed from its read.
        member.group()
                .write(
                        index + 1,
                        1,
                        header(),
                        leader.group().read(index + 1, header()).asReadOnlyBuffer(),
                        false);
        byte[] leaderReply = leader.group().apply(index + 1, 1, header());
        assertThat(member.group().apply(index + 1, 1, header())).isEqualTo(leaderReply);
        // Idempotent-producer state came with the copied batches: a retry of the last one is a duplicate.
        index += 2;
        ByteBuffer retry = TestBatches.idempotent(7, (short) 0, 99 * 2, 2);
        leader.group().write(index, 1, header(), retry.duplicate(), true);
        member.group()
                .write(index, 1, header(), leader.group().read(index, header()).asReadOnlyBuffer(), false);
        byte[] verdict = leader.group().apply(index, 1, header());
        assertThat(reply(verdict)).isInstanceOf(AppendOutcome.Appended.class);
        assertThat(((AppendOutcome.Appended) reply(verdict)).duplicate()).isTrue();
        assertThat(member.group().apply(index, 1, header())).isEqualTo(verdict);
        assertThat(log(member).highWatermark()).isEqualTo(log(leader).highWatermark());
        // The member leads next: its own dedupe, rebuilt from the copied batches, knows the producer
        // (above it only took the leader's verdict).
        index++;
        member.group().write(index, 2, header(), TestBatches.idempotent(7, (short) 0, 99 * 2, 2), true);
        AppendOutcome own = reply(member.group().apply(index, 2, header()));
        assertThat(own).isInstanceOf(AppendOutcome.Appended.class);
        assertThat(((AppendOutcome.Appended) own).duplicate())
                .as("a retry the member dedupes itself")
                .isTrue();

        // A restart of the member from the installed checkpoint keeps it.
        byte[] reference = bytes(log(leader), 0, end);
        for (AutoCloseable c : toClose) {
            c.close();
        }
        toClose.clear();
        Node again = open("member", taken.bytes(), checkpointed);
        assertThat(log(again).logEndOffset()).isGreaterThanOrEqualTo(end);
        assertThat(bytes(log(again), 0, end)).isEqualTo(reference);
    }
}
