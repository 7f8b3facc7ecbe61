package io.fjord.broker;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ProducerIdAllocatorTest {
    @TempDir
    Path metaDir;

    @Test
    void shouldHandOutUniqueIncreasingIdsAcrossBlocks() {
        ProducerIdAllocator ids = ProducerIdAllocator.open(metaDir);
        long previous = -1;
        int n = (int) (ProducerIdAllocator.BLOCK * 2 + 5);

        for (int i = 0; i < n; i++) {
            long id = ids.next();
            assertThat(id).isGreaterThan(previous);
            previous = id;
        }
        assertThat(previous).isEqualTo(n - 1);
    }

    @Test
    void shouldReserveBlockDurablyBeforeHandingOutItsFirstId() throws IOException {
        ProducerIdAllocator ids = ProducerIdAllocator.open(metaDir);

        assertThat(ids.next()).isZero();

        assertThat(Files.readString(metaDir.resolve("producer-ids"), StandardCharsets.UTF_8)
                        .trim())
                .isEqualTo(Long.toString(ProducerIdAllocator.BLOCK));
    }

    @Test
    void shouldNeverReuseIdsAcrossReopen() {
        Set<Long> seen = new HashSet<>();
        long lastBlockEnd = 0;
        for (int run = 0; run < 3; run++) {
            ProducerIdAllocator ids = ProducerIdAllocator.open(metaDir);
            long first = ids.next();
            assertThat(first).as("run %d", run).isGreaterThanOrEqualTo(lastBlockEnd);
            assertThat(seen.add(first)).isTrue();
            for (int i = 0; i < 10; i++) {
                assertThat(seen.add(ids.next())).isTrue();
            }
            // An unclean stop: the rest of the block is skipped, never handed out again.
            lastBlockEnd = first + ProducerIdAllocator.BLOCK;
        }
    }

    @Test
    void shouldRefuseUnreadableFile() throws IOException {
        Files.writeString(metaDir.resolve("producer-ids"), "not a number\n", StandardCharsets.UTF_8);

        assertThatThrownBy(() -> ProducerIdAllocator.open(metaDir))
                .isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("producer-ids");
    }
}
