package io.fjord.broker;

import static org.assertj.core.api.Assertions.assertThat;

import io.fjord.storage.LogConfig;
import java.util.Map;
import org.junit.jupiter.api.Test;

class TopicConfigsTest {
    private static final LogConfig DEFAULTS = LogConfig.DEFAULT;

    @Test
    void shouldListEverySupportedConfigWithItsDefault() {
        LogConfig d = new LogConfig(4096, 60_000, 512, 3_600_000, 1_000_000, 2048, 10, 500);

        assertThat(TopicConfigs.defaults(d))
                .containsExactly(
                        Map.entry(TopicConfigs.CLEANUP_POLICY, "delete"),
                        Map.entry(TopicConfigs.RETENTION_MS, "3600000"),
                        Map.entry(TopicConfigs.RETENTION_BYTES, "1000000"),
                        Map.entry(TopicConfigs.SEGMENT_BYTES, "4096"),
                        Map.entry(TopicConfigs.SEGMENT_MS, "60000"),
                        Map.entry(TopicConfigs.MAX_MESSAGE_BYTES, "2048"),
                        Map.entry(TopicConfigs.INDEX_INTERVAL_BYTES, "512"),
                        Map.entry(TopicConfigs.FLUSH_MESSAGES, "10"),
                        Map.entry(TopicConfigs.FLUSH_MS, "500"),
                        Map.entry(TopicConfigs.MIN_CLEANABLE_DIRTY_RATIO, "0.5"),
                        Map.entry(TopicConfigs.MIN_COMPACTION_LAG_MS, "0"),
                        Map.entry(TopicConfigs.MAX_COMPACTION_LAG_MS, Long.toString(Long.MAX_VALUE)),
                        Map.entry(TopicConfigs.DELETE_RETENTION_MS, "86400000"),
                        Map.entry(TopicConfigs.MESSAGE_TIMESTAMP_TYPE, "CreateTime"));
    }

    @Test
    void shouldAcceptEmptyAndValidConfigs() {
        assertThat(TopicConfigs.validate(Map.of(), DEFAULTS)).isNull();
        assertThat(TopicConfigs.validate(TopicConfigs.defaults(DEFAULTS), DEFAULTS))
                .isNull();
        assertThat(TopicConfigs.validate(
                        Map.of(TopicConfigs.RETENTION_MS, " 1000 ", TopicConfigs.SEGMENT_BYTES, "1048576"), DEFAULTS))
                .isNull();
    }

    @Test
    void shouldRefuseNullValue() {
        Map<String, String> withNull = new java.util.HashMap<>();
        withNull.put(TopicConfigs.RETENTION_MS, null);

        assertThat(TopicConfigs.validate(withNull, DEFAULTS)).contains("retention.ms");
    }

    @Test
    void shouldRefuseUnknownKey() {
        assertThat(TopicConfigs.validate(Map.of("compression.type", "zstd"), DEFAULTS))
                .contains("compression.type")
                .contains("not supported");
    }

    @Test
    void shouldTakeTheCleanupPoliciesKafkaHasAndNothingElse() {
        for (String ok : new String[] {"delete", "compact", "compact,delete", "delete, compact"}) {
            assertThat(TopicConfigs.validate(Map.of(TopicConfigs.CLEANUP_POLICY, ok), DEFAULTS))
                    .as(ok)
                    .isNull();
        }
        for (String bad : new String[] {"", "shred", "compact,shred", ","}) {
            assertThat(TopicConfigs.validate(Map.of(TopicConfigs.CLEANUP_POLICY, bad), DEFAULTS))
                    .as(bad)
                    .contains("cleanup.policy must be delete, compact or compact,delete");
        }
        LogConfig.Cleanup both = TopicConfigs.toLogConfig(
                        Map.of(TopicConfigs.CLEANUP_POLICY, "compact,delete"), DEFAULTS)
                .cleanup();
        assertThat(both.compact()).isTrue();
        assertThat(both.delete()).isTrue();
        assertThat(TopicConfigs.isCompacted(Map.of(TopicConfigs.CLEANUP_POLICY, "compact")))
                .isTrue();
        assertThat(TopicConfigs.isCompacted(Map.of(TopicConfigs.CLEANUP_POLICY, "delete")))
                .isFalse();
        assertThat(TopicConfigs.isCompacted(Map.of())).isFalse();
    }

    @Test
    void shouldMapTheCompactionSettings() {
        LogConfig.Cleanup c = TopicConfigs.toLogConfig(
                        Map.of(
                                TopicConfigs.CLEANUP_POLICY, "compact",
                                TopicConfigs.MIN_CLEANABLE_DIRTY_RATIO, "0.25",
                                TopicConfigs.MIN_COMPACTION_LAG_MS, "10",
                                TopicConfigs.MAX_COMPACTION_LAG_MS, "20",
                                TopicConfigs.DELETE_RETENTION_MS, "30"),
                        DEFAULTS)
                .cleanup();
        assertThat(c).isEqualTo(new LogConfig.Cleanup(false, true, 0.25, 10, 20, 30));
        assertThat(TopicConfigs.validate(Map.of(TopicConfigs.MIN_CLEANABLE_DIRTY_RATIO, "1.5"), DEFAULTS))
                .contains("between 0 and 1");
        assertThat(TopicConfigs.validate(Map.of(TopicConfigs.MIN_CLEANABLE_DIRTY_RATIO, "half"), DEFAULTS))
                .contains("must be a number");
        assertThat(TopicConfigs.validate(
                        Map.of(TopicConfigs.MIN_COMPACTION_LAG_MS, "20", TopicConfigs.MAX_COMPACTION_LAG_MS, "10"),
                        DEFAULTS))
                .startsWith("invalid topic configs");
    }

