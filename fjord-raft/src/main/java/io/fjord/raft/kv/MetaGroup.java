package io.fjord.raft.kv;

import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import org.apache.ratis.conf.RaftProperties;
import org.apache.ratis.protocol.RaftGroup;
import org.apache.ratis.protocol.RaftGroupId;
import org.apache.ratis.protocol.RaftPeer;
import org.apache.ratis.protocol.RaftPeerId;
import org.apache.ratis.server.RaftServerConfigKeys;

/**
 * The metadata Raft group: its fixed id, how node ids map to Raft peer ids, and the server
 * settings the metadata KV relies on. The node wiring and the KV clients both build the group from
 * here, so they always agree.
 */
public final class MetaGroup {
    /** The metadata group's id; "fjord" in the high bytes, kind 0 (metadata). */
    public static final RaftGroupId ID = RaftGroupId.valueOf(new UUID(0x666a6f7264000000L, 0L));

    /** Log entries between automatic snapshots when the caller does not choose. */
    public static final long SNAPSHOT_THRESHOLD_ENTRIES_DEFAULT = 10_000;

    private MetaGroup() {}

    /** Raft peer id of node {@code nodeId}: {@code "n" + nodeId}. */
    public static RaftPeerId peerId(int nodeId) {
        return RaftPeerId.valueOf("n" + nodeId);
    }

    /**
     * Parses voters {@code "1@127.0.0.1:10092,2@127.0.0.1:10093"} (node id, {@code @}, Raft
     * address) into peers {@code n1}, {@code n2}, ...
     *
     * @throws IllegalArgumentException on a malformed list, a repeated node id, or an empty list
     */
    public static List<RaftPeer> parseVoters(String voters) {
        List<RaftPeer> peers = new ArrayList<>();
        for (String part : voters.split(",", -1)) {
            String v = part.strip();
            int at = v.indexOf('@');
            int colon = v.lastIndexOf(':');
            if (at <= 0 || colon <= at + 1 || colon == v.length() - 1) {
                throw new IllegalArgumentException("voter '" + v + "' is not NODE_ID@HOST:PORT");
            }
            int nodeId;
            int port;
            try {
                nodeId = Integer.parseInt(v.substring(0, at));
                port = Integer.parseInt(v.substring(colon + 1));
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException("voter '" + v + "' is not NODE_ID@HOST:PORT", e);
            }
            if (nodeId < 0 || port <= 0 || port > 65_535) {
                throw new IllegalArgumentException("voter '" + v + "' has a bad node id or port");
            }
            RaftPeerId id = peerId(nodeId);
            if (peers.stream().anyMatch(p -> p.getId().equals(id))) {
                throw new IllegalArgumentException("node id " + nodeId + " is listed twice in '" + voters + "'");
            }
            peers.add(RaftPeer.newBuilder()
                    .setId(id)
                    .setAddress(v.substring(at + 1))
                    .build());
        }
        return List.copyOf(peers);
    }

    /** The metadata group of {@code voters} (see {@link #parseVoters}). */
    public static RaftGroup group(String voters) {
        return group(parseVoters(voters));
    }

    public static RaftGroup group(List<RaftPeer> voters) {
        return RaftGroup.valueOf(ID, voters);
    }

    /**
     * Server settings the metadata KV needs: linearizable reads through ReadIndex (so a read on
     * any node sees every acknowledged write), and automatic snapshots every {@code
     * snapshotThresholdEntries} entries so the log can be purged.
     */
    public static void configureServer(RaftProperties p, long snapshotThresholdEntries) {
        RaftServerConfigKeys.Read.setOption(p, RaftServerConfigKeys.Read.Option.LINEARIZABLE);
        RaftServerConfigKeys.Snapshot.setAutoTriggerEnabled(p, true);
        RaftServerConfigKeys.Snapshot.setAutoTriggerThreshold(p, snapshotThresholdEntries);
        RaftServerConfigKeys.Snapshot.setRetentionFileNum(p, 2);
    }
}
