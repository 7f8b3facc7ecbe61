package io.fjord.storage;

/**
 * Why a record batch was refused. A value, not an exception: a bad batch from a client is an
 * expected event. The broker maps these to Kafka error codes ({@code CORRUPT_MESSAGE}, {@code
 * INVALID_RECORD}, {@code UNSUPPORTED_VERSION}, {@code MESSAGE_TOO_LARGE}).
 */
public enum BatchError {
    /** Fewer bytes than the batch's length field promises, or fewer than a header. */
    TRUNCATED,
    /** The length field is smaller than a v2 header. */
    INVALID_LENGTH,
    /** The magic byte is not 2. */
    UNSUPPORTED_MAGIC,
    /** CRC32C over attributes..end does not match the stored CRC. */
    CRC_MISMATCH,
    /** records count is not lastOffsetDelta + 1, or is not positive. */
    INVALID_RECORD_COUNT,
    /** The batch is larger than the log's {@code maxBatchBytes}. */
    BATCH_TOO_LARGE,
    /** The append held no batch at all. */
    EMPTY
}
