package io.fjord.broker;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Path;
import java.util.Map;
import java.util.UUID;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class TopicRegistryTest {
    @TempDir
    Path metaDir;

    private static TopicInfo topic(String name, int partitions, Map<String, String> configs) {
        return new TopicInfo(name, UUID.randomUUID(), partitions, configs);
    }

    @Test
    void shouldStartEmpty() {
        TopicRegistry registry = TopicRegistry.open(metaDir);

        assertThat(registry.all()).isEmpty();
        assertThat(registry.get("orders")).isNull();
    }

    @Test
    void shouldCreateGetListUpdateAndDelete() {
        TopicRegistry registry = TopicRegistry.open(metaDir);
        TopicInfo orders = topic("orders", 3, Map.of("retention.ms", "1000"));
        TopicInfo audit = topic("audit", 1, Map.of());

        assertThat(registry.create(orders)).isTrue();
        assertThat(registry.create(audit)).isTrue();
        assertThat(registry.get("orders")).isEqualTo(orders);
        assertThat(registry.all()).containsOnlyKeys("orders", "audit");

        TopicInfo grown = new TopicInfo("orders", orders.id(), 5, Map.of("segment.bytes", "4096"));
        assertThat(registry.update(grown)).isTrue();
        assertThat(registry.get("orders")).isEqualTo(grown);

        assertThat(registry.delete("audit")).isEqualTo(audit);
        assertThat(registry.get("audit")).isNull();
        assertThat(registry.delete("audit")).isNull();
        assertThat(registry.all()).containsOnlyKeys("orders");
    }

    @Test
    void shouldKeepEverythingAcrossReopen() {
        TopicRegistry registry = TopicRegistry.open(metaDir);
        TopicInfo orders = topic("orders", 3, Map.of("retention.ms", "1000", "segment.bytes", "4096"));
        TopicInfo audit = topic("audit", 1, Map.of());
        TopicInfo gone = topic("gone", 2, Map.of());
        registry.create(orders);
        registry.create(audit);
        registry.create(gone);
        TopicInfo grown = new TopicInfo("audit", audit.id(), 4, Map.of("flush.ms", "10"));
        registry.update(grown);
        registry.delete("gone");

        TopicRegistry reopened = TopicRegistry.open(metaDir);

        assertThat(reopened.all()).containsOnlyKeys("orders", "audit");
        assertThat(reopened.get("orders")).isEqualTo(orders);
        assertThat(reopened.get("audit")).isEqualTo(grown);
    }

    @Test
    void shouldKeepConfigValuesWithSpacesAcrossReopen() {
        TopicRegistry registry = TopicRegistry.open(metaDir);
        TopicInfo t = topic("t", 1, Map.of("note", "a value  with spaces ", "empty", ""));
        registry.create(t);

        TopicInfo read = TopicRegistry.open(metaDir).get("t");

        assertThat(read.configs()).isEqualTo(t.configs());
    }

    @Test
    void shouldRefuseToCreateExistingName() {
        TopicRegistry registry = TopicRegistry.open(metaDir);
        TopicInfo first = topic("orders", 1, Map.of());
        registry.create(first);

        assertThat(registry.create(topic("orders", 7, Map.of()))).isFalse();
        assertThat(registry.get("orders")).isEqualTo(first);
        assertThat(TopicRegistry.open(metaDir).get("orders")).isEqualTo(first);
    }

    @Test
    void shouldRefuseUpdateWithDifferentIdOrUnknownName() {
        TopicRegistry registry = TopicRegistry.open(metaDir);
        TopicInfo orders = topic("orders", 1, Map.of());
        registry.create(orders);

        assertThat(registry.update(topic("orders", 2, Map.of()))).isFalse();
        assertThat(registry.update(topic("unknown", 2, Map.of()))).isFalse();
        assertThat(registry.get("orders")).isEqualTo(orders);
        assertThat(registry.get("unknown")).isNull();
    }

    @Test
    void shouldGiveReadersSnapshotsThatLaterChangesDoNotTouch() {
        TopicRegistry registry = TopicRegistry.open(metaDir);
        TopicInfo orders = topic("orders", 1, Map.of());
        registry.create(orders);
        Map<String, TopicInfo> before = registry.all();

        registry.create(topic("audit", 1, Map.of()));
        registry.update(new TopicInfo("orders", orders.id(), 9, Map.of()));
        registry.delete("orders");

        assertThat(before).containsExactly(Map.entry("orders", orders));
        assertThat(registry.all()).containsOnlyKeys("audit");
        assertThatThrownBy(() -> before.put("x", orders)).isInstanceOf(UnsupportedOperationException.class);
        assertThatThrownBy(() -> registry.all().remove("audit")).isInstanceOf(UnsupportedOperationException.class);
    }
}
