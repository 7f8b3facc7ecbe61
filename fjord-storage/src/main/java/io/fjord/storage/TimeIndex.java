package io.fjord.storage;

import java.nio.MappedByteBuffer;
import java.nio.file.Path;

/**
 * The sparse time index of one segment: file {@code <20-digit base offset>.timeindex}.
 *
 * <p>Format: a sequence of 12-byte entries, big-endian, both fields strictly increasing:
 *
 * <pre>
 *  offset size field
 *       0    8 timestampMs     the largest maxTimestamp of all batches before relativeOffset
 *       8    4 relativeOffset  a batch base offset minus the segment's base offset
 * </pre>
 *
 * So an entry {@code (t, r)} promises: every batch of this segment that starts before {@code
 * base + r} has a maxTimestamp of at most {@code t}. To find the first batch with a timestamp
 * {@code >= target}, start at the last entry with {@code t < target} and scan forward. Entries
 * are added with the offset index (one per {@code indexIntervalBytes}) when the timestamp grew,
 * and once more when the segment is sealed, so a sealed segment's last entry carries its largest
 * timestamp.
 *
 * <p>Threads: see {@link MappedIndex}.
 */
final class TimeIndex extends MappedIndex {
    static final int ENTRY_SIZE = 12;

    private final long baseOffset;

    TimeIndex(Path path, long baseOffset) {
        super(path, ENTRY_SIZE);
        this.baseOffset = baseOffset;
    }

    static Path pathFor(Path dir, long baseOffset) {
        return dir.resolve(Segment.fileName(baseOffset, ".timeindex"));
    }

    /** Adds {@code (timestampMs, offset)} if the timestamp is larger than the last entry's. */
    void maybeAppend(long timestampMs, long offset) {
        int n = entries();
        long rel = offset - baseOffset;
        if (n > 0 && (timestampMs <= timestamp(n - 1) || rel <= relativeOffset(n - 1))) {
            return;
        }
        if (!hasRoom()) {
            return;
        }
        MappedByteBuffer b = buffer();
        int at = entryPosition(n);
        b.putLong(at, timestampMs);
        b.putInt(at + 8, (int) rel);
        publishAppended();
    }

    long timestamp(int i) {
        return buffer().getLong(entryPosition(i));
    }

    int relativeOffset(int i) {
        return buffer().getInt(entryPosition(i) + 8);
    }

    /** The largest timestamp recorded, or {@code Long.MIN_VALUE} when there is no entry. */
    long lastTimestamp() {
        int n = entries();
        return n == 0 ? Long.MIN_VALUE : timestamp(n - 1);
    }

    /** The offset from which to scan for the first batch with a timestamp {@code >= targetMs}. */
    long scanStartOffset(long targetMs) {
        int lo = 0;
        int hi = entries() - 1;
        int found = -1;
        while (lo <= hi) {
            int mid = (lo + hi) >>> 1;
            if (timestamp(mid) < targetMs) {
                found = mid;
                lo = mid + 1;
            } else {
                hi = mid - 1;
            }
        }
        return found < 0 ? baseOffset : baseOffset + relativeOffset(found);
    }

    /** Drops entries whose offset is at or after {@code offset}. */
    void truncateToOffset(long offset) {
        int n = entries();
        int keep = n;
        while (keep > 0 && baseOffset + relativeOffset(keep - 1) >= offset) {
            keep--;
        }
        truncateEntries(keep);
    }

    /** Sanity check: the last two entries increase. */
    boolean looksValid() {
        int n = entries();
        if (n < 2) {
            return true;
        }
        return timestamp(n - 2) < timestamp(n - 1) && relativeOffset(n - 2) < relativeOffset(n - 1);
    }
}
