package io.fjord.raft.kv;

import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.ByteArrayInputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.channels.Channels;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.zip.CRC32C;
import java.util.zip.CheckedOutputStream;

/**
 * A snapshot file of the metadata KV, named {@code snapshot.<term>_<index>} in the state machine
 * directory (the Ratis {@code SimpleStateMachineStorage} convention). Layout:
 *
 * <pre>
 * magic:i32 = 0x464a4b56 ("FJKV")   format:u8 = 1
 * term:i64  index:i64               (the last applied entry the snapshot includes)
 * body                              ({@link KvState#writeTo}: revision, compactedThrough, keys, history)
 * crc:i32                           (CRC32C of every byte before it)
 * </pre>
 *
 * Written to a temporary file, fsynced, then renamed into place, so a crash leaves either the old
 * snapshot set or the new one. The CRC is checked before anything is parsed.
 */
final class MetaSnapshot {
    static final int MAGIC = 0x464a4b56;
    static final byte FORMAT = 1;
    /** Magic, format, term, index before the body; the CRC after it. */
    private static final int HEADER_BYTES = 4 + 1 + 8 + 8;

    private MetaSnapshot() {}

    /** Writes {@code state} as of ({@code term}, {@code index}) to {@code file} atomically. */
    static void write(Path file, long term, long index, KvState state) throws IOException {
        Path tmp = file.resolveSibling(file.getFileName() + ".tmp");
        try (FileChannel ch = FileChannel.open(
                tmp, StandardOpenOption.CREATE, StandardOpenOption.TRUNCATE_EXISTING, StandardOpenOption.WRITE)) {
            CRC32C crc = new CRC32C();
            OutputStream raw = Channels.newOutputStream(ch);
            DataOutputStream out = new DataOutputStream(new CheckedOutputStream(new BufferedOutputStream(raw), crc));
            out.writeInt(MAGIC);
            out.writeByte(FORMAT);
            out.writeLong(term);
            out.writeLong(index);
            state.writeTo(out);
            out.flush();
            new DataOutputStream(raw).writeInt((int) crc.getValue());
            ch.force(true);
        }
        Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        try (FileChannel dir = FileChannel.open(file.getParent(), StandardOpenOption.READ)) {
            dir.force(true);
        } catch (IOException e) {
            // Some file systems cannot fsync a directory; the rename itself is still atomic.
        }
    }

    /** The state in {@code file}, expected to be as of ({@code term}, {@code index}). */
    static KvState read(Path file, long term, long index, int historyEventsMax) throws IOException {
        byte[] bytes;
        try (var in = new BufferedInputStream(Files.newInputStream(file))) {
            bytes = in.readAllBytes();
        }
        if (bytes.length < HEADER_BYTES + 4) {
            throw new IOException("snapshot " + file + " is truncated (" + bytes.length + " bytes)");
        }
        CRC32C crc = new CRC32C();
        crc.update(bytes, 0, bytes.length - 4);
        DataInputStream in = new DataInputStream(new ByteArrayInputStream(bytes));
        in.skipNBytes(bytes.length - 4);
        int stored = in.readInt();
        if (stored != (int) crc.getValue()) {
            throw new IOException("snapshot " + file + " fails its CRC check");
        }
        in = new DataInputStream(new ByteArrayInputStream(bytes, 0, bytes.length - 4));
        int magic = in.readInt();
        byte format = in.readByte();
        long fileTerm = in.readLong();
        long fileIndex = in.readLong();
        if (magic != MAGIC || format != FORMAT) {
            throw new IOException(
                    "snapshot " + file + " has magic " + Integer.toHexString(magic) + ", format " + format);
        }
        if (fileTerm != term || fileIndex != index) {
            throw new IOException("snapshot " + file + " holds (" + fileTerm + ", " + fileIndex + "), its name says ("
                    + term + ", " + index + ")");
        }
        KvState state = KvState.readFrom(in, historyEventsMax);
        if (in.available() != 0) {
            throw new IOException("snapshot " + file + " has " + in.available() + " trailing bytes");
        }
        if (state.revision() > index) {
            throw new IOException(
                    "snapshot " + file + " has revision " + state.revision() + " past its index " + index);
        }
        return state;
    }
}
