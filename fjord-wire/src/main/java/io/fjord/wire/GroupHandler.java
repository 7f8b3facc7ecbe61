package io.fjord.wire;

import io.fjord.broker.Broker;
import io.fjord.broker.group.GroupCoordinator;
import io.fjord.broker.group.GroupError;
import io.fjord.broker.group.GroupResults;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.function.IntSupplier;
import org.apache.kafka.clients.consumer.internals.ConsumerProtocol;
import org.apache.kafka.common.message.DeleteGroupsRequestData;
import org.apache.kafka.common.message.DeleteGroupsResponseData;
import org.apache.kafka.common.message.DescribeGroupsRequestData;
import org.apache.kafka.common.message.DescribeGroupsResponseData;
import org.apache.kafka.common.message.FindCoordinatorRequestData;
import org.apache.kafka.common.message.FindCoordinatorResponseData;
import org.apache.kafka.common.message.HeartbeatRequestData;
import org.apache.kafka.common.message.HeartbeatResponseData;
import org.apache.kafka.common.message.JoinGroupRequestData;
import org.apache.kafka.common.message.JoinGroupResponseData;
import org.apache.kafka.common.message.LeaveGroupRequestData;
import org.apache.kafka.common.message.LeaveGroupResponseData;
import org.apache.kafka.common.message.ListGroupsRequestData;
import org.apache.kafka.common.message.ListGroupsResponseData;
import org.apache.kafka.common.message.OffsetCommitRequestData;
import org.apache.kafka.common.message.OffsetCommitResponseData;
import org.apache.kafka.common.message.OffsetDeleteRequestData;
import org.apache.kafka.common.message.OffsetDeleteResponseData;
import org.apache.kafka.common.message.OffsetFetchRequestData;
import org.apache.kafka.common.message.OffsetFetchResponseData;
import org.apache.kafka.common.message.SyncGroupRequestData;
import org.apache.kafka.common.message.SyncGroupResponseData;
import org.apache.kafka.common.protocol.Errors;

/**
 * The classic group APIs: FindCoordinator, JoinGroup, SyncGroup, Heartbeat, LeaveGroup,
 * OffsetCommit, OffsetFetch, ListGroups, DescribeGroups, DeleteGroups, OffsetDelete. Translates
 * between Kafka messages and {@link GroupCoordinator} calls; protocol metadata and assignments
 * pass through untouched, so every client-side assignor works.
 */
final class GroupHandler {
    static final byte KEY_TYPE_GROUP = 0;

    private final Broker broker;
    private final GroupCoordinator groups;
    private final IntSupplier advertisedPort;

    GroupHandler(Broker broker, IntSupplier advertisedPort) {
        this.broker = broker;
        this.groups = broker.groups();
        this.advertisedPort = advertisedPort;
        groups.setSubscriptionDecoder(GroupHandler::subscribedTopics);
    }

    /** Topics a "consumer" protocol member subscribes to (for OffsetDelete). */
    static Set<String> subscribedTopics(byte[] metadata) {
        try {
            return new HashSet<>(ConsumerProtocol.deserializeSubscription(ByteBuffer.wrap(metadata))
                    .topics());
        } catch (RuntimeException e) {
            return Set.of();
        }
    }

