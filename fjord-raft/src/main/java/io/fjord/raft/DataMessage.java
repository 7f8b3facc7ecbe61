package io.fjord.raft;

import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import org.apache.ratis.protocol.Message;
import org.apache.ratis.thirdparty.com.google.protobuf.ByteString;
import org.apache.ratis.thirdparty.com.google.protobuf.UnsafeByteOperations;

/**
 * One Raft entry carrying one or more entries with data (parts), in submission order: a group's
 * submitter packs what is queued into one entry, so Raft's per-entry costs are paid once for many
 * produce batches. Layouts (big-endian):
 *
 * <pre>
 * log data           = magic:i32 count:u16 (headerLength:i32 header){count}
 * state-machine data = (dataLength:i32 data){count}
 * framed (to another node) = frameMagic:i32 logDataLength:i32 logData stateMachineData
 * </pre>
 *
 * <p>Part {@code i} of the entry at Raft index {@code n} has the id {@code n * }{@link #PARTS}
 * {@code + i}: ids follow log order. Submitted on this node, {@link DataStateMachine} finds the
 * submitters' buffers again in the transaction, so the leader stores the data from them directly.
 */
final class DataMessage implements Message {
    /** Ids per Raft index: at most this many parts per entry. */
    static final int PARTS = 64;

    private static final int LOG_MAGIC = 0x464a444d; // "FJDM"
    private static final int FRAME_MAGIC = 0x464a4444; // "FJDD"

    private final List<byte[]> headers;
    private final List<ByteBuffer> data;

    DataMessage(List<byte[]> headers, List<ByteBuffer> data) {
        this.headers = List.copyOf(headers);
        this.data = List.copyOf(data);
    }

    int parts() {
        return headers.size();
    }

    /** Part {@code i}'s data: the submitter's buffer (writable, position to limit). */
    ByteBuffer data(int i) {
        return data.get(i).duplicate();
    }

    ByteString logData() {
        int size = 6;
        for (byte[] h : headers) {
            size += 4 + h.length;
        }
        ByteBuffer b = ByteBuffer.allocate(size).putInt(LOG_MAGIC).putShort((short) headers.size());
        for (byte[] h : headers) {
            b.putInt(h.length).put(h);
        }
        return UnsafeByteOperations.unsafeWrap(b.array());
    }

    /** The data parts, each behind its length, without copying them. */
    ByteString stateMachineData() {
        ByteString out = ByteString.EMPTY;
        for (ByteBuffer d : data) {
            out = out.concat(length(d.remaining())).concat(UnsafeByteOperations.unsafeWrap(d.asReadOnlyBuffer()));
        }
        return out;
    }

    static ByteString length(int n) {
        return UnsafeByteOperations.unsafeWrap(ByteBuffer.allocate(4).putInt(n).array());
    }

    @Override
    public ByteString getContent() {
        ByteString log = logData();
        ByteBuffer frame = ByteBuffer.allocate(8).putInt(FRAME_MAGIC).putInt(log.size());
        return UnsafeByteOperations.unsafeWrap(frame.array()).concat(log).concat(stateMachineData());
    }

    @Override
    public int size() {
        int size = 8 + 6;
        for (int i = 0; i < headers.size(); i++) {
            size += 4 + headers.get(i).length + 4 + data.get(i).remaining();
        }
        return size;
    }

    /** Log data and state-machine data of a framed message, or null when {@code content} is not one. */
    static ByteString[] split(ByteString content) {
        if (content.size() < 8) {
            return null;
        }
        ByteBuffer head = content.substring(0, 8).asReadOnlyByteBuffer();
        int len = head.getInt(4);
        if (head.getInt(0) != FRAME_MAGIC || len < 0 || len > content.size() - 8) {
            return null;
        }
        return new ByteString[] {content.substring(8, 8 + len), content.substring(8 + len)};
    }

    /** The headers of an entry's parts, or null when {@code logData} is a plain entry's. */
    static List<ByteBuffer> headers(ByteString logData) {
        ByteBuffer b = logData.asReadOnlyByteBuffer();
        if (b.remaining() < 6 || b.getInt(b.position()) != LOG_MAGIC) {
            return null;
        }
        b.getInt();
        int n = Short.toUnsignedInt(b.getShort());
        List<ByteBuffer> out = new ArrayList<>(n);
        for (int i = 0; i < n; i++) {
            int len = b.getInt();
            out.add(b.slice(b.position(), len));
            b.position(b.position() + len);
        }
        return out;
    }

    /** The data parts of state-machine data (or of a leader's reads, same layout). */
    static List<ByteBuffer> parts(ByteString stateMachineData) {
        List<ByteBuffer> out = new ArrayList<>();
        int at = 0;
        while (at < stateMachineData.size()) {
            int len = stateMachineData
                    .substring(at, at + 4)
                    .asReadOnlyByteBuffer()
                    .getInt();
            out.add(stateMachineData.substring(at + 4, at + 4 + len).asReadOnlyByteBuffer());
            at += 4 + len;
        }
        return out;
    }

    private static final int SOLO_END_MAGIC = 0x464a5345; // "FJSE"

    /**
     * The plain entry that closes a period of solo writes by node {@code nodeId} (see {@link
     * DataGroup#allowSolo}): magic:i32 nodeId:i32. It is handled by the Raft module, never by the
     * state machine.
     */
    static byte[] soloEnd(int nodeId) {
        return ByteBuffer.allocate(8).putInt(SOLO_END_MAGIC).putInt(nodeId).array();
    }

    /** The node a SOLO_END entry names, or -1 when {@code logData} is not one. */
    static int soloEndWriter(ByteString logData) {
        if (logData.size() != 8) {
            return -1;
        }
        ByteBuffer b = logData.asReadOnlyByteBuffer();
        return b.getInt(b.position()) == SOLO_END_MAGIC ? b.getInt(b.position() + 4) : -1;
    }

    /** Replies of an entry's parts, packed: count:u16 (length:i32 reply){count}. */
    static byte[] packReplies(List<byte[]> replies) {
        int size = 2;
        for (byte[] r : replies) {
            size += 4 + r.length;
        }
        ByteBuffer b = ByteBuffer.allocate(size).putShort((short) replies.size());
        for (byte[] r : replies) {
            b.putInt(r.length).put(r);
        }
        return b.array();
    }

    static List<byte[]> unpackReplies(byte[] packed) {
        ByteBuffer b = ByteBuffer.wrap(packed);
        int n = Short.toUnsignedInt(b.getShort());
        List<byte[]> out = new ArrayList<>(n);
        for (int i = 0; i < n; i++) {
            byte[] r = new byte[b.getInt()];
            b.get(r);
            out.add(r);
        }
        return out;
    }

    @Override
    public String toString() {
        return "DataMessage[" + headers.size() + " parts, " + size() + " bytes]";
    }
}
