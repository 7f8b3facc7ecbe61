package io.fjord.wire;

import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandlerContext;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import org.apache.kafka.common.protocol.Writable;
import org.apache.kafka.common.record.BaseRecords;
import org.apache.kafka.common.record.MemoryRecords;

/**
 * A kafka-clients {@link Writable} over one Netty buffer that leaves file-backed records out of
 * it: at each {@link FileSliceRecords} it cuts the buffer and queues a {@link SliceFileRegion}, so a
 * fetch response goes out as header bytes, file region, more bytes, file region, ... with the
 * record bytes never entering the JVM.
 *
 * <p>Threads: one response on one event loop.
 */
final class ByteBufWritable implements Writable {
    private final ByteBuf buf;
    private final List<Object> parts = new ArrayList<>(2);
    private int cut;

    ByteBufWritable(ByteBuf buf) {
        this.buf = buf;
        this.cut = buf.readerIndex();
    }

    @Override
    public void writeByte(byte val) {
        buf.writeByte(val);
    }

    @Override
    public void writeShort(short val) {
        buf.writeShort(val);
    }

    @Override
    public void writeInt(int val) {
        buf.writeInt(val);
    }

    @Override
    public void writeLong(long val) {
        buf.writeLong(val);
    }

    @Override
    public void writeDouble(double val) {
        buf.writeDouble(val);
    }

    @Override
    public void writeByteArray(byte[] arr) {
        buf.writeBytes(arr);
    }

    @Override
    public void writeUnsignedVarint(int i) {
        int v = i;
        while ((v & 0xFFFFFF80) != 0) {
            buf.writeByte((v & 0x7F) | 0x80);
            v >>>= 7;
        }
        buf.writeByte(v);
    }

    @Override
    public void writeByteBuffer(ByteBuffer src) {
        buf.writeBytes(src.duplicate());
    }

    @Override
    public void writeVarint(int i) {
        writeUnsignedVarint((i << 1) ^ (i >> 31));
    }

    @Override
    public void writeVarlong(long i) {
        long v = (i << 1) ^ (i >> 63);
        while ((v & 0xFFFFFFFFFFFFFF80L) != 0L) {
            buf.writeByte(((int) v & 0x7F) | 0x80);
            v >>>= 7;
        }
        buf.writeByte((int) v);
    }

    @Override
    public void writeRecords(BaseRecords records) {
        if (records instanceof FileSliceRecords file) {
            if (file.sizeInBytes() == 0) {
                return;
            }
            cutHere();
            parts.add(new SliceFileRegion(file.slice()));
        } else if (records instanceof MemoryRecords memory) {
            writeByteBuffer(memory.buffer());
        } else {
            throw new IllegalArgumentException(
                    "unsupported records type " + records.getClass().getName());
        }
    }

    private void cutHere() {
        int end = buf.writerIndex();
        if (end > cut) {
            parts.add(buf.retainedSlice(cut, end - cut));
        }
        cut = end;
    }

    /** Writes the parts to the channel (no flush) and gives up this writer's hold on the buffer. */
    void writeTo(ChannelHandlerContext ctx) {
        cutHere();
        buf.release();
        for (Object part : parts) {
            ctx.write(part, ctx.voidPromise());
        }
        parts.clear();
    }

    /** Frees everything when the response cannot be written. */
    void discard() {
        buf.release();
        for (Object part : parts) {
            io.netty.util.ReferenceCountUtil.release(part);
        }
        parts.clear();
    }
}
