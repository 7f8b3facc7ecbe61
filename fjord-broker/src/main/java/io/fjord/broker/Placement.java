package io.fjord.broker;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Where data groups and partitions go. Pure functions of the cluster view, so they are easy to test
 * and the same on whichever node runs them.
 *
 * <ul>
 *   <li>For each replication factor there are (live brokers × groups per node) data groups. Group
 *       i of a factor has the brokers at positions i, i+1, ... of the rack-interleaved broker list
 *       as members, and the one at position i as preferred leader: memberships and leaders spread
 *       evenly, and replicas land on distinct racks whenever there are enough racks.
 *   <li>A new partition goes to the group of its factor that carries the fewest partitions.
 *   <li>The controller then evens out memberships over live nodes and leadership by partitions led
 *       ({@link #nextMove}), one move at a time.
 * </ul>
 */
final class Placement {
    private Placement() {}

    /** Brokers ordered so that consecutive ones are on different racks where possible. */
    static List<ClusterState.BrokerInfo> rackInterleaved(List<ClusterState.BrokerInfo> live) {
        Map<String, List<ClusterState.BrokerInfo>> byRack = new LinkedHashMap<>();
        live.stream()
                .sorted(Comparator.comparingInt(ClusterState.BrokerInfo::id))
                .forEach(b -> byRack.computeIfAbsent(b.rack() == null ? "" : b.rack(), r -> new ArrayList<>())
                        .add(b));
        List<ClusterState.BrokerInfo> out = new ArrayList<>();
        for (int i = 0; out.size() < live.size(); i++) {
            for (List<ClusterState.BrokerInfo> rack : byRack.values()) {
                if (i < rack.size()) {
                    out.add(rack.get(i));
                }
            }
        }
        return out;
    }

    /**
     * The groups to add so that factor {@code rf} has its share of groups over {@code live}.
     * Numbers continue after the highest existing group number.
     */
    static List<ClusterState.RGroup> groupsToCreate(
            Map<Integer, ClusterState.RGroup> existing, List<ClusterState.BrokerInfo> live, int rf, int groupsPerNode) {
        long have = existing.values().stream().filter(g -> g.rf() == rf).count();
        int want = Math.max(1, live.size() * groupsPerNode);
        List<ClusterState.RGroup> out = new ArrayList<>();
        if (have >= want || live.size() < rf) {
            return out;
        }
        List<ClusterState.BrokerInfo> order = rackInterleaved(live);
        int next = existing.keySet().stream().mapToInt(Integer::intValue).max().orElse(0) + 1;
        for (long i = have; i < want; i++) {
            List<Integer> members = new ArrayList<>();
            for (int j = 0; j < rf; j++) {
                members.add(order.get((int) ((i + j) % order.size())).id());
            }
            int preferred = order.get((int) (i % order.size())).id();
            out.add(new ClusterState.RGroup(
                    next++, rf, members.stream().sorted().toList(), preferred));
        }
        return out;
    }

    /** Assigns {@code count} new partitions to the least loaded of {@code groups}. */
    static List<Integer> assign(int count, List<ClusterState.RGroup> groups, Map<Integer, Integer> load) {
        if (groups.isEmpty()) {
            throw new IllegalArgumentException("no data group to place partitions on");
        }
        Map<Integer, Integer> l = new LinkedHashMap<>();
        for (ClusterState.RGroup g : groups) {
            l.put(g.no(), load.getOrDefault(g.no(), 0));
        }
        List<Integer> out = new ArrayList<>();
        for (int i = 0; i < count; i++) {
            int best = -1;
            for (Map.Entry<Integer, Integer> e : l.entrySet()) {
                if (best == -1 || e.getValue() < l.get(best)) {
                    best = e.getKey();
                }
            }
            out.add(best);
            l.merge(best, 1, Integer::sum);
        }
        return out;
    }

    /**
     * One step towards a balanced cluster: replace {@code remove} by {@code add} in {@code group}
     * (-1 and -1 for a change of preferred leader only), with {@code preferred} as the new
     * preferred leader.
     */
    record Move(int group, int remove, int add, int preferred) {}

    /**
     * Whether replacing one of {@code members} takes two membership changes, first adding the new
     * member, then removing the old one: Ratis refuses one change whose new voters are at least as
     * many as those it keeps, which is every replacement in a group of one or two voters.
     */
    static boolean movesInTwoSteps(List<Integer> members) {
        return members.size() <= 2;
    }

    /**
     * The next move, or null when there is nothing to do. In order: re-place the replicas of nodes
     * down for too long ({@code gone}), then even out group memberships over live nodes (a node
     * that joins takes replicas from the busiest), then even out leadership.
     *
     * <p>Leadership is evened out by the partitions each node leads, not by the groups: a group's
     * Raft leader leads every partition of it, and groups carry different numbers of partitions (a
     * group made for a node that joined carries none until topics are created). A group's
     * preferred leader moves from a node to another member only when the other would then still
     * lead less than the first led before ({@link #leaderWeight}), so each step strictly lowers
     * the sum of squares of the nodes' leader loads and balancing ends; with whole groups the best
     * balance may leave a node leading nothing (three loaded groups on four nodes).
     *
     * @param partitions the number of partitions in each group (by group number; absent = none)
     */
    static Move nextMove(
            Map<Integer, ClusterState.RGroup> groups,
            List<Integer> live,
            java.util.Set<Integer> gone,
            Map<Integer, Integer> partitions) {
        Map<Integer, Integer> members = new java.util.TreeMap<>();
        Map<Integer, Long> leaders = new java.util.TreeMap<>();
        for (int n : live) {
            members.put(n, 0);
            leaders.put(n, 0L);
        }
        for (ClusterState.RGroup g : groups.values()) {
            for (int m : g.members()) {
                members.computeIfPresent(m, (k, v) -> v + 1);
            }
            leaders.computeIfPresent(g.preferred(), (k, v) -> v + leaderWeight(g, partitions));
        }
        for (ClusterState.RGroup g : groups.values()) {
            for (int x : g.members()) {
                if (gone.contains(x)) {
                    Integer target = leastLoaded(members, n -> !g.members().contains(n));
                    if (target != null) {
                        return new Move(g.no(), x, target, g.preferred() == x ? target : g.preferred());
                    }
                }
            }
        }
        Integer most = mostLoaded(members);
        Integer least = leastLoaded(members, n -> true);
        if (most != null && least != null && members.get(most) - members.get(least) > 1) {
            for (ClusterState.RGroup g : groups.values()) {
                if (g.members().contains(most) && !g.members().contains(least)) {
                    return new Move(g.no(), most, least, g.preferred() == most ? least : g.preferred());
                }
            }
        }
        List<Integer> byLoad = new ArrayList<>(leaders.keySet());
        byLoad.sort(Comparator.comparing(leaders::get).reversed());
        for (int busy : byLoad) {
            for (ClusterState.RGroup g : groups.values()) {
                if (g.preferred() != busy) {
                    continue;
                }
                Integer other =
                        leastLoaded(leaders, n -> n != busy && g.members().contains(n));
                if (other != null && leaders.get(other) + leaderWeight(g, partitions) < leaders.get(busy)) {
                    return new Move(g.no(), -1, -1, other);
                }
            }
        }
        return null;
    }

    /**
     * What leading group {@code g} weighs when leadership is evened out: its partitions first, then
     * one for the group itself, so partitions led decide and groups led break the ties (no group
     * holds anywhere near {@link #GROUP_WEIGHT_SCALE} partitions).
     */
    static long leaderWeight(ClusterState.RGroup g, Map<Integer, Integer> partitions) {
        return partitions.getOrDefault(g.no(), 0) * GROUP_WEIGHT_SCALE + 1;
    }

    private static final long GROUP_WEIGHT_SCALE = 1L << 32;

    private static <V extends Comparable<V>> Integer mostLoaded(Map<Integer, V> load) {
        Integer best = null;
        for (Map.Entry<Integer, V> e : load.entrySet()) {
            if (best == null || e.getValue().compareTo(load.get(best)) > 0) {
                best = e.getKey();
            }
        }
        return best;
    }

    private static <V extends Comparable<V>> Integer leastLoaded(
            Map<Integer, V> load, java.util.function.IntPredicate allowed) {
        Integer best = null;
        for (Map.Entry<Integer, V> e : load.entrySet()) {
            if (allowed.test(e.getKey()) && (best == null || e.getValue().compareTo(load.get(best)) < 0)) {
                best = e.getKey();
            }
        }
        return best;
    }
}
