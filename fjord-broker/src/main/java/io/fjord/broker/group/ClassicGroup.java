package io.fjord.broker.group;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;

/**
 * A consumer group under the classic protocol: the state machine of KIP-62/345/394.
 *
 * <pre>
 *   EMPTY ──join──▶ PREPARING_REBALANCE ──all joined / timeout──▶ COMPLETING_REBALANCE
 *     ▲                  ▲        │ (no members left)                   │ leader's sync
 *     └──────────────────┼────────┘                                     ▼
 *                        └───── member joins, leaves or expires ◀──── STABLE
 * </pre>
 *
 * Each state has one handler per event; expected failures are {@link GroupError} values. Time
 * comes in as {@code nowMs} (session and rebalance deadlines are checked by {@link #tick}), so
 * tests drive it without sleeping.
 *
 * <p>Threads: confined to the owning {@link GroupShard}'s thread.
 */
final class ClassicGroup {
    enum State {
        EMPTY("Empty"),
        PREPARING_REBALANCE("PreparingRebalance"),
        COMPLETING_REBALANCE("CompletingRebalance"),
        STABLE("Stable"),
        DEAD("Dead");

        final String kafkaName;

        State(String kafkaName) {
            this.kafkaName = kafkaName;
        }
    }

    final String groupId;
    private final GroupConfig config;
    State state = State.EMPTY;
    int generationId;
    String protocolType;
    String protocolName;
    String leaderId;
    final LinkedHashMap<String, GroupMember> members = new LinkedHashMap<>();
    private final Map<String, String> staticMembers = new HashMap<>();
    /** Member ids handed out with MEMBER_ID_REQUIRED, with the time they lapse. */
    private final Map<String, Long> pendingMembers = new HashMap<>();

    private long rebalanceDeadlineMs;
    private long initialDelayDeadlineMs;
    private long syncDeadlineMs;
    long emptySinceMs;

    ClassicGroup(String groupId, GroupConfig config, long nowMs) {
        this.groupId = groupId;
        this.config = config;
        this.emptySinceMs = nowMs;
    }

    record JoinArgs(
            String memberId,
            String groupInstanceId,
            String clientId,
            String clientHost,
            int sessionTimeoutMs,
            int rebalanceTimeoutMs,
            String protocolType,
            Map<String, byte[]> protocols,
            boolean requireKnownMemberId) {}

    CompletableFuture<GroupResults.Join> join(JoinArgs a, long nowMs) {
        if (state == State.DEAD) {
            return done(GroupResults.Join.error(GroupError.COORDINATOR_NOT_AVAILABLE, a.memberId()));
        }
        if (a.sessionTimeoutMs() < config.minSessionTimeoutMs()
                || a.sessionTimeoutMs() > config.maxSessionTimeoutMs()) {
            return done(GroupResults.Join.error(GroupError.INVALID_SESSION_TIMEOUT, a.memberId()));
        }
        if (!members.isEmpty() && (!a.protocolType().equals(protocolType) || !sharesProtocol(a.protocols()))) {
            return done(GroupResults.Join.error(GroupError.INCONSISTENT_GROUP_PROTOCOL, a.memberId()));
        }
        if (a.memberId().isEmpty()) {
            return joinUnknown(a, nowMs);
        }
        if (pendingMembers.remove(a.memberId()) != null) {
            GroupMember m = newMember(a.memberId(), a, nowMs);
            return addAndRebalance(m, a.protocolType(), nowMs);
        }
        if (replaced(a.memberId(), a.groupInstanceId())) {
            return done(GroupResults.Join.error(GroupError.FENCED_INSTANCE_ID, a.memberId()));
        }
        GroupMember m = members.get(a.memberId());
        if (m == null) {
            return done(GroupResults.Join.error(GroupError.UNKNOWN_MEMBER_ID, a.memberId()));
        }
        if (fenced(m, a.groupInstanceId())) {
            return done(GroupResults.Join.error(GroupError.FENCED_INSTANCE_ID, a.memberId()));
        }
        m.sessionDeadlineMs = nowMs + m.sessionTimeoutMs;
        switch (state) {
            case PREPARING_REBALANCE -> {
                return awaitJoin(m, a, nowMs);
            }
            case COMPLETING_REBALANCE, STABLE -> {
                boolean changed = !m.sameProtocols(a.protocols());
                if (!changed && (state == State.COMPLETING_REBALANCE || !m.memberId.equals(leaderId))) {
                    return done(joinResponse(m));
                }
                prepareRebalance(nowMs);
                return awaitJoin(m, a, nowMs);
            }
            default -> {
                return done(GroupResults.Join.error(GroupError.UNKNOWN_MEMBER_ID, a.memberId()));
            }
        }
    }

