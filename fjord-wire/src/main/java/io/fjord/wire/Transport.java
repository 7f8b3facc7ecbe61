package io.fjord.wire;

import io.netty.channel.IoHandlerFactory;
import io.netty.channel.ServerChannel;
import io.netty.channel.epoll.Epoll;
import io.netty.channel.epoll.EpollIoHandler;
import io.netty.channel.epoll.EpollServerSocketChannel;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.channel.uring.IoUring;
import io.netty.channel.uring.IoUringIoHandler;
import io.netty.channel.uring.IoUringServerSocketChannel;

/**
 * The socket transport, picked once at start: epoll when available, else NIO; io_uring only when
 * asked for. {@code fjord.transport=io_uring|epoll|nio} forces one (for tests and comparisons).
 *
 * <p>Why not io_uring by default: Netty's io_uring transport sends a {@code DefaultFileRegion}
 * with splice through a pipe, one submission per pipe-full, where epoll makes one sendfile call.
 * Measured on the 2-core bench machine (docs/benchmarks.md), a 6-partition consumer got 330-360
 * MiB/s at 0.9-1.0 broker CPU-s per GiB with io_uring and 520-530 MiB/s at 0.4-0.55 CPU-s per
 * GiB with epoll; produce cost the same on both.
 */
record Transport(String name, IoHandlerFactory ioHandlerFactory, Class<? extends ServerChannel> serverChannel) {

    static Transport pick() {
        String forced = System.getProperty("fjord.transport", "");
        if (forced.equals("io_uring") && IoUring.isAvailable()) {
            return new Transport("io_uring", IoUringIoHandler.newFactory(), IoUringServerSocketChannel.class);
        }
        if ((forced.isEmpty() || forced.equals("epoll")) && Epoll.isAvailable()) {
            return new Transport("epoll", EpollIoHandler.newFactory(), EpollServerSocketChannel.class);
        }
        return new Transport("nio", NioIoHandler.newFactory(), NioServerSocketChannel.class);
    }
}
