package io.fjord.storage;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * Whole record batches in a segment file: {@code length} bytes of {@code channel} from {@code
 * position}, ready to be sent with {@code sendfile} (zero copy) or copied with {@link #readInto}.
 *
 * <p>The slice holds a reference on its segment, so retention cannot delete the file under it:
 * {@link #close()} it exactly once when done (after the bytes left, for a zero-copy send). Closing
 * twice is harmless. An empty slice (a read at the high watermark) holds nothing.
 */
public final class LogSlice implements ReadResult, AutoCloseable {
    private final Segment segment;
    private final long position;
    private final int length;
    private final long firstBatchOffset;
    private final long logStartOffset;
    private final long highWatermark;
    private final AtomicBoolean released = new AtomicBoolean();

    LogSlice(
            Segment segment,
            long position,
            int length,
            long firstBatchOffset,
            long logStartOffset,
            long highWatermark) {
        this.segment = segment;
        this.position = position;
        this.length = length;
        this.firstBatchOffset = firstBatchOffset;
        this.logStartOffset = logStartOffset;
        this.highWatermark = highWatermark;
    }

    static LogSlice empty(long logStartOffset, long highWatermark) {
        return new LogSlice(null, 0, 0, highWatermark, logStartOffset, highWatermark);
    }

    /** The segment file; null for an empty slice. Do not close it: close the slice. */
    public FileChannel channel() {
        return segment == null ? null : segment.channel();
    }

    public long position() {
        return position;
    }

    public int length() {
        return length;
    }

    public boolean isEmpty() {
        return length == 0;
    }

    /** Base offset of the first batch in the slice (at or before the requested offset). */
    public long firstBatchOffset() {
        return firstBatchOffset;
    }

    /** The log start offset when the read was made. */
    public long logStartOffset() {
        return logStartOffset;
    }

    /** The high watermark when the read was made. */
    public long highWatermark() {
        return highWatermark;
    }

    /** Copies the slice's bytes into {@code dst} (which needs {@link #length()} bytes of room). */
    public void readInto(ByteBuffer dst) throws IOException {
        if (length == 0) {
            return;
        }
        if (dst.remaining() < length) {
            throw new IllegalArgumentException(
                    "buffer has " + dst.remaining() + " bytes of room, slice needs " + length);
        }
        ByteBuffer view = dst.duplicate();
        view.limit(view.position() + length);
        long pos = position;
        FileChannel ch = segment.channel();
        while (view.hasRemaining()) {
            int n = ch.read(view, pos);
            if (n < 0) {
                throw new IOException("segment " + segment.logPath() + " ended inside a slice at " + pos);
            }
            pos += n;
        }
        dst.position(dst.position() + length);
    }

    /** The slice's bytes in a new heap buffer (the copy path; tests). */
    public ByteBuffer toByteBuffer() throws IOException {
        ByteBuffer b = ByteBuffer.allocate(length);
        readInto(b);
        return b.flip();
    }

    @Override
    public void close() {
        if (segment != null && released.compareAndSet(false, true)) {
            segment.release();
        }
    }

    @Override
    public String toString() {
        return "LogSlice[" + (segment == null ? "empty" : segment.logPath()) + " @" + position + "+" + length + "]";
    }
}
