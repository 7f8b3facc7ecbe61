package io.fjord.broker;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A start that fails part-way releases the data directory, so a corrected start can take it. */
class BrokerOpenFailureTest {
    @TempDir
    Path dir;

    @Test
    void shouldReleaseTheDataDirectoryWhenOpeningFails() throws Exception {
        Path meta = Files.createDirectories(dir.resolve(".meta"));
        Files.writeString(meta.resolve("producer-ids"), "not a number\n");
        ExecutorService owner = Executors.newSingleThreadExecutor();
        try {
            assertThatThrownBy(() -> Broker.open(BrokerConfig.defaults(dir, 0), List.of(owner)))
                    .hasMessageContaining("producer-ids");

            Files.writeString(meta.resolve("producer-ids"), "1000\n");
            Broker broker = Broker.open(BrokerConfig.defaults(dir, 0), List.of(owner));
            assertThat(broker.allocateProducerId()).isEqualTo(1000);
            owner.shutdown();
            assertThat(owner.awaitTermination(30, TimeUnit.SECONDS)).isTrue();
            broker.close();
        } finally {
            owner.shutdownNow();
        }
    }
}
