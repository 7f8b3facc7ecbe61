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

    private final EventLoopGroup acceptor;
    private final EventLoopGroup workers;
    private final Broker broker;
    private final Channel serverChannel;
    private final Transport transport;

    private KafkaServer(EventLoopGroup acceptor, EventLoopGroup workers, Broker broker, Channel ch, Transport t) {
        this.acceptor = acceptor;
        this.workers = workers;
        this.broker = broker;
        this.serverChannel = ch;
        this.transport = t;
    }

    /**
     * Starts serving on {@code config.host():config.port()} and returns once the node is ready.
     * The listener opens first, before the data directory and the Raft groups: requests that arrive
     * meanwhile wait for the node ({@link StartupGate}), so clients connect while it starts.
     */
    public static KafkaServer start(BrokerConfig requested) throws InterruptedException {
        StartupPhases phases = new StartupPhases();
        // Ports left to the OS are chosen before the node registers its addresses (a test
        // convenience; real nodes name their ports).
        BrokerConfig config = Broker.resolvePorts(requested);
        Transport t = Transport.pick();
        EventLoopGroup acceptor = new MultiThreadIoEventLoopGroup(1, t.ioHandlerFactory());
        EventLoopGroup workers = new MultiThreadIoEventLoopGroup(config.ioThreads(), t.ioHandlerFactory());
        List<EventExecutor> loops = new ArrayList<>();
        workers.iterator().forEachRemaining(loops::add);
        StartupGate gate = new StartupGate(config);
        Channel ch;
        try {
            ch = listen(config, t, acceptor, workers, gate);
        } catch (InterruptedException | RuntimeException e) {
            workers.shutdownGracefully(0, 0, TimeUnit.MILLISECONDS);
            acceptor.shutdownGracefully(0, 0, TimeUnit.MILLISECONDS);
            throw e;
        }
        int port = ((InetSocketAddress) ch.localAddress()).getPort();
        phases.mark("listener (" + phases.sinceJvmStartMs() + " ms since JVM start)");
        Broker broker;
        try {
            broker = Broker.open(config, loops, phases);
        } catch (RuntimeException e) {
            gate.fail(e);
            ch.close().syncUninterruptibly();
            workers.shutdownGracefully(0, 0, TimeUnit.MILLISECONDS).syncUninterruptibly();
            acceptor.shutdownGracefully(0, 0, TimeUnit.MILLISECONDS);
            throw e;
        }
        gate.open(new RequestDispatcher(broker, () -> port));
        KafkaServer s = new KafkaServer(acceptor, workers, broker, ch, t);
        log.info(
                "fjord listening for Kafka clients on {}:{} ({} transport, {} event loops, data in {}, {} topics; {} ms since JVM start)",
                config.host(),
                port,
                t.name(),
                config.ioThreads(),
                config.dataDir().toAbsolutePath(),
                broker.topics().size(),
                phases.sinceJvmStartMs());
        return s;
    }

    private static Channel listen(
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
        return ((InetSocketAddress) serverChannel.localAddress()).getPort();
    }

    public Broker broker() {
        return broker;
    }

    public String transportName() {
        return transport.name();
    }

    /** Stops accepting, lets the event loops finish queued work, then closes every log cleanly. */
    @Override
    public void close() {
        serverChannel.close().syncUninterruptibly();
        acceptor.shutdownGracefully(0, 2, TimeUnit.SECONDS);
        workers.shutdownGracefully(0, 5, TimeUnit.SECONDS).syncUninterruptibly();
        broker.close();
        acceptor.terminationFuture().syncUninterruptibly();
        log.info("fjord stopped");
    }
}
