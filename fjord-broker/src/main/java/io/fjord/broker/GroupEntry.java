package io.fjord.broker;

import io.fjord.storage.PartitionId;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.UUID;

/**
 * The entries of a data group's Raft log and their replies. Layout (big-endian):
 *
 * <pre>
 * entry  = type:u8 topicIdMsb:i64 topicIdLsb:i64 nameLen:u16 name:utf8 partition:i32 body
 * APPEND         entry with data: body empty, data = one RecordBatch v2 (as the client sent it)
 * DELETE_TOPIC   entry with data: body empty (partition 0), data = one marker byte
 * DELETE_RECORDS plain entry: body = offset:i64
 * payload (an entry's data as a leader reads it back for a follower)
 *        = magic:i32 (0xF10D0000 | kind) then
 *   'B' the stored batch (offsets and leader epoch assigned)
 *   'V' the entry's reply: nothing was stored (refused or duplicate)
 *   'G' next:i64 -- the records are gone on the leader (retention): restart the log at next
 * reply  = status:u8 (0 ok, 1 failed) then
 *   ok APPEND         firstOffset:i64 lastOffset:i64 logStart:i64 duplicate:u8
 *   ok DELETE_RECORDS logStart:i64
 *   failed            error:u8 (ProduceError ordinal) messageLen:u16 message:utf8
 * </pre>
 */
final class GroupEntry {
    public static final byte APPEND = 1;
    public static final byte DELETE_RECORDS = 2;
    public static final byte DELETE_TOPIC = 3;

    static final int PAYLOAD_RAW = 0;
    static final int PAYLOAD_BATCH = 'B';
    static final int PAYLOAD_VERDICT = 'V';
    static final int PAYLOAD_GAP = 'G';
    private static final int PAYLOAD_MAGIC = 0xF10D0000;

    private GroupEntry() {}

    /** A decoded entry; {@code body} is positioned at the body. */
    public record Decoded(byte type, UUID topicId, PartitionId partition, ByteBuffer body) {}

    /** The header of an APPEND entry; the batch travels as its data. */
    static byte[] append(UUID topicId, PartitionId id) {
        return header(APPEND, topicId, id, 0).array();
    }

    static byte[] deleteRecords(UUID topicId, PartitionId id, long offset) {
        return header(DELETE_RECORDS, topicId, id, 8).putLong(offset).array();
    }

    /** The header of a DELETE_TOPIC entry; {@link #DELETE_TOPIC_DATA} travels as its data. */
    static byte[] deleteTopic(UUID topicId, String topic) {
        return header(DELETE_TOPIC, topicId, new PartitionId(topic, 0), 0).array();
    }

    /** Data of a DELETE_TOPIC entry: a marker, so it is written in log order like appends. */
    static ByteBuffer deleteTopicData() {
        return ByteBuffer.wrap(new byte[] {DELETE_TOPIC});
    }

    /** Which payload {@code data} is ({@link #PAYLOAD_RAW} when it has no payload magic). */
    static int payloadKind(ByteBuffer data) {
        if (data.remaining() < 4) {
            return PAYLOAD_RAW;
        }
        int head = data.getInt(data.position());
        return (head & 0xFFFFFF00) == PAYLOAD_MAGIC ? head & 0xFF : PAYLOAD_RAW;
    }

    /** The bytes after a payload's magic. */
    static byte[] payloadBody(ByteBuffer data) {
        byte[] out = new byte[data.remaining() - 4];
        data.duplicate().position(data.position() + 4).get(out);
        return out;
    }

    /** A buffer for a batch payload of {@code batchBytes}: the magic is in, the batch goes next. */
    static ByteBuffer batchPayload(int batchBytes) {
        return ByteBuffer.allocate(4 + batchBytes).putInt(PAYLOAD_MAGIC | PAYLOAD_BATCH);
    }

    static ByteBuffer verdictPayload(byte[] reply) {
        return ByteBuffer.allocate(4 + reply.length)
                .putInt(PAYLOAD_MAGIC | PAYLOAD_VERDICT)
                .put(reply)
                .flip();
    }

    static ByteBuffer gapPayload(long next) {
        return ByteBuffer.allocate(12)
                .putInt(PAYLOAD_MAGIC | PAYLOAD_GAP)
                .putLong(next)
                .flip();
    }

    private static ByteBuffer header(byte type, UUID topicId, PartitionId id, int bodyBytes) {
        byte[] name = id.topic().getBytes(StandardCharsets.UTF_8);
        ByteBuffer b = ByteBuffer.allocate(1 + 16 + 2 + name.length + 4 + bodyBytes);
        b.put(type).putLong(topicId.getMostSignificantBits()).putLong(topicId.getLeastSignificantBits());
        b.putShort((short) name.length).put(name).putInt(id.partition());
        return b;
    }

    /** Decodes an entry, or returns null when it is malformed. */
    static Decoded decode(ByteBuffer entry) {
        ByteBuffer b = entry.duplicate();
        try {
            byte type = b.get();
            UUID topicId = new UUID(b.getLong(), b.getLong());
            int len = Short.toUnsignedInt(b.getShort());
            byte[] name = new byte[len];
            b.get(name);
            int partition = b.getInt();
            String topic = new String(name, StandardCharsets.UTF_8);
            if (!PartitionId.isLegalTopic(topic) || partition < 0) {
                return null;
            }
            return new Decoded(type, topicId, new PartitionId(topic, partition), b.slice());
        } catch (RuntimeException e) {
            return null;
        }
    }

    static byte[] okAppend(AppendOutcome.Appended a) {
        return ByteBuffer.allocate(1 + 8 + 8 + 8 + 1)
                .put((byte) 0)
                .putLong(a.baseOffset())
                .putLong(a.lastOffset())
                .putLong(a.logStartOffset())
                .put((byte) (a.duplicate() ? 1 : 0))
                .array();
    }

    static byte[] okLogStart(long logStart) {
        return ByteBuffer.allocate(9).put((byte) 0).putLong(logStart).array();
    }

    static byte[] failed(ProduceError error, String message) {
        byte[] m = message == null ? new byte[0] : message.getBytes(StandardCharsets.UTF_8);
        int len = Math.min(m.length, 1000);
        return ByteBuffer.allocate(1 + 1 + 2 + len)
                .put((byte) 1)
                .put((byte) error.ordinal())
                .putShort((short) len)
                .put(m, 0, len)
                .array();
    }

    /** The reply to an entry for a partition whose topic this group deleted. */
    static byte[] topicDeleted(PartitionId id) {
        return failed(ProduceError.UNKNOWN_TOPIC_OR_PARTITION, "topic of " + id + " was deleted");
    }

    static byte[] reply(AppendOutcome outcome) {
        return switch (outcome) {
            case AppendOutcome.Appended a -> okAppend(a);
            case AppendOutcome.Failed f -> failed(f.error(), f.message());
        };
    }

    static AppendOutcome decodeAppendReply(byte[] reply) {
        ByteBuffer b = ByteBuffer.wrap(reply);
        if (b.get() == 0) {
            return new AppendOutcome.Appended(b.getLong(), b.getLong(), b.getLong(), b.get() == 1);
        }
        return decodeFailure(b);
    }

    static AppendOutcome.Failed decodeFailure(ByteBuffer b) {
        ProduceError error = ProduceError.values()[b.get()];
        byte[] m = new byte[Short.toUnsignedInt(b.getShort())];
        b.get(m);
        return new AppendOutcome.Failed(error, new String(m, StandardCharsets.UTF_8));
    }
}
