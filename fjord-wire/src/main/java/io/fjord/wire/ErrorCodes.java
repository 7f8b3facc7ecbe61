package io.fjord.wire;

import io.fjord.broker.Broker;
import io.fjord.broker.ProduceError;
import org.apache.kafka.common.protocol.Errors;

/** Maps the broker's own error values to Kafka error codes (the one place that knows both). */
final class ErrorCodes {
    private ErrorCodes() {}

    static Errors of(ProduceError e) {
        return switch (e) {
            case CORRUPT_MESSAGE -> Errors.CORRUPT_MESSAGE;
            case INVALID_RECORD -> Errors.INVALID_RECORD;
            case UNSUPPORTED_FOR_MESSAGE_FORMAT -> Errors.UNSUPPORTED_FOR_MESSAGE_FORMAT;
            case MESSAGE_TOO_LARGE -> Errors.MESSAGE_TOO_LARGE;
            case OUT_OF_ORDER_SEQUENCE_NUMBER -> Errors.OUT_OF_ORDER_SEQUENCE_NUMBER;
            case INVALID_PRODUCER_EPOCH -> Errors.INVALID_PRODUCER_EPOCH;
            case KAFKA_STORAGE_ERROR -> Errors.KAFKA_STORAGE_ERROR;
            case NOT_LEADER_OR_FOLLOWER -> Errors.NOT_LEADER_OR_FOLLOWER;
        };
    }

    static Errors of(Broker.CreateResult r) {
        return switch (r) {
            case CREATED -> Errors.NONE;
            case TOPIC_ALREADY_EXISTS -> Errors.TOPIC_ALREADY_EXISTS;
            case INVALID_TOPIC_EXCEPTION -> Errors.INVALID_TOPIC_EXCEPTION;
            case INVALID_PARTITIONS -> Errors.INVALID_PARTITIONS;
            case INVALID_REPLICATION_FACTOR -> Errors.INVALID_REPLICATION_FACTOR;
            case INVALID_CONFIG -> Errors.INVALID_CONFIG;
        };
    }
}
