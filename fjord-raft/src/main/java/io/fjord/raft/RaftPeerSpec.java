package io.fjord.raft;

import java.util.ArrayList;
import java.util.List;

/**
 * Where a node's Raft server listens: {@code nodeId@host:port}, e.g. {@code 1@127.0.0.1:10092}.
 */
public record RaftPeerSpec(int nodeId, String host, int port) {
    public RaftPeerSpec {
        if (nodeId < 0) {
            throw new IllegalArgumentException("node id must be >= 0: " + nodeId);
        }
        if (port < 0 || port > 65535) {
            throw new IllegalArgumentException("bad port " + port);
        }
    }

    public String address() {
        return host + ":" + port;
    }

    @Override
    public String toString() {
        return nodeId + "@" + address();
    }

    /** Parses {@code 1@host:port}. */
    public static RaftPeerSpec parse(String s) {
        String t = s.trim();
        int at = t.indexOf('@');
        int colon = t.lastIndexOf(':');
        if (at <= 0 || colon < at + 2 || colon == t.length() - 1) {
            throw new IllegalArgumentException("expected nodeId@host:port, got '" + s + "'");
        }
        try {
            return new RaftPeerSpec(
                    Integer.parseInt(t.substring(0, at)),
                    t.substring(at + 1, colon),
                    Integer.parseInt(t.substring(colon + 1)));
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("expected nodeId@host:port, got '" + s + "'", e);
        }
    }

    /** Parses a comma-separated list of {@link #parse} specs; node ids must be distinct. */
    public static List<RaftPeerSpec> parseList(String s) {
        List<RaftPeerSpec> out = new ArrayList<>();
        for (String part : s.split(",")) {
            if (!part.isBlank()) {
                RaftPeerSpec p = parse(part);
                if (out.stream().anyMatch(o -> o.nodeId == p.nodeId)) {
                    throw new IllegalArgumentException("node id " + p.nodeId + " appears twice in '" + s + "'");
                }
                out.add(p);
            }
        }
        return List.copyOf(out);
    }
}
