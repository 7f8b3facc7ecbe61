package io.fjord.raft.kv;

import static io.fjord.raft.kv.MetaCluster.await;
import static java.nio.charset.StandardCharsets.UTF_8;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.apache.ratis.client.RaftClient;
import org.apache.ratis.protocol.Message;
import org.apache.ratis.protocol.RaftClientReply;
import org.apache.ratis.thirdparty.com.google.protobuf.ByteString;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The KV over a shared 3-node metadata group; each test uses its own key prefix. */
class RaftKvStoreTest {
    static final int HISTORY_EVENTS = 300;

    @TempDir
    static Path dir;

    static MetaCluster cluster;
    static RaftKvStore client;

    @BeforeAll
    static void start() throws Exception {
        cluster = new MetaCluster(dir, 3, HISTORY_EVENTS, 100_000);
        cluster.awaitLeader();
        client = cluster.client();
    }

    @AfterAll
    static void stop() throws Exception {
        cluster.close();
    }

    static <T> T get(CompletableFuture<T> f) throws Exception {
        return f.get(20, TimeUnit.SECONDS);
    }

    static byte[] bytes(String s) {
        return s.getBytes(UTF_8);
    }

    @Test
    void shouldPutGetDeleteAndRangeThroughRaft() throws Exception {
        long r1 = get(client.put("/basic/a", bytes("1")));
        long r2 = get(client.put("/basic/b", bytes("2")));
        long r3 = get(client.put("/basic/a", bytes("3")));
        assertThat(r1).isLessThan(r2);
        assertThat(r2).isLessThan(r3);

        KeyValue a = get(client.get("/basic/a", Consistency.LINEARIZABLE)).orElseThrow();
        assertThat(new String(a.value(), UTF_8)).isEqualTo("3");
        assertThat(a.createRevision()).isEqualTo(r1);
        assertThat(a.modRevision()).isEqualTo(r3);
        assertThat(a.version()).isEqualTo(2);

        RangeResult range = get(client.range("/basic/", Consistency.LINEARIZABLE));
        assertThat(range.kvs()).extracting(KeyValue::key).containsExactly("/basic/a", "/basic/b");
        assertThat(range.revision()).isGreaterThanOrEqualTo(r3);

        assertThat(get(client.delete("/basic/a"))).isEqualTo(1);
        assertThat(get(client.delete("/basic/a"))).isZero();
        assertThat(get(client.get("/basic/a", Consistency.LINEARIZABLE))).isEmpty();
        assertThat(get(client.deletePrefix("/basic/"))).isEqualTo(1);

        // The client-only store's serializable read comes from one server; it catches up.
        get(client.put("/basic/c", bytes("c")));
        await("/basic/c on the serializable path", () -> {
            try {
                return get(client.get("/basic/c", Consistency.SERIALIZABLE)).isPresent();
            } catch (Exception e) {
                throw new AssertionError(e);
            }
        });
    }

    @Test
    void shouldRunTxnBranches() throws Exception {
        long rev = get(client.put("/txn/k", bytes("v")));
        TxnResult ok = get(client.txn(new Txn(
                List.of(new Compare.ModRevision("/txn/k", rev)),
                List.of(new Op.Put("/txn/k", bytes("w"))),
                List.of(new Op.Put("/txn/lost", bytes("x"))))));
        assertThat(ok.succeeded()).isTrue();
        TxnResult lost = get(client.txn(new Txn(
                List.of(new Compare.Value("/txn/k", bytes("v"))),
                List.of(new Op.Put("/txn/k", bytes("never"))),
                List.of(new Op.Put("/txn/lost", bytes("x"))))));
        assertThat(lost.succeeded()).isFalse();
        assertThat(lost.revision()).isGreaterThan(ok.revision());
        assertThat(get(client.range("/txn/", Consistency.LINEARIZABLE)).kvs())
                .extracting(kv -> kv.key() + "=" + new String(kv.value(), UTF_8))
                .containsExactly("/txn/k=w", "/txn/lost=x");
    }

