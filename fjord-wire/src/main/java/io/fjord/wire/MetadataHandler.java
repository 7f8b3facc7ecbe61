package io.fjord.wire;

import io.fjord.broker.Broker;
import io.fjord.broker.TopicInfo;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.function.IntSupplier;
import org.apache.kafka.common.Uuid;
import org.apache.kafka.common.message.MetadataRequestData;
import org.apache.kafka.common.message.MetadataResponseData;
import org.apache.kafka.common.protocol.Errors;

/**
 * Metadata 0-12: this node as the only broker and the controller (never -1: Admin would hang),
 * every partition led by it with leader epoch 0, topic ids, and auto-creation of requested topics.
 */
final class MetadataHandler {
    private final Broker broker;
    private final IntSupplier advertisedPort;

    MetadataHandler(Broker broker, IntSupplier advertisedPort) {
        this.broker = broker;
        this.advertisedPort = advertisedPort;
    }

    Response handle(RequestContext ctx, MetadataRequestData req) {
        MetadataResponseData resp = new MetadataResponseData()
                .setClusterId(broker.clusterId())
                .setControllerId(broker.controllerId())
                .setThrottleTimeMs(0);
        for (Broker.NodeInfo n : broker.liveBrokers()) {
            resp.brokers()
                    .add(new MetadataResponseData.MetadataResponseBroker()
                            .setNodeId(n.id())
                            .setHost(n.host())
                            .setPort(n.id() == broker.nodeId() ? advertisedPort.getAsInt() : n.port())
                            .setRack(n.rack().isEmpty() ? null : n.rack()));
        }
        // v0 has no null topics: an empty list means all; from v1 null means all.
        boolean all =
                req.topics() == null || (ctx.version() == 0 && req.topics().isEmpty());
        if (all) {
            broker.topics().values().forEach(t -> resp.topics().add(topic(t)));
        } else {
            boolean autoCreate =
                    broker.config().autoCreateTopics() && (ctx.version() < 4 || req.allowAutoTopicCreation());
            for (MetadataRequestData.MetadataRequestTopic rt : req.topics()) {
                String name = rt.name();
                if (name == null) {
                    resp.topics().add(byId(rt.topicId()));
                    continue;
                }
                TopicInfo t = broker.topic(name);
                if (t == null && autoCreate) {
                    String bad = Broker.checkTopicName(name);
                    if (bad != null) {
                        resp.topics().add(error(name, Errors.INVALID_TOPIC_EXCEPTION));
                        continue;
                    }
                    t = broker.autoCreate(name);
                }
                resp.topics().add(t == null ? error(name, Errors.UNKNOWN_TOPIC_OR_PARTITION) : topic(t));
            }
        }
        return ctx.respond(resp);
    }

    private MetadataResponseData.MetadataResponseTopic byId(Uuid id) {
        UUID wanted = new UUID(id.getMostSignificantBits(), id.getLeastSignificantBits());
        for (TopicInfo t : broker.topics().values()) {
            if (t.id().equals(wanted)) {
                return topic(t);
            }
        }
        return new MetadataResponseData.MetadataResponseTopic()
                .setName(null)
                .setTopicId(id)
                .setErrorCode(Errors.UNKNOWN_TOPIC_ID.code());
    }

    private static MetadataResponseData.MetadataResponseTopic error(String name, Errors e) {
        return new MetadataResponseData.MetadataResponseTopic().setName(name).setErrorCode(e.code());
    }

    private MetadataResponseData.MetadataResponseTopic topic(TopicInfo t) {
        List<MetadataResponseData.MetadataResponsePartition> parts = new ArrayList<>(t.partitions());
        for (int p = 0; p < t.partitions(); p++) {
            Broker.PartitionView v = broker.partitionView(t.name(), p);
            List<Integer> replicas = v == null ? List.of() : v.replicas();
            List<Integer> isr = v == null ? List.of() : v.isr();
            int leader = v == null ? -1 : v.leader();
            parts.add(new MetadataResponseData.MetadataResponsePartition()
                    .setPartitionIndex(p)
                    .setErrorCode(leader < 0 ? Errors.LEADER_NOT_AVAILABLE.code() : Errors.NONE.code())
                    .setLeaderId(leader)
                    .setLeaderEpoch(v == null ? -1 : v.leaderEpoch())
                    .setReplicaNodes(replicas)
                    .setIsrNodes(isr)
                    .setOfflineReplicas(
                            replicas.stream().filter(r -> !isr.contains(r)).toList()));
        }
        return new MetadataResponseData.MetadataResponseTopic()
                .setName(t.name())
                .setTopicId(toUuid(t.id()))
                .setIsInternal(Broker.isInternal(t.name()))
                .setErrorCode(Errors.NONE.code())
                .setPartitions(parts);
    }

    static Uuid toUuid(UUID id) {
        return new Uuid(id.getMostSignificantBits(), id.getLeastSignificantBits());
    }
}
