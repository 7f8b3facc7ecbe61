package io.fjord.wire;

import io.fjord.broker.BrokerConfig;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.common.message.MetadataRequestData;
import org.apache.kafka.common.message.MetadataResponseData;
import org.apache.kafka.common.protocol.ApiKeys;
import org.apache.kafka.common.protocol.Errors;
import org.apache.kafka.common.requests.AbstractRequest;

/**
 * Requests that reach the Kafka listener while the node is still starting. The listener opens
 * before the node is ready (Raft groups recovering and electing, the metadata read, this node's
 * registration, its partitions' leaders), so a client's connection and ApiVersions exchange overlap
 * the start instead of following it. Until the node is {@link #open ready}:
 *
 * <ul>
 *   <li>ApiVersions is answered at once (it needs nothing from the node);
 *   <li>every other request waits for the node, at most {@link #STARTING_WAIT_MS}, and is then
 *       served as usual: the client sees a slow first answer, not an error nor a retry back-off;
 *   <li>one still waiting after that gets the retriable error a Kafka broker gives when it cannot
 *       serve the request yet ({@link #notReadyError}), which clients retry without surfacing it:
 *       Metadata lists this node with each requested topic LEADER_NOT_AVAILABLE.
 * </ul>
 *
 * Responses still leave each connection in request order (the connection handler's queue). A node
 * that fails to start closes the connections that wait.
 *
 * <p>Threads: {@link #dispatch} runs on the connection's event loop, and so do a waiting
 * request's timeout and its hand-over to the dispatcher, so the two cannot both answer it;
 * {@link #open} and {@link #fail} are called by the starting thread.
 */
final class StartupGate {
    /**
     * The longest a request waits for the node to start before a not-ready answer: well below
     * Kafka clients' request.timeout.ms (30 s), above a single node's start.
     */
    static final long STARTING_WAIT_MS = 2_000;

    private final BrokerConfig config;
    private final CompletableFuture<RequestDispatcher> ready = new CompletableFuture<>();

    StartupGate(BrokerConfig config) {
        this.config = config;
    }

    /** The node is ready: waiting requests and every later one go to {@code dispatcher}. */
    void open(RequestDispatcher dispatcher) {
        ready.complete(dispatcher);
    }

    /** The node did not start: waiting and later requests close their connections. */
    void fail(Throwable cause) {
        ready.completeExceptionally(cause);
    }

    CompletableFuture<Response> dispatch(RequestContext ctx, AbstractRequest request) {
        if (ready.isDone() && !ready.isCompletedExceptionally()) {
            return ready.join().dispatch(ctx, request.data());
        }
        if (ctx.apiKey() == ApiKeys.API_VERSIONS) {
            return CompletableFuture.completedFuture(RequestDispatcher.apiVersions(ctx, Errors.NONE));
        }
        CompletableFuture<Response> answer = new CompletableFuture<>();
        ScheduledFuture<?> timeout = ctx.loop()
                .schedule(() -> answer.complete(notReady(ctx, request)), STARTING_WAIT_MS, TimeUnit.MILLISECONDS);
        ready.whenComplete((dispatcher, failed) -> {
            try {
                ctx.loop().execute(() -> {
                    if (answer.isDone()) {
                        return; // answered not-ready already
                    }
                    timeout.cancel(false);
                    if (failed != null) {
                        answer.complete(Response.close("the node failed to start: " + failed));
                        return;
                    }
                    dispatcher.dispatch(ctx, request.data()).whenComplete((r, e) -> {
                        if (e != null) {
                            answer.completeExceptionally(e);
                        } else {
                            answer.complete(r);
                        }
                    });
                });
            } catch (RejectedExecutionException stopping) {
                answer.complete(Response.close("the node is stopping"));
            }
        });
        return answer;
    }

    /** The answer to a request that waited {@link #STARTING_WAIT_MS} for the node in vain. */
    private Response notReady(RequestContext ctx, AbstractRequest request) {
        if (ctx.apiKey() == ApiKeys.METADATA) {
            return ctx.respond(notReadyMetadata((MetadataRequestData) request.data()));
        }
        return ctx.respond(
                request.getErrorResponse(0, notReadyError(ctx.apiKey()).exception())
                        .data());
    }

    /**
     * This node as the only broker (and controller: Admin waits for a controller id), no cluster id
     * yet, each requested topic LEADER_NOT_AVAILABLE: the client keeps its connection and asks again.
     */
    private MetadataResponseData notReadyMetadata(MetadataRequestData req) {
        MetadataResponseData resp = new MetadataResponseData()
                .setClusterId(null)
                .setControllerId(config.nodeId())
                .setThrottleTimeMs(0);
        String rack = config.cluster().rack();
        resp.brokers()
                .add(new MetadataResponseData.MetadataResponseBroker()
                        .setNodeId(config.nodeId())
                        .setHost(config.host())
                        .setPort(config.port())
                        .setRack(rack == null || rack.isEmpty() ? null : rack));
        for (MetadataRequestData.MetadataRequestTopic t :
                req.topics() == null ? List.<MetadataRequestData.MetadataRequestTopic>of() : req.topics()) {
            resp.topics()
                    .add(new MetadataResponseData.MetadataResponseTopic()
                            .setName(t.name())
                            .setTopicId(t.topicId())
                            .setErrorCode(Errors.LEADER_NOT_AVAILABLE.code()));
        }
        return resp;
    }

    /**
     * What a Kafka broker answers when it cannot serve a request yet; every one is retriable, and
     * the Java client retries each without surfacing it to the application.
     */
    static Errors notReadyError(ApiKeys key) {
        return switch (key) {
            case FIND_COORDINATOR -> Errors.COORDINATOR_NOT_AVAILABLE;
            case INIT_PRODUCER_ID,
                    JOIN_GROUP,
                    SYNC_GROUP,
                    HEARTBEAT,
                    LEAVE_GROUP,
                    OFFSET_COMMIT,
                    OFFSET_FETCH,
                    LIST_GROUPS,
                    DESCRIBE_GROUPS,
                    DELETE_GROUPS,
                    OFFSET_DELETE -> Errors.COORDINATOR_LOAD_IN_PROGRESS;
            case CREATE_TOPICS,
                    DELETE_TOPICS,
                    CREATE_PARTITIONS,
                    DESCRIBE_CONFIGS,
                    INCREMENTAL_ALTER_CONFIGS,
                    DESCRIBE_CLUSTER -> Errors.NOT_CONTROLLER;
            default -> Errors.NOT_LEADER_OR_FOLLOWER; // produce, fetch, list offsets, delete records
        };
    }
}