    Response findCoordinator(RequestContext ctx, FindCoordinatorRequestData req) {
        FindCoordinatorResponseData resp = new FindCoordinatorResponseData();
        if (ctx.version() >= 4) {
            for (String key : req.coordinatorKeys()) {
                FindCoordinatorResponseData.Coordinator c = new FindCoordinatorResponseData.Coordinator().setKey(key);
                Broker.NodeInfo n = req.keyType() == KEY_TYPE_GROUP ? broker.groupCoordinator(key) : null;
                if (n != null) {
                    c.setNodeId(n.id())
                            .setHost(n.host())
                            .setPort(n.id() == broker.nodeId() ? advertisedPort.getAsInt() : n.port())
                            .setErrorCode(Errors.NONE.code());
                } else if (req.keyType() == KEY_TYPE_GROUP) {
                    c.setNodeId(-1)
                            .setHost("")
                            .setPort(-1)
                            .setErrorCode(Errors.COORDINATOR_NOT_AVAILABLE.code())
                            .setErrorMessage("the group's offsets partition has no leader right now");
                } else {
                    c.setNodeId(-1)
                            .setHost("")
                            .setPort(-1)
                            .setErrorCode(Errors.COORDINATOR_NOT_AVAILABLE.code())
                            .setErrorMessage("Fjord has no transaction coordinator yet");
                }
                resp.coordinators().add(c);
            }
        } else if (req.keyType() == KEY_TYPE_GROUP && broker.groupCoordinator(req.key()) != null) {
            Broker.NodeInfo n = broker.groupCoordinator(req.key());
            resp.setNodeId(n.id())
                    .setHost(n.host())
                    .setPort(n.id() == broker.nodeId() ? advertisedPort.getAsInt() : n.port())
                    .setErrorCode(Errors.NONE.code());
        } else {
            resp.setNodeId(-1).setHost("").setPort(-1).setErrorCode(Errors.COORDINATOR_NOT_AVAILABLE.code());
        }
        return ctx.respond(resp);
    }

    CompletableFuture<Response> join(RequestContext ctx, JoinGroupRequestData req) {
        Map<String, byte[]> protocols = new LinkedHashMap<>();
        req.protocols().forEach(p -> protocols.put(p.name(), p.metadata()));
        int rebalanceTimeoutMs =
                ctx.version() == 0 || req.rebalanceTimeoutMs() < 0 ? req.sessionTimeoutMs() : req.rebalanceTimeoutMs();
        return groups.join(
                        req.groupId(),
                        req.memberId(),
                        req.groupInstanceId(),
                        ctx.header().clientId(),
                        ctx.clientHost(),
                        req.sessionTimeoutMs(),
                        rebalanceTimeoutMs,
                        req.protocolType(),
                        protocols,
                        ctx.version() >= 4)
                .thenApply(j -> {
                    JoinGroupResponseData resp = new JoinGroupResponseData()
                            .setErrorCode(code(j.error()))
                            .setGenerationId(j.generationId())
                            .setProtocolType(j.protocolType())
                            .setProtocolName(ctx.version() >= 7 ? j.protocolName() : nullToEmpty(j.protocolName()))
                            .setLeader(nullToEmpty(j.leaderId()))
                            .setMemberId(nullToEmpty(j.memberId()));
                    List<JoinGroupResponseData.JoinGroupResponseMember> members = new ArrayList<>();
                    for (GroupResults.MemberMetadata m : j.members()) {
                        members.add(new JoinGroupResponseData.JoinGroupResponseMember()
                                .setMemberId(m.memberId())
                                .setGroupInstanceId(m.groupInstanceId())
                                .setMetadata(m.metadata()));
                    }
                    resp.setMembers(members);
                    return ctx.respond(resp);
                });
    }

    CompletableFuture<Response> sync(RequestContext ctx, SyncGroupRequestData req) {
        Map<String, byte[]> assignments = new LinkedHashMap<>();
        req.assignments().forEach(a -> assignments.put(a.memberId(), a.assignment()));
        return groups.sync(
                        req.groupId(),
                        req.memberId(),
                        req.groupInstanceId(),
                        req.generationId(),
                        ctx.version() >= 5 ? req.protocolType() : null,
                        ctx.version() >= 5 ? req.protocolName() : null,
                        assignments)
                .thenApply(s -> ctx.respond(new SyncGroupResponseData()
                        .setErrorCode(code(s.error()))
                        .setProtocolType(s.protocolType())
                        .setProtocolName(s.protocolName())
                        .setAssignment(s.assignment())));
    }

    CompletableFuture<Response> heartbeat(RequestContext ctx, HeartbeatRequestData req) {
        return groups.heartbeat(req.groupId(), req.memberId(), req.groupInstanceId(), req.generationId())
                .thenApply(e -> ctx.respond(new HeartbeatResponseData().setErrorCode(code(e))));
    }

