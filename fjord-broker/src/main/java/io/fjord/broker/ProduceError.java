package io.fjord.broker;

/**
 * Why a partition refused a produce. The wire layer maps each to a Kafka error code; the names say
 * which.
 */
public enum ProduceError {
    /** Bad length, CRC or structure. */
    CORRUPT_MESSAGE,
    /** A well-formed batch Fjord does not take: control batch, transactional, bad sequence fields. */
    INVALID_RECORD,
    /** Magic byte other than 2. */
    UNSUPPORTED_FOR_MESSAGE_FORMAT,
    /** Larger than the topic's max.message.bytes. */
    MESSAGE_TOO_LARGE,
    /** The producer's sequence does not follow its last one. */
    OUT_OF_ORDER_SEQUENCE_NUMBER,
    /** The producer's epoch is older than the one the partition has seen. */
    INVALID_PRODUCER_EPOCH,
    /** The disk failed (full, I/O error). Nothing was appended. */
    KAFKA_STORAGE_ERROR,
    /** The partition is being deleted or the broker is stopping. */
    NOT_LEADER_OR_FOLLOWER,
    /** The partition's topic is gone, or its id does not match the one the producer meant. */
    UNKNOWN_TOPIC_OR_PARTITION,
    /**
     * The write's fate is unknown (no quorum within the timeout, leadership lost after it was
     * appended): retry it; idempotent producers cannot duplicate.
     */
    REQUEST_TIMED_OUT
}
