package io.fjord.storage;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.MappedByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * A memory-mapped file of fixed-size entries, the base of {@link OffsetIndex} and {@link
 * TimeIndex}.
 *
 * <p>While a segment is active its index file is mapped with room for more entries than it holds,
 * and that room is <em>filled with zeros on disk</em>, never left sparse: a sparse mapped page
 * that cannot be backed on a full disk would kill the JVM with SIGBUS on the first store, whereas
 * writing the zeros first turns a full disk into an ordinary {@link StorageException} before any
 * data is written. The room grows by doubling ({@link #ensureRoom}) up to {@code maxEntries}, so
 * an active index costs kilobytes, not the megabytes a full segment's index needs. When the
 * segment is sealed (rolled or closed) the file is trimmed to its entries, so a cleanly closed
 * index holds exactly {@code entries * entrySize} bytes.
 *
 * <p>Threads: one writer (the log's owner) appends and truncates; readers on any thread use
 * {@link #entries()} (volatile, written after the entry's bytes) and read only below it.
 */
abstract class MappedIndex {
    private static final int ZERO_CHUNK_BYTES = 64 * 1024;
    private static final int INITIAL_ROOM_ENTRIES = 512;

    Path path;
    private final int entrySize;
    private volatile MappedByteBuffer buf;
    private int capacityEntries;
    private int maxEntries;
    private volatile int entries;

    MappedIndex(Path path, int entrySize) {
        this.path = path;
        this.entrySize = entrySize;
    }

    /** Maps the file for appends, keeping its first {@code keepEntries}; at most {@code maxEntries}. */
    final void openWritable(int keepEntries, int maxEntries) {
        this.maxEntries = Math.max(maxEntries, keepEntries);
        this.entries = keepEntries;
        try (FileChannel ch =
                FileChannel.open(path, StandardOpenOption.CREATE, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
            long keepBytes = (long) keepEntries * entrySize;
            if (ch.size() > keepBytes) {
                ch.truncate(keepBytes);
            }
            this.capacityEntries = keepEntries;
            grow(ch, Math.min(this.maxEntries, keepEntries + INITIAL_ROOM_ENTRIES));
        } catch (IOException e) {
            throw new StorageException("cannot open index for appends", path, e);
        }
    }

    /**
     * Makes sure {@code more} entries fit in the mapped room (as far as {@code maxEntries} allows),
     * growing the zero-filled file. Call before writing the data the entries will point at.
     */
    final void ensureRoom(int more) {
        int wanted = (int) Math.min(maxEntries, (long) entries + more);
        if (wanted <= capacityEntries) {
            return;
        }
        int target = (int) Math.min(maxEntries, Math.max(wanted, 2L * capacityEntries));
        try (FileChannel ch = FileChannel.open(path, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
            grow(ch, target);
        } catch (IOException e) {
            throw new StorageException("cannot grow index", path, e);
        }
    }

    private void grow(FileChannel ch, int targetEntries) throws IOException {
        long from = (long) capacityEntries * entrySize;
        long to = (long) targetEntries * entrySize;
        zeroFill(ch, from, to);
        this.buf = ch.map(FileChannel.MapMode.READ_WRITE, 0, to);
        this.capacityEntries = targetEntries;
    }

    /** Maps a sealed index read-only; its size must be a whole number of entries. */
    final void openSealed(long baseOffset) {
        try (FileChannel ch = FileChannel.open(path, StandardOpenOption.READ)) {
            long size = ch.size();
            if (size % entrySize != 0) {
                throw new CorruptSegmentException(
                        path, baseOffset, size, "index size is not a multiple of " + entrySize);
            }
            this.buf = ch.map(FileChannel.MapMode.READ_ONLY, 0, size);
            this.capacityEntries = (int) (size / entrySize);
            this.maxEntries = capacityEntries;
            this.entries = capacityEntries;
        } catch (IOException e) {
            throw new StorageException("cannot open index", path, e);
        }
    }

    private static void zeroFill(FileChannel ch, long from, long to) throws IOException {
        ByteBuffer zeros = ByteBuffer.allocateDirect((int) Math.min(ZERO_CHUNK_BYTES, Math.max(1, to - from)));
        long pos = from;
        while (pos < to) {
            zeros.clear().limit((int) Math.min(zeros.capacity(), to - pos));
            pos += ch.write(zeros, pos);
        }
    }

    final int entries() {
        return entries;
    }

    /** True when no entry may be added: the segment should roll. */
    final boolean isFull() {
        return entries >= maxEntries;
    }

    /** True when the next entry has mapped room (see {@link #ensureRoom}). */
    final boolean hasRoom() {
        return entries < capacityEntries;
    }

    final MappedByteBuffer buffer() {
        return buf;
    }

    final int entryPosition(int i) {
        return i * entrySize;
    }

    /** Called by subclasses after writing entry {@code entries}: publishes it to readers. */
    final void publishAppended() {
        entries = entries + 1;
    }

    /** Forgets every entry from {@code keep} on. */
    final void truncateEntries(int keep) {
        if (keep < entries) {
            entries = keep;
        }
    }

    /**
     * Trims the file to its entries and maps it read-only. Does not fsync: {@link #force()} does,
     * off the writer's thread (see {@link PartitionLog}'s recovery point).
     */
    final void seal() {
        MappedByteBuffer b = buf;
        if (b == null || b.isReadOnly()) {
            return;
        }
        long bytes = (long) entries * entrySize;
        try (FileChannel ch = FileChannel.open(path, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
            ch.truncate(bytes);
            this.buf = ch.map(FileChannel.MapMode.READ_ONLY, 0, bytes);
            this.capacityEntries = entries;
            this.maxEntries = entries;
        } catch (IOException e) {
            throw new StorageException("cannot seal index", path, e);
        }
    }

    /** fsyncs the index file (stores through the mapping included: Linux has one page cache). */
    final void force() {
        try (FileChannel ch = FileChannel.open(path, StandardOpenOption.READ)) {
            ch.force(true);
        } catch (IOException e) {
            throw new StorageException("cannot fsync index", path, e);
        }
    }

    final void delete() throws IOException {
        buf = null;
        Files.deleteIfExists(path);
    }

    final void renameTo(Path target) throws IOException {
        Files.move(path, target);
        path = target;
    }
}
