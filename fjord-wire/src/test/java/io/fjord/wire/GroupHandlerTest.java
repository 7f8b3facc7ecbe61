package io.fjord.wire;

import static org.assertj.core.api.Assertions.assertThat;

import io.fjord.broker.BrokerConfig;
import io.fjord.broker.group.GroupConfig;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.apache.kafka.common.message.CreateTopicsRequestData;
import org.apache.kafka.common.message.DeleteGroupsRequestData;
import org.apache.kafka.common.message.HeartbeatRequestData;
import org.apache.kafka.common.message.JoinGroupRequestData;
import org.apache.kafka.common.message.OffsetCommitRequestData;
import org.apache.kafka.common.message.OffsetFetchRequestData;
import org.apache.kafka.common.message.SyncGroupRequestData;
import org.apache.kafka.common.protocol.ApiKeys;
import org.apache.kafka.common.protocol.Errors;
import org.apache.kafka.common.requests.CreateTopicsResponse;
import org.apache.kafka.common.requests.DeleteGroupsResponse;
import org.apache.kafka.common.requests.HeartbeatResponse;
import org.apache.kafka.common.requests.JoinGroupResponse;
import org.apache.kafka.common.requests.OffsetCommitResponse;
import org.apache.kafka.common.requests.OffsetFetchResponse;
import org.apache.kafka.common.requests.SyncGroupResponse;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Group requests no well-behaved client sends, through {@link RawClient}: each gets its Kafka
 * error, and a bystander group on the same broker (a member and committed offsets, set up before
 * each test and checked after it) is not touched.
 */
class GroupHandlerTest {
    private static final String TOPIC = "t";
    private static final int SESSION_MS = 30_000;
    private static final short JOIN_V = 7;
    private static final short SYNC_V = 5;
    private static final short HEARTBEAT_V = 4;
    private static final short COMMIT_V = 8;
    private static final short FETCH_V = 7;
    private static final short DELETE_V = 2;

    @TempDir
    Path dir;

    TestServer fjord;
    RawClient client;
    Member bystander;

    /** A member of a group, in a generation. */
    private record Member(String group, String memberId, int generation) {}

    @BeforeEach
    void start() throws Exception {
        // No initial rebalance delay: a lone member's join completes at once.
        fjord = new TestServer(BrokerConfig.defaults(dir, 0)
                .withIoThreads(2)
                .withGroups(GroupConfig.DEFAULT.withInitialRebalanceDelayMs(0)));
        client = new RawClient(fjord.server.port());
        CreateTopicsRequestData req = new CreateTopicsRequestData().setTimeoutMs(5000);
        req.topics()
                .add(new CreateTopicsRequestData.CreatableTopic()
                        .setName(TOPIC)
                        .setNumPartitions(2)
                        .setReplicationFactor((short) 1));
        CreateTopicsResponse created = (CreateTopicsResponse) client.call(ApiKeys.CREATE_TOPICS, (short) 7, req);
        assertThat(created.data().topics().find(TOPIC).errorCode()).isEqualTo(Errors.NONE.code());

        bystander = joinAndSync("bystander", "consumer");
        assertThat(commit(bystander, bystander.memberId(), bystander.generation(), Map.of(0, ""), 7))
                .containsExactly(Errors.NONE.code());
    }

    @AfterEach
    void stop() throws Exception {
        try {
            if (bystander != null) {
                assertThat(heartbeat(bystander))
                        .as("the bystander is still a member")
                        .isEqualTo(Errors.NONE);
                assertThat(committed("bystander")).as("the bystander's offsets").isEqualTo(Map.of(0, 7L));
            }
        } finally {
            client.close();
            fjord.close();
        }
    }

    @Test
    void shouldRejectAnOffsetCommitFromAnUnknownMember() throws Exception {
        Member m = joinAndSync("g", "consumer");

        assertThat(commit(m, "nobody", m.generation(), Map.of(0, "", 1, ""), 5))
                .containsExactly(Errors.UNKNOWN_MEMBER_ID.code(), Errors.UNKNOWN_MEMBER_ID.code());
        assertThat(commit(new Member("no-such-group", "nobody", 1), "nobody", 1, Map.of(0, ""), 5))
                .containsExactly(Errors.UNKNOWN_MEMBER_ID.code());

        assertThat(committed("g")).isEmpty();
        assertThat(committed("no-such-group")).isEmpty();
    }

