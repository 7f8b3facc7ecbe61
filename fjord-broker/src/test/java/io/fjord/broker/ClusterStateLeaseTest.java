package io.fjord.broker;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import org.junit.jupiter.api.Test;

/** Leases are judged by the view's own clock (its newest heartbeat), not by the wall clock. */
class ClusterStateLeaseTest {
    private static final long LEASE = 6_000;

    private static ClusterState view(long... heartbeats) {
        ClusterState s = new ClusterState(3_000);
        for (int i = 0; i < heartbeats.length; i++) {
            heartbeat(s, i + 1, heartbeats[i]);
        }
        return s;
    }

    private static List<Integer> live(ClusterState s, long wallMs) {
        return s.liveBrokers(wallMs, LEASE).stream()
                .map(ClusterState.BrokerInfo::id)
                .toList();
    }

    @Test
    void aViewThatStoppedHearingAnythingExpiresNobody() {
        // Every heartbeat is a minute old: this replica has heard nothing since (cut off, or no quorum).
        ClusterState s = view(100_000, 100_500, 99_800);
        assertThat(live(s, 160_000)).containsExactly(1, 2, 3);
        assertThat(s.clockMs(160_000)).isEqualTo(100_500);
    }

    @Test
    void aCurrentViewExpiresTheNodeThatStoppedHeartbeating() {
        ClusterState s = view(160_000, 159_200, 150_000);
        assertThat(live(s, 160_300)).containsExactly(1, 2);
    }

    @Test
    void theClockNeverRunsAheadOfTheWallClock() {
        // Node 1's clock is ahead of this machine's: its heartbeat does not expire the others early.
        ClusterState s = view(200_000, 160_000);
        assertThat(s.clockMs(160_500)).isEqualTo(160_500);
        assertThat(live(s, 160_500)).containsExactly(1, 2);
        assertThat(view().clockMs(42)).isEqualTo(42);
    }

    @Test
    void afterAnOutageEveryLeaseRunsFromTheFirstHeartbeatThatLands() {
        ClusterState s = new ClusterState(3_000);
        heartbeat(s, 1, 100_000);
        heartbeat(s, 2, 100_300);
        heartbeat(s, 3, 100_600);
        // No heartbeat reaches the view for 10 s (a metadata election); then node 2's lands first.
        heartbeat(s, 2, 110_600);
        assertThat(live(s, 110_700))
                .as("nodes 1 and 3 are given a lease from the resumption")
                .containsExactly(1, 2, 3);
        heartbeat(s, 3, 111_000);
        for (long t = 112_000; t <= 117_000; t += 1_000) {
            heartbeat(s, 2, t - 300);
            heartbeat(s, 3, t);
        }
        assertThat(s.silentMs(s.brokers.get(1), 117_000))
                .as("node 1 silent since the resumption")
                .isEqualTo(6_400);
        assertThat(live(s, 117_000))
                .as("node 1 never heartbeat again: expired a lease after")
                .containsExactly(2, 3);
    }

    @Test
    void aDeregisteredNodeNoLongerSetsTheClock() {
        ClusterState s = view(100_000, 105_000);
        s.apply(new io.fjord.raft.kv.WatchEvent(
                io.fjord.raft.kv.WatchEvent.Type.DELETE,
                new io.fjord.raft.kv.KeyValue(ClusterState.BROKERS + 2, new byte[0], 1, 2, 0)));
        assertThat(s.clockMs(200_000)).isEqualTo(100_000);
    }

    private static void heartbeat(ClusterState s, int id, long ms) {
        s.apply(new io.fjord.raft.kv.WatchEvent(
                io.fjord.raft.kv.WatchEvent.Type.PUT,
                new io.fjord.raft.kv.KeyValue(
                        ClusterState.BROKERS + id,
                        ClusterState.encodeBroker(
                                new ClusterState.BrokerInfo(id, "10.0.0." + id, 9092, "", "h", 1, ms)),
                        1,
                        1,
                        1)));
    }
}
