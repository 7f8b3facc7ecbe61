package io.fjord.wire;

import io.fjord.storage.LogSlice;
import io.netty.channel.DefaultFileRegion;

/**
 * A zero-copy region over a {@link LogSlice}. It must stay a {@link DefaultFileRegion}: Netty's
 * io_uring and epoll transports send only that class with splice/sendfile. Releasing it closes the
 * slice (so retention may delete the segment), never the shared segment channel.
 */
final class SliceFileRegion extends DefaultFileRegion {
    private final LogSlice slice;

    SliceFileRegion(LogSlice slice) {
        super(slice.channel(), slice.position(), slice.length());
        this.slice = slice;
    }

    @Override
    protected void deallocate() {
        slice.close();
    }
}