    @Test
    void shouldRejectAnOffsetCommitFromAnOldGeneration() throws Exception {
        Member first = joinAndSync("g", "consumer");
        Member second = rejoinAndSync(first); // the leader rejoining starts a new generation
        assertThat(second.generation()).isEqualTo(first.generation() + 1);

        assertThat(commit(first, first.memberId(), first.generation(), Map.of(0, ""), 5))
                .containsExactly(Errors.ILLEGAL_GENERATION.code());
        assertThat(committed("g")).isEmpty();
        assertThat(commit(second, second.memberId(), second.generation(), Map.of(0, ""), 5))
                .containsExactly(Errors.NONE.code());
        assertThat(committed("g")).isEqualTo(Map.of(0, 5L));
    }

    @Test
    void shouldRejectAJoinWithAnotherProtocolType() throws Exception {
        Member m = joinAndSync("g", "consumer");

        JoinGroupResponse j = join("g", "", "connect");

        assertThat(j.error()).isEqualTo(Errors.INCONSISTENT_GROUP_PROTOCOL);
        assertThat(heartbeat(m)).as("the group's member is undisturbed").isEqualTo(Errors.NONE);
    }

    @Test
    void shouldRejectOnlyThePartitionWithOversizedMetadata() throws Exception {
        Member m = joinAndSync("g", "consumer");
        String tooLarge = "m".repeat(4097);

        List<Short> errors = commit(m, m.memberId(), m.generation(), Map.of(0, tooLarge, 1, "fine"), 11);

        assertThat(errors).containsExactly(Errors.OFFSET_METADATA_TOO_LARGE.code(), Errors.NONE.code());
        assertThat(committed("g")).isEqualTo(Map.of(1, 11L));
        assertThat(commit(m, m.memberId(), m.generation(), Map.of(0, "m".repeat(4096)), 12))
                .as("4096 bytes is the limit, not over it")
                .containsExactly(Errors.NONE.code());
    }

    @Test
    void shouldRefuseToDeleteAGroupWithMembers() throws Exception {
        Member m = joinAndSync("g", "consumer");
        commit(m, m.memberId(), m.generation(), Map.of(0, ""), 3);

        DeleteGroupsResponse r = (DeleteGroupsResponse) client.call(
                ApiKeys.DELETE_GROUPS, DELETE_V, new DeleteGroupsRequestData().setGroupsNames(List.of("g")));

        assertThat(r.data().results().find("g").errorCode()).isEqualTo(Errors.NON_EMPTY_GROUP.code());
        assertThat(heartbeat(m)).isEqualTo(Errors.NONE);
        assertThat(committed("g")).isEqualTo(Map.of(0, 3L));
    }

    /** Joins as a new member (MEMBER_ID_REQUIRED first) and syncs: a group of one, STABLE. */
    private Member joinAndSync(String group, String protocolType) throws Exception {
        JoinGroupResponse required = join(group, "", protocolType);
        assertThat(required.error()).isEqualTo(Errors.MEMBER_ID_REQUIRED);
        return sync(group, join(group, required.data().memberId(), protocolType));
    }

    private Member rejoinAndSync(Member m) throws Exception {
        return sync(m.group(), join(m.group(), m.memberId(), "consumer"));
    }

    private Member sync(String group, JoinGroupResponse joined) throws Exception {
        assertThat(joined.error()).isEqualTo(Errors.NONE);
        String memberId = joined.data().memberId();
        assertThat(joined.data().leader()).as("alone, so the leader").isEqualTo(memberId);
        SyncGroupRequestData req = new SyncGroupRequestData()
                .setGroupId(group)
                .setMemberId(memberId)
                .setGenerationId(joined.data().generationId())
                .setProtocolType(joined.data().protocolType())
                .setProtocolName(joined.data().protocolName())
                .setAssignments(List.of(new SyncGroupRequestData.SyncGroupRequestAssignment()
                        .setMemberId(memberId)
                        .setAssignment(bytes("all of it"))));
        SyncGroupResponse s = (SyncGroupResponse) client.call(ApiKeys.SYNC_GROUP, SYNC_V, req);
        assertThat(s.error()).isEqualTo(Errors.NONE);
        assertThat(s.data().assignment()).isEqualTo(bytes("all of it"));
        return new Member(group, memberId, joined.data().generationId());
    }

