package io.fjord.raft.kv;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * The bytes of the metadata KV's Raft entries, queries and replies. Every message starts with
 * {@link #VERSION}; integers are big-endian ({@link DataOutputStream}); a string is an int length
 * and that many UTF-8 bytes; a byte array is an int length and the bytes.
 *
 * <pre>
 * command  = VERSION:u8 CMD_TXN:u8 compares:list(compare) success:list(op) failure:list(op)
 * compare  = 1:u8 key:str revision:i64          (mod revision equals; 0 = absent)
 *          | 2:u8 key:str value:bytes           (key exists with this value)
 * op       = 1:u8 key:str value:bytes           (put)
 *          | 2:u8 key:str prefix:bool           (delete)
 * list(x)  = count:i32 x*
 * query    = VERSION:u8 (Q_GET key:str | Q_RANGE prefix:str | Q_CHANGES prefix:str after:i64 limit:i32)
 * reply    = VERSION:u8 OK:u8 body | VERSION:u8 error:u8 message:str
 * body     = txn: succeeded:bool revision:i64 deleted:i64
 *          | get: revision:i64 present:bool kv?
 *          | range: revision:i64 list(kv)
 *          | changes: revision:i64 list(type:u8 kv)
 * kv       = key:str value:bytes createRevision:i64 modRevision:i64 version:i64
 * </pre>
 *
 * <p>Decoding checks every length against the limits below and the bytes left, and throws {@link
 * MalformedException} for anything else, so a bad entry is answered, never applied or crashed on.
 */
final class KvCodec {
    static final byte VERSION = 1;

    static final byte CMD_TXN = 1;

    static final byte Q_GET = 1;
    static final byte Q_RANGE = 2;
    static final byte Q_CHANGES = 3;

    static final byte OK = 0;
    static final byte ERR_BAD_REQUEST = 1;
    static final byte ERR_COMPACTED = 2;

    static final int KEY_BYTES_MAX = 4 * 1024;
    static final int VALUE_BYTES_MAX = 1024 * 1024;
    /** Compares, and ops of each branch, in one transaction. */
    static final int TXN_ITEMS_MAX = 1024;
    /** Events one changes query may return (a revision is never split, so it may exceed this). */
    static final int CHANGES_LIMIT_MAX = 10_000;

    private KvCodec() {}

    /** A message that does not follow the format above. */
    static final class MalformedException extends Exception {
        private static final long serialVersionUID = 1L;

        MalformedException(String message) {
            super(message);
        }
    }

    /** A read of the KV. */
    sealed interface Query {
        record Get(String key) implements Query {}

        record Range(String prefix) implements Query {}

        record Changes(String prefix, long afterRevision, int limit) implements Query {}
    }

    /** What a transaction did: which branch, the store's revision after it, keys deleted. */
    record TxnReply(boolean succeeded, long revision, long deleted) {}

    /** Events after a revision, and the revision of the store they were read from. */
    record ChangesReply(List<WatchEvent> events, long revision) {}

    // ---- commands

    static byte[] encodeTxn(Txn txn) {
        return write(out -> {
            out.writeByte(VERSION);
            out.writeByte(CMD_TXN);
            out.writeInt(txn.compares().size());
            for (Compare c : txn.compares()) {
                switch (c) {
                    case Compare.ModRevision m -> {
                        out.writeByte(1);
                        writeString(out, m.key());
                        out.writeLong(m.revision());
                    }
                    case Compare.Value v -> {
                        out.writeByte(2);
                        writeString(out, v.key());
                        writeBytes(out, v.value());
                    }
                }
            }
            writeOps(out, txn.onSuccess());
            writeOps(out, txn.onFailure());
        });
    }

    static Txn decodeTxn(byte[] bytes) throws MalformedException {
        Reader in = new Reader(bytes);
        in.expectVersion();
        byte cmd = in.readByte();
        if (cmd != CMD_TXN) {
            throw new MalformedException("unknown command " + cmd);
        }
        int n = in.readCount(TXN_ITEMS_MAX);
        List<Compare> compares = new ArrayList<>(n);
        for (int i = 0; i < n; i++) {
            byte type = in.readByte();
            compares.add(
                    switch (type) {
                        case 1 -> new Compare.ModRevision(in.readKey(), in.readLong());
                        case 2 -> new Compare.Value(in.readKey(), in.readValue());
                        default -> throw new MalformedException("unknown compare " + type);
                    });
        }
        List<Op> success = readOps(in);
        List<Op> failure = readOps(in);
        in.expectEnd();
        return new Txn(compares, success, failure);
    }

    private static void writeOps(DataOutputStream out, List<Op> ops) throws IOException {
        out.writeInt(ops.size());
        for (Op op : ops) {
            switch (op) {
                case Op.Put p -> {
                    out.writeByte(1);
                    writeString(out, p.key());
                    writeBytes(out, p.value());
                }
                case Op.Delete d -> {
                    out.writeByte(2);
                    writeString(out, d.key());
                    out.writeBoolean(d.prefix());
                }
            }
        }
    }

    private static List<Op> readOps(Reader in) throws MalformedException {
        int n = in.readCount(TXN_ITEMS_MAX);
        List<Op> ops = new ArrayList<>(n);
        for (int i = 0; i < n; i++) {
            byte type = in.readByte();
            ops.add(
                    switch (type) {
                        case 1 -> new Op.Put(in.readKey(), in.readValue());
                        case 2 -> new Op.Delete(in.readKey(), in.readBoolean());
                        default -> throw new MalformedException("unknown op " + type);
                    });
        }
        return ops;
    }

    // ---- queries

    static byte[] encodeQuery(Query q) {
        return write(out -> {
            out.writeByte(VERSION);
            switch (q) {
                case Query.Get g -> {
                    out.writeByte(Q_GET);
                    writeString(out, g.key());
                }
                case Query.Range r -> {
                    out.writeByte(Q_RANGE);
                    writeString(out, r.prefix());
                }
                case Query.Changes c -> {
                    out.writeByte(Q_CHANGES);
                    writeString(out, c.prefix());
                    out.writeLong(c.afterRevision());
                    out.writeInt(c.limit());
                }
            }
        });
    }

    static Query decodeQuery(byte[] bytes) throws MalformedException {
        Reader in = new Reader(bytes);
        in.expectVersion();
        byte type = in.readByte();
        Query q = switch (type) {
            case Q_GET -> new Query.Get(in.readKey());
            case Q_RANGE -> new Query.Range(in.readKey());
            case Q_CHANGES -> {
                String prefix = in.readKey();
                long after = in.readLong();
                int limit = in.readInt();
                if (after < 0 || limit < 1 || limit > CHANGES_LIMIT_MAX) {
                    throw new MalformedException("bad changes query: after " + after + ", limit " + limit);
                }
                yield new Query.Changes(prefix, after, limit);
            }
            default -> throw new MalformedException("unknown query " + type);
        };
        in.expectEnd();
        return q;
    }

    // ---- replies

    static byte[] encodeError(byte code, String message) {
        return write(out -> {
            out.writeByte(VERSION);
            out.writeByte(code);
            writeString(out, message);
        });
    }

    static byte[] encodeTxnReply(TxnReply r) {
        return write(out -> {
            out.writeByte(VERSION);
            out.writeByte(OK);
            out.writeBoolean(r.succeeded());
            out.writeLong(r.revision());
            out.writeLong(r.deleted());
        });
    }

    static byte[] encodeGetReply(long revision, Optional<KeyValue> kv) {
        return write(out -> {
            out.writeByte(VERSION);
            out.writeByte(OK);
            out.writeLong(revision);
            out.writeBoolean(kv.isPresent());
            if (kv.isPresent()) {
                writeKeyValue(out, kv.get());
            }
        });
    }

    static byte[] encodeRangeReply(RangeResult r) {
        return write(out -> {
            out.writeByte(VERSION);
            out.writeByte(OK);
            out.writeLong(r.revision());
            out.writeInt(r.kvs().size());
            for (KeyValue kv : r.kvs()) {
                writeKeyValue(out, kv);
            }
        });
    }

    static byte[] encodeChangesReply(ChangesReply r) {
        return write(out -> {
            out.writeByte(VERSION);
            out.writeByte(OK);
            out.writeLong(r.revision());
            out.writeInt(r.events().size());
            for (WatchEvent e : r.events()) {
                out.writeByte(e.type().ordinal());
                writeKeyValue(out, e.kv());
            }
        });
    }

    static TxnReply decodeTxnReply(byte[] bytes) {
        return decodeReply(bytes, in -> new TxnReply(in.readBoolean(), in.readLong(), in.readLong()));
    }

    static Optional<KeyValue> decodeGetReply(byte[] bytes) {
        return decodeReply(bytes, in -> {
            in.readLong();
            return in.readBoolean() ? Optional.of(in.readKeyValue()) : Optional.empty();
        });
    }

    static RangeResult decodeRangeReply(byte[] bytes) {
        return decodeReply(bytes, in -> {
            long revision = in.readLong();
            int n = in.readCount(Integer.MAX_VALUE);
            List<KeyValue> kvs = new ArrayList<>(Math.min(n, 1024));
            for (int i = 0; i < n; i++) {
                kvs.add(in.readKeyValue());
            }
            return new RangeResult(List.copyOf(kvs), revision);
        });
    }

    static ChangesReply decodeChangesReply(byte[] bytes) {
        return decodeReply(bytes, in -> {
            long revision = in.readLong();
            int n = in.readCount(Integer.MAX_VALUE);
            List<WatchEvent> events = new ArrayList<>(Math.min(n, 1024));
            WatchEvent.Type[] types = WatchEvent.Type.values();
            for (int i = 0; i < n; i++) {
                byte t = in.readByte();
                if (t < 0 || t >= types.length) {
                    throw new MalformedException("unknown event type " + t);
                }
                events.add(new WatchEvent(types[t], in.readKeyValue()));
            }
            return new ChangesReply(List.copyOf(events), revision);
        });
    }

    private interface BodyReader<T> {
        T read(Reader in) throws MalformedException;
    }

    /** The reply's body, or a {@link KvException} for an error reply or bytes that are not a reply. */
    private static <T> T decodeReply(byte[] bytes, BodyReader<T> body) {
        try {
            Reader in = new Reader(bytes);
            in.expectVersion();
            byte status = in.readByte();
            if (status != OK) {
                String message = in.readString(Integer.MAX_VALUE);
                throw new KvException(message, false, status == ERR_COMPACTED, null);
            }
            T t = body.read(in);
            in.expectEnd();
            return t;
        } catch (MalformedException e) {
            throw new KvException("malformed reply from the metadata service: " + e.getMessage(), false, false, e);
        }
    }

    // ---- primitives

    private interface Writer {
        void write(DataOutputStream out) throws IOException;
    }

    private static byte[] write(Writer w) {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream(64);
        try (DataOutputStream out = new DataOutputStream(bytes)) {
            w.write(out);
        } catch (IOException e) {
            throw new UncheckedIOException("writing to memory", e);
        }
        return bytes.toByteArray();
    }

    private static void writeString(DataOutputStream out, String s) throws IOException {
        writeBytes(out, s.getBytes(StandardCharsets.UTF_8));
    }

    private static void writeBytes(DataOutputStream out, byte[] b) throws IOException {
        out.writeInt(b.length);
        out.write(b);
    }

    static void writeKeyValue(DataOutputStream out, KeyValue kv) throws IOException {
        writeString(out, kv.key());
        writeBytes(out, kv.value());
        out.writeLong(kv.createRevision());
        out.writeLong(kv.modRevision());
        out.writeLong(kv.version());
    }

    /** Bounds-checked reads over one message; every failure is a {@link MalformedException}. */
    static final class Reader {
        private final DataInputStream in;
        private int left;

        Reader(byte[] bytes) {
            in = new DataInputStream(new ByteArrayInputStream(bytes));
            left = bytes.length;
        }

        private void need(int n) throws MalformedException {
            if (n > left) {
                throw new MalformedException("truncated: needs " + n + " more bytes, has " + left);
            }
            left -= n;
        }

        void expectVersion() throws MalformedException {
            byte v = readByte();
            if (v != VERSION) {
                throw new MalformedException("unknown version " + v);
            }
        }

        void expectEnd() throws MalformedException {
            if (left != 0) {
                throw new MalformedException(left + " trailing bytes");
            }
        }

        byte readByte() throws MalformedException {
            need(1);
            try {
                return in.readByte();
            } catch (IOException e) {
                throw truncated(e);
            }
        }

        boolean readBoolean() throws MalformedException {
            byte b = readByte();
            if (b != 0 && b != 1) {
                throw new MalformedException("bad boolean " + b);
            }
            return b == 1;
        }

        int readInt() throws MalformedException {
            need(4);
            try {
                return in.readInt();
            } catch (IOException e) {
                throw truncated(e);
            }
        }

        long readLong() throws MalformedException {
            need(8);
            try {
                return in.readLong();
            } catch (IOException e) {
                throw truncated(e);
            }
        }

        int readCount(int max) throws MalformedException {
            int n = readInt();
            if (n < 0 || n > max) {
                throw new MalformedException("count " + n + " out of range [0, " + max + "]");
            }
            return n;
        }

        byte[] readBytes(int max) throws MalformedException {
            int n = readCount(max);
            need(n);
            byte[] b = new byte[n];
            try {
                in.readFully(b);
            } catch (IOException e) {
                throw truncated(e);
            }
            return b;
        }

        String readString(int max) throws MalformedException {
            byte[] b = readBytes(max);
            try {
                return StandardCharsets.UTF_8
                        .newDecoder()
                        .onMalformedInput(CodingErrorAction.REPORT)
                        .onUnmappableCharacter(CodingErrorAction.REPORT)
                        .decode(java.nio.ByteBuffer.wrap(b))
                        .toString();
            } catch (CharacterCodingException e) {
                throw new MalformedException("string is not UTF-8");
            }
        }

        String readKey() throws MalformedException {
            return readString(KEY_BYTES_MAX);
        }

        byte[] readValue() throws MalformedException {
            return readBytes(VALUE_BYTES_MAX);
        }

        KeyValue readKeyValue() throws MalformedException {
            return new KeyValue(readKey(), readValue(), readLong(), readLong(), readLong());
        }

        private static MalformedException truncated(IOException e) {
            MalformedException m =
                    new MalformedException(e instanceof EOFException ? "truncated" : "unreadable: " + e.getMessage());
            m.initCause(e);
            return m;
        }
    }
}
