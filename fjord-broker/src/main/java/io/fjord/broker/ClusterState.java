package io.fjord.broker;

import io.fjord.raft.kv.KeyValue;
import io.fjord.raft.kv.WatchEvent;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentSkipListMap;
import java.util.function.LongSupplier;

/**
 * This node's view of the cluster metadata kept in the metadata service's KV, and the key layout
 * and value encoding (plain {@code key=value} lines, so {@code fjord kv get} shows them readably):
 *
 * <pre>
 * /cluster/id            the cluster id
 * /brokers/&lt;id&gt;         host, port, rack, raft.host, raft.port, heartbeat (ms; the lease)
 * /topics/&lt;name&gt;        id, rf, groups (one per partition), config.&lt;key&gt;
 * /rgroups/&lt;n&gt;          rf, members, preferred (the data group's voters)
 * /leaders/&lt;n&gt;          node, term (published by each new leader of data group n)
 * /producer-ids/next     the next unallocated producer id (blocks taken by compare-and-set)
 * </pre>
 *
 * <p>Threads: {@link #apply} from the one watch thread; reads from any thread.
 */
final class ClusterState {
    static final String CLUSTER_ID = "/cluster/id";
    static final String BROKERS = "/brokers/";
    static final String TOPICS = "/topics/";
    static final String RGROUPS = "/rgroups/";
    static final String LEADERS = "/leaders/";
    static final String PRODUCER_IDS = "/producer-ids/next";

    record BrokerInfo(int id, String host, int port, String rack, String raftHost, int raftPort, long heartbeatMs) {}

    /**
     * A data group: voters, preferred leader, and during a move the node being added and the one
     * being removed (-1: none).
     */
    record RGroup(int no, int rf, List<Integer> members, int preferred, int adding, int removing) {
        RGroup(int no, int rf, List<Integer> members, int preferred) {
            this(no, rf, members, preferred, -1, -1);
        }
    }

    record Leader(int node, long term) {}

    final Map<Integer, BrokerInfo> brokers = new ConcurrentSkipListMap<>();
    final Map<String, TopicInfo> topics = new ConcurrentHashMap<>();
    final Map<Integer, RGroup> rgroups = new ConcurrentSkipListMap<>();
    final Map<Integer, Leader> leaders = new ConcurrentHashMap<>();
    volatile String clusterId;
    volatile long revision;

    /**
     * Leases. A node is heard from when its heartbeat record reaches this view, by this node's
     * monotonic clock ({@link #heardMs}), not at the time the record carries: a heartbeat sent during
     * a metadata election lands late but shows the node alive, and nodes' clocks need not agree.
     * The view's clock is the time it last heard from anyone ({@link #lastHeardMs}), so it stops
     * when nothing arrives: a replica cut off from the metadata group cannot tell dead nodes from
     * its own isolation, and must not tell clients that every other node is gone (a client that
     * believes that asks only this node from then on: found by NetworkPartitionTest). After a
     * silence of {@link #outageGapMs} (the metadata group was electing, or this replica was cut
     * off) every lease runs from the end of the silence at the earliest, as a new Kafka controller
     * gives every broker a fresh session; otherwise the first heartbeat to land would make every
     * node whose heartbeat is still on its way look gone. The broker does the same when it sees the
     * metadata group change leaders ({@link #freshLeases}).
     */
    private final long outageGapMs;

    private final LongSupplier clock;
    private final Map<Integer, Long> heardMs = new ConcurrentHashMap<>();
    /** When the view last heard from any node (Long.MIN_VALUE: never); written by {@link #apply} only. */
    private volatile long lastHeardMs = Long.MIN_VALUE;
    /** When the view first heard from a node after its last silence (Long.MIN_VALUE: none). */
    private volatile long resumedAtMs = Long.MIN_VALUE;

    /** A view with leases on this JVM's monotonic clock; see {@link #ClusterState(long, LongSupplier)}. */
    ClusterState(long outageGapMs) {
        this(outageGapMs, () -> System.nanoTime() / 1_000_000);
    }

    /**
     * @param outageGapMs a silence this long ends every lease's count (see {@link #heardMs}); half
     *     the broker lease is a good choice
     * @param clock a monotonic clock in milliseconds
     */
    ClusterState(long outageGapMs, LongSupplier clock) {
        this.outageGapMs = outageGapMs;
        this.clock = clock;
    }

    /** Applies one change to the view; returns what kind of key it was. */
    String apply(WatchEvent e) {
        String key = e.kv().key();
        boolean put = e.type() == WatchEvent.Type.PUT;
        try {
            if (key.equals(CLUSTER_ID)) {
                if (put) {
                    clusterId = new String(e.kv().value(), StandardCharsets.UTF_8);
                }
            } else if (key.startsWith(BROKERS)) {
                int id = Integer.parseInt(key.substring(BROKERS.length()));
                if (put) {
                    long now = clock.getAsLong();
                    long last = lastHeardMs;
                    if (last != Long.MIN_VALUE && now - last > outageGapMs) {
                        resumedAtMs = now;
                    }
                    brokers.put(id, decodeBroker(id, e.kv().value()));
                    heardMs.put(id, now);
                    lastHeardMs = now;
                } else {
                    brokers.remove(id);
                    heardMs.remove(id);
                }
            } else if (key.startsWith(TOPICS)) {
                String name = key.substring(TOPICS.length());
                if (put) {
                    topics.put(name, decodeTopic(name, e.kv().value()));
                } else {
                    topics.remove(name);
                }
            } else if (key.startsWith(RGROUPS)) {
                int no = Integer.parseInt(key.substring(RGROUPS.length()));
                if (put) {
                    rgroups.put(no, decodeGroup(no, e.kv().value()));
                } else {
                    rgroups.remove(no);
                }
            } else if (key.startsWith(LEADERS)) {
                int no = Integer.parseInt(key.substring(LEADERS.length()));
                if (put) {
                    Map<String, String> m = parse(e.kv().value());
                    leaders.put(no, new Leader(Integer.parseInt(m.get("node")), Long.parseLong(m.get("term"))));
                } else {
                    leaders.remove(no);
                }
            }
        } catch (RuntimeException bad) {
            // A value written by hand (fjord kv put) that does not parse: ignore it, keep serving.
            org.slf4j.LoggerFactory.getLogger(ClusterState.class)
                    .warn("ignoring malformed metadata at {}: {}", key, bad.toString());
        }
        revision = Math.max(revision, e.revision());
        return key;
    }

