package io.fjord.wire;

import io.fjord.broker.Broker;
import io.fjord.broker.PartitionReplica;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.function.IntSupplier;
import org.apache.kafka.common.message.CreatePartitionsRequestData;
import org.apache.kafka.common.message.CreatePartitionsResponseData;
import org.apache.kafka.common.message.DeleteRecordsRequestData;
import org.apache.kafka.common.message.DeleteRecordsResponseData;
import org.apache.kafka.common.message.DescribeClusterRequestData;
import org.apache.kafka.common.message.DescribeClusterResponseData;
import org.apache.kafka.common.protocol.Errors;

/** DescribeCluster 0-1, CreatePartitions 0-3 and DeleteRecords 0-2. */
final class ClusterHandler {
    private final Broker broker;
    private final IntSupplier advertisedPort;

    ClusterHandler(Broker broker, IntSupplier advertisedPort) {
        this.broker = broker;
        this.advertisedPort = advertisedPort;
    }

    Response describeCluster(RequestContext ctx, DescribeClusterRequestData req) {
        DescribeClusterResponseData resp = new DescribeClusterResponseData()
                .setErrorCode(Errors.NONE.code())
                .setClusterId(broker.clusterId())
                .setControllerId(broker.controllerId())
                .setEndpointType((byte) 1);
        for (Broker.NodeInfo n : broker.liveBrokers()) {
            resp.brokers()
                    .add(new DescribeClusterResponseData.DescribeClusterBroker()
                            .setBrokerId(n.id())
                            .setHost(n.host())
                            .setPort(n.id() == broker.nodeId() ? advertisedPort.getAsInt() : n.port())
                            .setRack(n.rack().isEmpty() ? null : n.rack()));
        }
        return ctx.respond(resp);
    }

    Response createPartitions(RequestContext ctx, CreatePartitionsRequestData req) {
        CreatePartitionsResponseData resp = new CreatePartitionsResponseData();
        for (CreatePartitionsRequestData.CreatePartitionsTopic t : req.topics()) {
            CreatePartitionsResponseData.CreatePartitionsTopicResult r =
                    new CreatePartitionsResponseData.CreatePartitionsTopicResult().setName(t.name());
            resp.results().add(r);
            if (broker.topic(t.name()) == null) {
                r.setErrorCode(Errors.UNKNOWN_TOPIC_OR_PARTITION.code()).setErrorMessage("unknown topic " + t.name());
                continue;
            }
            if (t.assignments() != null
                    && t.assignments().stream()
                            .anyMatch(a -> a.brokerIds().stream().anyMatch(b -> broker.node(b) == null))) {
                r.setErrorCode(Errors.INVALID_REPLICA_ASSIGNMENT.code())
                        .setErrorMessage("unknown broker in assignment");
                continue;
            }
            String bad = broker.createPartitions(t.name(), t.count(), req.validateOnly());
            r.setErrorCode(bad == null ? Errors.NONE.code() : Errors.INVALID_PARTITIONS.code())
                    .setErrorMessage(bad);
        }
        return ctx.respond(resp);
    }

    CompletableFuture<Response> deleteRecords(RequestContext ctx, DeleteRecordsRequestData req) {
        DeleteRecordsResponseData resp = new DeleteRecordsResponseData();
        List<CompletableFuture<?>> pending = new ArrayList<>();
        for (DeleteRecordsRequestData.DeleteRecordsTopic t : req.topics()) {
            DeleteRecordsResponseData.DeleteRecordsTopicResult tr =
                    new DeleteRecordsResponseData.DeleteRecordsTopicResult().setName(t.name());
            resp.topics().add(tr);
            for (DeleteRecordsRequestData.DeleteRecordsPartition p : t.partitions()) {
                DeleteRecordsResponseData.DeleteRecordsPartitionResult pr =
                        new DeleteRecordsResponseData.DeleteRecordsPartitionResult()
                                .setPartitionIndex(p.partitionIndex())
                                .setLowWatermark(-1);
                tr.partitions().add(pr);
                PartitionReplica r = broker.replica(t.name(), p.partitionIndex());
                Errors notServed = ErrorCodes.notServed(broker, t.name(), p.partitionIndex(), r);
                if (notServed != null) {
                    pr.setErrorCode(notServed.code());
                    continue;
                }
                pending.add(r.deleteRecordsBefore(p.offset()).handle((lowWatermark, err) -> {
                    if (err == null) {
                        pr.setErrorCode(Errors.NONE.code()).setLowWatermark(lowWatermark);
                    } else {
                        Throwable cause =
                                err instanceof java.util.concurrent.CompletionException ? err.getCause() : err;
                        pr.setErrorCode((cause instanceof IllegalArgumentException
                                        ? Errors.OFFSET_OUT_OF_RANGE
                                        : cause instanceof io.fjord.raft.NotLeaderException
                                                ? Errors.NOT_LEADER_OR_FOLLOWER
                                                : Errors.KAFKA_STORAGE_ERROR)
                                .code());
                    }
                    return null;
                }));
            }
        }
        return CompletableFuture.allOf(pending.toArray(new CompletableFuture<?>[0]))
                .thenApply(v -> ctx.respond(resp));
    }
}
