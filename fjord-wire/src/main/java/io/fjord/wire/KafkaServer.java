package io.fjord.wire;

import io.fjord.broker.Broker;
import io.fjord.broker.BrokerConfig;
import io.fjord.broker.StartupPhases;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.socket.SocketChannel;
import io.netty.handler.codec.LengthFieldBasedFrameDecoder;
import io.netty.util.concurrent.EventExecutor;
import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A running Fjord node: the Netty server speaking the Kafka protocol and the {@link Broker} behind
 * it. Thread-per-core: {@code ioThreads} event loops carry connections and also own partitions
 * (each partition's writes run on one loop), so a produce hops at most once, by message passing.
 */
public final class KafkaServer implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(KafkaServer.class);
    /**
     * Socket send buffer of client connections, as Kafka's socket.send.buffer.bytes (same default);
     * 0 leaves it to the kernel's auto-tuning. Measured: a 6-partition consumer read 598-618 MiB/s
     * with 100 KiB against 471-559 MiB/s with auto-tuning (docs/benchmarks.md).
     */
    static final int SEND_BUFFER_BYTES = Integer.getInteger("fjord.socket.send.buffer.bytes", 102_400);

    private final Listener listener;
    private final Broker broker;

    private KafkaServer(Listener listener, Broker broker) {
        this.listener = listener;
        this.broker = broker;
    }

    /**
     * The Kafka side of a node: the transport, the event loops (which also own partitions) and the
     * bound listener.
     */
    private record Listener(
            Transport transport,
            EventLoopGroup acceptor,
            EventLoopGroup workers,
            List<EventExecutor> loops,
            Channel channel,
            long boundSinceJvmStartMs) {

        static Listener open(BrokerConfig config, StartupGate gate, StartupPhases phases) {
            Transport t = Transport.pick(); // loads the native transport: tens of ms
            EventLoopGroup acceptor = new MultiThreadIoEventLoopGroup(1, t.ioHandlerFactory());
            EventLoopGroup workers = new MultiThreadIoEventLoopGroup(config.ioThreads(), t.ioHandlerFactory());
            List<EventExecutor> loops = new ArrayList<>();
            workers.iterator().forEachRemaining(loops::add);
            try {
                Channel ch = bind(config, t, acceptor, workers, gate);
                return new Listener(t, acceptor, workers, List.copyOf(loops), ch, phases.sinceJvmStartMs());
            } catch (Exception e) { // Netty's sync() rethrows a failed bind's IOException unchecked
                workers.shutdownGracefully(0, 0, TimeUnit.MILLISECONDS);
                acceptor.shutdownGracefully(0, 0, TimeUnit.MILLISECONDS);
                if (e instanceof InterruptedException) {
                    Thread.currentThread().interrupt();
                }
                throw new IllegalStateException(
                        "cannot listen for Kafka clients on " + config.host() + ":" + config.port() + ": " + e, e);
            }
        }

        int port() {
            return ((InetSocketAddress) channel.localAddress()).getPort();
        }

        /** Stops at once: nothing was served (a failed start). */
        void abort() {
            channel.close().syncUninterruptibly();
            workers.shutdownGracefully(0, 0, TimeUnit.MILLISECONDS).syncUninterruptibly();
            acceptor.shutdownGracefully(0, 0, TimeUnit.MILLISECONDS);
        }
    }

    /**
     * Starts serving on {@code config.host():config.port()} and returns once the node is ready.
     * The listener (the native transport, the event loops, the bind) starts on its own thread beside
     * the node (the data directory, the Raft server, the metadata): requests that arrive before the
     * node is ready wait for it ({@link StartupGate}), so clients connect while it starts.
     */
    public static KafkaServer start(BrokerConfig requested) throws InterruptedException {
        StartupPhases phases = new StartupPhases();
        // Ports left to the OS are chosen before the node registers its addresses (a test
        // convenience; real nodes name their ports).
        BrokerConfig config = Broker.resolvePorts(requested);
        StartupGate gate = new StartupGate(config);
        CompletableFuture<Listener> listening = new CompletableFuture<>();
        Thread.ofPlatform().name("fjord-listener-start").daemon().start(() -> {
            try {
                listening.complete(Listener.open(config, gate, phases));
            } catch (Throwable e) { // whatever it is, the node's start must hear of it
                listening.completeExceptionally(e);
                return;
            }
            ApiSupport.initializeProtocol(); // while the node starts, before the first request
        });
        Broker broker;
        try {
            broker = Broker.open(config, listening.thenApply(Listener::loops), phases);
        } catch (RuntimeException e) {
            gate.fail(e);
            Listener l;
            try {
                l = listening.join();
            } catch (CompletionException listenFailed) {
                // The listener's failure (a taken port) is why the node stopped: report that.
                RuntimeException cause = listenFailed.getCause() instanceof RuntimeException r
                        ? r
                        : new IllegalStateException(listenFailed.getCause());
                cause.addSuppressed(e);
                throw cause;
            }
            l.abort();
            throw e;
        }
        Listener l = listening.join(); // done: the node needed its event loops
        int port = l.port();
        gate.open(new RequestDispatcher(broker, () -> port));
        log.info(
                "fjord listening for Kafka clients on {}:{} ({} transport, {} event loops, data in {}, {} topics;"
                        + " ready {} ms after the JVM started, accepting connections since {} ms)",
                config.host(),
                port,
                l.transport().name(),
                config.ioThreads(),
                config.dataDir().toAbsolutePath(),
                broker.topics().size(),
                phases.sinceJvmStartMs(),
                l.boundSinceJvmStartMs());
        return new KafkaServer(l, broker);
    }

    private static Channel bind(
            BrokerConfig config, Transport t, EventLoopGroup acceptor, EventLoopGroup workers, StartupGate gate)
            throws InterruptedException {
        return new ServerBootstrap()
                .group(acceptor, workers)
                .channel(t.serverChannel())
                .option(ChannelOption.SO_BACKLOG, 1024)
                .option(ChannelOption.SO_REUSEADDR, true)
                .childOption(ChannelOption.TCP_NODELAY, true)
                .childOption(ChannelOption.SO_SNDBUF, SEND_BUFFER_BYTES > 0 ? SEND_BUFFER_BYTES : null)
                .childHandler(new ChannelInitializer<SocketChannel>() {
                    @Override
                    protected void initChannel(SocketChannel c) {
                        c.pipeline()
                                .addLast(
                                        "frames",
                                        new LengthFieldBasedFrameDecoder(config.maxFrameBytes(), 0, 4, 0, 4, true))
                                .addLast("kafka", new KafkaConnectionHandler(gate));
                    }
                })
                .bind(config.host(), config.port())
                .sync()
                .channel();
    }

    public int port() {
        return listener.port();
    }

    public Broker broker() {
        return broker;
    }

    public String transportName() {
        return listener.transport().name();
    }

    /** Stops accepting, lets the event loops finish queued work, then closes every log cleanly. */
    @Override
    public void close() {
        listener.channel().close().syncUninterruptibly();
        listener.acceptor().shutdownGracefully(0, 2, TimeUnit.SECONDS);
        listener.workers().shutdownGracefully(0, 5, TimeUnit.SECONDS).syncUninterruptibly();
        broker.close();
        listener.acceptor().terminationFuture().syncUninterruptibly();
        log.info("fjord stopped");
    }
}