    @Test
    void shouldKeepACounterExactUnderCompareAndSetContention() throws Exception {
        int clients = 4;
        int increments = 50;
        String key = "/cas/counter";
        List<CompletableFuture<Integer>> workers = new ArrayList<>();
        for (int c = 0; c < clients; c++) {
            RaftKvStore store = cluster.client();
            workers.add(CompletableFuture.supplyAsync(() -> {
                int retries = 0;
                try {
                    for (int i = 0; i < increments; i++) {
                        while (true) {
                            var current = get(store.get(key, Consistency.LINEARIZABLE));
                            long value = current.map(
                                            kv -> ByteBuffer.wrap(kv.value()).getLong())
                                    .orElse(0L);
                            long modRevision =
                                    current.map(KeyValue::modRevision).orElse(0L);
                            byte[] next =
                                    ByteBuffer.allocate(8).putLong(value + 1).array();
                            TxnResult r = get(store.txn(new Txn(
                                    List.of(new Compare.ModRevision(key, modRevision)),
                                    List.of(new Op.Put(key, next)),
                                    List.of())));
                            if (r.succeeded()) {
                                break;
                            }
                            retries++;
                        }
                    }
                } catch (Exception e) {
                    throw new AssertionError(e);
                }
                return retries;
            }));
        }
        int retries = 0;
        for (CompletableFuture<Integer> w : workers) {
            retries += w.get(60, TimeUnit.SECONDS);
        }
        KeyValue counter = get(client.get(key, Consistency.LINEARIZABLE)).orElseThrow();
        assertThat(ByteBuffer.wrap(counter.value()).getLong()).isEqualTo((long) clients * increments);
        assertThat(counter.version()).isEqualTo((long) clients * increments);
        assertThat(retries).as("contention happened").isGreaterThanOrEqualTo(0);
    }

    @Test
    void shouldNeverGoBackwardsOnAFollowersSerializableReads() throws Exception {
        int follower = cluster.follower();
        RaftKvStore local = cluster.localStore(follower);
        CompletableFuture<Void> writes = CompletableFuture.runAsync(() -> {
            try {
                for (int i = 0; i < 60; i++) {
                    get(client.put("/mono/k", bytes(Integer.toString(i))));
                }
            } catch (Exception e) {
                throw new AssertionError(e);
            }
        });
        long lastRevision = 0;
        long lastModRevision = 0;
        int reads = 0;
        while (!writes.isDone() || reads < 10) {
            RangeResult r = get(local.range("/mono/", Consistency.SERIALIZABLE));
            assertThat(r.revision()).isGreaterThanOrEqualTo(lastRevision);
            lastRevision = r.revision();
            long mod = r.kvs().isEmpty() ? 0 : r.kvs().getFirst().modRevision();
            assertThat(mod).isGreaterThanOrEqualTo(lastModRevision);
            lastModRevision = mod;
            reads++;
        }
        writes.get();
        long finalRevision = get(client.get("/mono/k", Consistency.LINEARIZABLE))
                .orElseThrow()
                .modRevision();
        await("the follower to catch up", () -> cluster.stateMachine(follower).revision() >= finalRevision);
    }

