package io.fjord.storage;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class LogManagerTest {
    private static final long T0 = 1_700_000_000_000L;
    private static final PartitionId ORDERS_0 = new PartitionId("orders", 0);
    private static final PartitionId ORDERS_1 = new PartitionId("orders", 1);
    private static final PartitionId CLICKS_7 = new PartitionId("clicks.v2", 7);

    @TempDir
    Path dataDir;

    private final List<LogManager> opened = new ArrayList<>();

    @AfterEach
    void closeAll() {
        opened.forEach(LogManager::close);
    }

    private LogManager open() {
        LogManager m = LogManager.open(dataDir, id -> LogConfig.DEFAULT, () -> T0);
        opened.add(m);
        return m;
    }

    private static void append(PartitionLog log, int records) {
        assertThat(log.append(TestBatches.batch(records, 10, T0))).isInstanceOf(AppendResult.Appended.class);
    }

    @Test
    void shouldCreateLogInPartitionDirectory() {
        LogManager m = open();

        PartitionLog log = m.getOrCreate(ORDERS_0, LogConfig.DEFAULT);

        assertThat(log.dir()).isEqualTo(dataDir.resolve("orders-0"));
        assertThat(m.getOrCreate(ORDERS_0, LogConfig.DEFAULT)).isSameAs(log);
        assertThat(m.get(ORDERS_0)).isSameAs(log);
        assertThat(m.get(ORDERS_1)).isNull();
        assertThat(m.logsById()).containsOnlyKeys(ORDERS_0);
    }

    @Test
    void shouldOpenExistingPartitionDirectoriesWithTheirData() {
        LogManager first = open();
        append(first.getOrCreate(ORDERS_0, LogConfig.DEFAULT), 3);
        append(first.getOrCreate(CLICKS_7, LogConfig.DEFAULT), 5);
        first.getOrCreate(ORDERS_1, LogConfig.DEFAULT);
        first.close();

        LogManager second = open();

        assertThat(second.logsById()).containsOnlyKeys(ORDERS_0, ORDERS_1, CLICKS_7);
        assertThat(second.get(ORDERS_0).highWatermark()).isEqualTo(3);
        assertThat(second.get(CLICKS_7).highWatermark()).isEqualTo(5);
        assertThat(second.get(ORDERS_1).highWatermark()).isZero();
    }

    @Test
    void shouldGiveEachPartitionItsOwnConfigAtOpen() {
        LogManager first = open();
        first.getOrCreate(ORDERS_0, LogConfig.DEFAULT);
        first.getOrCreate(CLICKS_7, LogConfig.DEFAULT);
        first.close();
        LogConfig small = LogConfig.DEFAULT.withSegmentBytes(4096);

        LogManager second =
                LogManager.open(dataDir, id -> id.topic().equals("orders") ? small : LogConfig.DEFAULT, () -> T0);
        opened.add(second);

        assertThat(second.get(ORDERS_0).config()).isEqualTo(small);
        assertThat(second.get(CLICKS_7).config()).isEqualTo(LogConfig.DEFAULT);
    }

    @Test
    void shouldIgnoreDirectoriesAndFilesThatAreNotPartitions() throws Exception {
        Files.createDirectories(dataDir.resolve("not a partition"));
        Files.createDirectories(dataDir.resolve("lost+found"));
        Files.writeString(dataDir.resolve("orders-3"), "a file, not a directory");

        LogManager m = open();

        assertThat(m.logs()).isEmpty();
        assertThat(dataDir.resolve("not a partition")).isDirectory();
    }

    @Test
    void shouldDeletePartitionAndItsFiles() throws Exception {
        LogManager m = open();
        append(m.getOrCreate(ORDERS_0, LogConfig.DEFAULT), 3);
        m.getOrCreate(ORDERS_1, LogConfig.DEFAULT);

        assertThat(m.delete(ORDERS_0)).isTrue();
        assertThat(m.delete(ORDERS_0)).isFalse();

        assertThat(m.get(ORDERS_0)).isNull();
        assertThat(m.logsById()).containsOnlyKeys(ORDERS_1);
        try (var entries = Files.list(dataDir)) {
            assertThat(entries.map(p -> p.getFileName().toString())).containsExactlyInAnyOrder(".lock", "orders-1");
        }
        PartitionLog fresh = m.getOrCreate(ORDERS_0, LogConfig.DEFAULT);
        assertThat(fresh.highWatermark()).as("a new, empty log").isZero();
    }

    @Test
    void shouldRemoveLeftoverDeleteDirectoriesAtOpen() throws Exception {
        Path leftover = dataDir.resolve("orders-0.0123456789abcdef-delete");
        Files.createDirectories(leftover.resolve("nested"));
        Files.writeString(leftover.resolve("00000000000000000000.log"), "x");
        Files.writeString(leftover.resolve("nested").resolve("f"), "y");

        LogManager m = open();

        assertThat(leftover).doesNotExist();
        assertThat(m.logs()).isEmpty();
    }

    @Test
    void shouldRefuseSecondManagerOnSameDirectoryInSameJvm() {
        LogManager first = open();

        assertThatThrownBy(this::open)
                .isInstanceOfSatisfying(
                        DataDirLockedException.class,
                        e -> assertThat(e.path()).isEqualTo(dataDir.resolve(LogManager.LOCK_FILE)));

        assertThat(first.getOrCreate(ORDERS_0, LogConfig.DEFAULT)).isNotNull();
    }

    @Test
    void shouldRefuseManagerInAnotherProcessWhileLocked() throws Exception {
        open();

        assertThat(probeInChildProcess()).isEqualTo("LOCKED");
    }

    @Test
    void shouldStillBeLockedForOtherProcessesAfterFailedOpenInSameJvm() throws Exception {
        open();
        assertThatThrownBy(this::open).isInstanceOf(DataDirLockedException.class);

        assertThat(probeInChildProcess()).isEqualTo("LOCKED");
    }

    @Test
    void shouldAllowNewManagerAfterClose() throws Exception {
        LogManager first = open();
        first.getOrCreate(ORDERS_0, LogConfig.DEFAULT);
        first.close();
        first.close(); // harmless

        assertThat(probeInChildProcess()).isEqualTo("OPENED 1");
        LogManager second = open();
        assertThat(second.get(ORDERS_0)).isNotNull();
    }

    @Test
    void shouldCloseLogsCleanlySoNextOpenScansNothing() {
        LogManager first = open();
        PartitionLog log = first.getOrCreate(ORDERS_0, LogConfig.DEFAULT);
        append(log, 4);
        first.close();

        assertThat(dataDir.resolve("orders-0").resolve(PartitionLog.CLEAN_SHUTDOWN_FILE))
                .exists();
        assertThatThrownBy(() -> log.append(TestBatches.batch(1, 1, T0))).isInstanceOf(IllegalStateException.class);
        assertThatThrownBy(() -> first.getOrCreate(ORDERS_1, LogConfig.DEFAULT))
                .isInstanceOf(IllegalStateException.class);

        LogManager second = open();
        PartitionLog reopened = second.get(ORDERS_0);
        assertThat(reopened.recoveredCleanly()).isTrue();
        assertThat(reopened.recoveryBytesScanned()).isZero();
        assertThat(reopened.highWatermark()).isEqualTo(4);
    }

    /** Runs {@link LockProbeMain} in a child JVM on the data directory and returns what it printed. */
    private String probeInChildProcess() throws IOException, InterruptedException {
        Path java = Path.of(System.getProperty("java.home"), "bin", "java");
        ProcessBuilder pb = new ProcessBuilder(
                        java.toString(),
                        "-cp",
                        System.getProperty("java.class.path"),
                        "-Dorg.slf4j.simpleLogger.defaultLogLevel=warn",
                        LockProbeMain.class.getName(),
                        dataDir.toString())
                .redirectErrorStream(true);
        Process p = pb.start();
        try {
            assertThat(p.waitFor(30, TimeUnit.SECONDS)).as("child JVM finished").isTrue();
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            assertThat(p.exitValue()).as("child output: %s", out).isZero();
            return out.lines()
                    .filter(l -> l.startsWith("OPENED") || l.startsWith("LOCKED") || l.startsWith("FAILED"))
                    .findFirst()
                    .orElse("no outcome in: " + out);
        } finally {
            p.destroyForcibly();
        }
    }
}
