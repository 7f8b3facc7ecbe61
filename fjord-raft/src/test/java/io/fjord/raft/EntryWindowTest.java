package io.fjord.raft;

import static io.fjord.raft.RaftTesting.await;
import static io.fjord.raft.RaftTesting.freePort;
import static org.assertj.core.api.Assertions.assertThat;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * A group's submitter keeps one entry with data in Ratis at a time (the default of
 * {@code fjord.raft.entries.in.flight}): batches submitted while it replicates wait, then go
 * together in one Raft entry, each still answered with its own reply.
 */
class EntryWindowTest {
    private static final String HOST = "127.0.0.1";
    private static final int GROUP = 3;

    @TempDir
    Path dir;

    private final Store leader = new Store();
    private final Store follower = new Store();
    private RaftNode n1;
    private RaftNode n2;
    private DataGroup group;

    /** Node 1 leads a group of nodes 1 and 2. */
    @BeforeEach
    void startTwoNodes() throws Exception {
        RaftPeerSpec s1 = new RaftPeerSpec(1, HOST, freePort());
        RaftPeerSpec s2 = new RaftPeerSpec(2, HOST, freePort());
        List<RaftPeerSpec> meta = List.of(s1);
        n1 = RaftNode.start(RaftNodeConfig.of(1, HOST, s1.port(), dir.resolve("n1"), meta), g -> leader);
        n2 = RaftNode.start(RaftNodeConfig.of(2, HOST, s2.port(), dir.resolve("n2"), meta), g -> follower);
        n2.joinGroup(GROUP, List.of(s1, s2), 1);
        n1.joinGroup(GROUP, List.of(s1, s2), 1);
        await(
                "node 1 leads the group",
                () -> n1.group(GROUP).map(DataGroup::isLeader).orElse(false));
        group = n1.group(GROUP).orElseThrow();
    }

    @AfterEach
    void stopNodes() throws Exception {
        follower.release();
        try {
            if (n2 != null) {
                n2.close();
            }
        } finally {
            if (n1 != null) {
                n1.close();
            }
        }
    }

    @Test
    @Timeout(value = 120, unit = TimeUnit.SECONDS)
    void shouldSendWhatArrivesWhileAnEntryReplicatesAsOneEntry() throws Exception {
        assertThat(RaftNode.ENTRIES_IN_FLIGHT).isEqualTo(1);
        // The follower holds the first entry, so it cannot commit while the others arrive.
        follower.hold();
        List<CompletableFuture<byte[]>> replies = new ArrayList<>();
        replies.add(submit(0));
        await("the follower holds entry 0", () -> follower.held);
        for (int k = 1; k <= 10; k++) {
            replies.add(submit(k));
            int written = k + 1;
            // Either the submitter keeps it back, or (without the window) it is written at once.
            await(
                    "batch " + k + " kept back or written",
                    () -> n1.waitingForWindow(GROUP) || leader.written.size() >= written);
        }
        assertThat(leader.written).hasSize(1);
        follower.release();

        assertAnswered(replies, 0, 11);
        List<Long> ids = List.copyOf(leader.written);
        assertThat(ids).hasSize(11).isSorted();
        long second = ids.get(1) / DataMessage.PARTS;
        assertThat(ids.get(0) / DataMessage.PARTS).isLessThan(second);
        assertThat(ids.subList(1, 11)).allMatch(id -> id / DataMessage.PARTS == second);
        await("the follower stored every batch", () -> follower.data.size() == 11);
    }

    @Test
    @Timeout(value = 120, unit = TimeUnit.SECONDS)
    void shouldNotHoldBackAWholeEntrysWorthOfBatches() throws Exception {
        follower.hold();
        int batches = 1 + DataMessage.PARTS;
        List<CompletableFuture<byte[]>> replies = new ArrayList<>();
        replies.add(submit(0));
        await("the follower holds entry 0", () -> follower.held);
        replies.add(submit(1));
        await("batch 1 kept back", () -> n1.waitingForWindow(GROUP));
        for (int k = 2; k < batches; k++) {
            replies.add(submit(k));
        }
        // A full entry goes while the first is still unanswered.
        await("a whole entry's worth sent at once", () -> leader.written.size() == batches);
        follower.release();
        assertAnswered(replies, 0, batches);
        List<Long> ids = List.copyOf(leader.written);
        long second = ids.get(1) / DataMessage.PARTS;
        assertThat(ids.subList(1, batches)).allMatch(id -> id / DataMessage.PARTS == second);

        // The room granted beyond the window was taken back: partial entries wait again.
        follower.hold();
        CompletableFuture<byte[]> next = submit(batches);
        await("the follower holds the next entry", () -> follower.held);
        CompletableFuture<byte[]> after = submit(batches + 1);
        await("the one after it kept back", () -> n1.waitingForWindow(GROUP));
        assertThat(leader.written).hasSize(batches + 1);
        follower.release();
        assertAnswered(List.of(next, after), batches, 2);
    }

    private CompletableFuture<byte[]> submit(int k) {
        byte[] data = ("batch " + k).getBytes(StandardCharsets.UTF_8);
        return group.submit(new byte[] {(byte) k}, ByteBuffer.wrap(data));
    }

    /** Each reply is its own batch's: batch {@code first + i} for the i-th of {@code count}. */
    private static void assertAnswered(List<CompletableFuture<byte[]>> replies, int first, int count) throws Exception {
        assertThat(replies).hasSize(count);
        for (int i = 0; i < count; i++) {
            assertThat(new String(replies.get(i).get(30, TimeUnit.SECONDS), StandardCharsets.UTF_8))
                    .isEqualTo("batch " + (first + i));
        }
    }

    /** Keeps each entry's data in memory and answers it back when applied. */
    private static final class Store implements ReplicatedStateMachine {
        final Map<Long, byte[]> data = new ConcurrentHashMap<>();
        /** Ids of the entries this replica submitted, in the order it wrote them. */
        final List<Long> written = new CopyOnWriteArrayList<>();

        private volatile CountDownLatch hold;
        /** A write is (or was) waiting at the hold. */
        volatile boolean held;

        /** From now on, writes of entries from another replica wait until {@link #release}. */
        void hold() {
            held = false;
            hold = new CountDownLatch(1);
        }

        void release() {
            CountDownLatch h = hold;
            if (h != null) {
                h.countDown();
            }
        }

        @Override
        public void restore(byte[] checkpoint, long lastId, Path dir) {}

        @Override
        public void write(long id, long term, ByteBuffer header, ByteBuffer bytes, boolean local) {
            CountDownLatch h = hold;
            if (h != null && !local) {
                held = true;
                try {
                    h.await();
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }
            byte[] copy = new byte[bytes.remaining()];
            bytes.duplicate().get(copy);
            data.put(id, copy);
            if (local) {
                written.add(id);
            }
        }

        @Override
        public ByteBuffer read(long id, ByteBuffer header) {
            return ByteBuffer.wrap(data.get(id)).asReadOnlyBuffer();
        }

        @Override
        public byte[] apply(long id, long term, ByteBuffer entry) {
            byte[] d = data.get(id);
            return d == null ? new byte[0] : d;
        }

        @Override
        public Checkpoint checkpoint(long lastId) {
            return new Checkpoint(new byte[0], () -> {});
        }

        @Override
        public void checkpointed(long lastId, long firstKeptId) {}
    }
}
