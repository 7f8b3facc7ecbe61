package io.fjord.broker.group;

import java.util.List;
import java.util.Map;

/** What the coordinator answers; plain values, mapped to Kafka messages by the wire layer. */
public final class GroupResults {
    private GroupResults() {}

    /** A member as the leader sees it in a JoinGroup response. */
    public record MemberMetadata(String memberId, String groupInstanceId, byte[] metadata) {}

    public record Join(
            GroupError error,
            int generationId,
            String protocolType,
            String protocolName,
            String leaderId,
            String memberId,
            List<MemberMetadata> members) {
        static Join error(GroupError e, String memberId) {
            return new Join(e, -1, null, null, "", memberId, List.of());
        }
    }

    public record Sync(GroupError error, String protocolType, String protocolName, byte[] assignment) {
        static Sync error(GroupError e) {
            return new Sync(e, null, null, new byte[0]);
        }
    }

    public record LeaveMember(String memberId, String groupInstanceId, GroupError error) {}

    public record Leave(GroupError error, List<LeaveMember> members) {}

    /** A committed offset. */
    public record Committed(long offset, int leaderEpoch, String metadata, long commitTimestampMs) {}

    public record TopicPartitionKey(String topic, int partition) {}

    public record Commit(GroupError error, Map<TopicPartitionKey, GroupError> partitions) {}

    /** Offsets of one group: {@code offsets} holds only partitions with a commit. */
    public record Fetch(GroupError error, Map<TopicPartitionKey, Committed> offsets) {}

    public record Listed(String groupId, String protocolType, String state) {}

    public record DescribedMember(
            String memberId,
            String groupInstanceId,
            String clientId,
            String clientHost,
            byte[] metadata,
            byte[] assignment) {}

    public record Described(
            String groupId,
            GroupError error,
            String state,
            String protocolType,
            String protocolName,
            List<DescribedMember> members) {}
}
