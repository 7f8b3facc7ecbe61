package io.fjord.raft.kv;

import java.util.ArrayList;
import java.util.List;

/**
 * The most recent changes of the KV, oldest first, in a ring of at most {@code capacity} events.
 * Adding to a full ring drops the oldest event and raises {@link #compactedThrough()}: a reader
 * asking for changes after a revision older than that cannot be answered completely.
 *
 * <p>Not thread-safe: owned by {@link KvState}'s owner.
 */
final class EventHistory {
    private final WatchEvent[] ring;
    private int head;
    private int size;
    private long compactedThrough;

    EventHistory(int capacity, long compactedThrough) {
        if (capacity < 1) {
            throw new IllegalArgumentException("history capacity must be at least 1, is " + capacity);
        }
        this.ring = new WatchEvent[capacity];
        this.compactedThrough = compactedThrough;
    }

    /** Appends {@code e}; its revision must not be below the last event's. */
    void add(WatchEvent e) {
        assert size == 0 || get(size - 1).revision() <= e.revision() : "history out of order";
        if (size == ring.length) {
            WatchEvent dropped = ring[head];
            ring[head] = null;
            head = (head + 1) % ring.length;
            size--;
            compactedThrough = Math.max(compactedThrough, dropped.revision());
        }
        ring[(head + size) % ring.length] = e;
        size++;
    }

    /** Every event with a revision &gt; this one is still held. */
    long compactedThrough() {
        return compactedThrough;
    }

    int size() {
        return size;
    }

    WatchEvent get(int i) {
        return ring[(head + i) % ring.length];
    }

    /**
     * Events under {@code prefix} with revision &gt; {@code afterRevision}, oldest first: at least
     * {@code limit} events when there are that many, but never part of a revision (a transaction's
     * events come together).
     *
     * @throws KvException ({@code compacted}) when {@code afterRevision} is older than the history
     */
    List<WatchEvent> since(String prefix, long afterRevision, int limit) {
        if (afterRevision < compactedThrough) {
            throw new KvException(
                    "changes after revision " + afterRevision + " are compacted (history starts after "
                            + compactedThrough + ")",
                    false,
                    true,
                    null);
        }
        List<WatchEvent> out = new ArrayList<>();
        long lastRevision = -1;
        for (int i = firstAfter(afterRevision); i < size; i++) {
            WatchEvent e = get(i);
            if (out.size() >= limit && e.revision() != lastRevision) {
                break;
            }
            if (e.kv().key().startsWith(prefix)) {
                out.add(e);
                lastRevision = e.revision();
            }
        }
        return out;
    }

    /** Index of the first event with revision &gt; {@code revision} (binary search), or size. */
    private int firstAfter(long revision) {
        int lo = 0;
        int hi = size;
        while (lo < hi) {
            int mid = (lo + hi) >>> 1;
            if (get(mid).revision() <= revision) {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        return lo;
    }
}
