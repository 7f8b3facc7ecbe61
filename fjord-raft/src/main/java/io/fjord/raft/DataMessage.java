package io.fjord.raft;

import java.nio.ByteBuffer;
import org.apache.ratis.protocol.Message;
import org.apache.ratis.thirdparty.com.google.protobuf.ByteString;
import org.apache.ratis.thirdparty.com.google.protobuf.UnsafeByteOperations;

/**
 * An entry with data, as submitted on this node: {@link DataStateMachine} finds the submitter's
 * buffer again in the transaction, so the leader stores the data from it directly. Sent to another
 * node (a Ratis client), its bytes are framed, {@code magic:i32 headerLength:i32 header data}, and
 * {@link #split} takes them apart there.
 */
final class DataMessage implements Message {
    private static final int MAGIC = 0x464a4444; // "FJDD"

    private final ByteString header;
    private final ByteBuffer data;

    DataMessage(byte[] header, ByteBuffer data) {
        this.header = UnsafeByteOperations.unsafeWrap(header);
        this.data = data;
    }

    ByteString header() {
        return header;
    }

    /** The submitter's buffer (writable, position to limit). */
    ByteBuffer data() {
        return data.duplicate();
    }

    ByteString dataBytes() {
        return UnsafeByteOperations.unsafeWrap(data.asReadOnlyBuffer());
    }

    @Override
    public ByteString getContent() {
        ByteBuffer frame =
                ByteBuffer.allocate(8).putInt(MAGIC).putInt(header.size()).flip();
        return UnsafeByteOperations.unsafeWrap(frame).concat(header).concat(dataBytes());
    }

    @Override
    public int size() {
        return 8 + header.size() + data.remaining();
    }

    /** Header and data of a framed entry with data, or null when {@code content} is not one. */
    static ByteString[] split(ByteString content) {
        if (content.size() < 8) {
            return null;
        }
        ByteBuffer head = content.substring(0, 8).asReadOnlyByteBuffer();
        int len = head.getInt(4);
        if (head.getInt(0) != MAGIC || len < 0 || len > content.size() - 8) {
            return null;
        }
        return new ByteString[] {content.substring(8, 8 + len), content.substring(8 + len)};
    }

    @Override
    public String toString() {
        return "DataMessage[" + header.size() + " + " + data.remaining() + " bytes]";
    }
}