    void load(List<KeyValue> kvs, long rev) {
        for (KeyValue kv : kvs) {
            apply(new WatchEvent(WatchEvent.Type.PUT, kv));
        }
        revision = Math.max(revision, rev);
    }

    // ---- encoding

    static Map<String, String> parse(byte[] value) {
        Map<String, String> m = new LinkedHashMap<>();
        for (String line : new String(value, StandardCharsets.UTF_8).split("\n")) {
            int eq = line.indexOf('=');
            if (eq > 0) {
                m.put(line.substring(0, eq), line.substring(eq + 1));
            }
        }
        return m;
    }

    static byte[] format(Map<String, String> m) {
        StringBuilder sb = new StringBuilder();
        m.forEach((k, v) -> sb.append(k).append('=').append(v).append('\n'));
        return sb.toString().getBytes(StandardCharsets.UTF_8);
    }

    static List<Integer> ints(String csv) {
        if (csv == null || csv.isBlank()) {
            return List.of();
        }
        return Arrays.stream(csv.split(","))
                .map(String::trim)
                .map(Integer::parseInt)
                .toList();
    }

    static String csv(List<Integer> xs) {
        return String.join(",", xs.stream().map(String::valueOf).toList());
    }

    static byte[] encodeBroker(BrokerInfo b) {
        Map<String, String> m = new LinkedHashMap<>();
        m.put("host", b.host());
        m.put("port", Integer.toString(b.port()));
        m.put("rack", b.rack() == null ? "" : b.rack());
        m.put("raft.host", b.raftHost());
        m.put("raft.port", Integer.toString(b.raftPort()));
        m.put("heartbeat", Long.toString(b.heartbeatMs()));
        return format(m);
    }

    static BrokerInfo decodeBroker(int id, byte[] v) {
        Map<String, String> m = parse(v);
        return new BrokerInfo(
                id,
                m.get("host"),
                Integer.parseInt(m.get("port")),
                m.getOrDefault("rack", ""),
                m.get("raft.host"),
                Integer.parseInt(m.get("raft.port")),
                Long.parseLong(m.getOrDefault("heartbeat", "0")));
    }

    static byte[] encodeTopic(TopicInfo t) {
        Map<String, String> m = new LinkedHashMap<>();
        m.put("id", t.id().toString());
        m.put("rf", Integer.toString(t.replicationFactor()));
        m.put("groups", csv(t.groups()));
        new TreeMap<>(t.configs()).forEach((k, v) -> m.put("config." + k, v));
        return format(m);
    }

    static TopicInfo decodeTopic(String name, byte[] v) {
        Map<String, String> m = parse(v);
        Map<String, String> configs = new TreeMap<>();
        m.forEach((k, val) -> {
            if (k.startsWith("config.")) {
                configs.put(k.substring("config.".length()), val);
            }
        });
        List<Integer> groups = ints(m.get("groups"));
        return new TopicInfo(
                name, UUID.fromString(m.get("id")), groups.size(), configs, Integer.parseInt(m.get("rf")), groups);
    }

    static byte[] encodeGroup(RGroup g) {
        Map<String, String> m = new LinkedHashMap<>();
        m.put("rf", Integer.toString(g.rf()));
        m.put("members", csv(g.members()));
        m.put("preferred", Integer.toString(g.preferred()));
        if (g.adding() >= 0) {
            m.put("adding", Integer.toString(g.adding()));
            m.put("removing", Integer.toString(g.removing()));
        }
        return format(m);
    }

    static RGroup decodeGroup(int no, byte[] v) {
        Map<String, String> m = parse(v);
        return new RGroup(
                no,
                Integer.parseInt(m.get("rf")),
                ints(m.get("members")),
                Integer.parseInt(m.get("preferred")),
                Integer.parseInt(m.getOrDefault("adding", "-1")),
                Integer.parseInt(m.getOrDefault("removing", "-1")));
    }

    /** Every lease runs from now at the earliest, as after a silence (see {@link #heardMs}). */
    void freshLeases() {
        resumedAtMs = clock.getAsLong();
    }

    /**
     * Brokers whose lease is current: heard from within {@code leaseMs} of the last time this view
     * heard from anyone, counting from the end of the last silence at the earliest (see {@link
     * #heardMs}).
     */
    List<BrokerInfo> liveBrokers(long leaseMs) {
        List<BrokerInfo> out = new ArrayList<>();
        for (BrokerInfo b : brokers.values()) {
            if (silentMs(b.id()) <= leaseMs) {
                out.add(b);
            }
        }
        return out;
    }

    /**
     * How long node {@code id} has been silent by this view's clock, counted from the end of the
     * last silence at the earliest (see {@link #heardMs}); the controller replaces the replicas of
     * nodes silent for long. Long.MAX_VALUE for a node the view has no record of.
     */
    long silentMs(int id) {
        Long heard = heardMs.get(id);
        if (heard == null) {
            return Long.MAX_VALUE;
        }
        return lastHeardMs - Math.max(heard, resumedAtMs);
    }
}