    @Test
    void shouldTakeOnlyCreateTimeAsTheTimestampType() {
        assertThat(TopicConfigs.validate(Map.of(TopicConfigs.MESSAGE_TIMESTAMP_TYPE, "CreateTime"), DEFAULTS))
                .isNull();
        assertThat(TopicConfigs.validate(Map.of(TopicConfigs.MESSAGE_TIMESTAMP_TYPE, "LogAppendTime"), DEFAULTS))
                .contains("not supported")
                .contains("CreateTime");
    }

    @Test
    void shouldRefuseNegativeValues() {
        for (String key : TopicConfigs.defaults(DEFAULTS).keySet()) {
            if (key.equals(TopicConfigs.CLEANUP_POLICY)
                    || key.equals(TopicConfigs.MESSAGE_TIMESTAMP_TYPE)
                    || key.equals(TopicConfigs.MIN_CLEANABLE_DIRTY_RATIO)) {
                continue; // not numbers of that kind: tested on their own
            }
            assertThat(TopicConfigs.validate(Map.of(key, "-2"), DEFAULTS))
                    .as(key)
                    .contains(key)
                    .contains("must not be negative");
        }
    }

    @Test
    void shouldAllowMinusOneOnlyForRetention() {
        assertThat(TopicConfigs.validate(Map.of(TopicConfigs.RETENTION_MS, "-1"), DEFAULTS))
                .isNull();
        assertThat(TopicConfigs.validate(Map.of(TopicConfigs.RETENTION_BYTES, "-1"), DEFAULTS))
                .isNull();
        for (String key : new String[] {
            TopicConfigs.SEGMENT_BYTES,
            TopicConfigs.SEGMENT_MS,
            TopicConfigs.MAX_MESSAGE_BYTES,
            TopicConfigs.INDEX_INTERVAL_BYTES,
            TopicConfigs.FLUSH_MESSAGES,
            TopicConfigs.FLUSH_MS
        }) {
            assertThat(TopicConfigs.validate(Map.of(key, "-1"), DEFAULTS))
                    .as(key)
                    .contains("must not be negative");
        }
    }

    @Test
    void shouldRefuseNonNumbers() {
        assertThat(TopicConfigs.validate(Map.of(TopicConfigs.RETENTION_MS, "1d"), DEFAULTS))
                .contains("retention.ms")
                .contains("must be a number");
        assertThat(TopicConfigs.validate(Map.of(TopicConfigs.SEGMENT_BYTES, ""), DEFAULTS))
                .contains("must be a number");
        assertThat(TopicConfigs.validate(Map.of(TopicConfigs.FLUSH_MS, "1.5"), DEFAULTS))
                .contains("must be a number");
    }

    @Test
    void shouldRefuseSegmentBytesTooSmallOrOverIntRange() {
        assertThat(TopicConfigs.validate(
                        Map.of(TopicConfigs.SEGMENT_BYTES, Integer.toString(LogConfig.SEGMENT_BYTES_MIN - 1)),
                        DEFAULTS))
                .startsWith("invalid topic configs")
                .contains("segmentBytes");
        assertThat(TopicConfigs.validate(
                        Map.of(TopicConfigs.SEGMENT_BYTES, Long.toString(Integer.MAX_VALUE + 1L)), DEFAULTS))
                .startsWith("invalid topic configs");
        assertThat(TopicConfigs.validate(
                        Map.of(TopicConfigs.SEGMENT_BYTES, Integer.toString(LogConfig.SEGMENT_BYTES_MIN)), DEFAULTS))
                .isNull();
    }

    @Test
    void shouldRefuseValuesTheLogRefuses() {
        assertThat(TopicConfigs.validate(Map.of(TopicConfigs.SEGMENT_MS, "0"), DEFAULTS))
                .startsWith("invalid topic configs");
        assertThat(TopicConfigs.validate(Map.of(TopicConfigs.FLUSH_MESSAGES, "0"), DEFAULTS))
                .startsWith("invalid topic configs");
        assertThat(TopicConfigs.validate(Map.of(TopicConfigs.MAX_MESSAGE_BYTES, "10"), DEFAULTS))
                .startsWith("invalid topic configs");
    }

    @Test
    void shouldKeepDefaultsWhenNothingIsOverridden() {
        assertThat(TopicConfigs.toLogConfig(Map.of(), DEFAULTS)).isEqualTo(DEFAULTS);
        assertThat(TopicConfigs.toLogConfig(Map.of(TopicConfigs.CLEANUP_POLICY, "delete"), DEFAULTS))
                .isEqualTo(DEFAULTS);
    }

    @Test
    void shouldMapEveryKeyToTheLogConfig() {
        Map<String, String> configs = Map.of(
                TopicConfigs.RETENTION_MS, "11",
                TopicConfigs.RETENTION_BYTES, "12",
                TopicConfigs.SEGMENT_BYTES, "4096",
                TopicConfigs.SEGMENT_MS, "14",
                TopicConfigs.MAX_MESSAGE_BYTES, "1500",
                TopicConfigs.INDEX_INTERVAL_BYTES, "16",
                TopicConfigs.FLUSH_MESSAGES, "17",
                TopicConfigs.FLUSH_MS, " 18 ");

        LogConfig c = TopicConfigs.toLogConfig(configs, DEFAULTS);

        assertThat(c).isEqualTo(new LogConfig(4096, 14, 16, 11, 12, 1500, 17, 18));
    }

    @Test
    void shouldMapOneKeyLeavingTheOthersAtTheirDefault() {
        LogConfig c =
                TopicConfigs.toLogConfig(Map.of(TopicConfigs.RETENTION_BYTES, "-1"), DEFAULTS.withRetentionBytes(5));

        assertThat(c).isEqualTo(DEFAULTS);
    }
}