    CompletableFuture<Response> leave(RequestContext ctx, LeaveGroupRequestData req) {
        List<GroupResults.LeaveMember> leaving = new ArrayList<>();
        if (ctx.version() >= 3) {
            req.members()
                    .forEach(m -> leaving.add(
                            new GroupResults.LeaveMember(m.memberId(), m.groupInstanceId(), GroupError.NONE)));
        } else {
            leaving.add(new GroupResults.LeaveMember(req.memberId(), null, GroupError.NONE));
        }
        return groups.leave(req.groupId(), leaving).thenApply(l -> {
            LeaveGroupResponseData resp = new LeaveGroupResponseData().setErrorCode(code(l.error()));
            if (ctx.version() >= 3) {
                for (GroupResults.LeaveMember m : l.members()) {
                    resp.members()
                            .add(new LeaveGroupResponseData.MemberResponse()
                                    .setMemberId(m.memberId())
                                    .setGroupInstanceId(m.groupInstanceId())
                                    .setErrorCode(code(m.error())));
                }
            } else if (!l.members().isEmpty()) {
                resp.setErrorCode(code(l.members().getFirst().error()));
            }
            return ctx.respond(resp);
        });
    }

    CompletableFuture<Response> commit(RequestContext ctx, OffsetCommitRequestData req) {
        Map<GroupResults.TopicPartitionKey, GroupResults.Committed> offsets = new LinkedHashMap<>();
        Set<GroupResults.TopicPartitionKey> unknown = new HashSet<>();
        for (OffsetCommitRequestData.OffsetCommitRequestTopic t : req.topics()) {
            for (OffsetCommitRequestData.OffsetCommitRequestPartition p : t.partitions()) {
                GroupResults.TopicPartitionKey tp = new GroupResults.TopicPartitionKey(t.name(), p.partitionIndex());
                if (broker.replica(t.name(), p.partitionIndex()) == null) {
                    unknown.add(tp);
                } else {
                    offsets.put(
                            tp,
                            new GroupResults.Committed(
                                    p.committedOffset(), p.committedLeaderEpoch(), p.committedMetadata(), 0));
                }
            }
        }
        return groups.commit(
                        req.groupId(), req.memberId(), req.groupInstanceId(), req.generationIdOrMemberEpoch(), offsets)
                .thenApply(c -> {
                    OffsetCommitResponseData resp = new OffsetCommitResponseData();
                    for (OffsetCommitRequestData.OffsetCommitRequestTopic t : req.topics()) {
                        OffsetCommitResponseData.OffsetCommitResponseTopic rt =
                                new OffsetCommitResponseData.OffsetCommitResponseTopic().setName(t.name());
                        for (OffsetCommitRequestData.OffsetCommitRequestPartition p : t.partitions()) {
                            GroupResults.TopicPartitionKey tp =
                                    new GroupResults.TopicPartitionKey(t.name(), p.partitionIndex());
                            GroupError e = unknown.contains(tp)
                                    ? GroupError.UNKNOWN_TOPIC_OR_PARTITION
                                    : c.partitions().getOrDefault(tp, c.error());
                            rt.partitions()
                                    .add(new OffsetCommitResponseData.OffsetCommitResponsePartition()
                                            .setPartitionIndex(p.partitionIndex())
                                            .setErrorCode(code(e)));
                        }
                        resp.topics().add(rt);
                    }
                    return ctx.respond(resp);
                });
    }