    private CompletableFuture<GroupResults.Join> joinUnknown(JoinArgs a, long nowMs) {
        if (a.groupInstanceId() != null) {
            String newId = a.groupInstanceId() + "-" + UUID.randomUUID();
            String oldId = staticMembers.get(a.groupInstanceId());
            if (oldId != null && members.containsKey(oldId)) {
                // A static member restarting: it takes over the old member's place, which is fenced.
                GroupMember old = members.remove(oldId);
                fail(old, GroupError.FENCED_INSTANCE_ID);
                GroupMember m = newMember(newId, a, nowMs);
                m.assignment = old.assignment;
                members.put(newId, m);
                staticMembers.put(a.groupInstanceId(), newId);
                if (oldId.equals(leaderId)) {
                    leaderId = newId;
                }
                // The new metadata differs from the old whenever the client puts state in it (the
                // Java consumer sends its generation and owned partitions): only a change of the
                // group's protocol needs a rebalance, as in Kafka.
                if (state == State.STABLE && protocolName.equals(chooseProtocol())) {
                    return done(joinResponse(m));
                }
                prepareRebalance(nowMs);
                return awaitJoin(m, a, nowMs);
            }
            GroupMember m = newMember(newId, a, nowMs);
            return addAndRebalance(m, a.protocolType(), nowMs);
        }
        String newId = (a.clientId().isEmpty() ? "member" : a.clientId()) + "-" + UUID.randomUUID();
        if (a.requireKnownMemberId()) {
            pendingMembers.put(newId, nowMs + a.sessionTimeoutMs());
            return done(GroupResults.Join.error(GroupError.MEMBER_ID_REQUIRED, newId));
        }
        return addAndRebalance(newMember(newId, a, nowMs), a.protocolType(), nowMs);
    }

    private GroupMember newMember(String memberId, JoinArgs a, long nowMs) {
        GroupMember m = new GroupMember(memberId, a.groupInstanceId(), a.clientId(), a.clientHost());
        m.sessionTimeoutMs = a.sessionTimeoutMs();
        m.rebalanceTimeoutMs = a.rebalanceTimeoutMs();
        m.protocols = new LinkedHashMap<>(a.protocols());
        m.sessionDeadlineMs = nowMs + a.sessionTimeoutMs();
        return m;
    }

    private CompletableFuture<GroupResults.Join> addAndRebalance(GroupMember m, String type, long nowMs) {
        if (members.size() >= config.maxGroupSize()) {
            return done(GroupResults.Join.error(GroupError.COORDINATOR_NOT_AVAILABLE, m.memberId));
        }
        if (members.isEmpty()) {
            protocolType = type;
        }
        members.put(m.memberId, m);
        if (m.groupInstanceId != null) {
            staticMembers.put(m.groupInstanceId, m.memberId);
        }
        prepareRebalance(nowMs);
        CompletableFuture<GroupResults.Join> f = new CompletableFuture<>();
        m.awaitingJoin = f;
        tryCompleteJoin(nowMs);
        return f;
    }

    private CompletableFuture<GroupResults.Join> awaitJoin(GroupMember m, JoinArgs a, long nowMs) {
        m.protocols = new LinkedHashMap<>(a.protocols());
        m.rebalanceTimeoutMs = a.rebalanceTimeoutMs();
        m.sessionTimeoutMs = a.sessionTimeoutMs();
        if (m.awaitingJoin != null) {
            m.awaitingJoin.complete(GroupResults.Join.error(GroupError.REBALANCE_IN_PROGRESS, m.memberId));
        }
        CompletableFuture<GroupResults.Join> f = new CompletableFuture<>();
        m.awaitingJoin = f;
        tryCompleteJoin(nowMs);
        return f;
    }

