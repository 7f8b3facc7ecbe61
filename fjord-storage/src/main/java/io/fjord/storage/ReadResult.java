package io.fjord.storage;

/** The outcome of {@link PartitionLog#read}: a slice of a segment file, or an out-of-range offset. */
public sealed interface ReadResult permits LogSlice, ReadResult.OffsetOutOfRange {

    /**
     * The offset is below the log start offset or above the high watermark. Reading exactly at the
     * high watermark is not out of range: it gives an empty slice.
     */
    record OffsetOutOfRange(long requestedOffset, long logStartOffset, long highWatermark) implements ReadResult {}
}