    @Test
    void shouldDeliverWatchEventsInOrderFromAPastRevision() throws Exception {
        long first = get(client.put("/watch/a", bytes("1")));
        get(client.put("/watch/b", bytes("2")));
        get(client.put("/other/x", bytes("no")));
        get(client.delete("/watch/a"));

        int node = cluster.follower();
        List<WatchEvent> local = new CopyOnWriteArrayList<>();
        List<WatchEvent> remote = new CopyOnWriteArrayList<>();
        try (KvWatch w1 = cluster.localStore(node).watch("/watch/", first - 1, local::add);
                KvWatch w2 = client.watch("/watch/", first - 1, remote::add)) {
            get(client.put("/watch/c", bytes("3")));
            get(client.txn(new Txn(
                    List.of(),
                    List.of(new Op.Put("/watch/d", bytes("4")), new Op.Delete("/watch/b", false)),
                    List.of())));
            await("six local events", () -> local.size() >= 6);
            await("six remote events", () -> remote.size() >= 6);
            assertThat(w1.failure()).isEmpty();
            assertThat(w2.failure()).isEmpty();
        }
        for (List<WatchEvent> events : List.of(local, remote)) {
            assertThat(events)
                    .extracting(e -> e.type() + " " + e.kv().key())
                    .containsExactly(
                            "PUT /watch/a",
                            "PUT /watch/b",
                            "DELETE /watch/a",
                            "PUT /watch/c",
                            "PUT /watch/d",
                            "DELETE /watch/b");
            assertThat(events).extracting(WatchEvent::revision).isSorted();
            assertThat(events.get(0).revision()).isEqualTo(first);
        }
    }

    @Test
    void shouldFailWithCompactedForHistoryNoLongerKept() throws Exception {
        long first = get(client.put("/compact/0", bytes("0")));
        List<CompletableFuture<Long>> puts = new ArrayList<>();
        for (int i = 1; i <= HISTORY_EVENTS + 10; i++) {
            puts.add(client.put("/compact/" + i, bytes("x")));
        }
        for (CompletableFuture<Long> p : puts) {
            get(p);
        }
        assertThatThrownBy(() -> get(client.changes("/compact/", first - 1, 10, Consistency.LINEARIZABLE)))
                .isInstanceOf(ExecutionException.class)
                .cause()
                .isInstanceOfSatisfying(KvException.class, e -> {
                    assertThat(e.compacted()).isTrue();
                    assertThat(e.retriable()).isFalse();
                });
        int node = cluster.follower();
        long lastPut = get(puts.getLast());
        await("the follower to apply the puts", () -> cluster.stateMachine(node).revision() >= lastPut);
        assertThatThrownBy(() -> cluster.localStore(node).watch("/compact/", first - 1, e -> {}))
                .isInstanceOfSatisfying(
                        KvException.class, e -> assertThat(e.compacted()).isTrue());
        // Recent history is still there.
        assertThat(get(client.changes("/compact/", lastPut - 1, 10, Consistency.LINEARIZABLE)))
                .extracting(e -> e.kv().key())
                .containsExactly("/compact/" + (HISTORY_EVENTS + 10));
    }

    @Test
    void shouldAnswerMalformedCommandsWithAnErrorReplyAndKeepServing() throws Exception {
        try (RaftClient raw = RaftClient.newBuilder()
                .setRaftGroup(cluster.group())
                .setProperties(new org.apache.ratis.conf.RaftProperties())
                .build()) {
            for (byte[] junk : List.of(new byte[0], new byte[] {9, 9, 9}, new byte[] {1, 1, 0, 0, 0, 5})) {
                RaftClientReply reply = raw.async()
                        .send(Message.valueOf(ByteString.copyFrom(junk)))
                        .get(20, TimeUnit.SECONDS);
                assertThat(reply.isSuccess()).isTrue();
                assertThatThrownBy(() -> KvCodec.decodeTxnReply(
                                reply.getMessage().getContent().toByteArray()))
                        .isInstanceOf(KvException.class)
                        .hasMessageContaining("malformed command");
                RaftClientReply query = raw.async()
                        .sendReadOnly(Message.valueOf(ByteString.copyFrom(junk)))
                        .get(20, TimeUnit.SECONDS);
                assertThatThrownBy(() -> KvCodec.decodeGetReply(
                                query.getMessage().getContent().toByteArray()))
                        .isInstanceOf(KvException.class)
                        .hasMessageContaining("malformed query");
            }
        }
        long rev = get(client.put("/malformed/after", bytes("ok")));
        for (int i = 1; i <= cluster.size(); i++) {
            int n = i;
            await(
                    "node " + n + " to keep applying",
                    () -> cluster.stateMachine(n).revision() >= rev);
        }
    }
}
