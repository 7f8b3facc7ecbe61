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
            Map<Integer, ClusterState.RGroup> existing,
            List<ClusterState.BrokerInfo> live,
            int rf,
            int groupsPerNode) {
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
            out.add(new ClusterState.RGroup(next++, rf, members.stream().sorted().toList(), preferred));
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
}