    private JoinGroupResponse join(String group, String memberId, String protocolType) throws Exception {
        JoinGroupRequestData.JoinGroupRequestProtocolCollection protocols =
                new JoinGroupRequestData.JoinGroupRequestProtocolCollection();
        protocols.add(new JoinGroupRequestData.JoinGroupRequestProtocol()
                .setName("range")
                .setMetadata(bytes("subscription")));
        JoinGroupRequestData req = new JoinGroupRequestData()
                .setGroupId(group)
                .setMemberId(memberId)
                .setSessionTimeoutMs(SESSION_MS)
                .setRebalanceTimeoutMs(SESSION_MS)
                .setProtocolType(protocolType)
                .setProtocols(protocols);
        return (JoinGroupResponse) client.call(ApiKeys.JOIN_GROUP, JOIN_V, req);
    }

    private Errors heartbeat(Member m) throws Exception {
        HeartbeatResponse r = (HeartbeatResponse) client.call(
                ApiKeys.HEARTBEAT,
                HEARTBEAT_V,
                new HeartbeatRequestData()
                        .setGroupId(m.group())
                        .setMemberId(m.memberId())
                        .setGenerationId(m.generation()));
        return r.error();
    }

    /**
     * Commits {@code offset} with the given metadata for each partition (in partition order) of
     * {@link #TOPIC} as {@code memberId} in {@code generation}; returns the partitions' error codes.
     */
    private List<Short> commit(Member m, String memberId, int generation, Map<Integer, String> metadata, long offset)
            throws Exception {
        OffsetCommitRequestData.OffsetCommitRequestTopic t =
                new OffsetCommitRequestData.OffsetCommitRequestTopic().setName(TOPIC);
        metadata.entrySet().stream()
                .sorted(Map.Entry.comparingByKey())
                .forEach(e -> t.partitions()
                        .add(new OffsetCommitRequestData.OffsetCommitRequestPartition()
                                .setPartitionIndex(e.getKey())
                                .setCommittedOffset(offset)
                                .setCommittedMetadata(e.getValue())));
        OffsetCommitResponse r = (OffsetCommitResponse) client.call(
                ApiKeys.OFFSET_COMMIT,
                COMMIT_V,
                new OffsetCommitRequestData()
                        .setGroupId(m.group())
                        .setMemberId(memberId)
                        .setGenerationIdOrMemberEpoch(generation)
                        .setTopics(List.of(t)));
        assertThat(r.data().topics()).hasSize(1);
        return r.data().topics().getFirst().partitions().stream()
                .map(p -> p.errorCode())
                .toList();
    }

    /** The committed offsets of {@link #TOPIC} in a group, by partition; partitions without one left out. */
    private Map<Integer, Long> committed(String group) throws Exception {
        OffsetFetchResponse r = (OffsetFetchResponse) client.call(
                ApiKeys.OFFSET_FETCH,
                FETCH_V,
                new OffsetFetchRequestData()
                        .setGroupId(group)
                        .setTopics(List.of(new OffsetFetchRequestData.OffsetFetchRequestTopic()
                                .setName(TOPIC)
                                .setPartitionIndexes(List.of(0, 1)))));
        assertThat(r.data().errorCode()).isEqualTo(Errors.NONE.code());
        Map<Integer, Long> out = new HashMap<>();
        r.data()
                .topics()
                .forEach(t -> t.partitions().forEach(p -> {
                    assertThat(p.errorCode()).isEqualTo(Errors.NONE.code());
                    if (p.committedOffset() >= 0) {
                        out.put(p.partitionIndex(), p.committedOffset());
                    }
                }));
        return out;
    }

    private static byte[] bytes(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }
}
