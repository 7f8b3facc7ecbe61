package io.fjord.broker;

import static org.assertj.core.api.Assertions.assertThat;

import io.fjord.raft.kv.KeyValue;
import io.fjord.raft.kv.WatchEvent;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

/**
 * Leases are judged by when this view hears from a node (its own monotonic clock), with the view's
 * clock stopped while it hears from nobody, and a fresh lease for everyone after a silence.
 */
class ClusterStateLeaseTest {
    private static final long LEASE = 6_000;

    private final AtomicLong now = new AtomicLong(1_000_000);
    private final ClusterState view = new ClusterState(LEASE / 2, now::get);

    private void heartbeat(int id, long carriedMs) {
        view.apply(new WatchEvent(
                WatchEvent.Type.PUT,
                new KeyValue(
                        ClusterState.BROKERS + id,
                        ClusterState.encodeBroker(
                                new ClusterState.BrokerInfo(id, "10.0.0." + id, 9092, "", "h", 1, carriedMs)),
                        1,
                        1,
                        1)));
    }

    /** Nodes 1..n heartbeat once a second from now for {@code seconds} seconds; node {@code silent} does not. */
    private void run(int n, int silent, int seconds) {
        for (int s = 0; s < seconds; s++) {
            now.addAndGet(1_000);
            for (int id = 1; id <= n; id++) {
                if (id != silent) {
                    heartbeat(id, now.get());
                }
            }
        }
    }

    private List<Integer> live() {
        return view.liveBrokers(LEASE).stream().map(ClusterState.BrokerInfo::id).toList();
    }

    @Test
    void aCurrentViewExpiresTheNodeThatStoppedHeartbeating() {
        run(3, 0, 3);
        run(3, 3, 6);
        assertThat(live()).as("silent for exactly a lease").containsExactly(1, 2, 3);
        run(3, 3, 1);
        assertThat(live()).containsExactly(1, 2);
        assertThat(view.silentMs(3)).isEqualTo(7_000);
    }

    @Test
    void aViewThatHearsFromNobodyExpiresNobody() {
        run(3, 0, 3);
        now.addAndGet(60_000); // cut off from the metadata group: nothing arrives for a minute
        assertThat(live()).containsExactly(1, 2, 3);
    }

    @Test
    void afterASilenceEveryLeaseRunsFromItsEnd() {
        run(3, 0, 3);
        now.addAndGet(10_000); // a metadata election: no heartbeat lands for 10 s
        heartbeat(2, now.get());
        assertThat(live())
                .as("nodes 1 and 3 get a lease from the end of the silence")
                .containsExactly(1, 2, 3);
        run(3, 1, 7);
        assertThat(live())
                .as("node 1 never heartbeat again: expired a lease later")
                .containsExactly(2, 3);
    }

    @Test
    void freshLeasesGiveEveryNodeALeaseFromNow() {
        run(3, 0, 3);
        run(3, 1, 4); // node 1's heartbeats are stuck on the old metadata leader
        view.freshLeases(); // a new leader
        run(3, 1, 5);
        assertThat(live())
                .as("node 1 silent 9 s, but only 5 s since the new leader")
                .containsExactly(1, 2, 3);
        run(3, 1, 2);
        assertThat(live()).containsExactly(2, 3);
    }

    @Test
    void aLateHeartbeatShowsTheNodeAliveWhateverTimeItCarries() {
        run(3, 0, 3);
        run(3, 3, 5);
        heartbeat(3, now.get() - 60_000); // sent long ago by its clock (skewed, or retried): heard now
        run(3, 3, 5);
        assertThat(live()).containsExactly(1, 2, 3);
    }

    @Test
    void aDeregisteredNodeIsNotLive() {
        run(3, 0, 3);
        view.apply(
                new WatchEvent(WatchEvent.Type.DELETE, new KeyValue(ClusterState.BROKERS + 2, new byte[0], 1, 2, 0)));
        assertThat(live()).containsExactly(1, 3);
        assertThat(view.silentMs(2)).isEqualTo(Long.MAX_VALUE);
    }
}
