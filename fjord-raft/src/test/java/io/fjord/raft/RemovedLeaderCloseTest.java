package io.fjord.raft;

import static io.fjord.raft.RaftTesting.await;
import static io.fjord.raft.RaftTesting.freePort;
import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Ratis 3.2.2 deadlocks a leader that commits a configuration without itself when a configuration
 * request reaches it before it has closed: the leader-state thread sleeps, then closes the member
 * while holding the member's lock and waits for the member's server executor, where that request
 * waits for the same lock. Leaving (or restarting) such a member must still end.
 */
class RemovedLeaderCloseTest {
    private static final String HOST = "127.0.0.1";
    private static final int GROUP = 7;

    @TempDir
    Path dir;

    @Test
    @Timeout(value = 120, unit = TimeUnit.SECONDS)
    void shouldLeaveAGroupWhoseRemovedLeaderDeadlockedWhileClosing() throws Exception {
        RaftPeerSpec s1 = new RaftPeerSpec(1, HOST, freePort());
        RaftPeerSpec s2 = new RaftPeerSpec(2, HOST, freePort());
        List<RaftPeerSpec> meta = List.of(s1);
        try (RaftNode n1 = RaftNode.start(
                        RaftNodeConfig.of(1, HOST, s1.port(), dir.resolve("n1"), meta), g -> new Empty());
                RaftNode n2 = RaftNode.start(
                        RaftNodeConfig.of(2, HOST, s2.port(), dir.resolve("n2"), meta), g -> new Empty())) {
            n2.joinGroup(GROUP, List.of(s1, s2), 1);
            n1.joinGroup(GROUP, List.of(s1, s2), 1);
            await(
                    "node 1 leads the group",
                    () -> n1.group(GROUP).map(DataGroup::isLeader).orElse(false));

            // Remove the leader; it answers once the new configuration commits, then waits a
            // minimum RPC timeout under its lock before it closes itself.
            n1.reconfigure(GROUP, List.of(s1), List.of(s2), 2);
            // A configuration request that reaches it now waits for that lock in its server executor.
            // (Threads of their own: the common pool may have a single thread on a small machine.)
            CompletableFuture<Void> late = CompletableFuture.runAsync(
                    () -> {
                        try {
                            n1.reconfigure(GROUP, List.of(s1), List.of(s1, s2), 1);
                        } catch (IOException | RuntimeException e) {
                            // refused: the member is closing
                        }
                    },
                    OWN_THREAD);
            await("Ratis shuts node 1's member down", () -> n1.isShutDown(GROUP));

            CompletableFuture<Void> left = CompletableFuture.runAsync(
                    () -> {
                        try {
                            n1.leaveGroup(GROUP);
                        } catch (IOException e) {
                            throw new java.io.UncheckedIOException(e);
                        }
                    },
                    OWN_THREAD);
            left.get(60, TimeUnit.SECONDS);
            assertThat(n1.group(GROUP)).isEmpty();
            late.get(60, TimeUnit.SECONDS);
            await(
                    "node 2 leads the group alone",
                    () -> n2.group(GROUP).map(DataGroup::isLeader).orElse(false));
        }
    }

    private static final java.util.concurrent.Executor OWN_THREAD =
            r -> Thread.ofPlatform().daemon().start(r);

    /** A state machine with no state: the test is about membership, not data. */
    private static final class Empty implements ReplicatedStateMachine {
        @Override
        public void restore(byte[] checkpoint, long lastId, Path dir) {}

        @Override
        public byte[] apply(long id, long term, ByteBuffer entry) {
            return new byte[0];
        }

        @Override
        public Checkpoint checkpoint(long lastId) {
            return new Checkpoint(new byte[0], () -> {});
        }

        @Override
        public void checkpointed(long lastId, long firstKeptId) {}
    }
}
