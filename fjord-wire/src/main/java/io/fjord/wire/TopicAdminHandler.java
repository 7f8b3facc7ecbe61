package io.fjord.wire;

import io.fjord.broker.Broker;
import io.fjord.broker.TopicInfo;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import org.apache.kafka.common.Uuid;
import org.apache.kafka.common.message.CreateTopicsRequestData;
import org.apache.kafka.common.message.CreateTopicsResponseData;
import org.apache.kafka.common.message.DeleteTopicsRequestData;
import org.apache.kafka.common.message.DeleteTopicsResponseData;
import org.apache.kafka.common.protocol.Errors;

/**
 * CreateTopics 2-7 and DeleteTopics 1-6 (admin path, rare), on the connection's loop. Deletion
 * never blocks it: each partition is deleted on its owner and the response waits for them all.
 */
final class TopicAdminHandler {
    private final Broker broker;

    TopicAdminHandler(Broker broker) {
        this.broker = broker;
    }

    Response create(RequestContext ctx, CreateTopicsRequestData req) {
        CreateTopicsResponseData resp = new CreateTopicsResponseData();
        for (CreateTopicsRequestData.CreatableTopic t : req.topics()) {
            int partitions = t.numPartitions();
            int rf = t.replicationFactor();
            if (!t.assignments().isEmpty()) {
                // Manual assignment: Fjord places replicas itself (by data group); it takes the
                // partition count and replication factor from it when every broker named exists.
                partitions = t.assignments().size();
                rf = t.assignments().iterator().next().brokerIds().size();
                boolean onlyUs = t.assignments().stream()
                        .allMatch(a -> a.brokerIds().stream().allMatch(b -> broker.node(b) != null));
                if (!onlyUs) {
                    resp.topics()
                            .add(result(t.name(), Errors.INVALID_REPLICA_ASSIGNMENT, "unknown broker in assignment"));
                    continue;
                }
            }
            Map<String, String> configs = new HashMap<>();
            t.configs().forEach(c -> configs.put(c.name(), c.value()));
            Map.Entry<Broker.CreateResult, String> r =
                    broker.createTopic(t.name(), partitions, rf, configs, req.validateOnly());
            Errors e = ErrorCodes.of(r.getKey());
            CreateTopicsResponseData.CreatableTopicResult res =
                    result(t.name(), e, r.getValue().isEmpty() ? null : r.getValue());
            if (e == Errors.NONE) {
                TopicInfo info = broker.topic(t.name());
                res.setNumPartitions(
                                info != null
                                        ? info.partitions()
                                        : partitions == -1 ? broker.config().defaultPartitions() : partitions)
                        .setReplicationFactor((short) (info != null ? info.replicationFactor() : 1));
                if (info != null) {
                    res.setTopicId(MetadataHandler.toUuid(info.id()));
                }
            }
            resp.topics().add(res);
        }
        return ctx.respond(resp);
    }

    private static CreateTopicsResponseData.CreatableTopicResult result(String name, Errors e, String message) {
        return new CreateTopicsResponseData.CreatableTopicResult()
                .setName(name)
                .setErrorCode(e.code())
                .setErrorMessage(message)
                .setNumPartitions(-1)
                .setReplicationFactor((short) -1);
    }

    CompletableFuture<Response> delete(RequestContext ctx, DeleteTopicsRequestData req) {
        DeleteTopicsResponseData resp = new DeleteTopicsResponseData();
        List<CompletableFuture<?>> pending = new ArrayList<>();
        if (ctx.version() >= 6) {
            for (DeleteTopicsRequestData.DeleteTopicState s : req.topics()) {
                String name = s.name() != null ? s.name() : nameOf(s.topicId());
                pending.add(deleteOne(resp, name, s.topicId()));
            }
        } else {
            for (String name : req.topicNames()) {
                pending.add(deleteOne(resp, name, Uuid.ZERO_UUID));
            }
        }
        return CompletableFuture.allOf(pending.toArray(new CompletableFuture<?>[0]))
                .thenApply(v -> ctx.respond(resp));
    }

    private CompletableFuture<?> deleteOne(DeleteTopicsResponseData resp, String name, Uuid id) {
        DeleteTopicsResponseData.DeletableTopicResult r = new DeleteTopicsResponseData.DeletableTopicResult()
                .setName(name)
                .setTopicId(id);
        resp.responses().add(r);
        TopicInfo t = name == null ? null : broker.topic(name);
        if (t == null) {
            r.setErrorCode((name == null ? Errors.UNKNOWN_TOPIC_ID : Errors.UNKNOWN_TOPIC_OR_PARTITION).code());
            return CompletableFuture.completedFuture(null);
        }
        r.setTopicId(MetadataHandler.toUuid(t.id()));
        if (Broker.isInternal(name)) {
            r.setErrorCode(Errors.INVALID_TOPIC_EXCEPTION.code())
                    .setErrorMessage("topic " + name + " is internal to Fjord");
            return CompletableFuture.completedFuture(null);
        }
        return broker.deleteTopic(name)
                .thenAccept(
                        existed -> r.setErrorCode((existed ? Errors.NONE : Errors.UNKNOWN_TOPIC_OR_PARTITION).code()));
    }

    private String nameOf(Uuid id) {
        if (id == null) {
            return null;
        }
        UUID wanted = new UUID(id.getMostSignificantBits(), id.getLeastSignificantBits());
        return broker.topics().values().stream()
                .filter(t -> t.id().equals(wanted))
                .map(TopicInfo::name)
                .findFirst()
                .orElse(null);
    }
}
