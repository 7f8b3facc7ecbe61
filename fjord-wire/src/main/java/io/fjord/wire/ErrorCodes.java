package io.fjord.wire;

import io.fjord.broker.Broker;
import io.fjord.broker.ProduceError;
import org.apache.kafka.common.protocol.Errors;

/** Maps the broker's own error values to Kafka error codes (the one place that knows both). */
final class ErrorCodes {
    private ErrorCodes() {}

    /**
     * Why this node cannot serve a partition's data, or null when it can (it leads it): unknown
     * topic or partition, or NOT_LEADER_OR_FOLLOWER so the client re-reads Metadata.
     */
    static Errors notServed(Broker broker, String topic, int partition, io.fjord.broker.PartitionReplica r) {
        if (r != null && r.isLeader()) {
            return null;
        }
        io.fjord.broker.TopicInfo t = topic == null ? null : broker.topic(topic);
        if (t == null || partition < 0 || partition >= t.partitions()) {
            return Errors.UNKNOWN_TOPIC_OR_PARTITION;
        }
        return Errors.NOT_LEADER_OR_FOLLOWER;
    }

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
            case UNKNOWN_TOPIC_OR_PARTITION -> Errors.UNKNOWN_TOPIC_OR_PARTITION;
            case REQUEST_TIMED_OUT -> Errors.REQUEST_TIMED_OUT;
        };
    }

    static Errors of(io.fjord.broker.group.GroupError e) {
        return switch (e) {
            case NONE -> Errors.NONE;
            case INVALID_GROUP_ID -> Errors.INVALID_GROUP_ID;
            case COORDINATOR_NOT_AVAILABLE -> Errors.COORDINATOR_NOT_AVAILABLE;
            case UNKNOWN_MEMBER_ID -> Errors.UNKNOWN_MEMBER_ID;
            case MEMBER_ID_REQUIRED -> Errors.MEMBER_ID_REQUIRED;
            case ILLEGAL_GENERATION -> Errors.ILLEGAL_GENERATION;
            case REBALANCE_IN_PROGRESS -> Errors.REBALANCE_IN_PROGRESS;
            case INCONSISTENT_GROUP_PROTOCOL -> Errors.INCONSISTENT_GROUP_PROTOCOL;
            case INVALID_SESSION_TIMEOUT -> Errors.INVALID_SESSION_TIMEOUT;
            case FENCED_INSTANCE_ID -> Errors.FENCED_INSTANCE_ID;
            case GROUP_ID_NOT_FOUND -> Errors.GROUP_ID_NOT_FOUND;
            case NON_EMPTY_GROUP -> Errors.NON_EMPTY_GROUP;
            case GROUP_SUBSCRIBED_TO_TOPIC -> Errors.GROUP_SUBSCRIBED_TO_TOPIC;
            case OFFSET_METADATA_TOO_LARGE -> Errors.OFFSET_METADATA_TOO_LARGE;
            case UNKNOWN_TOPIC_OR_PARTITION -> Errors.UNKNOWN_TOPIC_OR_PARTITION;
            case KAFKA_STORAGE_ERROR -> Errors.KAFKA_STORAGE_ERROR;
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
            case NOT_CONTROLLER -> Errors.NOT_CONTROLLER;
        };
    }
}
