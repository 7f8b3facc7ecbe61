package io.fjord.storage;

import java.nio.file.Path;

/** A segment or index file whose bytes fail a sanity check at a known position. */
public final class CorruptSegmentException extends StorageException {
    private static final long serialVersionUID = 1L;

    private final long baseOffset;
    private final long position;

    public CorruptSegmentException(Path path, long baseOffset, long position, String reason) {
        super(
                "corrupt segment data at position " + position + " (segment base offset " + baseOffset + "): " + reason,
                path);
        this.baseOffset = baseOffset;
        this.position = position;
    }

    public long baseOffset() {
        return baseOffset;
    }

    public long position() {
        return position;
    }
}
