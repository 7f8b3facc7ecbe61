package io.fjord.broker.group;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.Test;

/**
 * The classic group state machine, driven with explicit times: no sleeping, no threads. Every
 * future the group hands out is checked with {@code getNow}, so "still waiting" is visible.
 */
class ClassicGroupTest {
    private static final int DELAY_MS = 3_000;
    private static final int SESSION_MS = 10_000;
    private static final int REBALANCE_MS = 20_000;
    private static final GroupConfig CONFIG = GroupConfig.DEFAULT.withInitialRebalanceDelayMs(DELAY_MS);
    private static final Map<String, byte[]> RANGE = protocols("range");

    private final ClassicGroup group = new ClassicGroup("g", CONFIG, 0);

    /** Protocol name to metadata, in this order of preference; the metadata is the name's bytes. */
    private static Map<String, byte[]> protocols(String... names) {
        Map<String, byte[]> m = new LinkedHashMap<>();
        for (String n : names) {
            m.put(n, bytes(n));
        }
        return m;
    }

    private static byte[] bytes(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    private static ClassicGroup.JoinArgs args(String memberId, String instanceId, Map<String, byte[]> protocols) {
        return args(memberId, instanceId, "consumer", protocols, SESSION_MS, REBALANCE_MS, false);
    }

    private static ClassicGroup.JoinArgs args(
            String memberId,
            String instanceId,
            String type,
            Map<String, byte[]> protocols,
            int sessionMs,
            int rebalanceMs,
            boolean requireKnownMemberId) {
        return new ClassicGroup.JoinArgs(
                memberId,
                instanceId,
                "client",
                "/127.0.0.1",
                sessionMs,
                rebalanceMs,
                type,
                protocols,
                requireKnownMemberId);
    }

    private static <T> T done(CompletableFuture<T> f) {
        assertThat(f).as("answered").isDone();
        return f.getNow(null);
    }

    /** Generation 1, joined at 0, completed by the tick at the end of the initial delay. */
    private record Formed(GroupResults.Join leader, GroupResults.Join follower, long nowMs) {}

    private Formed joinTwo(String leaderInstance, String followerInstance) {
        CompletableFuture<GroupResults.Join> a = group.join(args("", leaderInstance, RANGE), 0);
        CompletableFuture<GroupResults.Join> b = group.join(args("", followerInstance, RANGE), 0);
        group.tick(DELAY_MS);
        return new Formed(done(a), done(b), DELAY_MS);
    }

    /** Two members, generation 1, assignments synced ("a" to the leader, "b" to the follower): STABLE. */
    private Formed stableTwo(String leaderInstance, String followerInstance) {
        Formed f = joinTwo(leaderInstance, followerInstance);
        done(group.sync(
                f.leader().memberId(),
                leaderInstance,
                1,
                "consumer",
                "range",
                Map.of(f.leader().memberId(), bytes("a"), f.follower().memberId(), bytes("b")),
                f.nowMs()));
        done(group.sync(f.follower().memberId(), followerInstance, 1, "consumer", "range", Map.of(), f.nowMs()));
        assertThat(group.state).isEqualTo(ClassicGroup.State.STABLE);
        return f;
    }

    @Test
    void shouldHandOutAMemberIdBeforeAcceptingAJoin() {
        GroupResults.Join first =
                done(group.join(args("", null, "consumer", RANGE, SESSION_MS, REBALANCE_MS, true), 0));
        assertThat(first.error()).isEqualTo(GroupError.MEMBER_ID_REQUIRED);
        assertThat(first.memberId()).isNotEmpty();
        assertThat(group.hasMembers()).isFalse();
        assertThat(done(group.join(args("made-up", null, RANGE), 0)).error()).isEqualTo(GroupError.UNKNOWN_MEMBER_ID);

        CompletableFuture<GroupResults.Join> second =
                group.join(args(first.memberId(), null, "consumer", RANGE, SESSION_MS, REBALANCE_MS, true), 10);
        assertThat(second).as("waits for the initial rebalance delay").isNotDone();
        group.tick(DELAY_MS + 9);
        assertThat(second).isNotDone();
        group.tick(DELAY_MS + 10);
        GroupResults.Join joined = done(second);
        assertThat(joined.error()).isEqualTo(GroupError.NONE);
        assertThat(joined.memberId()).isEqualTo(first.memberId());
        assertThat(joined.generationId()).isEqualTo(1);
        assertThat(joined.leaderId()).isEqualTo(first.memberId());
        assertThat(group.state).isEqualTo(ClassicGroup.State.COMPLETING_REBALANCE);
    }

    @Test
    void shouldForgetAHandedOutMemberIdThatIsNotUsedWithinTheSessionTimeout() {
        GroupResults.Join first =
                done(group.join(args("", null, "consumer", RANGE, SESSION_MS, REBALANCE_MS, true), 0));
        assertThat(group.isIdle()).isFalse();
        group.tick(SESSION_MS + 1);
        assertThat(group.isIdle()).isTrue();
        assertThat(done(group.join(args(first.memberId(), null, RANGE), SESSION_MS + 2))
                        .error())
                .isEqualTo(GroupError.UNKNOWN_MEMBER_ID);
    }

    @Test
    void shouldExtendTheInitialDelayWithEachNewMemberUpToTheRebalanceTimeout() {
        int rebalanceMs = 10_000;
        CompletableFuture<GroupResults.Join> a =
                group.join(args("", null, "consumer", RANGE, SESSION_MS, rebalanceMs, false), 0);
        group.join(args("", null, "consumer", RANGE, SESSION_MS, rebalanceMs, false), 2_000);
        group.tick(4_999); // 2,000 + 3,000: not yet
        assertThat(a).isNotDone();
        group.join(args("", null, "consumer", RANGE, SESSION_MS, rebalanceMs, false), 4_000);
        group.tick(6_999);
        assertThat(a).isNotDone();
        group.join(args("", null, "consumer", RANGE, SESSION_MS, rebalanceMs, false), 6_500);
        group.join(args("", null, "consumer", RANGE, SESSION_MS, rebalanceMs, false), 9_000);
        group.tick(9_999); // 9,000 + 3,000 would be 12,000, but the rebalance timeout ends at 10,000
        assertThat(a).isNotDone();
        group.tick(10_000);
        GroupResults.Join joined = done(a);
        assertThat(joined.error()).isEqualTo(GroupError.NONE);
        assertThat(joined.members()).hasSize(5);
        assertThat(group.members).hasSize(5);
    }

    @Test
    void shouldGiveMemberMetadataToTheLeaderOnly() {
        Formed f = joinTwo(null, null);
        assertThat(f.leader().leaderId()).isEqualTo(f.leader().memberId());
        assertThat(f.follower().leaderId()).isEqualTo(f.leader().memberId());
        assertThat(f.leader().generationId()).isEqualTo(1);
        assertThat(f.follower().generationId()).isEqualTo(1);
        assertThat(f.leader().protocolName()).isEqualTo("range");
        assertThat(f.leader().members())
                .extracting(GroupResults.MemberMetadata::memberId)
                .containsExactly(f.leader().memberId(), f.follower().memberId());
        assertThat(f.leader().members())
                .allSatisfy(m -> assertThat(m.metadata()).isEqualTo(bytes("range")));
        assertThat(f.follower().members()).isEmpty();
    }

    @Test
    void shouldCompleteWaitingFollowersWhenTheLeaderSyncs() {
        Formed f = joinTwo(null, null);
        String leader = f.leader().memberId();
        String follower = f.follower().memberId();
        CompletableFuture<GroupResults.Sync> followerSync =
                group.sync(follower, null, 1, "consumer", "range", Map.of(), f.nowMs());
        assertThat(followerSync).as("waits for the leader's assignment").isNotDone();

        CompletableFuture<GroupResults.Sync> leaderSync = group.sync(
                leader, null, 1, "consumer", "range", Map.of(leader, bytes("a"), follower, bytes("b")), f.nowMs());

        assertThat(done(leaderSync).assignment()).isEqualTo(bytes("a"));
        assertThat(done(followerSync).error()).isEqualTo(GroupError.NONE);
        assertThat(done(followerSync).assignment()).isEqualTo(bytes("b"));
        assertThat(group.state).isEqualTo(ClassicGroup.State.STABLE);
        // A late sync in STABLE gets the stored assignment at once.
        assertThat(done(group.sync(follower, null, 1, null, null, Map.of(), f.nowMs()))
                        .assignment())
                .isEqualTo(bytes("b"));
    }

    @Test
    void shouldFenceMembersOfAnOldGeneration() {
        Formed f = stableTwo(null, null);
        String leader = f.leader().memberId();
        String follower = f.follower().memberId();
        // The leader rejoining starts generation 2; the follower follows.
        CompletableFuture<GroupResults.Join> leaderJoin = group.join(args(leader, null, RANGE), 4_000);
        CompletableFuture<GroupResults.Join> followerJoin = group.join(args(follower, null, RANGE), 4_000);
        assertThat(done(leaderJoin).generationId()).isEqualTo(2);
        assertThat(done(followerJoin).generationId()).isEqualTo(2);

        assertThat(group.heartbeat(follower, null, 1, 4_001)).isEqualTo(GroupError.ILLEGAL_GENERATION);
        assertThat(group.checkCommit(follower, null, 1, 4_001)).isEqualTo(GroupError.ILLEGAL_GENERATION);
        assertThat(done(group.sync(follower, null, 1, "consumer", "range", Map.of(), 4_001))
                        .error())
                .isEqualTo(GroupError.ILLEGAL_GENERATION);
        assertThat(group.heartbeat(follower, null, 2, 4_001)).isEqualTo(GroupError.NONE);
    }

    @Test
    void shouldRejectUnknownMembers() {
        Formed f = stableTwo(null, null);
        assertThat(group.heartbeat("stranger", null, 1, f.nowMs())).isEqualTo(GroupError.UNKNOWN_MEMBER_ID);
        assertThat(group.checkCommit("stranger", null, 1, f.nowMs())).isEqualTo(GroupError.UNKNOWN_MEMBER_ID);
        assertThat(done(group.sync("stranger", null, 1, null, null, Map.of(), f.nowMs()))
                        .error())
                .isEqualTo(GroupError.UNKNOWN_MEMBER_ID);
        assertThat(done(group.join(args("stranger", null, RANGE), f.nowMs())).error())
                .isEqualTo(GroupError.UNKNOWN_MEMBER_ID);
        assertThat(group.leave("stranger", null, f.nowMs())).isEqualTo(GroupError.UNKNOWN_MEMBER_ID);
        assertThat(group.state).as("nothing changed").isEqualTo(ClassicGroup.State.STABLE);
    }

    @Test
    void shouldAnswerRebalanceInProgressToHeartbeatsDuringARebalance() {
        Formed f = stableTwo(null, null);
        String follower = f.follower().memberId();
        group.join(args("", null, RANGE), 4_000); // a third member

        assertThat(group.state).isEqualTo(ClassicGroup.State.PREPARING_REBALANCE);
        assertThat(group.heartbeat(follower, null, 1, 4_001)).isEqualTo(GroupError.REBALANCE_IN_PROGRESS);
        assertThat(done(group.sync(follower, null, 1, null, null, Map.of(), 4_001))
                        .error())
                .isEqualTo(GroupError.REBALANCE_IN_PROGRESS);
    }

    @Test
    void shouldAcceptCommitsOfTheCurrentGenerationWhileMembersRejoin() {
        // Eager clients commit what they consumed when they learn of a rebalance, before they
        // rejoin (onPartitionsRevoked, auto-commit): the generation is still theirs.
        Formed f = stableTwo(null, null);
        group.join(args("", null, RANGE), 4_000);
        assertThat(group.state).isEqualTo(ClassicGroup.State.PREPARING_REBALANCE);
        assertThat(group.checkCommit(f.follower().memberId(), null, 1, 4_001)).isEqualTo(GroupError.NONE);
    }

    @Test
    void shouldAnswerRebalanceInProgressToCommitsBeforeTheNewAssignment() {
        Formed f = joinTwo(null, null);
        assertThat(group.state).isEqualTo(ClassicGroup.State.COMPLETING_REBALANCE);
        assertThat(group.checkCommit(f.follower().memberId(), null, 1, f.nowMs()))
                .isEqualTo(GroupError.REBALANCE_IN_PROGRESS);
    }

    @Test
    void shouldExpireASilentMemberAndRebalanceTheRest() {
        Formed f = stableTwo(null, null); // sessions run from 3,000 to 13,000
        String leader = f.leader().memberId();
        String follower = f.follower().memberId();
        assertThat(group.heartbeat(leader, null, 1, 9_000)).isEqualTo(GroupError.NONE);
        group.tick(13_000);
        assertThat(group.members).containsKey(follower);
        group.tick(13_001);

        assertThat(group.members).containsOnlyKeys(leader);
        assertThat(group.state).isEqualTo(ClassicGroup.State.PREPARING_REBALANCE);
        assertThat(group.heartbeat(leader, null, 1, 13_002)).isEqualTo(GroupError.REBALANCE_IN_PROGRESS);
        GroupResults.Join rejoined = done(group.join(args(leader, null, RANGE), 13_003));
        assertThat(rejoined.generationId()).isEqualTo(2);
        assertThat(rejoined.members())
                .extracting(GroupResults.MemberMetadata::memberId)
                .containsExactly(leader);
        assertThat(group.heartbeat(follower, null, 1, 13_004)).isEqualTo(GroupError.UNKNOWN_MEMBER_ID);
    }

    @Test
    void shouldDropMembersThatDoNotRejoinWithinTheRebalanceTimeout() {
        Formed f = stableTwo(null, null);
        String leader = f.leader().memberId();
        String follower = f.follower().memberId();
        CompletableFuture<GroupResults.Join> newcomer = group.join(args("", null, RANGE), 4_000);
        CompletableFuture<GroupResults.Join> leaderJoin = group.join(args(leader, null, RANGE), 5_000);
        // The follower stays alive (heartbeats) but never rejoins.
        for (long t = 5_000; t < 24_000; t += 5_000) {
            assertThat(group.heartbeat(follower, null, 1, t)).isEqualTo(GroupError.REBALANCE_IN_PROGRESS);
            group.tick(t);
        }
        group.tick(23_999); // 4,000 + the 20,000 rebalance timeout
        assertThat(leaderJoin).isNotDone();
        group.tick(24_000);

        assertThat(done(leaderJoin).generationId()).isEqualTo(2);
        assertThat(done(newcomer).generationId()).isEqualTo(2);
        assertThat(group.members).containsOnlyKeys(leader, done(newcomer).memberId());
        assertThat(group.heartbeat(follower, null, 1, 24_001)).isEqualTo(GroupError.UNKNOWN_MEMBER_ID);
    }

    @Test
    void shouldStartOverWhenTheLeaderNeverSyncs() {
        Formed f = joinTwo(null, null); // sync deadline: 3,000 + 20,000
        String leader = f.leader().memberId();
        String follower = f.follower().memberId();
        CompletableFuture<GroupResults.Sync> followerSync =
                group.sync(follower, null, 1, "consumer", "range", Map.of(), 3_500);
        for (long t = 10_000; t <= 22_000; t += 6_000) {
            // Both alive: only the missing assignment is wrong.
            assertThat(group.heartbeat(leader, null, 1, t)).isEqualTo(GroupError.NONE);
            assertThat(group.heartbeat(follower, null, 1, t)).isEqualTo(GroupError.NONE);
            group.tick(t);
        }
        group.tick(22_999);
        assertThat(followerSync).isNotDone();
        group.tick(23_000);

        assertThat(done(followerSync).error()).isEqualTo(GroupError.REBALANCE_IN_PROGRESS);
        assertThat(group.state).isEqualTo(ClassicGroup.State.PREPARING_REBALANCE);
        CompletableFuture<GroupResults.Join> rejoin = group.join(args(follower, null, RANGE), 23_001);
        group.join(args(leader, null, RANGE), 23_002);
        assertThat(done(rejoin).generationId()).isEqualTo(2);
    }

    @Test
    void shouldLetARestartedStaticMemberTakeOverItsAssignmentWithoutARebalance() {
        Formed f = stableTwo("instance-a", null);
        String oldId = f.leader().memberId();
        String other = f.follower().memberId();

        GroupResults.Join restarted = done(group.join(args("", "instance-a", RANGE), 5_000));

        assertThat(restarted.error()).isEqualTo(GroupError.NONE);
        assertThat(restarted.memberId()).isNotEqualTo(oldId);
        assertThat(restarted.generationId()).as("no new generation").isEqualTo(1);
        assertThat(group.state).isEqualTo(ClassicGroup.State.STABLE);
        GroupResults.Sync sync =
                done(group.sync(restarted.memberId(), "instance-a", 1, "consumer", "range", Map.of(), 5_001));
        assertThat(sync.error()).isEqualTo(GroupError.NONE);
        assertThat(sync.assignment()).isEqualTo(bytes("a"));
        assertThat(group.heartbeat(other, null, 1, 5_002)).isEqualTo(GroupError.NONE);
        assertThat(group.heartbeat(oldId, "instance-a", 1, 5_002)).isEqualTo(GroupError.FENCED_INSTANCE_ID);
        assertThat(group.checkCommit(oldId, "instance-a", 1, 5_002)).isEqualTo(GroupError.FENCED_INSTANCE_ID);
        assertThat(group.heartbeat(restarted.memberId(), "instance-a", 1, 5_002))
                .isEqualTo(GroupError.NONE);
    }

    @Test
    void shouldNotRebalanceForARestartedStaticMemberWithNewMetadataForTheSameProtocol() {
        // The Java consumer's subscription metadata carries its generation and owned partitions,
        // so a restarted process never sends the same bytes.
        Formed f = stableTwo(null, "instance-b");
        Map<String, byte[]> fresh = Map.of("range", bytes("range, generation -1"));

        GroupResults.Join restarted = done(group.join(args("", "instance-b", fresh), 5_000));

        assertThat(restarted.error()).isEqualTo(GroupError.NONE);
        assertThat(restarted.generationId()).isEqualTo(1);
        assertThat(group.state).isEqualTo(ClassicGroup.State.STABLE);
        assertThat(done(group.sync(restarted.memberId(), "instance-b", 1, "consumer", "range", Map.of(), 5_001))
                        .assignment())
                .isEqualTo(bytes("b"));
        assertThat(group.heartbeat(f.leader().memberId(), null, 1, 5_002)).isEqualTo(GroupError.NONE);
        assertThat(group.members.get(restarted.memberId()).protocols.get("range"))
                .isEqualTo(bytes("range, generation -1"));
    }

    @Test
    void shouldRebalanceWhenARestartedStaticMemberChangesTheGroupProtocol() {
        Formed f = stableTwo(null, "instance-b");
        // Both now prefer roundrobin, which the leader also supports: the choice would change.
        group.members.get(f.leader().memberId()).protocols = protocols("roundrobin", "range");

        CompletableFuture<GroupResults.Join> restarted =
                group.join(args("", "instance-b", protocols("roundrobin", "range")), 5_000);

        assertThat(restarted).as("waits for the leader to rejoin").isNotDone();
        assertThat(group.state).isEqualTo(ClassicGroup.State.PREPARING_REBALANCE);
        done(group.join(args(f.leader().memberId(), null, protocols("roundrobin", "range")), 5_001));
        assertThat(done(restarted).protocolName()).isEqualTo("roundrobin");
        assertThat(done(restarted).generationId()).isEqualTo(2);
    }

    @Test
    void shouldRejectAJoinWithAnotherProtocolTypeOrNoCommonProtocol() {
        group.join(args("", null, RANGE), 0);

        assertThat(done(group.join(args("", null, "connect", RANGE, SESSION_MS, REBALANCE_MS, false), 1))
                        .error())
                .isEqualTo(GroupError.INCONSISTENT_GROUP_PROTOCOL);
        assertThat(done(group.join(args("", null, protocols("roundrobin")), 1)).error())
                .isEqualTo(GroupError.INCONSISTENT_GROUP_PROTOCOL);
        assertThat(group.members).hasSize(1);
        assertThat(group.join(args("", null, protocols("roundrobin", "range")), 1))
                .as("one protocol in common is enough")
                .isNotDone();
        assertThat(group.members).hasSize(2);
    }

    @Test
    void shouldRejectSessionTimeoutsOutsideTheBrokerBounds() {
        for (int sessionMs : new int[] {CONFIG.minSessionTimeoutMs() - 1, CONFIG.maxSessionTimeoutMs() + 1}) {
            GroupResults.Join j =
                    done(group.join(args("", null, "consumer", RANGE, sessionMs, REBALANCE_MS, false), 0));
            assertThat(j.error()).as("session %d ms", sessionMs).isEqualTo(GroupError.INVALID_SESSION_TIMEOUT);
        }
        assertThat(group.isIdle()).isTrue();
    }

    @Test
    void shouldLeaveByMemberId() {
        Formed f = stableTwo(null, null);
        String follower = f.follower().memberId();

        assertThat(group.leave(follower, null, 4_000)).isEqualTo(GroupError.NONE);

        assertThat(group.members).containsOnlyKeys(f.leader().memberId());
        assertThat(group.state).isEqualTo(ClassicGroup.State.PREPARING_REBALANCE);
        assertThat(group.heartbeat(follower, null, 1, 4_001)).isEqualTo(GroupError.UNKNOWN_MEMBER_ID);
        assertThat(group.leave(follower, null, 4_001)).isEqualTo(GroupError.UNKNOWN_MEMBER_ID);
    }

    @Test
    void shouldLeaveByInstanceId() {
        Formed f = stableTwo(null, "instance-b");
        String follower = f.follower().memberId();
        assertThat(group.leave("someone-else", "instance-b", 4_000)).isEqualTo(GroupError.FENCED_INSTANCE_ID);
        assertThat(group.leave("", "instance-x", 4_000)).isEqualTo(GroupError.UNKNOWN_MEMBER_ID);
        assertThat(group.members).hasSize(2);

        assertThat(group.leave("", "instance-b", 4_000)).isEqualTo(GroupError.NONE);

        assertThat(group.members).doesNotContainKey(follower);
        assertThat(group.state).isEqualTo(ClassicGroup.State.PREPARING_REBALANCE);
    }

    @Test
    void shouldChooseTheCommonProtocolMostMembersPreferMost() {
        CompletableFuture<GroupResults.Join> a = group.join(args("", null, protocols("range", "roundrobin")), 0);
        group.join(args("", null, protocols("roundrobin", "range")), 0);
        group.join(args("", null, protocols("sticky", "roundrobin", "range")), 0);
        group.tick(DELAY_MS);

        GroupResults.Join leader = done(a);
        // Common: range and roundrobin. Votes: range 1, roundrobin 2 (sticky is not common).
        assertThat(leader.protocolName()).isEqualTo("roundrobin");
        assertThat(leader.members()).allSatisfy(m -> assertThat(m.metadata()).isEqualTo(bytes("roundrobin")));
    }
}
