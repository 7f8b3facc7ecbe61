package io.fjord.storage;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class PartitionIdTest {
    @Test
    void shouldNameDirectoryTopicDashPartition() {
        assertThat(new PartitionId("orders", 7).dirName()).isEqualTo("orders-7");
        assertThat(new PartitionId("orders", 7)).hasToString("orders-7");
    }

    @ParameterizedTest
    @ValueSource(strings = {"orders", "a", "my-topic", "my-topic-3", "a.b_c-d", "..a", "-", "_", "123"})
    void shouldRoundTripDirectoryName(String topic) {
        for (int partition : new int[] {0, 1, 42, 999_999_999}) {
            PartitionId id = new PartitionId(topic, partition);

            assertThat(PartitionId.parseDirName(id.dirName())).isEqualTo(id);
        }
    }

    @Test
    void shouldTakeLastDashAsPartitionSeparator() {
        assertThat(PartitionId.parseDirName("topic--1")).isEqualTo(new PartitionId("topic-", 1));
        assertThat(PartitionId.parseDirName("a-b-c-12")).isEqualTo(new PartitionId("a-b-c", 12));
    }

    @Test
    void shouldRoundTripLongestLegalTopic() {
        PartitionId id = new PartitionId("t".repeat(249), 3);

        assertThat(PartitionId.parseDirName(id.dirName())).isEqualTo(id);
    }

    @ParameterizedTest
    @ValueSource(
            strings = {
                "",
                "nodash",
                "topic-",
                "-0",
                "topic-x",
                "topic-1a",
                "topic-+1",
                "topic- 1",
                "topic-1234567890",
                ".-0",
                "..-0",
                "bad/name-0",
                "bad name-0",
                "t.0.abcdef-delete",
                ".lock"
            })
    void shouldNotParseNamesThatAreNotPartitionDirectories(String name) {
        assertThat(PartitionId.parseDirName(name)).isNull();
    }

    @Test
    void shouldNotParseTopicLongerThanLegal() {
        assertThat(PartitionId.parseDirName("t".repeat(250) + "-0")).isNull();
    }

    @ParameterizedTest
    @ValueSource(strings = {"", ".", "..", "a/b", "a b", "ü", "a:b"})
    void shouldRejectIllegalTopic(String topic) {
        assertThat(PartitionId.isLegalTopic(topic)).isFalse();
        assertThatThrownBy(() -> new PartitionId(topic, 0)).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void shouldAcceptExactlyKafkasCharactersInTopicNames() {
        java.util.regex.Pattern kafka = java.util.regex.Pattern.compile("[a-zA-Z0-9._-]+");
        for (char c = 0; c < 0x3000; c++) {
            String name = "a" + c + "b";
            assertThat(PartitionId.isLegalTopic(name))
                    .as("topic name with U+%04X", (int) c)
                    .isEqualTo(kafka.matcher(name).matches());
        }
    }

    @Test
    void shouldRejectNullAndOverlongTopic() {
        assertThat(PartitionId.isLegalTopic(null)).isFalse();
        assertThat(PartitionId.isLegalTopic("t".repeat(249))).isTrue();
        assertThatThrownBy(() -> new PartitionId("t".repeat(250), 0)).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void shouldRejectNegativePartition() {
        assertThatThrownBy(() -> new PartitionId("orders", -1)).isInstanceOf(IllegalArgumentException.class);
    }
}
