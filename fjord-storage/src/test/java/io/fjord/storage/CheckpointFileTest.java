package io.fjord.storage;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class CheckpointFileTest {
    @TempDir
    Path dir;

    @Test
    void shouldReadBackWhatWasWritten() {
        Path path = dir.resolve("cp");

        CheckpointFile.write(path, 42L, -1L, Long.MAX_VALUE, Long.MIN_VALUE);

        assertThat(CheckpointFile.read(path)).containsExactly(42L, -1L, Long.MAX_VALUE, Long.MIN_VALUE);
    }

    @Test
    void shouldRoundTripNoValues() {
        Path path = dir.resolve("cp");

        CheckpointFile.write(path);

        assertThat(CheckpointFile.read(path)).isEmpty();
    }

    @Test
    void shouldRoundTripSixtyFourValuesAndRefuseMore() {
        Path path = dir.resolve("cp");
        long[] values = new long[64];
        Arrays.setAll(values, i -> i * 1_000_000_007L);

        CheckpointFile.write(path, values);

        assertThat(CheckpointFile.read(path)).containsExactly(values);
        assertThatThrownBy(() -> CheckpointFile.write(path, new long[65])).isInstanceOf(IllegalArgumentException.class);
        assertThat(CheckpointFile.read(path)).containsExactly(values);
    }

    @Test
    void shouldReplaceEarlierValuesAndLeaveNoTemporaryFile() throws Exception {
        Path path = dir.resolve("cp");

        CheckpointFile.write(path, 1L, 2L, 3L);
        CheckpointFile.write(path, 9L);

        assertThat(CheckpointFile.read(path)).containsExactly(9L);
        try (var files = Files.list(dir)) {
            assertThat(files).containsExactly(path);
        }
    }

    @Test
    void shouldReadMissingFileAsAbsent() {
        assertThat(CheckpointFile.read(dir.resolve("nope"))).isNull();
    }

    @Test
    void shouldReadShortFileAsAbsent() throws Exception {
        Path path = dir.resolve("cp");
        CheckpointFile.write(path, 7L, 8L);
        byte[] bytes = Files.readAllBytes(path);

        for (int len = 0; len < bytes.length; len++) {
            Files.write(path, Arrays.copyOf(bytes, len));
            assertThat(CheckpointFile.read(path)).as("first %d bytes", len).isNull();
        }
    }

    @Test
    void shouldReadFileWithTrailingBytesAsAbsent() throws Exception {
        Path path = dir.resolve("cp");
        CheckpointFile.write(path, 7L);
        byte[] bytes = Files.readAllBytes(path);

        Files.write(path, Arrays.copyOf(bytes, bytes.length + 8));

        assertThat(CheckpointFile.read(path)).isNull();
    }

    @Test
    void shouldReadAnyFlippedBitAsAbsent() throws Exception {
        Path path = dir.resolve("cp");
        CheckpointFile.write(path, 7L, 8L);
        byte[] good = Files.readAllBytes(path);

        for (int bit = 0; bit < good.length * 8; bit++) {
            byte[] bad = good.clone();
            bad[bit / 8] ^= (byte) (1 << (bit % 8));
            Files.write(path, bad);
            assertThat(CheckpointFile.read(path)).as("bit %d flipped", bit).isNull();
        }
    }

    @Test
    void shouldReadImplausibleCountAsAbsent() throws Exception {
        Path path = dir.resolve("cp");
        CheckpointFile.write(path, 7L);
        byte[] bytes = Files.readAllBytes(path);
        for (int count : new int[] {-1, 65, Integer.MAX_VALUE}) {
            java.nio.ByteBuffer.wrap(bytes).putInt(4, count);
            Files.write(path, bytes);
            assertThat(CheckpointFile.read(path)).as("count %d", count).isNull();
        }
    }

    @Test
    void shouldFailWithStorageExceptionWhenDirectoryIsMissing() {
        Path path = dir.resolve("missing").resolve("cp");

        assertThatThrownBy(() -> CheckpointFile.write(path, 1L))
                .isInstanceOfSatisfying(
                        StorageException.class, e -> assertThat(e.path()).isEqualTo(path));
    }
}
