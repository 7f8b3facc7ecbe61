package io.fjord.broker;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;

class PlacementTest {

    private static final int MAX_STEPS = 1_000;

    @Test
    void shouldEvenOutLeadershipByPartitionsLedNotByGroupsLed() {
        // Node 1 prefers two groups of 10 partitions, nodes 2 and 3 one empty group each: by groups
        // led that is balanced (2, 1, 1), by partitions it is 20, 0, 0.
        Map<Integer, ClusterState.RGroup> groups = groups(
                group(1, List.of(1, 2, 3), 1), group(2, List.of(1, 2, 3), 2),
                group(3, List.of(1, 2, 3), 3), group(4, List.of(1, 2, 3), 1));
        Map<Integer, Integer> partitions = Map.of(1, 10, 4, 10);

        Placement.Move m = Placement.nextMove(groups, List.of(1, 2, 3), Set.of(), partitions);

        assertThat(m).isNotNull();
        assertThat(m.remove()).as("a leadership change only").isEqualTo(-1);
        assertThat(m.group()).isIn(1, 4);
        assertThat(m.preferred()).isIn(2, 3);
        settle(groups, List.of(1, 2, 3), partitions);
        assertThat(partitionsLed(groups, partitions).values()).containsExactlyInAnyOrder(10, 10, 0);
    }

    @Test
    void shouldLeaveLeadershipAloneWhenNoSingleMoveLowersTheLoad() {
        Map<Integer, ClusterState.RGroup> groups =
                groups(group(1, List.of(1, 2, 3), 1), group(2, List.of(1, 2, 3), 2), group(3, List.of(1, 2, 3), 3));
        Map<Integer, Integer> partitions = Map.of(1, 4, 2, 4, 3, 3);

        assertThat(Placement.nextMove(groups, List.of(1, 2, 3), Set.of(), partitions))
                .isNull();
    }

    @Test
    void shouldGiveAJoiningNodeReplicasAndTheLeadershipOfALoadedGroup() {
        // Three nodes with one group each (3, 3 and 2 partitions of __consumer_offsets plus a
        // 3-partition topic), then node 4 joins.
        Map<Integer, ClusterState.RGroup> groups =
                groups(group(1, List.of(1, 2, 3), 1), group(2, List.of(1, 2, 3), 2), group(3, List.of(1, 2, 3), 3));
        Map<Integer, Integer> partitions = Map.of(1, 4, 2, 4, 3, 3);
        List<Integer> live = List.of(1, 2, 3, 4);

        int steps = settle(groups, live, partitions);

        Map<Integer, Integer> memberships = new TreeMap<>();
        groups.values().forEach(g -> g.members().forEach(n -> memberships.merge(n, 1, Integer::sum)));
        assertThat(memberships).containsKey(4);
        assertThat(memberships.values().stream()
                                .mapToInt(Integer::intValue)
                                .max()
                                .orElseThrow()
                        - memberships.values().stream()
                                .mapToInt(Integer::intValue)
                                .min()
                                .orElseThrow())
                .as("memberships even after %d moves: %s", steps, memberships)
                .isLessThanOrEqualTo(1);
        Map<Integer, Integer> led = partitionsLed(groups, partitions);
        assertThat(led.get(4)).as("partitions led by the new node, %s", led).isPositive();
        assertThat(led.values().stream().mapToInt(Integer::intValue).max().orElseThrow())
                .as("no node leads two groups' partitions while a member leads none: %s", led)
                .isEqualTo(4);
    }

    @Test
    void shouldHandAGroupMadeForAJoinedNodeToANodeThatLeadsNothing() {
        // After the join above: node 1 leads nothing; a topic created now lands in a new group.
        Map<Integer, ClusterState.RGroup> groups =
                groups(group(1, List.of(2, 3, 4), 2), group(2, List.of(1, 3, 4), 4), group(3, List.of(1, 2, 3), 3));
        List<ClusterState.BrokerInfo> live = new ArrayList<>();
        for (int n = 1; n <= 4; n++) {
            live.add(new ClusterState.BrokerInfo(n, "127.0.0.1", 9091 + n, "", "127.0.0.1", 10091 + n, 0));
        }
        List<ClusterState.RGroup> created = Placement.groupsToCreate(groups, live, 3, 1);
        assertThat(created).hasSize(1);
        created.forEach(g -> groups.put(g.no(), g));
        Map<Integer, Integer> load = Map.of(1, 4, 2, 4, 3, 3);
        List<Integer> placed = Placement.assign(3, List.copyOf(groups.values()), load);
        assertThat(placed)
                .as("the new topic goes to the empty group")
                .containsOnly(created.get(0).no());
        Map<Integer, Integer> partitions = new HashMap<>(load);
        placed.forEach(g -> partitions.merge(g, 1, Integer::sum));

        settle(groups, List.of(1, 2, 3, 4), partitions);

        assertThat(partitionsLed(groups, partitions)).containsOnlyKeys(1, 2, 3, 4);
        assertThat(partitionsLed(groups, partitions).values()).allMatch(n -> n > 0);
    }