    /** Moves to PREPARING_REBALANCE (from any live state), cancelling a half-done sync round. */
    void prepareRebalance(long nowMs) {
        if (state == State.PREPARING_REBALANCE) {
            if (nowMs < initialDelayDeadlineMs) {
                // A new member during the initial delay: wait a little longer for the next one.
                initialDelayDeadlineMs = Math.min(nowMs + initialDelayMs(), rebalanceDeadlineMs);
            }
            return;
        }
        boolean wasEmpty = state == State.EMPTY;
        if (state == State.COMPLETING_REBALANCE) {
            for (GroupMember m : members.values()) {
                if (m.awaitingSync != null) {
                    m.awaitingSync.complete(GroupResults.Sync.error(GroupError.REBALANCE_IN_PROGRESS));
                    m.awaitingSync = null;
                }
            }
        }
        state = State.PREPARING_REBALANCE;
        rebalanceDeadlineMs = nowMs + maxRebalanceTimeoutMs();
        initialDelayDeadlineMs = wasEmpty ? Math.min(nowMs + initialDelayMs(), rebalanceDeadlineMs) : 0;
    }

    /**
     * How long a group starting from empty waits for more members: the configured delay, but at
     * least one tick even when it is 0, so members that start together join one generation
     * instead of the first one completing alone and the rest waiting for its next heartbeat
     * (seconds) to rebalance again. Kafka batches the same way through its purgatory's reaper.
     */
    private long initialDelayMs() {
        return Math.max(config.initialRebalanceDelayMs(), config.tickIntervalMs());
    }

    private int maxRebalanceTimeoutMs() {
        int max = 0;
        for (GroupMember m : members.values()) {
            max = Math.max(max, m.rebalanceTimeoutMs);
        }
        return Math.max(max, 1);
    }

    /** Completes the join round if every member has rejoined and no initial delay is running. */
    void tryCompleteJoin(long nowMs) {
        if (state != State.PREPARING_REBALANCE || nowMs < initialDelayDeadlineMs) {
            return;
        }
        for (GroupMember m : members.values()) {
            if (m.awaitingJoin == null) {
                return;
            }
        }
        completeJoin(nowMs);
    }

    /** Ends the join round: members that did not rejoin are dropped, a new generation starts. */
    private void completeJoin(long nowMs) {
        Iterator<GroupMember> it = members.values().iterator();
        while (it.hasNext()) {
            GroupMember m = it.next();
            if (m.awaitingJoin == null) {
                it.remove();
                if (m.groupInstanceId != null) {
                    staticMembers.remove(m.groupInstanceId);
                }
            }
        }
        generationId++;
        if (members.isEmpty()) {
            state = State.EMPTY;
            protocolName = null;
            leaderId = null;
            emptySinceMs = nowMs;
            return;
        }
        protocolName = chooseProtocol();
        if (leaderId == null || !members.containsKey(leaderId)) {
            leaderId = members.keySet().iterator().next();
        }
        state = State.COMPLETING_REBALANCE;
        syncDeadlineMs = nowMs + maxRebalanceTimeoutMs();
        for (GroupMember m : members.values()) {
            m.assignment = new byte[0];
            m.sessionDeadlineMs = nowMs + m.sessionTimeoutMs;
            CompletableFuture<GroupResults.Join> f = m.awaitingJoin;
            m.awaitingJoin = null;
            f.complete(joinResponse(m));
        }
    }

    private GroupResults.Join joinResponse(GroupMember m) {
        List<GroupResults.MemberMetadata> list = new ArrayList<>();
        if (m.memberId.equals(leaderId)) {
            for (GroupMember o : members.values()) {
                list.add(new GroupResults.MemberMetadata(o.memberId, o.groupInstanceId, o.protocols.get(protocolName)));
            }
        }
        return new GroupResults.Join(
                GroupError.NONE, generationId, protocolType, protocolName, leaderId, m.memberId, list);
    }

    /** The protocol every member supports that most members prefer most. */
    private String chooseProtocol() {
        List<String> candidates = null;
        for (GroupMember m : members.values()) {
            if (candidates == null) {
                candidates = new ArrayList<>(m.protocols.keySet());
            } else {
                candidates.retainAll(m.protocols.keySet());
            }
        }
        String best = null;
        int bestVotes = -1;
        for (String c : candidates) {
            int votes = 0;
            for (GroupMember m : members.values()) {
                for (String p : m.protocols.keySet()) {
                    if (candidates.contains(p)) {
                        if (p.equals(c)) {
                            votes++;
                        }
                        break;
                    }
                }
            }
            if (votes > bestVotes) {
                best = c;
                bestVotes = votes;
            }
        }
        return best;
    }

