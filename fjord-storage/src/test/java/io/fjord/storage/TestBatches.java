package io.fjord.storage;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;

/** Builds valid batches for tests. */
final class TestBatches {
    private TestBatches() {}

    /** One batch of {@code records} records, each with a value of {@code valueBytes} bytes. */
    static ByteBuffer batch(int records, int valueBytes, long timestampMs) {
        RecordBatchBuilder b = new RecordBatchBuilder();
        for (int i = 0; i < records; i++) {
            byte[] value = new byte[valueBytes];
            for (int j = 0; j < valueBytes; j++) {
                value[j] = (byte) (i + j);
            }
            b.add(("k" + i).getBytes(StandardCharsets.UTF_8), value, timestampMs + i);
        }
        return b.build();
    }

    /** Several batches back to back in one buffer. */
    static ByteBuffer concat(ByteBuffer... batches) {
        int size = 0;
        for (ByteBuffer b : batches) {
            size += b.remaining();
        }
        ByteBuffer all = ByteBuffer.allocate(size);
        for (ByteBuffer b : batches) {
            all.put(b.duplicate());
        }
        return all.flip();
    }
}
