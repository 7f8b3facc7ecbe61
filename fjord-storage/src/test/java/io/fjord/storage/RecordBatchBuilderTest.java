package io.fjord.storage;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.apache.kafka.common.compress.Compression;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.header.internals.RecordHeader;
import org.apache.kafka.common.record.CompressionType;
import org.apache.kafka.common.record.MemoryRecords;
import org.apache.kafka.common.record.MemoryRecordsBuilder;
import org.apache.kafka.common.record.MutableRecordBatch;
import org.apache.kafka.common.record.Record;
import org.apache.kafka.common.record.RecordBatch;
import org.apache.kafka.common.record.TimestampType;
import org.apache.kafka.common.utils.Utils;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * Checks {@link RecordBatchBuilder} and {@link RecordBatchHeader} against kafka-clients, an
 * independent implementation of RecordBatch v2, in both directions: our batches parse there, and
 * theirs (every compression codec) validate and append here and read back as the same bytes with
 * our offsets.
 */
class RecordBatchBuilderTest {
    private static final long BASE_TS = 1_700_000_000_000L;

    @TempDir
    Path dir;

    private static List<MutableRecordBatch> kafkaBatches(ByteBuffer bytes) {
        List<MutableRecordBatch> out = new ArrayList<>();
        MemoryRecords.readableRecords(bytes.duplicate()).batches().forEach(out::add);
        return out;
    }

    private static List<Record> kafkaRecords(RecordBatch batch) {
        List<Record> out = new ArrayList<>();
        batch.forEach(out::add);
        return out;
    }

    private static String utf8(ByteBuffer b) {
        return b == null ? null : new String(Utils.toArray(b), UTF_8);
    }

    @Test
    void shouldBuildBatchThatKafkaClientsParses() {
        ByteBuffer ours = new RecordBatchBuilder()
                .add("k0".getBytes(UTF_8), "v0".getBytes(UTF_8), BASE_TS)
                .add("k1".getBytes(UTF_8), "v1".getBytes(UTF_8), BASE_TS + 5)
                .add("k2".getBytes(UTF_8), "v2".getBytes(UTF_8), BASE_TS + 3)
                .build();

        List<MutableRecordBatch> batches = kafkaBatches(ours);

        assertThat(batches).hasSize(1);
        MutableRecordBatch batch = batches.get(0);
        batch.ensureValid();
        assertThat(batch.magic()).isEqualTo(RecordBatch.MAGIC_VALUE_V2);
        assertThat(batch.compressionType()).isEqualTo(CompressionType.NONE);
        assertThat(batch.timestampType()).isEqualTo(TimestampType.CREATE_TIME);
        assertThat(batch.baseOffset()).isZero();
        assertThat(batch.lastOffset()).isEqualTo(2);
        assertThat(batch.countOrNull()).isEqualTo(3);
        assertThat(batch.maxTimestamp()).isEqualTo(BASE_TS + 5);
        assertThat(batch.sizeInBytes()).isEqualTo(ours.remaining());
        assertThat(batch.hasProducerId()).isFalse();
        assertThat(batch.isTransactional()).isFalse();
        assertThat(batch.isControlBatch()).isFalse();
        List<Record> records = kafkaRecords(batch);
        assertThat(records).hasSize(3);
        for (int i = 0; i < 3; i++) {
            Record r = records.get(i);
            r.ensureValid();
            assertThat(r.offset()).isEqualTo(i);
            assertThat(utf8(r.key())).isEqualTo("k" + i);
            assertThat(utf8(r.value())).isEqualTo("v" + i);
            assertThat(r.headers()).isEmpty();
        }
        assertThat(records).extracting(Record::timestamp).containsExactly(BASE_TS, BASE_TS + 5, BASE_TS + 3);
    }

