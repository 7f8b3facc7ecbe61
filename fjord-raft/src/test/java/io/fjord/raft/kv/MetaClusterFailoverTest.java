package io.fjord.raft.kv;

import static io.fjord.raft.kv.MetaCluster.await;
import static java.nio.charset.StandardCharsets.UTF_8;
import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Leader loss, restarts and snapshots of the metadata group; each test has its own cluster. */
class MetaClusterFailoverTest {
    @TempDir
    Path dir;

    static byte[] bytes(String s) {
        return s.getBytes(UTF_8);
    }

    @Test
    void shouldSeeEveryAcknowledgedWriteInLinearizableReadsAcrossALeaderChange() throws Exception {
        try (MetaCluster cluster = new MetaCluster(dir, 3, 1_000, 100_000)) {
            RaftKvStore kv = cluster.client();
            Map<String, Long> acked = new LinkedHashMap<>();
            for (int i = 0; i < 10; i++) {
                acked.put("/f/" + i, kv.put("/f/" + i, bytes("v" + i)).get(20, TimeUnit.SECONDS));
            }
            int oldLeader = cluster.awaitLeader();
            cluster.stop(oldLeader);

            // Writes and reads ride out the election through the two survivors.
            for (int i = 10; i < 20; i++) {
                acked.put("/f/" + i, kv.put("/f/" + i, bytes("v" + i)).get(20, TimeUnit.SECONDS));
                assertThat(kv.get("/f/" + i, Consistency.LINEARIZABLE).get(20, TimeUnit.SECONDS))
                        .map(KeyValue::modRevision)
                        .hasValue(acked.get("/f/" + i));
            }
            int newLeader = cluster.awaitLeader();
            assertThat(newLeader).isNotEqualTo(oldLeader);
            assertEveryWriteVisible(kv, acked);

            cluster.restart(oldLeader);
            for (int i = 20; i < 25; i++) {
                acked.put("/f/" + i, kv.put("/f/" + i, bytes("v" + i)).get(20, TimeUnit.SECONDS));
            }
            assertEveryWriteVisible(kv, acked);
            long last = acked.get("/f/24");
            await(
                    "the restarted node to catch up",
                    () -> cluster.stateMachine(oldLeader).revision() >= last);
            // Its own replica, read locally, has every write too.
            RaftKvStore local = cluster.localStore(oldLeader);
            assertThat(local.range("/f/", Consistency.SERIALIZABLE).get().kvs()).hasSize(acked.size());
        }
    }

    @Test
    void shouldWriteAgainAfterAnOutageLongerThanTheClientRetries() throws Exception {
        try (MetaCluster cluster = new MetaCluster(dir, 3, 1_000, 100_000)) {
            RaftKvStore kv = cluster.client();
            kv.put("/o/before", bytes("1")).get(20, TimeUnit.SECONDS);
            int survivor = cluster.follower();
            for (int i = 1; i <= 3; i++) {
                if (i != survivor) {
                    cluster.stop(i);
                }
            }
            // No quorum: the write runs out of retries (about 10 s). Ratis then closes the client's
            // ordered sliding window for good; the store must not stay broken.
            org.assertj.core.api.Assertions.assertThatThrownBy(
                            () -> kv.put("/o/lost", bytes("x")).get(60, TimeUnit.SECONDS))
                    .hasCauseInstanceOf(KvException.class);
            for (int i = 1; i <= 3; i++) {
                if (!cluster.isRunning(i)) {
                    cluster.restart(i);
                }
            }
            cluster.awaitLeader();
            long deadlineNs = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
            while (true) {
                try {
                    kv.put("/o/after", bytes("2")).get(20, TimeUnit.SECONDS);
                    break;
                } catch (java.util.concurrent.ExecutionException e) {
                    // Only retriable failures may happen while the store replaces its client.
                    assertThat(e.getCause())
                            .isInstanceOfSatisfying(
                                    KvException.class,
                                    k -> assertThat(k.retriable())
                                            .as(k.getMessage())
                                            .isTrue());
                    assertThat(System.nanoTime()).isLessThan(deadlineNs);
                }
            }
            assertThat(kv.get("/o/after", Consistency.LINEARIZABLE).get(20, TimeUnit.SECONDS))
                    .isPresent();
        }
    }

    private static void assertEveryWriteVisible(RaftKvStore kv, Map<String, Long> acked) throws Exception {
        for (Map.Entry<String, Long> e : acked.entrySet()) {
            Optional<KeyValue> got =
                    kv.get(e.getKey(), Consistency.LINEARIZABLE).get(20, TimeUnit.SECONDS);
            assertThat(got).as(e.getKey()).map(KeyValue::modRevision).hasValue(e.getValue());
        }
    }

    @Test
    void shouldRecoverFromASnapshotAfterTheLogIsPurged() throws Exception {
        long snapshotEvery = 20;
        try (MetaCluster cluster = new MetaCluster(dir, 3, 1_000, snapshotEvery)) {
            RaftKvStore kv = cluster.client();
            long last = 0;
            for (int i = 0; i < 150; i++) {
                // Every put is a new version of a few keys, so the snapshot holds versions, not just adds.
                // 300-byte values fill the test cluster's 16 KB log segments, which purge needs closed.
                String value = i + "-" + "x".repeat(300);
                last = kv.put("/s/" + (i % 7), bytes(value)).get(20, TimeUnit.SECONDS);
            }
            kv.delete("/s/6").get(20, TimeUnit.SECONDS);
            long lastWrite = kv.put("/s/after", bytes("x")).get(20, TimeUnit.SECONDS);
            assertThat(lastWrite).isGreaterThan(last);
            Map<String, KeyValue> expected = new LinkedHashMap<>();
            kv.range("/s/", Consistency.LINEARIZABLE).get().kvs().forEach(x -> expected.put(x.key(), x));

            int node = cluster.follower();
            await("node " + node + " to snapshot and purge its log", () -> {
                var snapshot = cluster.stateMachine(node).getLatestSnapshot();
                return snapshot != null
                        && snapshot.getIndex() >= 100
                        && cluster.division(node).getRaftLog().getStartIndex() > 0;
            });
            long purgedThrough = cluster.division(node).getRaftLog().getStartIndex();
            cluster.stop(node);
            cluster.restart(node);

            MetaStateMachine sm = cluster.stateMachine(node);
            assertThat(cluster.division(node).getRaftLog().getStartIndex()).isGreaterThanOrEqualTo(purgedThrough);
            await("the restarted node to replay after its snapshot", () -> sm.revision() >= lastWrite);
            assertThat(sm.range("/s/").kvs())
                    .usingRecursiveFieldByFieldElementComparator()
                    .containsExactlyElementsOf(expected.values());
            assertThat(sm.get("/s/6")).isEmpty();
            assertThat(sm.get("/s/0").orElseThrow().version()).isEqualTo(22); // i = 0, 7, ..., 147
            // History came back with the snapshot: recent changes are still answerable.
            assertThat(sm.changes("/s/", lastWrite - 1, 10).events())
                    .extracting(e -> e.kv().key())
                    .containsExactly("/s/after");
        }
    }
}
