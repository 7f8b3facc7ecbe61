package io.fjord.broker.group;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;

/**
 * The records Fjord writes to {@code __consumer_offsets} (its own format, not Kafka's). One record
 * per committed offset; a null value deletes it. Big-endian; strings are a 2-byte length (-1 for
 * null) and UTF-8 bytes.
 *
 * <pre>
 *   key:   version int16 (1) | type int8 (1 = offset) | group string | topic string | partition int32
 *   value: version int16 (1) | offset int64 | leaderEpoch int32 | metadata string | commitTimestampMs int64
 * </pre>
 */
final class OffsetRecords {
    static final short VERSION = 1;
    static final byte TYPE_OFFSET = 1;

    private OffsetRecords() {}

    record Key(String group, String topic, int partition) {}

    static byte[] key(String group, String topic, int partition) {
        byte[] g = group.getBytes(StandardCharsets.UTF_8);
        byte[] t = topic.getBytes(StandardCharsets.UTF_8);
        ByteBuffer b = ByteBuffer.allocate(2 + 1 + 2 + g.length + 2 + t.length + 4);
        b.putShort(VERSION).put(TYPE_OFFSET);
        b.putShort((short) g.length).put(g);
        b.putShort((short) t.length).put(t);
        b.putInt(partition);
        return b.array();
    }

    static byte[] value(GroupResults.Committed c) {
        byte[] md = c.metadata() == null ? null : c.metadata().getBytes(StandardCharsets.UTF_8);
        ByteBuffer b = ByteBuffer.allocate(2 + 8 + 4 + 2 + (md == null ? 0 : md.length) + 8);
        b.putShort(VERSION).putLong(c.offset()).putInt(c.leaderEpoch());
        if (md == null) {
            b.putShort((short) -1);
        } else {
            b.putShort((short) md.length).put(md);
        }
        b.putLong(c.commitTimestampMs());
        return b.array();
    }

    /** The key, or null for a record of a type or version this code does not know. */
    static Key readKey(ByteBuffer b) {
        if (b == null
                || b.remaining() < 3
                || b.getShort(b.position()) != VERSION
                || b.get(b.position() + 2) != TYPE_OFFSET) {
            return null;
        }
        ByteBuffer d = b.duplicate();
        d.position(d.position() + 3);
        String group = readString(d);
        String topic = readString(d);
        return new Key(group, topic, d.getInt());
    }

    static GroupResults.Committed readValue(ByteBuffer b) {
        ByteBuffer d = b.duplicate();
        if (d.getShort() != VERSION) {
            throw new IllegalArgumentException("unknown offset value version");
        }
        long offset = d.getLong();
        int epoch = d.getInt();
        String md = readString(d);
        return new GroupResults.Committed(offset, epoch, md, d.getLong());
    }

    private static String readString(ByteBuffer d) {
        short len = d.getShort();
        if (len < 0) {
            return null;
        }
        byte[] bytes = new byte[len];
        d.get(bytes);
        return new String(bytes, StandardCharsets.UTF_8);
    }
}
