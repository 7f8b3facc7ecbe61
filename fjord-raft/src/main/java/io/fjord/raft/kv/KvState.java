package io.fjord.raft.kv;

import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.SortedMap;
import java.util.TreeMap;

/**
 * The metadata KV's data: keys in order, the store revision (the Raft index of the last entry that
 * changed a key), and a bounded {@link EventHistory}. {@link #apply} is deterministic: the same
 * entries at the same indexes give the same state on every replica.
 *
 * <p>Not thread-safe: {@link MetaStateMachine} owns it and guards it with its lock.
 */
final class KvState {
    private final TreeMap<String, KeyValue> kvs = new TreeMap<>();
    private final EventHistory history;
    private long revision;

    KvState(int historyEventsMax) {
        this(historyEventsMax, 0, 0);
    }

    private KvState(int historyEventsMax, long revision, long compactedThrough) {
        this.history = new EventHistory(historyEventsMax, compactedThrough);
        this.revision = revision;
    }

    long revision() {
        return revision;
    }

    /** What one applied entry did: its reply, and the events it produced (maybe none). */
    record Applied(byte[] reply, List<WatchEvent> events) {}

    /**
     * Applies the command of the Raft entry at {@code index}. Never throws for bad bytes or a bad
     * transaction: those change nothing and get an error reply.
     */
    Applied apply(long index, byte[] command) {
        if (index <= revision) {
            throw new IllegalStateException("entry " + index + " applied after revision " + revision);
        }
        Txn txn;
        try {
            txn = KvCodec.decodeTxn(command);
        } catch (KvCodec.MalformedException e) {
            return new Applied(
                    KvCodec.encodeError(KvCodec.ERR_BAD_REQUEST, "malformed command: " + e.getMessage()), List.of());
        }
        String invalid = invalid(txn);
        if (invalid != null) {
            return new Applied(KvCodec.encodeError(KvCodec.ERR_BAD_REQUEST, invalid), List.of());
        }
        boolean succeeded = txn.compares().stream().allMatch(this::holds);
        List<WatchEvent> events = new ArrayList<>();
        long deleted = 0;
        for (Op op : succeeded ? txn.onSuccess() : txn.onFailure()) {
            switch (op) {
                case Op.Put p -> events.add(put(index, p.key(), p.value()));
                case Op.Delete d -> deleted += delete(index, d.key(), d.prefix(), events);
            }
        }
        if (!events.isEmpty()) {
            revision = index;
            events.forEach(history::add);
        }
        return new Applied(
                KvCodec.encodeTxnReply(new KvCodec.TxnReply(succeeded, revision, deleted)), List.copyOf(events));
    }

    /** Why the transaction cannot run, or null. Keys of puts and single deletes must not be empty. */
    private static String invalid(Txn txn) {
        for (List<Op> ops : List.of(txn.onSuccess(), txn.onFailure())) {
            for (Op op : ops) {
                boolean prefix = op instanceof Op.Delete d && d.prefix();
                if (op.key().isEmpty() && !prefix) {
                    return "empty key";
                }
            }
        }
        for (Compare c : txn.compares()) {
            if (c.key().isEmpty()) {
                return "empty key in a compare";
            }
            if (c instanceof Compare.ModRevision m && m.revision() < 0) {
                return "negative revision in a compare";
            }
        }
        return null;
    }

    private boolean holds(Compare c) {
        KeyValue kv = kvs.get(c.key());
        return switch (c) {
            case Compare.ModRevision m -> (kv == null ? 0 : kv.modRevision()) == m.revision();
            case Compare.Value v -> kv != null && Arrays.equals(kv.value(), v.value());
        };
    }

    private WatchEvent put(long index, String key, byte[] value) {
        KeyValue old = kvs.get(key);
        KeyValue kv = old == null
                ? new KeyValue(key, value, index, index, 1)
                : new KeyValue(key, value, old.createRevision(), index, old.version() + 1);
        kvs.put(key, kv);
        return new WatchEvent(WatchEvent.Type.PUT, kv);
    }

    private long delete(long index, String key, boolean prefix, List<WatchEvent> events) {
        long n = 0;
        Iterator<String> keys = prefix
                ? kvs.tailMap(key, true).keySet().iterator()
                : (kvs.containsKey(key)
                        ? List.of(key).iterator()
                        : List.<String>of().iterator());
        while (keys.hasNext()) {
            String k = keys.next();
            if (!k.startsWith(key)) {
                break;
            }
            if (prefix) {
                keys.remove();
            } else {
                kvs.remove(k);
            }
            events.add(new WatchEvent(WatchEvent.Type.DELETE, new KeyValue(k, new byte[0], 0, index, 0)));
            n++;
        }
        return n;
    }

    Optional<KeyValue> get(String key) {
        return Optional.ofNullable(kvs.get(key));
    }

    RangeResult range(String prefix) {
        SortedMap<String, KeyValue> tail = kvs.tailMap(prefix);
        List<KeyValue> out = new ArrayList<>();
        for (Map.Entry<String, KeyValue> e : tail.entrySet()) {
            if (!e.getKey().startsWith(prefix)) {
                break;
            }
            out.add(e.getValue());
        }
        return new RangeResult(List.copyOf(out), revision);
    }

    /**
     * Changes under {@code prefix} after {@code afterRevision}; the reply's revision is how far
     * the caller may move its cursor (the last event's revision when the limit cut the answer).
     */
    KvCodec.ChangesReply changes(String prefix, long afterRevision, int limit) {
        List<WatchEvent> events = history.since(prefix, afterRevision, limit);
        long cursor = events.size() >= limit ? events.getLast().revision() : Math.max(afterRevision, revision);
        return new KvCodec.ChangesReply(events, cursor);
    }

    long compactedThrough() {
        return history.compactedThrough();
    }

    // ---- snapshot body (MetaSnapshot frames it)

    void writeTo(DataOutputStream out) throws IOException {
        out.writeLong(revision);
        out.writeLong(history.compactedThrough());
        out.writeInt(kvs.size());
        for (KeyValue kv : kvs.values()) {
            KvCodec.writeKeyValue(out, kv);
        }
        out.writeInt(history.size());
        for (int i = 0; i < history.size(); i++) {
            WatchEvent e = history.get(i);
            out.writeByte(e.type().ordinal());
            KvCodec.writeKeyValue(out, e.kv());
        }
    }

    /** Reads what {@link #writeTo} wrote; keeps the newest {@code historyEventsMax} events. */
    static KvState readFrom(DataInputStream in, int historyEventsMax) throws IOException {
        long revision = in.readLong();
        long compactedThrough = in.readLong();
        KvState s = new KvState(historyEventsMax, revision, compactedThrough);
        int n = in.readInt();
        for (int i = 0; i < n; i++) {
            KeyValue kv = readKeyValue(in);
            s.kvs.put(kv.key(), kv);
        }
        int events = in.readInt();
        WatchEvent.Type[] types = WatchEvent.Type.values();
        for (int i = 0; i < events; i++) {
            int t = in.readUnsignedByte();
            if (t >= types.length) {
                throw new IOException("snapshot has an event of unknown type " + t);
            }
            s.history.add(new WatchEvent(types[t], readKeyValue(in)));
        }
        return s;
    }

    private static KeyValue readKeyValue(DataInputStream in) throws IOException {
        byte[] key = new byte[in.readInt()];
        in.readFully(key);
        byte[] value = new byte[in.readInt()];
        in.readFully(value);
        return new KeyValue(
                new String(key, java.nio.charset.StandardCharsets.UTF_8),
                value,
                in.readLong(),
                in.readLong(),
                in.readLong());
    }
}
