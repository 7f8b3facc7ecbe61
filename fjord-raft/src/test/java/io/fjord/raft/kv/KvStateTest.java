package io.fjord.raft.kv;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

class KvStateTest {
    private final KvState state = new KvState(100);
    private long index;

    private KvCodec.TxnReply apply(Txn txn) {
        return KvCodec.decodeTxnReply(
                state.apply(++index, KvCodec.encodeTxn(txn)).reply());
    }

    private KvCodec.TxnReply put(String key, String value) {
        return apply(new Txn(List.of(), List.of(new Op.Put(key, value.getBytes(UTF_8))), List.of()));
    }

    private KvCodec.TxnReply delete(String key, boolean prefix) {
        return apply(new Txn(List.of(), List.of(new Op.Delete(key, prefix)), List.of()));
    }

    private static String value(KeyValue kv) {
        return new String(kv.value(), UTF_8);
    }

    @Test
    void shouldTrackRevisionsAndVersionsPerKey() {
        assertThat(put("/a", "1").revision()).isEqualTo(1);
        assertThat(put("/b", "x").revision()).isEqualTo(2);
        assertThat(put("/a", "2").revision()).isEqualTo(3);

        KeyValue a = state.get("/a").orElseThrow();
        assertThat(value(a)).isEqualTo("2");
        assertThat(a.createRevision()).isEqualTo(1);
        assertThat(a.modRevision()).isEqualTo(3);
        assertThat(a.version()).isEqualTo(2);
        assertThat(state.revision()).isEqualTo(3);

        assertThat(delete("/a", false).deleted()).isEqualTo(1);
        assertThat(state.get("/a")).isEmpty();
        put("/a", "again");
        KeyValue recreated = state.get("/a").orElseThrow();
        assertThat(recreated.createRevision()).isEqualTo(5);
        assertThat(recreated.version()).isEqualTo(1);
    }

    @Test
    void shouldNotMoveTheRevisionWhenNothingChanges() {
        put("/a", "1");
        KvCodec.TxnReply none = delete("/missing", false);
        assertThat(none.deleted()).isZero();
        assertThat(none.revision()).isEqualTo(1);
        assertThat(state.revision()).isEqualTo(1);
    }

    @Test
    void shouldRangeAndDeleteByPrefixInKeyOrder() {
        put("/topics/b", "2");
        put("/topics/a", "1");
        put("/topicsx", "no");
        put("/brokers/1", "b");
        RangeResult r = state.range("/topics/");
        assertThat(r.kvs()).extracting(KeyValue::key).containsExactly("/topics/a", "/topics/b");
        assertThat(r.revision()).isEqualTo(4);
        assertThat(state.range("").kvs()).hasSize(4);

        assertThat(delete("/topics/", true).deleted()).isEqualTo(2);
        assertThat(state.range("").kvs()).extracting(KeyValue::key).containsExactly("/brokers/1", "/topicsx");
    }

    @Test
    void shouldRunTheBranchTheComparesChoose() {
        put("/k", "v");
        long rev = state.revision();
        KvCodec.TxnReply ok = apply(new Txn(
                List.of(new Compare.ModRevision("/k", rev), new Compare.Value("/k", "v".getBytes(UTF_8))),
                List.of(new Op.Put("/k", "w".getBytes(UTF_8)), new Op.Put("/other", "o".getBytes(UTF_8))),
                List.of(new Op.Put("/failed", "f".getBytes(UTF_8)))));
        assertThat(ok.succeeded()).isTrue();
        assertThat(state.get("/k").map(KvStateTest::value)).hasValue("w");
        assertThat(state.get("/other").orElseThrow().modRevision()).isEqualTo(ok.revision());

        KvCodec.TxnReply failed = apply(new Txn(
                List.of(new Compare.ModRevision("/k", rev)),
                List.of(new Op.Put("/k", "x".getBytes(UTF_8))),
                List.of(new Op.Put("/failed", "f".getBytes(UTF_8)))));
        assertThat(failed.succeeded()).isFalse();
        assertThat(state.get("/k").map(KvStateTest::value)).hasValue("w");
        assertThat(state.get("/failed")).isPresent();

        // Mod revision 0 means "absent": create-if-absent.
        KvCodec.TxnReply create = apply(new Txn(
                List.of(new Compare.ModRevision("/new", 0)), List.of(new Op.Put("/new", new byte[0])), List.of()));
        assertThat(create.succeeded()).isTrue();
        KvCodec.TxnReply again = apply(new Txn(
                List.of(new Compare.ModRevision("/new", 0)), List.of(new Op.Put("/new", new byte[0])), List.of()));
        assertThat(again.succeeded()).isFalse();
        assertThat(apply(new Txn(List.of(new Compare.Value("/absent", new byte[0])), List.of(), List.of()))
                        .succeeded())
                .isFalse();
    }