    private boolean sharesProtocol(Map<String, byte[]> protocols) {
        for (String name : protocols.keySet()) {
            boolean all = true;
            for (GroupMember m : members.values()) {
                if (!m.protocols.containsKey(name)) {
                    all = false;
                    break;
                }
            }
            if (all) {
                return true;
            }
        }
        return false;
    }

    CompletableFuture<GroupResults.Sync> sync(
            String memberId,
            String instanceId,
            int generation,
            String protocolType,
            String protocolName,
            Map<String, byte[]> assignments,
            long nowMs) {
        if (replaced(memberId, instanceId)) {
            return done(GroupResults.Sync.error(GroupError.FENCED_INSTANCE_ID));
        }
        GroupMember m = members.get(memberId);
        if (m == null) {
            return done(GroupResults.Sync.error(GroupError.UNKNOWN_MEMBER_ID));
        }
        if (fenced(m, instanceId)) {
            return done(GroupResults.Sync.error(GroupError.FENCED_INSTANCE_ID));
        }
        if (generation != generationId) {
            return done(GroupResults.Sync.error(GroupError.ILLEGAL_GENERATION));
        }
        if ((protocolType != null && !protocolType.equals(this.protocolType))
                || (protocolName != null && !protocolName.equals(this.protocolName))) {
            return done(GroupResults.Sync.error(GroupError.INCONSISTENT_GROUP_PROTOCOL));
        }
        m.sessionDeadlineMs = nowMs + m.sessionTimeoutMs;
        switch (state) {
            case PREPARING_REBALANCE -> {
                return done(GroupResults.Sync.error(GroupError.REBALANCE_IN_PROGRESS));
            }
            case STABLE -> {
                return done(new GroupResults.Sync(GroupError.NONE, this.protocolType, this.protocolName, m.assignment));
            }
            case COMPLETING_REBALANCE -> {
                CompletableFuture<GroupResults.Sync> f = new CompletableFuture<>();
                if (m.awaitingSync != null) {
                    m.awaitingSync.complete(GroupResults.Sync.error(GroupError.REBALANCE_IN_PROGRESS));
                }
                m.awaitingSync = f;
                if (memberId.equals(leaderId)) {
                    for (GroupMember o : members.values()) {
                        byte[] a = assignments.get(o.memberId);
                        o.assignment = a == null ? new byte[0] : a;
                    }
                    state = State.STABLE;
                    for (GroupMember o : members.values()) {
                        if (o.awaitingSync != null) {
                            o.awaitingSync.complete(new GroupResults.Sync(
                                    GroupError.NONE, this.protocolType, this.protocolName, o.assignment));
                            o.awaitingSync = null;
                        }
                    }
                }
                return f;
            }
            default -> {
                return done(GroupResults.Sync.error(GroupError.UNKNOWN_MEMBER_ID));
            }
        }
    }

    GroupError heartbeat(String memberId, String instanceId, int generation, long nowMs) {
        if (replaced(memberId, instanceId)) {
            return GroupError.FENCED_INSTANCE_ID;
        }
        GroupMember m = members.get(memberId);
        if (m == null) {
            return GroupError.UNKNOWN_MEMBER_ID;
        }
        if (fenced(m, instanceId)) {
            return GroupError.FENCED_INSTANCE_ID;
        }
        if (generation != generationId) {
            return GroupError.ILLEGAL_GENERATION;
        }
        m.sessionDeadlineMs = nowMs + m.sessionTimeoutMs;
        return state == State.PREPARING_REBALANCE ? GroupError.REBALANCE_IN_PROGRESS : GroupError.NONE;
    }

    /** Removes a member that leaves; returns the error for it. */
    GroupError leave(String memberId, String instanceId, long nowMs) {
        GroupMember m;
        if (instanceId != null) {
            String id = staticMembers.get(instanceId);
            if (id == null) {
                return GroupError.UNKNOWN_MEMBER_ID;
            }
            if (memberId != null && !memberId.isEmpty() && !memberId.equals(id)) {
                return GroupError.FENCED_INSTANCE_ID;
            }
            m = members.get(id);
        } else {
            m = members.get(memberId);
        }
        if (m == null) {
            return GroupError.UNKNOWN_MEMBER_ID;
        }
        remove(m, nowMs);
        return GroupError.NONE;
    }