    @Test
    void shouldEncodeNullKeyNullValueAndHeadersAsKafkaClientsReadsThem() {
        byte[] big = new byte[300]; // lengths above 63 need multi-byte varints
        for (int i = 0; i < big.length; i++) {
            big[i] = (byte) i;
        }
        ByteBuffer ours = new RecordBatchBuilder()
                .add(null, "only-value".getBytes(UTF_8), BASE_TS)
                .add("only-key".getBytes(UTF_8), null, BASE_TS)
                .add(
                        new byte[0],
                        big,
                        BASE_TS - 1_000,
                        new String[] {"h1", "h-null", "h-empty", "ünïcode"},
                        new byte[][] {"a".getBytes(UTF_8), null, new byte[0], big})
                .build();

        MutableRecordBatch batch = kafkaBatches(ours).get(0);
        batch.ensureValid();
        List<Record> records = kafkaRecords(batch);

        assertThat(records.get(0).hasKey()).isFalse();
        assertThat(records.get(0).key()).isNull();
        assertThat(utf8(records.get(0).value())).isEqualTo("only-value");
        assertThat(utf8(records.get(1).key())).isEqualTo("only-key");
        assertThat(records.get(1).hasValue()).isFalse();
        assertThat(records.get(1).value()).isNull();
        Record third = records.get(2);
        assertThat(third.keySize()).isZero();
        assertThat(Utils.toArray(third.value())).isEqualTo(big);
        assertThat(third.timestamp()).isEqualTo(BASE_TS - 1_000);
        Header[] headers = third.headers();
        assertThat(headers).extracting(Header::key).containsExactly("h1", "h-null", "h-empty", "ünïcode");
        assertThat(headers[0].value()).isEqualTo("a".getBytes(UTF_8));
        assertThat(headers[1].value()).isNull();
        assertThat(headers[2].value()).isEmpty();
        assertThat(headers[3].value()).isEqualTo(big);
        assertThat(batch.maxTimestamp()).isEqualTo(BASE_TS);
    }

    @Test
    void shouldCarryProducerIdEpochAndBaseSequence() {
        ByteBuffer ours = new RecordBatchBuilder()
                .producer(77L, (short) 3, 1_000)
                .add(null, new byte[] {1}, BASE_TS)
                .add(null, new byte[] {2}, BASE_TS)
                .build();

        MutableRecordBatch batch = kafkaBatches(ours).get(0);
        batch.ensureValid();

        assertThat(batch.producerId()).isEqualTo(77L);
        assertThat(batch.producerEpoch()).isEqualTo((short) 3);
        assertThat(batch.baseSequence()).isEqualTo(1_000);
        assertThat(batch.lastSequence()).isEqualTo(1_001);
    }

    @Test
    void shouldBuildBatchThatPassesOurOwnValidation() {
        ByteBuffer b = TestBatches.batch(10, 100, BASE_TS);

        assertThat(b.position()).isZero();
        assertThat(RecordBatchHeader.validate(b, 0, b.limit(), Integer.MAX_VALUE))
                .isNull();
    }

    @Test
    void shouldRefuseToBuildEmptyBatch() {
        assertThatThrownBy(() -> new RecordBatchBuilder().build()).isInstanceOf(IllegalStateException.class);
    }

    @Test
    void shouldKeepKafkaClientsValidityAfterLogAssignsOffsets() throws Exception {
        try (PartitionLog log = PartitionLog.open(dir, LogConfig.DEFAULT, () -> BASE_TS)) {
            log.append(TestBatches.batch(5, 10, BASE_TS));
            ByteBuffer ours = new RecordBatchBuilder()
                    .add("a".getBytes(UTF_8), "b".getBytes(UTF_8), BASE_TS)
                    .build();
            log.append(ours);

            try (LogSlice slice = (LogSlice) log.read(5, Integer.MAX_VALUE)) {
                MutableRecordBatch batch = kafkaBatches(slice.toByteBuffer()).get(0);
                batch.ensureValid();
                assertThat(batch.baseOffset()).isEqualTo(5);
                assertThat(kafkaRecords(batch).get(0).offset()).isEqualTo(5);
            }
        }
    }

