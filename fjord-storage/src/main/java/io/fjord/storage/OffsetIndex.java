package io.fjord.storage;

import java.nio.MappedByteBuffer;
import java.nio.file.Path;

/**
 * The sparse offset index of one segment: file {@code <20-digit base offset>.index}.
 *
 * <p>Format: a sequence of 8-byte entries, big-endian, sorted by both fields:
 *
 * <pre>
 *  offset size field
 *       0    4 relativeOffset  base offset of a batch minus the segment's base offset (&gt; 0)
 *       4    4 position        byte position of that batch in the segment's .log file (&gt; 0)
 * </pre>
 *
 * An entry is written for the first batch that starts at least {@code indexIntervalBytes} after
 * the previous entry (or the segment start), so a lookup scans at most about that many bytes of
 * batch headers. The segment's first batch has no entry: position 0 is implied. A sealed index
 * holds exactly its entries; an active one is zero-filled up to its capacity.
 *
 * <p>Threads: see {@link MappedIndex}.
 */
final class OffsetIndex extends MappedIndex {
    static final int ENTRY_SIZE = 8;

    private final long baseOffset;

    OffsetIndex(Path path, long baseOffset) {
        super(path, ENTRY_SIZE);
        this.baseOffset = baseOffset;
    }

    static Path pathFor(Path dir, long baseOffset) {
        return dir.resolve(Segment.fileName(baseOffset, ".index"));
    }

    void append(long offset, int position) {
        int n = entries();
        long rel = offset - baseOffset;
        assert rel > 0 && rel <= Integer.MAX_VALUE : "relative offset out of range: " + rel;
        assert n == 0 || (rel > relativeOffset(n - 1) && position > position(n - 1)) : "index not increasing";
        MappedByteBuffer b = buffer();
        int at = entryPosition(n);
        b.putInt(at, (int) rel);
        b.putInt(at + 4, position);
        publishAppended();
    }

    int relativeOffset(int i) {
        return buffer().getInt(entryPosition(i));
    }

    int position(int i) {
        return buffer().getInt(entryPosition(i) + 4);
    }

    /** The position of the last indexed batch that starts at or before {@code offset}; 0 if none. */
    int floorPosition(long offset) {
        int i = floorEntryByOffset(offset, entries());
        return i < 0 ? 0 : position(i);
    }

    /** The last indexed batch position at or before {@code position}; 0 if none. */
    int floorPositionByPosition(long position) {
        int lo = 0;
        int hi = entries() - 1;
        int found = -1;
        while (lo <= hi) {
            int mid = (lo + hi) >>> 1;
            if (position(mid) <= position) {
                found = mid;
                lo = mid + 1;
            } else {
                hi = mid - 1;
            }
        }
        return found < 0 ? 0 : position(found);
    }

    private int floorEntryByOffset(long offset, int n) {
        long rel = offset - baseOffset;
        int lo = 0;
        int hi = n - 1;
        int found = -1;
        while (lo <= hi) {
            int mid = (lo + hi) >>> 1;
            if (relativeOffset(mid) <= rel) {
                found = mid;
                lo = mid + 1;
            } else {
                hi = mid - 1;
            }
        }
        return found;
    }

    /** Drops entries for batches at or after {@code offset}. */
    void truncateToOffset(long offset) {
        int n = entries();
        int keep = floorEntryByOffset(offset - 1, n) + 1;
        truncateEntries(keep);
    }

    /**
     * Cheap sanity check of a sealed index against its log's size: entries positive and the last
     * two increasing, the last position inside the log. A failure means rebuild, not data loss.
     */
    boolean looksValid(long logSizeBytes) {
        int n = entries();
        if (n == 0) {
            return true;
        }
        int lastRel = relativeOffset(n - 1);
        int lastPos = position(n - 1);
        if (lastRel <= 0 || lastPos <= 0 || lastPos >= logSizeBytes) {
            return false;
        }
        return n == 1 || (relativeOffset(n - 2) < lastRel && position(n - 2) < lastPos);
    }
}
