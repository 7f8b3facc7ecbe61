package io.fjord.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.fjord.broker.ClusterConfig;
import io.fjord.raft.RaftNodeConfig;
import java.util.List;
import java.util.Properties;
import org.junit.jupiter.api.Test;

class ServerCommandTest {

    @Test
    void raftLogSettingsComeFromTheConfigFileOrKeepTheDefaults() {
        ClusterConfig none = ServerCommand.raftLogSettings(ClusterConfig.DEFAULT, new Properties());
        assertThat(none.raftSnapshotThreshold()).isEqualTo(RaftNodeConfig.DEFAULT_SNAPSHOT_THRESHOLD);
        assertThat(none.raftLogSegmentBytes()).isEqualTo(RaftNodeConfig.DEFAULT_LOG_SEGMENT_BYTES);

        Properties p = new Properties();
        p.setProperty("raft.snapshot.entries", "1000");
        p.setProperty("raft.log.segment.bytes", " 1048576");
        ClusterConfig set = ServerCommand.raftLogSettings(ClusterConfig.DEFAULT.withGroupsPerNode(3), p);
        assertThat(set.raftSnapshotThreshold()).isEqualTo(1000);
        assertThat(set.raftLogSegmentBytes()).isEqualTo(1 << 20);
        assertThat(set.groupsPerNode()).as("other settings kept").isEqualTo(3);
    }

    @Test
    void shouldRefuseAWildcardOrEmptyHostAndTakeAnAddress() {
        assertThat(ServerCommand.refusedHost("0.0.0.0")).contains("every address");
        assertThat(ServerCommand.refusedHost("::")).contains("every address");
        assertThat(ServerCommand.refusedHost(" ")).contains("empty");
        assertThat(ServerCommand.refusedHost("10.1.2.3")).isNull();
        assertThat(ServerCommand.refusedHost("broker-1.example")).isNull();
    }

    @Test
    void shouldMarkOnlyTheAotCacheOutputItWasGiven(@org.junit.jupiter.api.io.TempDir java.nio.file.Path dir) {
        java.nio.file.Path output = dir.resolve("fjord-server.aot.123.tmp");
        ServerCommand.markAotTrainingServed(List.of("-Xmx1g", "-XX:AOTCacheOutput=" + output, "-Dx=y"));
        assertThat(dir.resolve("fjord-server.aot.123.tmp.served")).exists();
        ServerCommand.markAotTrainingServed(List.of("-Xmx1g"));
        assertThat(dir.toFile().list()).containsExactly("fjord-server.aot.123.tmp.served");
    }

    @Test
    void raftLogSettingsRefuseValuesRatisCannotWorkWith() {
        Properties small = new Properties();
        small.setProperty("raft.log.segment.bytes", "4096");
        assertThatThrownBy(() -> ServerCommand.raftLogSettings(ClusterConfig.DEFAULT, small))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("raft.log.segment.bytes");
        Properties zero = new Properties();
        zero.setProperty("raft.snapshot.entries", "0");
        assertThatThrownBy(() -> ServerCommand.raftLogSettings(ClusterConfig.DEFAULT, zero))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("raft.snapshot.entries");
    }
}
