package io.fjord.wire;

import io.fjord.storage.LogSlice;
import org.apache.kafka.common.record.BaseRecords;
import org.apache.kafka.common.record.RecordsSend;

/**
 * Record batches that stay in a segment file until the socket takes them: kafka-clients' {@code
 * FileRecords} cannot wrap a shared channel slice, so this is Fjord's own. {@link ResponseWriter}
 * turns it into a {@link SliceFileRegion} (sendfile / splice); the slice is closed when the
 * region is released, or by {@link #release()} if the response is never written.
 */
final class FileSliceRecords implements BaseRecords {
    private final LogSlice slice;

    FileSliceRecords(LogSlice slice) {
        this.slice = slice;
    }

    LogSlice slice() {
        return slice;
    }

    @Override
    public int sizeInBytes() {
        return slice.length();
    }

    @Override
    public RecordsSend<? extends BaseRecords> toSend() {
        throw new UnsupportedOperationException("Fjord writes file slices through Netty, not RecordsSend");
    }

    void release() {
        slice.close();
    }
}