    /** A batch as a Kafka producer would send it: built by kafka-clients, offsets from 0. */
    private static ByteBuffer kafkaBatch(CompressionType type, int records, int firstKey) {
        ByteBuffer buf = ByteBuffer.allocate(64 * 1024);
        MemoryRecordsBuilder builder =
                MemoryRecords.builder(buf, Compression.of(type).build(), TimestampType.CREATE_TIME, 0L);
        for (int i = 0; i < records; i++) {
            int k = firstKey + i;
            Header[] headers = {new RecordHeader("n", Integer.toString(k).getBytes(UTF_8))};
            builder.append(
                    BASE_TS + k,
                    ("key-" + k).getBytes(UTF_8),
                    ("value-" + k).repeat(20).getBytes(UTF_8),
                    headers);
        }
        MemoryRecords built = builder.build();
        ByteBuffer copy = ByteBuffer.allocate(built.sizeInBytes());
        copy.put(built.buffer().duplicate());
        return copy.flip();
    }

    @ParameterizedTest
    @EnumSource(CompressionType.class)
    void shouldAcceptKafkaClientsBatchForEveryCompressionType(CompressionType type) {
        ByteBuffer theirs = kafkaBatch(type, 10, 0);

        assertThat(RecordBatchHeader.validate(theirs, 0, theirs.limit(), LogConfig.DEFAULT.maxBatchBytes()))
                .isNull();
        assertThat(RecordBatchHeader.recordsCount(theirs, 0)).isEqualTo(10);
        assertThat(RecordBatchHeader.maxTimestamp(theirs, 0)).isEqualTo(BASE_TS + 9);
        int attributes = theirs.getShort(RecordBatchHeader.ATTRIBUTES_OFFSET);
        assertThat(attributes & 0x07).isEqualTo(type.id);
    }

    @ParameterizedTest
    @EnumSource(CompressionType.class)
    void shouldStoreKafkaClientsBatchesAsWireBytesWithAssignedOffsets(CompressionType type) throws Exception {
        ByteBuffer first = kafkaBatch(type, 4, 0);
        ByteBuffer second = kafkaBatch(type, 6, 4);
        ByteBuffer third = kafkaBatch(type, 1, 10);
        byte[] secondOriginal = Utils.toArray(second.duplicate());

        try (PartitionLog log = PartitionLog.open(dir, LogConfig.DEFAULT, () -> BASE_TS)) {
            assertThat(log.append(first)).isEqualTo(new AppendResult.Appended(0, 3, BASE_TS + 3, 1));
            assertThat(log.append(TestBatches.concat(second, third)))
                    .isEqualTo(new AppendResult.Appended(4, 10, BASE_TS + 10, 2));

            ByteBuffer all;
            try (LogSlice slice = (LogSlice) log.read(0, Integer.MAX_VALUE)) {
                all = slice.toByteBuffer();
            }

            List<MutableRecordBatch> batches = kafkaBatches(all);
            assertThat(batches).extracting(RecordBatch::baseOffset).containsExactly(0L, 4L, 10L);
            assertThat(batches).extracting(RecordBatch::lastOffset).containsExactly(3L, 9L, 10L);
            long expected = 0;
            for (MutableRecordBatch batch : batches) {
                batch.ensureValid();
                assertThat(batch.compressionType()).isEqualTo(type);
                for (Record r : kafkaRecords(batch)) {
                    r.ensureValid();
                    assertThat(r.offset()).isEqualTo(expected);
                    assertThat(utf8(r.key())).isEqualTo("key-" + expected);
                    assertThat(utf8(r.value())).isEqualTo(("value-" + expected).repeat(20));
                    assertThat(r.timestamp()).isEqualTo(BASE_TS + expected);
                    assertThat(r.headers()[0].value())
                            .isEqualTo(Long.toString(expected).getBytes(UTF_8));
                    expected++;
                }
            }
            assertThat(expected).isEqualTo(11);
            // Byte for byte what the client sent, apart from the base offset the log assigned.
            ByteBuffer stored = all.duplicate();
            stored.position(batches.get(0).sizeInBytes());
            stored.limit(stored.position() + secondOriginal.length);
            byte[] storedSecond = Utils.toArray(stored);
            ByteBuffer.wrap(secondOriginal).putLong(RecordBatchHeader.BASE_OFFSET_OFFSET, 4);
            assertThat(storedSecond).isEqualTo(secondOriginal);
        }
    }
}
