package io.fjord.raft.kv;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.apache.ratis.conf.RaftProperties;
import org.apache.ratis.grpc.GrpcConfigKeys;
import org.apache.ratis.protocol.RaftGroup;
import org.apache.ratis.protocol.RaftPeer;
import org.apache.ratis.protocol.RaftPeerId;
import org.apache.ratis.server.RaftServer;
import org.apache.ratis.server.RaftServerConfigKeys;
import org.apache.ratis.server.storage.RaftStorage;

/**
 * A Raft server that hosts only the metadata group, for tools and tests of modules that must not
 * see Ratis types (the CLI's). A node of the platform runs the metadata group inside its one Raft
 * server instead.
 */
public final class StandaloneMetaServer implements AutoCloseable {
    private final RaftServer server;

    private StandaloneMetaServer(RaftServer server) {
        this.server = server;
    }

    /**
     * Starts node {@code nodeId} of {@code voters} ({@code "1@127.0.0.1:10092,..."}), listening on
     * its address there, with its Raft storage under {@code storageDir} (recovered if present).
     */
    public static StandaloneMetaServer start(int nodeId, String voters, Path storageDir) throws IOException {
        RaftGroup group = MetaGroup.group(voters);
        RaftPeerId id = MetaGroup.peerId(nodeId);
        RaftPeer self = group.getPeer(id);
        if (self == null) {
            throw new IllegalArgumentException("node " + nodeId + " is not one of the voters " + voters);
        }
        String address = self.getAddress();
        int colon = address.lastIndexOf(':');
        RaftProperties p = new RaftProperties();
        RaftServerConfigKeys.setStorageDir(p, List.of(storageDir.toFile()));
        GrpcConfigKeys.Server.setHost(p, address.substring(0, colon));
        GrpcConfigKeys.Server.setPort(p, Integer.parseInt(address.substring(colon + 1)));
        MetaGroup.configureServer(p, MetaGroup.SNAPSHOT_THRESHOLD_ENTRIES_DEFAULT);
        boolean exists =
                Files.isDirectory(storageDir.resolve(MetaGroup.ID.getUuid().toString()));
        RaftServer server = RaftServer.newBuilder()
                .setServerId(id)
                .setGroup(group)
                .setProperties(p)
                .setStateMachine(new MetaStateMachine())
                .setOption(exists ? RaftStorage.StartupOption.RECOVER : RaftStorage.StartupOption.FORMAT)
                .build();
        server.start();
        return new StandaloneMetaServer(server);
    }

    /** A store served by this server's replica for serializable reads and watches; close it. */
    public RaftKvStore store() throws IOException {
        return RaftKvStore.forLocalServer(server);
    }

    /** Whether this server leads the metadata group and can serve requests. */
    public boolean isLeaderReady() throws IOException {
        return server.getDivision(MetaGroup.ID).getInfo().isLeaderReady();
    }

    @Override
    public void close() throws IOException {
        server.close();
    }
}
