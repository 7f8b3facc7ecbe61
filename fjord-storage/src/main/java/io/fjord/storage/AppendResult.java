package io.fjord.storage;

/** The outcome of {@link PartitionLog#append}: offsets assigned, or why nothing was written. */
public sealed interface AppendResult {

    /**
     * The batches are written and readable.
     *
     * @param firstOffset offset of the first record appended
     * @param lastOffset offset of the last record appended
     * @param maxTimestampMs the largest batch maxTimestamp among the appended batches
     * @param batches number of batches appended
     */
    record Appended(long firstOffset, long lastOffset, long maxTimestampMs, int batches) implements AppendResult {}

    /**
     * Nothing was written: batch number {@code batchIndex} (0-based) of the append is invalid.
     *
     * @param error why
     * @param batchIndex which batch
     */
    record Rejected(BatchError error, int batchIndex) implements AppendResult {}
}
