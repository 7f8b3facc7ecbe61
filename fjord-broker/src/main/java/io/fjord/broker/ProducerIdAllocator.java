package io.fjord.broker;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Hands out producer ids, unique across restarts: ids are reserved in blocks of {@value #BLOCK};
 * the end of the current block is written durably to {@code .meta/producer-ids} before any id of
 * it is given out, so a crash skips at most the rest of a block and never reuses an id.
 *
 * <p>Threads: any thread ({@code synchronized}; InitProducerId is not a hot path).
 */
final class ProducerIdAllocator {
    static final long BLOCK = 1000;

    private final Path file;
    private long next;
    private long blockEnd;

    private ProducerIdAllocator(Path file, long next) {
        this.file = file;
        this.next = next;
        this.blockEnd = next;
    }

    static ProducerIdAllocator open(Path metaDir) {
        Path file = metaDir.resolve("producer-ids");
        long next = 0;
        try {
            if (Files.exists(file)) {
                next = Long.parseLong(
                        Files.readString(file, StandardCharsets.UTF_8).trim());
            }
        } catch (IOException | NumberFormatException e) {
            throw new IllegalStateException("cannot read " + file + ": " + e.getMessage(), e);
        }
        return new ProducerIdAllocator(file, next);
    }

    synchronized long next() {
        if (next >= blockEnd) {
            blockEnd = next + BLOCK;
            TopicRegistry.DurableFiles.replace(file, blockEnd + "\n");
        }
        return next++;
    }
}
