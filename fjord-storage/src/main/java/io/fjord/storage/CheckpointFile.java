package io.fjord.storage;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.zip.CRC32C;

/**
 * A tiny durable file holding a few longs, replaced atomically: written to {@code name.tmp},
 * fsynced, renamed over {@code name}, and the directory fsynced.
 *
 * <p>Format (big-endian):
 *
 * <pre>
 *  offset size field
 *       0    4 magic    0x464A434B ("FJCK")
 *       4    4 count    number of values, 0..64
 *       8  8*n values
 *   8+8*n    4 crc      CRC32C of bytes 0..8+8*n
 * </pre>
 *
 * A missing, short or corrupt file reads as absent: callers fall back to a safe default.
 */
final class CheckpointFile {
    private static final int MAGIC = 0x464A434B;
    private static final int VALUES_MAX = 64;

    private CheckpointFile() {}

    static void write(Path path, long... values) {
        if (values.length > VALUES_MAX) {
            throw new IllegalArgumentException("too many values: " + values.length);
        }
        ByteBuffer b = ByteBuffer.allocate(12 + 8 * values.length);
        b.putInt(MAGIC).putInt(values.length);
        for (long v : values) {
            b.putLong(v);
        }
        CRC32C crc = new CRC32C();
        crc.update(b.array(), 0, b.position());
        b.putInt((int) crc.getValue());
        b.flip();
        Path tmp = path.resolveSibling(path.getFileName() + ".tmp");
        try {
            try (FileChannel ch = FileChannel.open(
                    tmp, StandardOpenOption.CREATE, StandardOpenOption.WRITE, StandardOpenOption.TRUNCATE_EXISTING)) {
                while (b.hasRemaining()) {
                    ch.write(b);
                }
                ch.force(true);
            }
            Files.move(tmp, path, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            fsyncDirectory(path.getParent());
        } catch (IOException e) {
            throw new StorageException("cannot write checkpoint", path, e);
        }
    }

    /** The values, or null when the file is missing or does not check out. */
    static long[] read(Path path) {
        byte[] bytes;
        try {
            if (!Files.exists(path)) {
                return null;
            }
            bytes = Files.readAllBytes(path);
        } catch (IOException e) {
            throw new StorageException("cannot read checkpoint", path, e);
        }
        if (bytes.length < 12) {
            return null;
        }
        ByteBuffer b = ByteBuffer.wrap(bytes);
        int count = b.getInt(4);
        if (b.getInt(0) != MAGIC || count < 0 || count > VALUES_MAX || bytes.length != 12 + 8 * count) {
            return null;
        }
        CRC32C crc = new CRC32C();
        crc.update(bytes, 0, 8 + 8 * count);
        if ((int) crc.getValue() != b.getInt(8 + 8 * count)) {
            return null;
        }
        long[] values = new long[count];
        for (int i = 0; i < count; i++) {
            values[i] = b.getLong(8 + 8 * i);
        }
        return values;
    }

    /** Makes a directory's entries (creates, renames, deletes) durable. */
    static void fsyncDirectory(Path dir) throws IOException {
        try (FileChannel ch = FileChannel.open(dir, StandardOpenOption.READ)) {
            ch.force(true);
        }
    }
}
