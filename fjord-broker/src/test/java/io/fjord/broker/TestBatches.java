package io.fjord.broker;

import io.fjord.storage.RecordBatchBuilder;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;

/** Record batches for the broker's tests: built fresh each time, because an append rewrites them. */
final class TestBatches {
    private TestBatches() {}

    /** A batch with no producer id (not idempotent). */
    static ByteBuffer plain(int records) {
        return fill(new RecordBatchBuilder(), records);
    }

    /** A batch with no producer id whose values carry {@code tag} (so its bytes and CRC are its own). */
    static ByteBuffer plain(int records, String tag) {
        RecordBatchBuilder b = new RecordBatchBuilder();
        long nowMs = System.currentTimeMillis();
        for (int i = 0; i < records; i++) {
            b.add(
                    ("k" + i).getBytes(StandardCharsets.UTF_8),
                    ("v" + i + "-" + tag).getBytes(StandardCharsets.UTF_8),
                    nowMs + i);
        }
        return b.build();
    }

    /** A batch from an idempotent producer, sequences {@code firstSeq .. firstSeq + records - 1}. */
    static ByteBuffer idempotent(long producerId, short epoch, int firstSeq, int records) {
        return fill(new RecordBatchBuilder().producer(producerId, epoch, firstSeq), records);
    }

    private static ByteBuffer fill(RecordBatchBuilder b, int records) {
        // Current timestamps: housekeeping applies time retention, which would delete old ones.
        long nowMs = System.currentTimeMillis();
        for (int i = 0; i < records; i++) {
            b.add(("k" + i).getBytes(StandardCharsets.UTF_8), ("v" + i).getBytes(StandardCharsets.UTF_8), nowMs + i);
        }
        return b.build();
    }
}
