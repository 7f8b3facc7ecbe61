package io.fjord.wire;

import io.fjord.broker.Broker;
import java.util.concurrent.CompletableFuture;
import java.util.function.IntSupplier;
import org.apache.kafka.common.message.ApiVersionsResponseData;
import org.apache.kafka.common.message.CreatePartitionsRequestData;
import org.apache.kafka.common.message.CreateTopicsRequestData;
import org.apache.kafka.common.message.DeleteRecordsRequestData;
import org.apache.kafka.common.message.DeleteTopicsRequestData;
import org.apache.kafka.common.message.DescribeClusterRequestData;
import org.apache.kafka.common.message.DescribeConfigsRequestData;
import org.apache.kafka.common.message.FetchRequestData;
import org.apache.kafka.common.message.IncrementalAlterConfigsRequestData;
import org.apache.kafka.common.message.InitProducerIdRequestData;
import org.apache.kafka.common.message.InitProducerIdResponseData;
import org.apache.kafka.common.message.ListOffsetsRequestData;
import org.apache.kafka.common.message.MetadataRequestData;
import org.apache.kafka.common.message.ProduceRequestData;
import org.apache.kafka.common.protocol.ApiMessage;
import org.apache.kafka.common.protocol.Errors;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** Routes a decoded request to its handler. Runs on the connection's event loop. */
final class RequestDispatcher {
    private static final Logger log = LoggerFactory.getLogger(RequestDispatcher.class);

    private final Broker broker;
    private final MetadataHandler metadata;
    private final ProduceHandler produce;
    private final FetchHandler fetch;
    private final ListOffsetsHandler listOffsets;
    private final TopicAdminHandler topicAdmin;
    private final ConfigsHandler configs;
    private final ClusterHandler cluster;
    private final GroupHandler groups;

    RequestDispatcher(Broker broker, IntSupplier advertisedPort) {
        this.broker = broker;
        this.metadata = new MetadataHandler(broker, advertisedPort);
        this.produce = new ProduceHandler(broker);
        this.fetch = new FetchHandler(broker);
        this.listOffsets = new ListOffsetsHandler(broker);
        this.topicAdmin = new TopicAdminHandler(broker);
        this.configs = new ConfigsHandler(broker);
        this.cluster = new ClusterHandler(broker, advertisedPort);
        this.groups = new GroupHandler(broker, advertisedPort);
    }

