package io.fjord.broker;

import io.fjord.storage.PartitionId;
import io.fjord.storage.StorageException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.TreeMap;
import java.util.UUID;
import java.util.zip.CRC32C;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A data group's record of what it wrote ahead of commit: for each Raft entry with data, where its
 * batch went in which partition log (or what was decided instead). It is what ties the Raft log's
 * headers to the partition logs' bytes after a restart, and what lets a leader read an entry back
 * for a follower.
 *
 * <p>Files {@code journal-<20-digit first index>} in the group's state directory, each a run of
 * records {@code length:i32 crc32c:i32 payload}; a torn record ends the newest file. A {@code
 * TRUNCATE} record cancels every earlier record at or above its index. A new file starts at each
 * checkpoint, and files wholly before the Raft log's start are deleted.
 *
 * <p>Threads: one writer at a time ({@link PartitionGroup} serializes them).
 */
final class GroupJournal implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(GroupJournal.class);
    private static final String PREFIX = "journal-";
    private static final byte WRITTEN = 1;
    private static final byte TRUNCATE = 2;

    /**
     * One entry's fate ({@code type}: its {@link GroupEntry} type). {@code sizeBytes} &gt; 0: its batch sits at {@code [base, next)} in the
     * partition's log; {@link #GAP}: the partition's log restarted at {@code next}; 0: nothing was
     * stored (refused, duplicate, or not an append). {@code reply} is the entry's reply.
     */
    record Written(
            long index,
            long term,
            byte type,
            PartitionId partition,
            UUID topicId,
            long base,
            long next,
            int sizeBytes,
            byte[] reply) {
        static final int GAP = -1;

        boolean stored() {
            return sizeBytes > 0;
        }

        boolean movesEnd() {
            return sizeBytes != 0 && next >= 0;
        }
    }

    private final Path dir;
    private final TreeMap<Long, Path> files = new TreeMap<>();
    private FileChannel out;

    GroupJournal(Path dir) {
        this.dir = dir;
        try {
            Files.createDirectories(dir);
            try (DirectoryStream<Path> ds = Files.newDirectoryStream(dir, PREFIX + "*")) {
                for (Path p : ds) {
                    try {
                        files.put(Long.parseLong(p.getFileName().toString().substring(PREFIX.length())), p);
                    } catch (NumberFormatException e) {
                        // not ours
                    }
                }
            }
        } catch (IOException e) {
            throw new StorageException("cannot open the group journal", dir, e);
        }
    }

    /**
     * Reads every file: the records that stand, oldest first (TRUNCATE records applied). A torn
     * tail of the newest file is cut off. Then opens the newest file for appending.
     */
    List<Written> load() {
        TreeMap<Long, Written> standing = new TreeMap<>();
        for (var e : files.entrySet()) {
            boolean newest = e.getKey().equals(files.lastKey());
            readFile(e.getValue(), newest, standing);
        }
        if (files.isEmpty()) {
            roll(1);
        } else {
            openForAppend(files.lastEntry().getValue());
        }
        return new ArrayList<>(standing.values());
    }

    private void readFile(Path file, boolean newest, TreeMap<Long, Written> standing) {
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
            ByteBuffer all = ByteBuffer.allocate((int) ch.size());
            while (all.hasRemaining() && ch.read(all) >= 0) {
                // keep reading
            }
            all.flip();
            int good = 0;
            while (all.remaining() >= 8) {
                int len = all.getInt(good);
                int crc = all.getInt(good + 4);
                if (len <= 0 || good + 8 + len > all.limit()) {
                    break;
                }
                CRC32C c = new CRC32C();
                c.update(all.slice(good + 8, len));
                if ((int) c.getValue() != crc) {
                    break;
                }
                decode(all.slice(good + 8, len), standing);
                good += 8 + len;
                all.position(good);
            }
            if (good < all.limit()) {
                if (!newest) {
                    throw new StorageException(
                            "group journal is corrupt at byte " + good + " of a file that is not the newest", file);
                }
                log.warn("{}: cutting a torn tail of {} bytes", file, all.limit() - good);
                ch.truncate(good);
            }
        } catch (IOException e) {
            throw new StorageException("cannot read the group journal", file, e);
        }
    }

    private static void decode(ByteBuffer b, TreeMap<Long, Written> standing) {
        byte kind = b.get();
        long index = b.getLong();
        if (kind == TRUNCATE) {
            standing.tailMap(index, true).clear();
            return;
        }
        long term = b.getLong();
        byte type = b.get();
        UUID topicId = new UUID(b.getLong(), b.getLong());
        byte[] name = new byte[Short.toUnsignedInt(b.getShort())];
        b.get(name);
        int partition = b.getInt();
        long base = b.getLong();
        long next = b.getLong();
        int size = b.getInt();
        byte[] reply = new byte[Short.toUnsignedInt(b.getShort())];
        b.get(reply);
        standing.put(
                index,
                new Written(
                        index,
                        term,
                        type,
                        new PartitionId(new String(name, StandardCharsets.UTF_8), partition),
                        topicId,
                        base,
                        next,
                        size,
                        reply));
    }

    void append(Written w) {
        byte[] name = w.partition().topic().getBytes(StandardCharsets.UTF_8);
        ByteBuffer p = ByteBuffer.allocate(1 + 8 + 8 + 1 + 16 + 2 + name.length + 4 + 8 + 8 + 4 + 2 + w.reply().length);
        p.put(WRITTEN).putLong(w.index()).putLong(w.term()).put(w.type());
        p.putLong(w.topicId().getMostSignificantBits()).putLong(w.topicId().getLeastSignificantBits());
        p.putShort((short) name.length).put(name).putInt(w.partition().partition());
        p.putLong(w.base()).putLong(w.next()).putInt(w.sizeBytes());
        p.putShort((short) w.reply().length).put(w.reply());
        write(p.flip());
    }

    void appendTruncate(long index) {
        write(ByteBuffer.allocate(9).put(TRUNCATE).putLong(index).flip());
    }

    private void write(ByteBuffer payload) {
        CRC32C c = new CRC32C();
        c.update(payload.duplicate());
        ByteBuffer rec = ByteBuffer.allocate(8 + payload.remaining());
        rec.putInt(payload.remaining()).putInt((int) c.getValue()).put(payload).flip();
        try {
            while (rec.hasRemaining()) {
                out.write(rec);
            }
        } catch (IOException e) {
            throw new StorageException(
                    "cannot append to the group journal", files.lastEntry().getValue(), e);
        }
    }

    /** fsyncs what was appended. */
    void force() {
        try {
            out.force(false);
        } catch (IOException e) {
            throw new StorageException(
                    "cannot fsync the group journal", files.lastEntry().getValue(), e);
        }
    }

    /**
     * Makes the current file durable and starts a new one for entries from {@code nextIndex} on;
     * deletes the files that hold only entries before {@code keepFrom}.
     */
    void checkpoint(long nextIndex, long keepFrom) {
        force();
        if (files.lastKey() < nextIndex) {
            roll(nextIndex);
        }
        while (files.size() > 1) {
            var second = files.higherEntry(files.firstKey());
            if (second.getKey() > keepFrom) {
                break;
            }
            Path old = files.pollFirstEntry().getValue();
            try {
                Files.deleteIfExists(old);
            } catch (IOException e) {
                log.warn("{}: cannot delete: {}", old, e.toString());
            }
        }
    }

    /** The first index the journal may still describe. */
    long firstIndex() {
        return files.isEmpty() ? 1 : files.firstKey();
    }

    private void roll(long firstIndex) {
        Path p = dir.resolve(String.format("%s%020d", PREFIX, firstIndex));
        closeOut();
        files.put(firstIndex, p);
        openForAppend(p);
        DurableFiles.fsyncDirectory(dir);
    }

    private void openForAppend(Path p) {
        closeOut();
        try {
            out = FileChannel.open(p, StandardOpenOption.CREATE, StandardOpenOption.WRITE, StandardOpenOption.APPEND);
        } catch (IOException e) {
            throw new StorageException("cannot open the group journal", p, e);
        }
    }

    private void closeOut() {
        if (out != null) {
            try {
                out.force(false);
                out.close();
            } catch (IOException e) {
                log.warn("closing the group journal: {}", e.toString());
            }
            out = null;
        }
    }

    @Override
    public void close() {
        closeOut();
    }
}