    /** Checks an offset commit from a member (not a simple commit). */
    GroupError checkCommit(String memberId, String instanceId, int generation, long nowMs) {
        if (replaced(memberId, instanceId)) {
            return GroupError.FENCED_INSTANCE_ID;
        }
        GroupMember m = members.get(memberId);
        if (m == null) {
            return GroupError.UNKNOWN_MEMBER_ID;
        }
        if (fenced(m, instanceId)) {
            return GroupError.FENCED_INSTANCE_ID;
        }
        if (generation != generationId) {
            return GroupError.ILLEGAL_GENERATION;
        }
        if (state == State.COMPLETING_REBALANCE) {
            // The member has the new generation but not yet its assignment: it cannot own what it
            // commits. In PREPARING_REBALANCE the generation is still the one whose partitions
            // the member owns, and eager clients commit them before rejoining.
            return GroupError.REBALANCE_IN_PROGRESS;
        }
        m.sessionDeadlineMs = nowMs + m.sessionTimeoutMs;
        return GroupError.NONE;
    }

    /** Expires members and ends join or sync rounds that ran out of time. */
    void tick(long nowMs) {
        pendingMembers.values().removeIf(deadline -> deadline < nowMs);
        List<GroupMember> expired = new ArrayList<>();
        for (GroupMember m : members.values()) {
            if (nowMs > m.sessionDeadlineMs && m.awaitingJoin == null) {
                expired.add(m);
            }
        }
        for (GroupMember m : expired) {
            remove(m, nowMs);
        }
        if (state == State.PREPARING_REBALANCE) {
            if (nowMs >= rebalanceDeadlineMs) {
                completeJoin(nowMs);
            } else {
                tryCompleteJoin(nowMs);
            }
        } else if (state == State.COMPLETING_REBALANCE && nowMs >= syncDeadlineMs) {
            // The leader never sent the assignment: start over with whoever is still there.
            prepareRebalance(nowMs);
        }
    }

    private void remove(GroupMember m, long nowMs) {
        members.remove(m.memberId);
        if (m.groupInstanceId != null) {
            staticMembers.remove(m.groupInstanceId);
        }
        fail(m, GroupError.UNKNOWN_MEMBER_ID);
        switch (state) {
            case STABLE, COMPLETING_REBALANCE -> {
                prepareRebalance(nowMs);
                tryCompleteJoin(nowMs);
            }
            case PREPARING_REBALANCE -> tryCompleteJoin(nowMs);
            default -> {}
        }
    }

    private static void fail(GroupMember m, GroupError e) {
        if (m.awaitingJoin != null) {
            m.awaitingJoin.complete(GroupResults.Join.error(e, m.memberId));
            m.awaitingJoin = null;
        }
        if (m.awaitingSync != null) {
            m.awaitingSync.complete(GroupResults.Sync.error(e));
            m.awaitingSync = null;
        }
    }

    /**
     * The instance id now belongs to another member: {@code memberId} is the old id of a static
     * member that restarted. Checked before the member lookup, because the old id is gone from
     * {@link #members}, and UNKNOWN_MEMBER_ID would make the old process rejoin and fence the new
     * one in turn; FENCED_INSTANCE_ID stops it.
     */
    private boolean replaced(String memberId, String instanceId) {
        if (instanceId == null) {
            return false;
        }
        String current = staticMembers.get(instanceId);
        return current != null && !current.equals(memberId);
    }

    private boolean fenced(GroupMember m, String instanceId) {
        return instanceId != null && !m.memberId.equals(staticMembers.get(instanceId));
    }

    boolean hasMembers() {
        return !members.isEmpty();
    }

    /** Nothing lives here any more: no member, and no member id handed out and not yet used. */
    boolean isIdle() {
        return state == State.EMPTY && members.isEmpty() && pendingMembers.isEmpty();
    }

    GroupResults.Described describe() {
        List<GroupResults.DescribedMember> list = new ArrayList<>();
        for (GroupMember m : members.values()) {
            list.add(new GroupResults.DescribedMember(
                    m.memberId,
                    m.groupInstanceId,
                    m.clientId,
                    m.clientHost,
                    protocolName == null ? new byte[0] : m.protocols.getOrDefault(protocolName, new byte[0]),
                    state == State.STABLE ? m.assignment : new byte[0]));
        }
        return new GroupResults.Described(
                groupId,
                GroupError.NONE,
                state.kafkaName,
                protocolType == null ? "" : protocolType,
                protocolName == null ? "" : protocolName,
                list);
    }

    private static <T> CompletableFuture<T> done(T value) {
        return CompletableFuture.completedFuture(value);
    }
}