    @Test
    void shouldReachABalanceFromAnyLayoutInBoundedSteps() {
        long seed = new Random().nextLong();
        Random random = new Random(seed);
        for (int round = 0; round < 500; round++) {
            int nodes = 1 + random.nextInt(7);
            List<Integer> all = new ArrayList<>();
            for (int n = 1; n <= nodes; n++) {
                all.add(n);
            }
            Map<Integer, ClusterState.RGroup> groups = new TreeMap<>();
            Map<Integer, Integer> partitions = new HashMap<>();
            int count = 1 + random.nextInt(12);
            for (int g = 1; g <= count; g++) {
                int rf = 1 + random.nextInt(Math.min(3, nodes));
                List<Integer> shuffled = new ArrayList<>(all);
                java.util.Collections.shuffle(shuffled, random);
                List<Integer> members =
                        shuffled.subList(0, rf).stream().sorted().toList();
                groups.put(g, group(g, members, members.get(random.nextInt(rf))));
                if (random.nextInt(4) != 0) {
                    partitions.put(g, random.nextInt(50));
                }
            }
            // Some nodes are not live (yet, or any more): nothing may move to them.
            List<Integer> live = new ArrayList<>(all);
            live.removeIf(n -> live.size() > 1 && random.nextInt(5) == 0);
            Set<Integer> gone = new HashSet<>();

            int steps = settle(groups, live, partitions);

            assertThat(steps).as("seed %d round %d", seed, round).isLessThan(MAX_STEPS);
            Map<Integer, Integer> led = partitionsLed(groups, partitions);
            for (ClusterState.RGroup g : groups.values()) {
                assertThat(g.members())
                        .as("seed %d: members stay distinct", seed)
                        .doesNotHaveDuplicates();
                if (!live.contains(g.preferred())) {
                    continue;
                }
                for (int other : g.members()) {
                    if (other != g.preferred() && live.contains(other)) {
                        assertThat(led.get(other) + partitions.getOrDefault(g.no(), 0))
                                .as(
                                        "seed %d round %d: group %d led by %d could go to %d (%s)",
                                        seed, round, g.no(), g.preferred(), other, led)
                                .isGreaterThanOrEqualTo(led.get(g.preferred()));
                    }
                }
            }
            assertThat(Placement.nextMove(groups, live, gone, partitions)).isNull();
        }
    }

    /** Applies the controller's moves until there is none; the number of moves made. */
    private static int settle(
            Map<Integer, ClusterState.RGroup> groups, List<Integer> live, Map<Integer, Integer> partitions) {
        for (int step = 0; step < MAX_STEPS; step++) {
            Placement.Move m = Placement.nextMove(groups, live, Set.of(), partitions);
            if (m == null) {
                return step;
            }
            ClusterState.RGroup g = groups.get(m.group());
            List<Integer> members = new ArrayList<>(g.members());
            if (m.remove() >= 0) {
                assertThat(live).as("a move adds a live node").contains(m.add());
                members.remove(Integer.valueOf(m.remove()));
                members.add(m.add());
            }
            assertThat(members).as("the preferred leader is a member").contains(m.preferred());
            groups.put(g.no(), group(g.no(), members.stream().sorted().toList(), m.preferred()));
        }
        return MAX_STEPS;
    }

    /** Partitions whose group each live node is preferred leader of (nodes leading none: 0). */
    private static Map<Integer, Integer> partitionsLed(
            Map<Integer, ClusterState.RGroup> groups, Map<Integer, Integer> partitions) {
        Map<Integer, Integer> led = new TreeMap<>();
        groups.values().forEach(g -> g.members().forEach(n -> led.putIfAbsent(n, 0)));
        groups.values().forEach(g -> led.merge(g.preferred(), partitions.getOrDefault(g.no(), 0), Integer::sum));
        return led;
    }

    private static ClusterState.RGroup group(int no, List<Integer> members, int preferred) {
        return new ClusterState.RGroup(no, members.size(), members, preferred);
    }

    private static Map<Integer, ClusterState.RGroup> groups(ClusterState.RGroup... gs) {
        Map<Integer, ClusterState.RGroup> out = new TreeMap<>();
        for (ClusterState.RGroup g : gs) {
            out.put(g.no(), g);
        }
        return out;
    }
}
