package io.fjord.broker;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.fjord.storage.LogConfig;
import io.fjord.storage.PartitionId;
import io.fjord.storage.PartitionLog;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class LocalReplicaTest {
    private static final long WAIT_S = 10;
    private static final PartitionId ID = new PartitionId("orders", 0);
    private static final LogConfig CONFIG = LogConfig.DEFAULT.withSegmentBytes(64 * 1024);
    private static final long PID = 1000;
    private static final short EPOCH = 0;

    @TempDir
    Path dir;

    private ExecutorService owner;
    private PartitionLog partitionLog;
    private LocalReplica replica;

    @BeforeEach
    void setUp() {
        owner = Executors.newSingleThreadExecutor(r -> new Thread(r, "test-partition-owner"));
        open(CONFIG);
    }

    @AfterEach
    void tearDown() throws Exception {
        onOwner(() -> {
            partitionLog.close();
            return null;
        });
        owner.shutdown();
        assertThat(owner.awaitTermination(WAIT_S, TimeUnit.SECONDS)).isTrue();
    }

    private void open(LogConfig config) {
        partitionLog = PartitionLog.open(dir, config, System::currentTimeMillis);
        replica = new LocalReplica(ID, partitionLog, owner);
    }

    /** Closes the replica the way the broker does at shutdown (snapshot, then the log), and opens it again. */
    private void reopen(boolean snapshotAtClose) throws Exception {
        onOwner(() -> {
            if (snapshotAtClose) {
                replica.closeOnOwner();
            }
            partitionLog.close();
            return null;
        });
        open(CONFIG);
    }

    private <T> T onOwner(Callable<T> task) throws Exception {
        return owner.submit(task).get(WAIT_S, TimeUnit.SECONDS);
    }

    /** As the group does it: under the owner, then the snapshot file outside it. */
    private void housekeeping() throws Exception {
        LocalReplica.ProducerSnapshot s = onOwner(() -> replica.housekeeping(System.currentTimeMillis()));
        if (s != null) {
            replica.writeProducerSnapshot(s);
        }
    }

    private AppendOutcome append(ByteBuffer batch) throws Exception {
        return replica.append(batch).get(WAIT_S, TimeUnit.SECONDS);
    }

    private AppendOutcome.Appended appended(ByteBuffer batch) throws Exception {
        AppendOutcome outcome = append(batch);
        assertThat(outcome).isInstanceOf(AppendOutcome.Appended.class);
        return (AppendOutcome.Appended) outcome;
    }

    private Path snapshotFile() {
        return dir.resolve(ProducerStateTable.SNAPSHOT_FILE);
    }

    @Test
    void shouldAppendOnOwnerAndReturnOffsets() throws Exception {
        assertThat(append(TestBatches.plain(3))).isEqualTo(new AppendOutcome.Appended(0, 2, 0, false));
        assertThat(append(TestBatches.plain(2))).isEqualTo(new AppendOutcome.Appended(3, 4, 0, false));

        assertThat(replica.highWatermark()).isEqualTo(5);
        assertThat(replica.logStartOffset()).isZero();
        assertThat(replica.id()).isEqualTo(ID);
        assertThat(replica.leaderEpoch()).isZero();
    }

    @Test
    void shouldAnswerRetriedBatchWithOriginalOffsetsAndAppendNothing() throws Exception {
        appended(TestBatches.plain(1));
        AppendOutcome.Appended first = appended(TestBatches.idempotent(PID, EPOCH, 0, 3));
        appended(TestBatches.idempotent(PID, EPOCH, 3, 2));
        long hw = replica.highWatermark();

        AppendOutcome retry = append(TestBatches.idempotent(PID, EPOCH, 0, 3));

        assertThat(retry).isEqualTo(new AppendOutcome.Appended(1, 3, 0, true));
        assertThat(first).isEqualTo(new AppendOutcome.Appended(1, 3, 0, false));
        assertThat(replica.highWatermark()).isEqualTo(hw);
    }

    @Test
    void shouldRefuseSequenceGapAndOlderEpoch() throws Exception {
        appended(TestBatches.idempotent(PID, (short) 2, 0, 3));

        AppendOutcome gap = append(TestBatches.idempotent(PID, (short) 2, 5, 1));
        AppendOutcome fenced = append(TestBatches.idempotent(PID, (short) 1, 3, 1));

        assertThat(gap).isInstanceOf(AppendOutcome.Failed.class);
        assertThat(((AppendOutcome.Failed) gap).error()).isEqualTo(ProduceError.OUT_OF_ORDER_SEQUENCE_NUMBER);
        assertThat(fenced).isInstanceOf(AppendOutcome.Failed.class);
        assertThat(((AppendOutcome.Failed) fenced).error()).isEqualTo(ProduceError.INVALID_PRODUCER_EPOCH);
        assertThat(replica.highWatermark()).isEqualTo(3);
    }

    @Test
    void shouldMapBadCrcToCorruptMessage() throws Exception {
        ByteBuffer batch = TestBatches.idempotent(PID, EPOCH, 0, 2);
        int lastByte = batch.limit() - 1;
        batch.put(lastByte, (byte) (batch.get(lastByte) ^ 0x5A));

        AppendOutcome outcome = append(batch);

        assertThat(outcome).isInstanceOf(AppendOutcome.Failed.class);
        assertThat(((AppendOutcome.Failed) outcome).error()).isEqualTo(ProduceError.CORRUPT_MESSAGE);
        assertThat(replica.highWatermark()).isZero();
        // Nothing was recorded for the producer either: the same sequence goes through afterwards.
        assertThat(append(TestBatches.idempotent(PID, EPOCH, 0, 2)))
                .isEqualTo(new AppendOutcome.Appended(0, 1, 0, false));
    }

    @Test
    void shouldMapTooLargeBatchToMessageTooLarge() throws Exception {
        onOwner(() -> {
            partitionLog.close();
            return null;
        });
        open(CONFIG.withMaxBatchBytes(200));

        AppendOutcome outcome = append(TestBatches.plain(50));

        assertThat(outcome).isInstanceOf(AppendOutcome.Failed.class);
        assertThat(((AppendOutcome.Failed) outcome).error()).isEqualTo(ProduceError.MESSAGE_TOO_LARGE);
        assertThat(replica.highWatermark()).isZero();
    }

    @Test
    void shouldMapBadMagicAndCountToTheirErrors() throws Exception {
        ByteBuffer badMagic = TestBatches.plain(1);
        badMagic.put(16, (byte) 1);
        ByteBuffer badCount = TestBatches.plain(2);
        badCount.putInt(57, 3);

        assertThat(((AppendOutcome.Failed) append(badMagic)).error())
                .isEqualTo(ProduceError.UNSUPPORTED_FOR_MESSAGE_FORMAT);
        assertThat(append(badCount)).isInstanceOf(AppendOutcome.Failed.class);
    }

    @Test
    void shouldRunNextAppendListenerOnceAfterTheNextAppend() throws Exception {
        AtomicInteger runs = new AtomicInteger();
        AtomicInteger hwSeen = new AtomicInteger(-1);
        replica.onNextAppend(() -> {
            runs.incrementAndGet();
            hwSeen.set((int) replica.highWatermark());
        });
        assertThat(runs).hasValue(0);

        appended(TestBatches.plain(2));
        appended(TestBatches.plain(1));

        assertThat(runs).hasValue(1);
        assertThat(hwSeen).hasValue(2);
    }

    @Test
    void shouldNotRunCancelledListener() throws Exception {
        AtomicInteger cancelled = new AtomicInteger();
        AtomicInteger kept = new AtomicInteger();
        Runnable cancel = replica.onNextAppend(cancelled::incrementAndGet);
        replica.onNextAppend(kept::incrementAndGet);

        cancel.run();
        appended(TestBatches.plain(1));

        assertThat(cancelled).hasValue(0);
        assertThat(kept).hasValue(1);
        cancel.run(); // a no-op once gone
    }

    @Test
    void shouldNotRunListenerOnRefusedAppend() throws Exception {
        AtomicInteger runs = new AtomicInteger();
        replica.onNextAppend(runs::incrementAndGet);
        ByteBuffer bad = TestBatches.plain(1);
        bad.put(bad.limit() - 1, (byte) 0x7F);

        append(bad);

        assertThat(runs).hasValue(0);
    }

    @Test
    void shouldRefuseDeleteRecordsAboveHighWatermark() throws Exception {
        appended(TestBatches.plain(5));

        assertThatThrownBy(() -> replica.deleteRecordsBefore(6).get(WAIT_S, TimeUnit.SECONDS))
                .isInstanceOf(ExecutionException.class)
                .cause()
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("high watermark 5");
        assertThat(replica.logStartOffset()).isZero();
    }

    @Test
    void shouldDeleteRecordsBeforeOffsetOrHighWatermark() throws Exception {
        appended(TestBatches.plain(5));

        assertThat(replica.deleteRecordsBefore(2).get(WAIT_S, TimeUnit.SECONDS)).isEqualTo(2);
        assertThat(replica.logStartOffset()).isEqualTo(2);

        appended(TestBatches.plain(3));
        assertThat(replica.deleteRecordsBefore(-1).get(WAIT_S, TimeUnit.SECONDS))
                .isEqualTo(8);
        assertThat(replica.logStartOffset()).isEqualTo(8);
        assertThat(append(TestBatches.plain(1))).isEqualTo(new AppendOutcome.Appended(8, 8, 8, false));
    }

    @Test
    void shouldKeepProducerStateAcrossCleanReopen() throws Exception {
        AppendOutcome.Appended original = appended(TestBatches.idempotent(PID, EPOCH, 0, 4));
        appended(TestBatches.idempotent(PID, EPOCH, 4, 1));

        reopen(true);

        assertThat(Files.readString(snapshotFile(), StandardCharsets.UTF_8)).startsWith("offset 5\n");
        assertThat(append(TestBatches.idempotent(PID, EPOCH, 0, 4)))
                .isEqualTo(new AppendOutcome.Appended(original.baseOffset(), original.lastOffset(), 0, true));
        assertThat(((AppendOutcome.Failed) append(TestBatches.idempotent(PID, EPOCH, 9, 1))).error())
                .isEqualTo(ProduceError.OUT_OF_ORDER_SEQUENCE_NUMBER);
        assertThat(append(TestBatches.idempotent(PID, EPOCH, 5, 1)))
                .isEqualTo(new AppendOutcome.Appended(5, 5, 0, false));
    }

    @Test
    void shouldRebuildProducerStateFromLogWhenSnapshotIsMissing() throws Exception {
        appended(TestBatches.plain(2));
        AppendOutcome.Appended original = appended(TestBatches.idempotent(PID, EPOCH, 0, 3));
        appended(TestBatches.idempotent(PID + 1, (short) 4, 10, 2));
        reopen(true);
        Files.delete(snapshotFile());
        onOwner(() -> {
            partitionLog.close();
            return null;
        });

        open(CONFIG);

        assertThat(append(TestBatches.idempotent(PID, EPOCH, 0, 3)))
                .isEqualTo(new AppendOutcome.Appended(original.baseOffset(), original.lastOffset(), 0, true));
        assertThat(((AppendOutcome.Failed) append(TestBatches.idempotent(PID + 1, (short) 3, 12, 1))).error())
                .isEqualTo(ProduceError.INVALID_PRODUCER_EPOCH);
        assertThat(replica.highWatermark()).isEqualTo(7);
    }

    @Test
    void shouldReplayLogAfterStaleSnapshot() throws Exception {
        appended(TestBatches.idempotent(PID, EPOCH, 0, 2));
        housekeeping();
        AppendOutcome.Appended later = appended(TestBatches.idempotent(PID, EPOCH, 2, 2));

        reopen(false); // the snapshot on disk covers offsets below 2 only

        assertThat(Files.readString(snapshotFile(), StandardCharsets.UTF_8)).startsWith("offset 2\n");
        assertThat(append(TestBatches.idempotent(PID, EPOCH, 2, 2)))
                .isEqualTo(new AppendOutcome.Appended(later.baseOffset(), later.lastOffset(), 0, true));
        assertThat(append(TestBatches.idempotent(PID, EPOCH, 0, 2)))
                .isEqualTo(new AppendOutcome.Appended(0, 1, 0, true));
    }

    @Test
    void shouldWriteSnapshotInHousekeepingOnlyWhenStateChanged() throws Exception {
        housekeeping();
        assertThat(snapshotFile()).doesNotExist();

        appended(TestBatches.idempotent(PID, EPOCH, 0, 3));
        housekeeping();
        assertThat(Files.readAllLines(snapshotFile(), StandardCharsets.UTF_8))
                .containsExactly("offset 3", PID + " " + EPOCH + " 0 2 0 2");

        Files.delete(snapshotFile());
        appended(TestBatches.plain(1)); // no producer: nothing to snapshot
        housekeeping();
        assertThat(snapshotFile()).doesNotExist();
    }

    @Test
    void shouldRefuseAppendsAndWakeListenersOnceClosed() throws Exception {
        AtomicInteger runs = new AtomicInteger();
        replica.onNextAppend(runs::incrementAndGet);

        onOwner(() -> {
            replica.closeOnOwner();
            return null;
        });

        assertThat(runs).hasValue(1);
        replica.onNextAppend(runs::incrementAndGet);
        assertThat(runs).hasValue(2);
        AppendOutcome outcome = append(TestBatches.plain(1));
        assertThat(outcome).isInstanceOf(AppendOutcome.Failed.class);
        assertThat(((AppendOutcome.Failed) outcome).error()).isEqualTo(ProduceError.NOT_LEADER_OR_FOLLOWER);
    }

    @Test
    void shouldAnswerNotLeaderWhenOwnerIsStopped() throws Exception {
        ExecutorService stopped = Executors.newSingleThreadExecutor();
        stopped.shutdown();
        LocalReplica orphan = new LocalReplica(ID, partitionLog, stopped);

        Future<AppendOutcome> outcome = orphan.append(TestBatches.plain(1));

        assertThat(outcome.get(WAIT_S, TimeUnit.SECONDS))
                .isInstanceOf(AppendOutcome.Failed.class)
                .extracting(o -> ((AppendOutcome.Failed) o).error())
                .isEqualTo(ProduceError.NOT_LEADER_OR_FOLLOWER);
        assertThatThrownBy(() -> orphan.deleteRecordsBefore(0).get(WAIT_S, TimeUnit.SECONDS))
                .isInstanceOf(ExecutionException.class);
    }
}