    CompletableFuture<Response> dispatch(RequestContext ctx, ApiMessage body) {
        return switch (ctx.apiKey()) {
            case API_VERSIONS -> done(apiVersions(ctx, Errors.NONE));
            case METADATA -> offLoop(() -> metadata.handle(ctx, (MetadataRequestData) body));
            case PRODUCE -> produce.handle(ctx, (ProduceRequestData) body);
            case FETCH -> fetch.handle(ctx, (FetchRequestData) body);
            case LIST_OFFSETS -> done(listOffsets.handle(ctx, (ListOffsetsRequestData) body));
            case CREATE_TOPICS -> offLoop(() -> topicAdmin.create(ctx, (CreateTopicsRequestData) body));
            case DELETE_TOPICS -> topicAdmin.delete(ctx, (DeleteTopicsRequestData) body);
            case INIT_PRODUCER_ID -> offLoop(() -> initProducerId(ctx, (InitProducerIdRequestData) body));
            case DESCRIBE_CONFIGS -> done(configs.describe(ctx, (DescribeConfigsRequestData) body));
            case INCREMENTAL_ALTER_CONFIGS ->
                offLoop(() -> configs.incrementalAlter(ctx, (IncrementalAlterConfigsRequestData) body));
            case DESCRIBE_CLUSTER -> done(cluster.describeCluster(ctx, (DescribeClusterRequestData) body));
            case CREATE_PARTITIONS -> offLoop(() -> cluster.createPartitions(ctx, (CreatePartitionsRequestData) body));
            case DELETE_RECORDS -> cluster.deleteRecords(ctx, (DeleteRecordsRequestData) body);
            case FIND_COORDINATOR ->
                done(groups.findCoordinator(ctx, (org.apache.kafka.common.message.FindCoordinatorRequestData) body));
            case JOIN_GROUP -> groups.join(ctx, (org.apache.kafka.common.message.JoinGroupRequestData) body);
            case SYNC_GROUP -> groups.sync(ctx, (org.apache.kafka.common.message.SyncGroupRequestData) body);
            case HEARTBEAT -> groups.heartbeat(ctx, (org.apache.kafka.common.message.HeartbeatRequestData) body);
            case LEAVE_GROUP -> groups.leave(ctx, (org.apache.kafka.common.message.LeaveGroupRequestData) body);
            case OFFSET_COMMIT -> groups.commit(ctx, (org.apache.kafka.common.message.OffsetCommitRequestData) body);
            case OFFSET_FETCH ->
                groups.fetchOffsets(ctx, (org.apache.kafka.common.message.OffsetFetchRequestData) body);
            case LIST_GROUPS -> groups.list(ctx, (org.apache.kafka.common.message.ListGroupsRequestData) body);
            case DESCRIBE_GROUPS ->
                groups.describe(ctx, (org.apache.kafka.common.message.DescribeGroupsRequestData) body);
            case DELETE_GROUPS -> groups.delete(ctx, (org.apache.kafka.common.message.DeleteGroupsRequestData) body);
            case OFFSET_DELETE ->
                groups.deleteOffsets(ctx, (org.apache.kafka.common.message.OffsetDeleteRequestData) body);
            default -> done(Response.close("API " + ctx.apiKey() + " is not served"));
        };
    }

    /** ApiVersions: header v0 always; on an unsupported version a v0 body with the error. */
    static Response apiVersions(RequestContext ctx, Errors error) {
        short version = error == Errors.NONE ? ctx.version() : 0;
        ApiVersionsResponseData body = new ApiVersionsResponseData()
                .setErrorCode(error.code())
                .setApiKeys(ApiSupport.advertised())
                .setThrottleTimeMs(0);
        return Response.of(body, version, (short) 0);
    }

    private Response initProducerId(RequestContext ctx, InitProducerIdRequestData req) {
        InitProducerIdResponseData resp =
                new InitProducerIdResponseData().setProducerId(-1).setProducerEpoch((short) -1);
        if (req.transactionalId() != null) {
            log.warn(
                    "InitProducerId for transactional id {} refused: Fjord has no transactions yet",
                    req.transactionalId());
            return ctx.respond(resp.setErrorCode(Errors.UNSUPPORTED_VERSION.code()));
        }
        long producerId;
        try {
            producerId = broker.allocateProducerId();
        } catch (IllegalStateException | io.fjord.raft.kv.KvException e) {
            // The metadata service has no quorum (or is electing): a retriable error, as Kafka
            // answers when it cannot get a block of producer ids, not a closed connection.
            log.warn("InitProducerId: cannot allocate a producer id: {}", e.getMessage());
            return ctx.respond(resp.setErrorCode(Errors.COORDINATOR_LOAD_IN_PROGRESS.code()));
        }
        return ctx.respond(
                resp.setErrorCode(Errors.NONE.code()).setProducerId(producerId).setProducerEpoch((short) 0));
    }

    /**
     * Runs a handler that may block on the metadata service (topic creation, producer-id blocks,
     * config changes) on the admin threads, never on a network event loop. Responses still leave
     * each connection in request order.
     */
    private CompletableFuture<Response> offLoop(java.util.function.Supplier<Response> handler) {
        return CompletableFuture.supplyAsync(handler, ADMIN);
    }

    private static final java.util.concurrent.ExecutorService ADMIN =
            java.util.concurrent.Executors.newCachedThreadPool(r -> {
                Thread t = new Thread(r, "fjord-admin");
                t.setDaemon(true);
                return t;
            });

    private static CompletableFuture<Response> done(Response r) {
        return CompletableFuture.completedFuture(r);
    }
}
