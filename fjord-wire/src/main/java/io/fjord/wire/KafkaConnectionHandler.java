package io.fjord.wire;

import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.codec.TooLongFrameException;
import java.nio.ByteBuffer;
import java.util.ArrayDeque;
import java.util.concurrent.CompletableFuture;
import org.apache.kafka.common.protocol.ApiKeys;
import org.apache.kafka.common.protocol.ByteBufferAccessor;
import org.apache.kafka.common.protocol.Errors;
import org.apache.kafka.common.requests.AbstractRequest;
import org.apache.kafka.common.requests.RequestHeader;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One client connection: decodes each frame with kafka-clients, dispatches it, and writes the
 * responses strictly in request order, even when a later request (a metadata call behind a parked
 * fetch) finishes first. Bad input (garbage, an unknown API, a version kafka-clients cannot parse)
 * closes only this connection, with a log line.
 *
 * <p>Threads: all state is confined to the channel's event loop; handlers' futures may complete
 * on other loops (partition owners) and hop back here.
 */
final class KafkaConnectionHandler extends ChannelInboundHandlerAdapter {
    private static final Logger log = LoggerFactory.getLogger(KafkaConnectionHandler.class);

    /** Requests answered out of order are held; past this many, reading pauses (back-pressure). */
    static final int PENDING_MAX = 512;

    private final StartupGate dispatcher;
    private final ArrayDeque<Pending> pending = new ArrayDeque<>();
    private boolean readPaused;
    /** The client's address as group members report it; formatted once per connection. */
    private String clientHost;

    private static final class Pending {
        final int correlationId;
        Response response;
        boolean done;

        Pending(int correlationId) {
            this.correlationId = correlationId;
        }
    }

    KafkaConnectionHandler(StartupGate dispatcher) {
        this.dispatcher = dispatcher;
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        ByteBuf frame = (ByteBuf) msg;
        RequestHeader header;
        AbstractRequest request;
        ByteBuffer nio = frame.nioBuffer();
        try {
            header = RequestHeader.parse(nio);
        } catch (RuntimeException e) { // InvalidRequestException for unknown APIs and garbage
            frame.release();
            closeBadInput(ctx, "cannot parse request header: " + e.getMessage());
            return;
        }
        if (clientHost == null) {
            clientHost = clientHost(ctx);
        }
        RequestContext rc = new RequestContext(header, ctx.channel().eventLoop(), clientHost);
        ApiKeys key = header.apiKey();
        if (key == ApiKeys.API_VERSIONS && !ApiSupport.isServed(key, header.apiVersion())) {
            frame.release();
            enqueue(
                    ctx,
                    header.correlationId(),
                    CompletableFuture.completedFuture(RequestDispatcher.apiVersions(rc, Errors.UNSUPPORTED_VERSION)));
            return;
        }
        if (!ApiSupport.isServed(key, header.apiVersion())) {
            frame.release();
            closeBadInput(ctx, key + " v" + header.apiVersion() + " is not served");
            return;
        }
        try {
            request = AbstractRequest.parseRequest(key, header.apiVersion(), new ByteBufferAccessor(nio)).request;
        } catch (RuntimeException e) {
            frame.release();
            closeBadInput(ctx, "cannot parse " + key + " v" + header.apiVersion() + ": " + e.getMessage());
            return;
        }
        CompletableFuture<Response> f;
        try {
            f = dispatcher.dispatch(rc, request);
        } catch (RuntimeException e) {
            log.error("{} {} v{} failed", ctx.channel().remoteAddress(), key, header.apiVersion(), e);
            f = CompletableFuture.failedFuture(e);
        }
        // Request bytes (produce records alias them) live until the response is ready.
        f.whenComplete((r, err) -> frame.release());
        enqueue(ctx, header.correlationId(), f);
    }

    private static String clientHost(ChannelHandlerContext ctx) {
        return ctx.channel().remoteAddress() instanceof java.net.InetSocketAddress a && a.getAddress() != null
                ? a.getAddress().toString()
                : String.valueOf(ctx.channel().remoteAddress());
    }

    private void enqueue(ChannelHandlerContext ctx, int correlationId, CompletableFuture<Response> f) {
        Pending p = new Pending(correlationId);
        pending.addLast(p);
        if (pending.size() >= PENDING_MAX && !readPaused) {
            readPaused = true;
            ctx.channel().config().setAutoRead(false);
        }
        f.whenComplete((r, err) -> {
            if (ctx.executor().inEventLoop()) {
                complete(ctx, p, r, err);
            } else {
                ctx.executor().execute(() -> complete(ctx, p, r, err));
            }
        });
    }

    private void complete(ChannelHandlerContext ctx, Pending p, Response r, Throwable err) {
        if (err != null) {
            log.error("{}: request {} failed", ctx.channel().remoteAddress(), p.correlationId, err);
            r = Response.close("internal error: " + err);
        }
        p.response = r;
        p.done = true;
        drain(ctx);
    }

    private void drain(ChannelHandlerContext ctx) {
        boolean wrote = false;
        while (!pending.isEmpty() && pending.peekFirst().done) {
            Pending p = pending.pollFirst();
            Response r = p.response;
            if (!ctx.channel().isActive()) {
                r.release();
                continue;
            }
            switch (r.kind) {
                case SEND -> {
                    try {
                        ResponseWriter.write(ctx, p.correlationId, r);
                    } catch (RuntimeException e) {
                        log.error("{}: cannot encode response {}", ctx.channel().remoteAddress(), p.correlationId, e);
                        closeBadInput(ctx, "internal error encoding a response");
                        return;
                    }
                    wrote = true;
                }
                case NONE -> {
                    // acks=0: nothing goes back
                }
                case CLOSE -> {
                    closeBadInput(ctx, r.closeReason);
                    return;
                }
            }
        }
        if (wrote) {
            ctx.flush();
        }
        if (readPaused && pending.size() < PENDING_MAX / 2) {
            readPaused = false;
            ctx.channel().config().setAutoRead(true);
        }
    }

    private void closeBadInput(ChannelHandlerContext ctx, String reason) {
        log.warn("closing connection from {}: {}", ctx.channel().remoteAddress(), reason);
        ctx.flush();
        ctx.close();
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
        // Release what is ready now; answers still on their way release theirs when they arrive.
        drain(ctx);
        ctx.fireChannelInactive();
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        if (cause instanceof TooLongFrameException) {
            closeBadInput(ctx, "frame larger than the limit: " + cause.getMessage());
        } else if (cause instanceof java.io.IOException) {
            log.debug("{}: {}", ctx.channel().remoteAddress(), cause.toString());
            ctx.close();
        } else {
            log.warn("{}: closing after error: {}", ctx.channel().remoteAddress(), cause.toString());
            ctx.close();
        }
    }
}
