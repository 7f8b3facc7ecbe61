package io.fjord.storage;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.ByteBuffer;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class PartitionLogSmokeTest {
    @TempDir
    Path dir;

    @Test
    void appendReadRollReopen() throws Exception {
        long[] now = {1000};
        LogConfig cfg = LogConfig.DEFAULT.withSegmentBytes(64 * 1024).withIndexIntervalBytes(1024);
        long expectedNext = 0;
        try (PartitionLog log = PartitionLog.open(dir, cfg, () -> now[0])) {
            for (int i = 0; i < 200; i++) {
                AppendResult r = log.append(TestBatches.batch(3, 500, now[0]));
                assertThat(r).isInstanceOf(AppendResult.Appended.class);
                assertThat(((AppendResult.Appended) r).firstOffset()).isEqualTo(expectedNext);
                expectedNext += 3;
            }
            assertThat(log.segmentCount()).isGreaterThan(1);
            for (long o = 0; o < expectedNext; o += 7) {
                try (LogSlice s = (LogSlice) log.read(o, 1)) {
                    ByteBuffer b = s.toByteBuffer();
                    long base = RecordBatchHeader.baseOffset(b, 0);
                    assertThat(base).isLessThanOrEqualTo(o);
                    assertThat(base + RecordBatchHeader.lastOffsetDelta(b, 0)).isGreaterThanOrEqualTo(o);
                    assertThat(RecordBatchHeader.validate(b, 0, b.limit(), Integer.MAX_VALUE))
                            .isNull();
                }
            }
        }
        try (PartitionLog log = PartitionLog.open(dir, cfg, () -> now[0])) {
            assertThat(log.recoveredCleanly()).isTrue();
            assertThat(log.recoveryBytesScanned()).isZero();
            assertThat(log.highWatermark()).isEqualTo(expectedNext);
            log.abandon();
        }
        try (PartitionLog log = PartitionLog.open(dir, cfg, () -> now[0])) {
            assertThat(log.recoveredCleanly()).isFalse();
            assertThat(log.recoveryBytesScanned()).isPositive();
            assertThat(log.highWatermark()).isEqualTo(expectedNext);
            assertThat(log.truncateTo(100)).isEqualTo(99);
            now[0] += 1_000_000;
            assertThat(log.offsetForTimestamp(1000 + 2).orElseThrow().offset()).isEqualTo(0);
        }
    }
}
