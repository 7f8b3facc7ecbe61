package io.fjord.wire;

import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandlerContext;
import org.apache.kafka.common.message.ResponseHeaderData;
import org.apache.kafka.common.protocol.MessageSizeAccumulator;
import org.apache.kafka.common.protocol.ObjectSerializationCache;

/**
 * Encodes a response: 4-byte size, response header, body, with one {@link ObjectSerializationCache}
 * into a single pooled direct buffer; file-backed records leave as file regions beside it.
 */
final class ResponseWriter {
    private ResponseWriter() {}

    /** Writes (without flushing) the response to {@code correlationId}. */
    static void write(ChannelHandlerContext ctx, int correlationId, Response r) {
        ObjectSerializationCache cache = new ObjectSerializationCache();
        ResponseHeaderData header = new ResponseHeaderData().setCorrelationId(correlationId);
        MessageSizeAccumulator size = new MessageSizeAccumulator();
        header.addSize(size, cache, r.headerVersion);
        r.body.addSize(size, cache, r.version);
        ByteBuf buf = ctx.alloc().directBuffer(4 + size.sizeExcludingZeroCopy());
        ByteBufWritable out = new ByteBufWritable(buf);
        try {
            out.writeInt(size.totalSize());
            header.write(out, cache, r.headerVersion);
            r.body.write(out, cache, r.version);
        } catch (RuntimeException e) {
            out.discard();
            r.release();
            throw e;
        }
        out.writeTo(ctx);
    }
}
