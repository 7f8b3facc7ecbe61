package io.fjord.broker;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ProducerStateTableTest {
    private static final long PID = 42;
    private static final short EPOCH = 3;

    private final ProducerStateTable table = new ProducerStateTable();

    /** Records batches of {@code size} sequences each, from sequence 0, at offsets 100, 110, ... */
    private void appendBatches(int count, int size) {
        for (int i = 0; i < count; i++) {
            int first = i * size;
            table.update(PID, EPOCH, first, first + size - 1, 100L + 10L * i, 100L + 10L * i + size - 1);
        }
    }

    @Test
    void shouldAcceptUnknownProducerAtAnySequence() {
        assertThat(table.check(PID, EPOCH, 0, 0)).isInstanceOf(ProducerStateTable.Ok.class);
        assertThat(table.check(PID, EPOCH, 12_345, 12_349)).isInstanceOf(ProducerStateTable.Ok.class);
        assertThat(table.check(PID, (short) 0, Integer.MAX_VALUE, 0)).isInstanceOf(ProducerStateTable.Ok.class);
    }

    @Test
    void shouldAcceptSequencesInOrder() {
        table.update(PID, EPOCH, 7, 9, 0, 2);
        assertThat(table.check(PID, EPOCH, 10, 14)).isInstanceOf(ProducerStateTable.Ok.class);
        table.update(PID, EPOCH, 10, 14, 3, 7);
        assertThat(table.check(PID, EPOCH, 15, 15)).isInstanceOf(ProducerStateTable.Ok.class);
        assertThat(table.size()).isEqualTo(1);
    }

    @Test
    void shouldAnswerEachOfTheLastFiveBatchesAsDuplicateWithItsOriginalOffsets() {
        appendBatches(ProducerStateTable.BATCHES_KEPT, 3);

        for (int i = 0; i < ProducerStateTable.BATCHES_KEPT; i++) {
            int first = i * 3;
            ProducerStateTable.Check c = table.check(PID, EPOCH, first, first + 2);
            assertThat(c)
                    .as("batch %d", i)
                    .isEqualTo(new ProducerStateTable.Duplicate(
                            new ProducerStateTable.BatchMeta(first, first + 2, 100L + 10L * i, 100L + 10L * i + 2)));
        }
    }

    @Test
    void shouldForgetTheSixthOldestBatchSoItsRetryIsOutOfOrder() {
        appendBatches(ProducerStateTable.BATCHES_KEPT + 1, 3);

        ProducerStateTable.Check oldest = table.check(PID, EPOCH, 0, 2);
        assertThat(oldest).isInstanceOf(ProducerStateTable.Refused.class);
        assertThat(((ProducerStateTable.Refused) oldest).error()).isEqualTo(ProduceError.OUT_OF_ORDER_SEQUENCE_NUMBER);
        assertThat(table.check(PID, EPOCH, 3, 5)).isInstanceOf(ProducerStateTable.Duplicate.class);
    }

    @Test
    void shouldRefuseSequenceGapAsOutOfOrder() {
        table.update(PID, EPOCH, 0, 4, 0, 4);

        ProducerStateTable.Check c = table.check(PID, EPOCH, 6, 8);

        assertThat(c).isInstanceOf(ProducerStateTable.Refused.class);
        ProducerStateTable.Refused r = (ProducerStateTable.Refused) c;
        assertThat(r.error()).isEqualTo(ProduceError.OUT_OF_ORDER_SEQUENCE_NUMBER);
        assertThat(r.message()).contains("expected 5");
    }

    @Test
    void shouldRefuseOverlappingRangeThatIsNotAnExactDuplicate() {
        table.update(PID, EPOCH, 0, 4, 0, 4);

        ProducerStateTable.Check c = table.check(PID, EPOCH, 0, 2);

        assertThat(c).isInstanceOf(ProducerStateTable.Refused.class);
        assertThat(((ProducerStateTable.Refused) c).error()).isEqualTo(ProduceError.OUT_OF_ORDER_SEQUENCE_NUMBER);
    }

    @Test
    void shouldFenceOlderEpoch() {
        table.update(PID, EPOCH, 0, 0, 0, 0);

        ProducerStateTable.Check c = table.check(PID, (short) (EPOCH - 1), 1, 1);

        assertThat(c).isInstanceOf(ProducerStateTable.Refused.class);
        assertThat(((ProducerStateTable.Refused) c).error()).isEqualTo(ProduceError.INVALID_PRODUCER_EPOCH);
    }

    @Test
    void shouldRequireNewerEpochToStartAtSequenceZero() {
        table.update(PID, EPOCH, 0, 9, 0, 9);
        short newer = (short) (EPOCH + 1);

        ProducerStateTable.Check notZero = table.check(PID, newer, 10, 10);
        assertThat(notZero).isInstanceOf(ProducerStateTable.Refused.class);
        assertThat(((ProducerStateTable.Refused) notZero).error()).isEqualTo(ProduceError.OUT_OF_ORDER_SEQUENCE_NUMBER);

        assertThat(table.check(PID, newer, 0, 0)).isInstanceOf(ProducerStateTable.Ok.class);
        table.update(PID, newer, 0, 0, 10, 10);
        // The new epoch replaces the old one: its batches are no longer duplicates.
        assertThat(table.check(PID, newer, 0, 9)).isInstanceOf(ProducerStateTable.Refused.class);
        assertThat(table.check(PID, EPOCH, 10, 10)).isInstanceOf(ProducerStateTable.Refused.class);
    }

    @Test
    void shouldWrapSequenceAtIntegerMaxValue() {
        assertThat(ProducerStateTable.nextSequence(Integer.MAX_VALUE)).isZero();
        assertThat(ProducerStateTable.nextSequence(41)).isEqualTo(42);
        assertThat(ProducerStateTable.lastSequence(Integer.MAX_VALUE, 1)).isEqualTo(Integer.MAX_VALUE);
        assertThat(ProducerStateTable.lastSequence(Integer.MAX_VALUE, 2)).isZero();
        assertThat(ProducerStateTable.lastSequence(Integer.MAX_VALUE - 1, 5)).isEqualTo(2);
        assertThat(ProducerStateTable.lastSequence(10, 5)).isEqualTo(14);

        int first = Integer.MAX_VALUE - 1;
        int last = ProducerStateTable.lastSequence(first, 3);
        table.update(PID, EPOCH, first, last, 0, 2);
        assertThat(table.check(PID, EPOCH, 1, 1)).isInstanceOf(ProducerStateTable.Ok.class);
        assertThat(table.check(PID, EPOCH, first, last)).isInstanceOf(ProducerStateTable.Duplicate.class);
    }

    @Test
    void shouldDropBatchesAtOrAboveTruncationOffset() {
        table.update(PID, EPOCH, 0, 1, 0, 1);
        table.update(PID, EPOCH, 2, 3, 2, 3);
        table.update(7, EPOCH, 0, 0, 4, 4);

        table.truncateTo(2);

        assertThat(table.size()).isEqualTo(1);
        assertThat(table.check(PID, EPOCH, 0, 1)).isInstanceOf(ProducerStateTable.Duplicate.class);
        assertThat(table.check(PID, EPOCH, 2, 3)).isInstanceOf(ProducerStateTable.Ok.class);
        // Producer 7 lost its only batch and is unknown again: any sequence is accepted.
        assertThat(table.check(7, EPOCH, 99, 99)).isInstanceOf(ProducerStateTable.Ok.class);
    }

    @Test
    void shouldRoundTripSnapshot(@TempDir Path dir) {
        appendBatches(ProducerStateTable.BATCHES_KEPT + 2, 2);
        table.update(7, (short) 0, 0, 0, 500, 500);
        table.update(8, (short) 1, 0, 0, 501, 501);
        assertThat(table.isDirty()).isTrue();

        table.writeSnapshot(dir, 501);
        assertThat(table.isDirty()).isFalse();

        ProducerStateTable read = new ProducerStateTable();
        assertThat(read.readSnapshot(dir)).isEqualTo(501);
        assertThat(read.isDirty()).isFalse();
        // Producer 8's batch is at the snapshot offset, so the snapshot does not cover it.
        assertThat(read.size()).isEqualTo(2);
        for (int i = 2; i < ProducerStateTable.BATCHES_KEPT + 2; i++) {
            assertThat(read.check(PID, EPOCH, 2 * i, 2 * i + 1))
                    .isEqualTo(table.check(PID, EPOCH, 2 * i, 2 * i + 1))
                    .isInstanceOf(ProducerStateTable.Duplicate.class);
        }
        assertThat(read.check(PID, EPOCH, 2, 3)).isInstanceOf(ProducerStateTable.Refused.class);
        assertThat(read.check(PID, EPOCH, 14, 14)).isInstanceOf(ProducerStateTable.Ok.class);
        assertThat(read.check(7, (short) 0, 0, 0)).isInstanceOf(ProducerStateTable.Duplicate.class);
        assertThat(read.check(8, (short) 0, 5, 5)).isInstanceOf(ProducerStateTable.Ok.class);
    }

    @Test
    void shouldReadMissingSnapshotAsNone(@TempDir Path dir) {
        assertThat(table.readSnapshot(dir)).isEqualTo(-1);
        assertThat(table.size()).isZero();
    }

    @Test
    void shouldReadCorruptSnapshotAsNoneAndStayEmpty(@TempDir Path dir) throws IOException {
        Path file = dir.resolve(ProducerStateTable.SNAPSHOT_FILE);
        for (String content : new String[] {
            "", "garbage\n", "offset x\n", "offset 10\n42 3 0 1 0 1\n43 3 0 not-a-number 2 3\n", "offset 10\n42 3 0\n"
        }) {
            Files.writeString(file, content, StandardCharsets.UTF_8);
            ProducerStateTable t = new ProducerStateTable();
            assertThat(t.readSnapshot(dir)).as("%s", content).isEqualTo(-1);
            assertThat(t.size()).as("%s", content).isZero();
            assertThat(t.check(42, (short) 3, 77, 77)).isInstanceOf(ProducerStateTable.Ok.class);
        }
    }
}