    @Test
    void shouldAnswerMalformedCommandsWithAnErrorAndChangeNothing() {
        put("/a", "1");
        long seed = System.nanoTime();
        Random random = new Random(seed);
        byte[] good = KvCodec.encodeTxn(new Txn(
                List.of(new Compare.ModRevision("/a", 1)),
                List.of(new Op.Put("/a", "2".getBytes(UTF_8))),
                List.of(new Op.Delete("/", true))));
        for (int i = 0; i < 2_000; i++) {
            byte[] bad;
            if (i % 2 == 0) {
                bad = new byte[random.nextInt(40)];
                random.nextBytes(bad);
            } else {
                bad = java.util.Arrays.copyOf(good, random.nextInt(good.length)); // truncated
            }
            KvState.Applied applied = state.apply(++index, bad);
            assertThat(applied.events()).as("seed %d", seed).isEmpty();
            assertThatThrownBy(() -> KvCodec.decodeTxnReply(applied.reply()))
                    .as("seed %d", seed)
                    .isInstanceOf(KvException.class)
                    .hasMessageContaining("malformed command");
        }
        assertThat(state.get("/a").map(KvStateTest::value)).hasValue("1");
        assertThat(state.revision()).isEqualTo(1);
        // Valid bytes with an invalid meaning are refused too.
        assertThatThrownBy(() -> put("", "x")).isInstanceOf(KvException.class).hasMessageContaining("empty key");
    }

    @Test
    void shouldKeepHistoryBoundedAndReportCompaction() {
        KvState small = new KvState(3);
        for (int i = 1; i <= 5; i++) {
            small.apply(
                    i, KvCodec.encodeTxn(new Txn(List.of(), List.of(new Op.Put("/k" + i, new byte[] {1})), List.of())));
        }
        assertThat(small.compactedThrough()).isEqualTo(2);
        assertThat(small.changes("/", 2, 100).events())
                .extracting(WatchEvent::revision)
                .containsExactly(3L, 4L, 5L);
        assertThatThrownBy(() -> small.changes("/", 1, 100))
                .isInstanceOfSatisfying(
                        KvException.class, e -> assertThat(e.compacted()).isTrue());
    }

    @Test
    void shouldNotSplitARevisionAcrossChangesPages() {
        put("/p/a", "1");
        put("/p/b", "1");
        delete("/p/", true); // two events at one revision
        put("/p/c", "1");
        KvCodec.ChangesReply first = state.changes("/p/", 0, 3);
        assertThat(first.events()).extracting(WatchEvent::revision).containsExactly(1L, 2L, 3L, 3L);
        assertThat(first.revision()).isEqualTo(3);
        KvCodec.ChangesReply rest = state.changes("/p/", first.revision(), 3);
        assertThat(rest.events()).extracting(e -> e.kv().key()).containsExactly("/p/c");
        assertThat(rest.revision()).isEqualTo(4);
        // An idle prefix still moves its cursor to the store's revision.
        assertThat(state.changes("/none/", 0, 3).revision()).isEqualTo(4);
    }

    @Test
    void shouldRoundTripThroughASnapshotBody() throws IOException {
        put("/a", "1");
        put("/b", "2");
        delete("/a", false);
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        state.writeTo(new DataOutputStream(bytes));
        KvState copy = KvState.readFrom(new DataInputStream(new ByteArrayInputStream(bytes.toByteArray())), 100);
        assertThat(copy.revision()).isEqualTo(3);
        assertThat(copy.range("").kvs())
                .usingRecursiveFieldByFieldElementComparator()
                .isEqualTo(state.range("").kvs());
        assertThat(copy.changes("", 0, 100).events()).hasSize(3);
    }
}
