package io.fjord.raft;

import static io.fjord.raft.RaftTesting.await;
import static io.fjord.raft.RaftTesting.freePort;
import static org.assertj.core.api.Assertions.assertThat;

import io.fjord.raft.kv.Consistency;
import io.fjord.raft.kv.KeyValue;
import io.fjord.raft.kv.KvStore;
import io.fjord.raft.kv.WatchEvent;
import io.fjord.storage.SmallFileSystem;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import org.apache.ratis.client.RaftClient;
import org.apache.ratis.conf.RaftProperties;
import org.apache.ratis.protocol.RaftClientReply;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The metadata group's leader runs out of disk (its directory is a tmpfs the test mounts; it must
 * run as root, otherwise it is skipped): the other two voters keep taking metadata writes, and once
 * the disk has room again the node's member starts again from its storage, by itself, and catches
 * up, with its local state and watches going on where they were.
 */
class MetaDiskFullTest {
    private static final String HOST = "127.0.0.1";
    private static final int NODES = 3;
    private static final byte[] BIG = new byte[256 * 1024];

    @TempDir
    Path dir;

    private final RaftNode[] nodes = new RaftNode[NODES + 1];
    private SmallFileSystem smallDisk;

    @AfterEach
    void stop() throws Exception {
        try {
            for (int i = NODES; i >= 1; i--) {
                if (nodes[i] != null) {
                    nodes[i].close();
                }
            }
        } finally {
            if (smallDisk != null) {
                smallDisk.unmount(3_000, true);
            }
        }
    }

    @Test
    @Timeout(value = 3, unit = TimeUnit.MINUTES)
    void shouldKeepMetadataWritableWhenItsLeadersDiskIsFullAndRejoinOnceItHasRoom() throws Exception {
        smallDisk = SmallFileSystem.mountOrSkip(dir.resolve("n1"), 16);
        List<RaftPeerSpec> voters = new ArrayList<>();
        for (int i = 1; i <= NODES; i++) {
            voters.add(new RaftPeerSpec(i, HOST, freePort()));
        }
        for (int i = 1; i <= NODES; i++) {
            RaftPeerSpec s = voters.get(i - 1);
            nodes[i] = RaftNode.start(RaftNodeConfig.of(i, HOST, s.port(), dir.resolve("n" + i), voters), no -> {
                throw new AssertionError("no data groups in this test");
            });
        }
        await("a metadata leader", () -> leader() > 0);
        if (leader() != 1) {
            try (RaftClient admin = RaftClient.newBuilder()
                    .setRaftGroup(RaftNode.metaGroup(voters))
                    .setProperties(new RaftProperties())
                    .build()) {
                RaftClientReply reply = admin.admin().transferLeadership(RaftNode.peerId(1), 10_000);
                assertThat(reply.isSuccess())
                        .as("leadership moved to node 1: %s", reply)
                        .isTrue();
            }
        }
        await("node 1 leads the metadata group", () -> leader() == 1);

        KvStore local = nodes[1].kv();
        KvStore writer = nodes[2].kv();
        List<WatchEvent> seen = new CopyOnWriteArrayList<>();
        AutoCloseable watch = local.watch("/m/", 0, seen::add);
        List<String> keys = new ArrayList<>();
        List<Long> revisions = new ArrayList<>();
        for (int i = 0; i < 5; i++) {
            put(writer, "/m/small-" + i, ("v" + i).getBytes(StandardCharsets.UTF_8), keys, revisions);
        }

        long left = smallDisk.fill(dir.resolve("n1").resolve("filler"));
        assertThat(left).as("bytes left on node 1's disk").isLessThan(1024 * 1024);
        // ~10 MiB of metadata: far past what node 1's Raft log has room for.
        for (int i = 0; i < 40; i++) {
            put(writer, "/m/big-" + i, BIG, keys, revisions);
        }
        assertThat(nodes[1].metaRestarting())
                .as("node 1's metadata member is closed while its disk is full")
                .isTrue();
        assertThat(leader()).as("the metadata leader").isIn(2, 3);
        // Node 1's own replica still answers local reads, from where it stopped.
        assertThat(local.get("/m/small-4", Consistency.SERIALIZABLE).get(10, TimeUnit.SECONDS))
                .map(KeyValue::modRevision)
                .hasValue(revisions.get(4));

        smallDisk.resize(256);
        await(
                "node 1's metadata member to run again",
                () -> !nodes[1].metaRestarting() && "FOLLOWER".equals(nodes[1].metaRole()));
        put(writer, "/m/after", "after".getBytes(StandardCharsets.UTF_8), keys, revisions);
        long last = revisions.getLast();
        await("node 1 to apply the write after the restart", () -> {
            try {
                return local.get("/m/after", Consistency.SERIALIZABLE)
                        .get(10, TimeUnit.SECONDS)
                        .map(kv -> kv.modRevision() == last)
                        .orElse(false);
            } catch (Exception e) {
                return false;
            }
        });
        await("node 1's watch to see every write", () -> seen.size() >= keys.size());
        watch.close();
        assertThat(seen.stream().map(e -> e.kv().key()).toList())
                .as("keys, in the order written, each once")
                .containsExactlyElementsOf(keys);
        assertThat(seen.stream().map(WatchEvent::revision).toList()).containsExactlyElementsOf(revisions);
        assertThat(local.range("/m/", Consistency.SERIALIZABLE)
                        .get(10, TimeUnit.SECONDS)
                        .kvs())
                .hasSize(keys.size());
    }

    /** Puts through {@code kv}, waits for the acknowledgement, and records the key and revision. */
    private static void put(KvStore kv, String key, byte[] value, List<String> keys, List<Long> revisions)
            throws Exception {
        long revision = kv.put(key, value).get(60, TimeUnit.SECONDS);
        keys.add(key);
        revisions.add(revision);
    }

    /** The node that leads the metadata group, as the first node that says so; -1 when none does. */
    private int leader() {
        return Arrays.stream(nodes, 1, NODES + 1)
                .filter(n -> "LEADER".equals(n.metaRole()))
                .mapToInt(RaftNode::nodeId)
                .findFirst()
                .orElse(-1);
    }
}