    CompletableFuture<Response> fetchOffsets(RequestContext ctx, OffsetFetchRequestData req) {
        if (ctx.version() >= 8) {
            List<CompletableFuture<OffsetFetchResponseData.OffsetFetchResponseGroup>> parts = new ArrayList<>();
            for (OffsetFetchRequestData.OffsetFetchRequestGroup g : req.groups()) {
                List<GroupResults.TopicPartitionKey> wanted = null;
                if (g.topics() != null) {
                    wanted = new ArrayList<>();
                    for (OffsetFetchRequestData.OffsetFetchRequestTopics t : g.topics()) {
                        for (int p : t.partitionIndexes()) {
                            wanted.add(new GroupResults.TopicPartitionKey(t.name(), p));
                        }
                    }
                }
                List<GroupResults.TopicPartitionKey> asked = wanted;
                parts.add(groups.fetch(g.groupId(), asked).thenApply(f -> {
                    OffsetFetchResponseData.OffsetFetchResponseGroup rg =
                            new OffsetFetchResponseData.OffsetFetchResponseGroup()
                                    .setGroupId(g.groupId())
                                    .setErrorCode(code(f.error()));
                    Map<String, OffsetFetchResponseData.OffsetFetchResponseTopics> byTopic = new LinkedHashMap<>();
                    for (GroupResults.TopicPartitionKey tp :
                            asked != null ? asked : new ArrayList<>(f.offsets().keySet())) {
                        GroupResults.Committed c = f.offsets().get(tp);
                        byTopic.computeIfAbsent(tp.topic(), n -> {
                                    OffsetFetchResponseData.OffsetFetchResponseTopics t =
                                            new OffsetFetchResponseData.OffsetFetchResponseTopics().setName(n);
                                    rg.topics().add(t);
                                    return t;
                                })
                                .partitions()
                                .add(new OffsetFetchResponseData.OffsetFetchResponsePartitions()
                                        .setPartitionIndex(tp.partition())
                                        .setCommittedOffset(c == null ? -1 : c.offset())
                                        .setCommittedLeaderEpoch(c == null ? -1 : c.leaderEpoch())
                                        .setMetadata(c == null ? "" : c.metadata())
                                        .setErrorCode(Errors.NONE.code()));
                    }
                    return rg;
                }));
            }
            return CompletableFuture.allOf(parts.toArray(new CompletableFuture<?>[0]))
                    .thenApply(v -> {
                        OffsetFetchResponseData resp = new OffsetFetchResponseData();
                        parts.forEach(p -> resp.groups().add(p.join()));
                        return ctx.respond(resp);
                    });
        }
        List<GroupResults.TopicPartitionKey> wanted = null;
        if (req.topics() != null) {
            wanted = new ArrayList<>();
            for (OffsetFetchRequestData.OffsetFetchRequestTopic t : req.topics()) {
                for (int p : t.partitionIndexes()) {
                    wanted.add(new GroupResults.TopicPartitionKey(t.name(), p));
                }
            }
        }
        List<GroupResults.TopicPartitionKey> asked = wanted;
        return groups.fetch(req.groupId(), asked).thenApply(f -> {
            OffsetFetchResponseData resp = new OffsetFetchResponseData().setErrorCode(code(f.error()));
            Map<String, OffsetFetchResponseData.OffsetFetchResponseTopic> byTopic = new LinkedHashMap<>();
            for (GroupResults.TopicPartitionKey tp :
                    asked != null ? asked : new ArrayList<>(f.offsets().keySet())) {
                GroupResults.Committed c = f.offsets().get(tp);
                byTopic.computeIfAbsent(tp.topic(), n -> {
                            OffsetFetchResponseData.OffsetFetchResponseTopic t =
                                    new OffsetFetchResponseData.OffsetFetchResponseTopic().setName(n);
                            resp.topics().add(t);
                            return t;
                        })
                        .partitions()
                        .add(new OffsetFetchResponseData.OffsetFetchResponsePartition()
                                .setPartitionIndex(tp.partition())
                                .setCommittedOffset(c == null ? -1 : c.offset())
                                .setCommittedLeaderEpoch(c == null ? -1 : c.leaderEpoch())
                                .setMetadata(c == null ? "" : c.metadata())
                                .setErrorCode(Errors.NONE.code()));
            }
            return ctx.respond(resp);
        });
    }

    CompletableFuture<Response> list(RequestContext ctx, ListGroupsRequestData req) {
        return groups.list().thenApply(all -> {
            ListGroupsResponseData resp = new ListGroupsResponseData().setErrorCode(Errors.NONE.code());
            for (GroupResults.Listed g : all) {
                if (ctx.version() >= 4
                        && !req.statesFilter().isEmpty()
                        && req.statesFilter().stream().noneMatch(s -> s.equalsIgnoreCase(g.state()))) {
                    continue;
                }
                if (ctx.version() >= 5
                        && !req.typesFilter().isEmpty()
                        && req.typesFilter().stream().noneMatch(t -> t.equalsIgnoreCase("classic"))) {
                    continue;
                }
                resp.groups()
                        .add(new ListGroupsResponseData.ListedGroup()
                                .setGroupId(g.groupId())
                                .setProtocolType(g.protocolType())
                                .setGroupState(g.state())
                                .setGroupType("classic"));
            }
            return ctx.respond(resp);
        });
    }

