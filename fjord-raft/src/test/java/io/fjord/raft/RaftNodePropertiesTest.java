package io.fjord.raft;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Path;
import java.util.List;
import java.util.Properties;
import java.util.concurrent.TimeUnit;
import org.apache.ratis.conf.RaftProperties;
import org.apache.ratis.server.RaftServerConfigKeys;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class RaftNodePropertiesTest {

    @TempDir
    Path dir;

    @Test
    void shouldLetFjordRatisPropertiesOverrideFjordsOwnRatisSettings() {
        RaftProperties p = RaftNode.properties(
                RaftNodeConfig.of(1, "127.0.0.1", 19999, dir, List.of(new RaftPeerSpec(1, "127.0.0.1", 19999))));
        assertThat(RaftServerConfigKeys.Log.Appender.installSnapshotEnabled(p)).isFalse();

        Properties source = new Properties();
        source.setProperty("fjord.ratis.raft.server.log.appender.wait-time.min", "0ms");
        source.setProperty("fjord.ratis.raft.server.log.appender.install.snapshot.enabled", "true");
        source.setProperty("fjord.ratis.", "ignored: no key");
        source.setProperty("fjord.transport", "ignored: not a Ratis key");
        RaftNode.applyOverrides(p, source);

        assertThat(RaftServerConfigKeys.Log.Appender.waitTimeMin(p).toLong(TimeUnit.MILLISECONDS))
                .isZero();
        assertThat(RaftServerConfigKeys.Log.Appender.installSnapshotEnabled(p)).isTrue();
        assertThat(p.get("transport")).isNull();
        assertThat(p.get("")).isNull();
    }

    @Test
    void shouldTakeOneEntryInFlightUnlessToldOtherwiseAndRefuseLessThanOne() {
        assertThat(RaftNode.entriesInFlight(null)).isEqualTo(1);
        assertThat(RaftNode.entriesInFlight(" ")).isEqualTo(1);
        assertThat(RaftNode.entriesInFlight(" 4 ")).isEqualTo(4);
        assertThatThrownBy(() -> RaftNode.entriesInFlight("0"))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("fjord.raft.entries.in.flight");
        assertThatThrownBy(() -> RaftNode.entriesInFlight("many"))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("fjord.raft.entries.in.flight");
    }
}
