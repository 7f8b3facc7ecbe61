package io.fjord.raft;

import java.io.IOException;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.apache.ratis.client.RaftClient;
import org.apache.ratis.client.RaftClientConfigKeys;
import org.apache.ratis.conf.Parameters;
import org.apache.ratis.conf.RaftProperties;
import org.apache.ratis.protocol.ClientId;
import org.apache.ratis.protocol.GroupInfoReply;
import org.apache.ratis.protocol.RaftGroup;
import org.apache.ratis.retry.RetryPolicies;
import org.apache.ratis.util.TimeDuration;

/**
 * Read-only questions to a node's Raft server from outside the node (tools such as {@code fjord
 * cluster status}). Every call opens and closes its own Ratis client and is bounded by the given
 * timeout.
 *
 * <p>Threads: any; stateless.
 */
public final class RaftAdmin {
    /** The role reported when the node does not answer (down, or not serving the group). */
    public static final String UNREACHABLE = "UNREACHABLE";

    private RaftAdmin() {}

    /**
     * {@code peer}'s role in the metadata group of {@code voters}: LEADER, FOLLOWER, CANDIDATE or
     * LISTENER, as that node sees itself; {@link #UNREACHABLE} when it does not answer within
     * {@code timeout}.
     */
    public static String metaRole(RaftPeerSpec peer, List<RaftPeerSpec> voters, Duration timeout) {
        GroupInfoReply reply = groupInfo(peer, RaftNode.metaGroup(voters), timeout);
        return reply == null || !reply.isSuccess()
                ? UNREACHABLE
                : reply.getRoleInfoProto().getRole().name();
    }

    /** Whether {@code peer}'s Raft server runs data group {@code groupNo} (false when it does not answer). */
    public static boolean hasDataGroup(RaftPeerSpec peer, int groupNo, Duration timeout) {
        RaftGroup group = RaftGroup.valueOf(RaftNode.dataGroupId(groupNo), List.of(RaftNode.peer(peer, 0)));
        GroupInfoReply reply = groupInfo(peer, group, timeout);
        return reply != null && reply.isSuccess();
    }

    /** {@code peer}'s answer about {@code group}, asked once; null when it does not answer. */
    private static GroupInfoReply groupInfo(RaftPeerSpec peer, RaftGroup group, Duration timeout) {
        RaftProperties p = new RaftProperties();
        RaftClientConfigKeys.Rpc.setRequestTimeout(p, TimeDuration.valueOf(timeout.toMillis(), TimeUnit.MILLISECONDS));
        try (RaftClient client = RaftClient.newBuilder()
                .setClientId(ClientId.randomId())
                .setRaftGroup(group)
                .setProperties(p)
                .setParameters(new Parameters())
                .setRetryPolicy(RetryPolicies.noRetry())
                .build()) {
            return client.getGroupManagementApi(RaftNode.peerId(peer.nodeId())).info(group.getGroupId());
        } catch (IOException | RuntimeException e) {
            return null;
        }
    }
}