    CompletableFuture<Response> describe(RequestContext ctx, DescribeGroupsRequestData req) {
        List<CompletableFuture<GroupResults.Described>> parts = new ArrayList<>();
        req.groups().forEach(g -> parts.add(groups.describe(g)));
        return CompletableFuture.allOf(parts.toArray(new CompletableFuture<?>[0]))
                .thenApply(v -> {
                    DescribeGroupsResponseData resp = new DescribeGroupsResponseData();
                    for (CompletableFuture<GroupResults.Described> p : parts) {
                        GroupResults.Described d = p.join();
                        DescribeGroupsResponseData.DescribedGroup g = new DescribeGroupsResponseData.DescribedGroup()
                                .setGroupId(d.groupId())
                                .setErrorCode(code(d.error()))
                                .setGroupState(d.state())
                                .setProtocolType(d.protocolType())
                                .setProtocolData(d.protocolName());
                        for (GroupResults.DescribedMember m : d.members()) {
                            g.members()
                                    .add(new DescribeGroupsResponseData.DescribedGroupMember()
                                            .setMemberId(m.memberId())
                                            .setGroupInstanceId(m.groupInstanceId())
                                            .setClientId(m.clientId())
                                            .setClientHost(m.clientHost())
                                            .setMemberMetadata(m.metadata())
                                            .setMemberAssignment(m.assignment()));
                        }
                        resp.groups().add(g);
                    }
                    return ctx.respond(resp);
                });
    }

    CompletableFuture<Response> delete(RequestContext ctx, DeleteGroupsRequestData req) {
        List<CompletableFuture<GroupError>> parts = new ArrayList<>();
        req.groupsNames().forEach(g -> parts.add(groups.delete(g)));
        return CompletableFuture.allOf(parts.toArray(new CompletableFuture<?>[0]))
                .thenApply(v -> {
                    DeleteGroupsResponseData resp = new DeleteGroupsResponseData();
                    for (int i = 0; i < parts.size(); i++) {
                        resp.results()
                                .add(new DeleteGroupsResponseData.DeletableGroupResult()
                                        .setGroupId(req.groupsNames().get(i))
                                        .setErrorCode(code(parts.get(i).join())));
                    }
                    return ctx.respond(resp);
                });
    }

    CompletableFuture<Response> deleteOffsets(RequestContext ctx, OffsetDeleteRequestData req) {
        List<GroupResults.TopicPartitionKey> tps = new ArrayList<>();
        req.topics()
                .forEach(t -> t.partitions()
                        .forEach(p -> tps.add(new GroupResults.TopicPartitionKey(t.name(), p.partitionIndex()))));
        return groups.deleteOffsets(req.groupId(), tps).thenApply(result -> {
            OffsetDeleteResponseData resp = new OffsetDeleteResponseData().setErrorCode(Errors.NONE.code());
            boolean notFound =
                    !result.isEmpty() && result.values().stream().allMatch(e -> e == GroupError.GROUP_ID_NOT_FOUND);
            if (notFound) {
                return ctx.respond(resp.setErrorCode(Errors.GROUP_ID_NOT_FOUND.code()));
            }
            for (OffsetDeleteRequestData.OffsetDeleteRequestTopic t : req.topics()) {
                OffsetDeleteResponseData.OffsetDeleteResponseTopic rt =
                        new OffsetDeleteResponseData.OffsetDeleteResponseTopic().setName(t.name());
                t.partitions()
                        .forEach(p -> rt.partitions()
                                .add(new OffsetDeleteResponseData.OffsetDeleteResponsePartition()
                                        .setPartitionIndex(p.partitionIndex())
                                        .setErrorCode(code(result.getOrDefault(
                                                new GroupResults.TopicPartitionKey(t.name(), p.partitionIndex()),
                                                GroupError.NONE)))));
                resp.topics().add(rt);
            }
            return ctx.respond(resp);
        });
    }

    private static String nullToEmpty(String s) {
        return s == null ? "" : s;
    }

    static short code(GroupError e) {
        return ErrorCodes.of(e).code();
    }
}
