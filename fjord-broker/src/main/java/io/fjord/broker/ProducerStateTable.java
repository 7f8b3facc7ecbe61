package io.fjord.broker;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Idempotent-producer state of one partition: per producer id, its epoch and the sequence ranges
 * and offsets of its last {@value #BATCHES_KEPT} batches (as many as a producer may have in
 * flight).
 *
 * <p>Rules, checked before an append: an older epoch is fenced ({@code INVALID_PRODUCER_EPOCH}); a
 * newer epoch must start at sequence 0; in the same epoch a batch whose range equals one of the
 * last five is a retried duplicate (answered with its original offsets, not appended), and any
 * other batch must start right after the last one ({@code OUT_OF_ORDER_SEQUENCE_NUMBER}
 * otherwise). A producer the partition has never seen may start at any sequence.
 *
 * <p>Snapshot file {@code producer-state} in the partition directory (text, replaced atomically):
 * first line {@code offset N} (state covers the log below N), then one line per kept batch: {@code
 * producerId epoch firstSeq lastSeq firstOffset lastOffset}.
 *
 * <p>Threads: owned by the partition's owner thread; not thread-safe.
 */
final class ProducerStateTable {
    static final int BATCHES_KEPT = 5;
    static final String SNAPSHOT_FILE = "producer-state";

    record BatchMeta(int firstSeq, int lastSeq, long firstOffset, long lastOffset) {}

    private static final class Entry {
        short epoch;
        final ArrayDeque<BatchMeta> batches = new ArrayDeque<>(BATCHES_KEPT);
    }

    /** Result of {@link #check}: OK, a duplicate (with its offsets), or an error. */
    sealed interface Check {}

    record Ok() implements Check {}

    record Duplicate(BatchMeta original) implements Check {}

    record Refused(ProduceError error, String message) implements Check {}

    private static final Ok OK = new Ok();

    private final Map<Long, Entry> producers = new HashMap<>();
    private boolean dirty;

    Check check(long producerId, short epoch, int firstSeq, int lastSeq) {
        Entry e = producers.get(producerId);
        if (e == null) {
            return OK;
        }
        if (epoch < e.epoch) {
            return new Refused(
                    ProduceError.INVALID_PRODUCER_EPOCH,
                    "producer " + producerId + " epoch " + epoch + " is older than " + e.epoch);
        }
        if (epoch > e.epoch) {
            return firstSeq == 0
                    ? OK
                    : new Refused(
                            ProduceError.OUT_OF_ORDER_SEQUENCE_NUMBER,
                            "a new epoch must start at sequence 0, got " + firstSeq);
        }
        for (BatchMeta b : e.batches) {
            if (b.firstSeq() == firstSeq && b.lastSeq() == lastSeq) {
                return new Duplicate(b);
            }
        }
        BatchMeta last = e.batches.peekLast();
        if (last != null && firstSeq != nextSequence(last.lastSeq())) {
            return new Refused(
                    ProduceError.OUT_OF_ORDER_SEQUENCE_NUMBER,
                    "producer " + producerId + " sent sequence " + firstSeq + ", expected "
                            + nextSequence(last.lastSeq()));
        }
        return OK;
    }

    void update(long producerId, short epoch, int firstSeq, int lastSeq, long firstOffset, long lastOffset) {
        Entry e = producers.computeIfAbsent(producerId, k -> new Entry());
        if (epoch != e.epoch) {
            e.batches.clear();
            e.epoch = epoch;
        }
        if (e.batches.size() == BATCHES_KEPT) {
            e.batches.pollFirst();
        }
        e.batches.addLast(new BatchMeta(firstSeq, lastSeq, firstOffset, lastOffset));
        dirty = true;
    }

    static int nextSequence(int seq) {
        return seq == Integer.MAX_VALUE ? 0 : seq + 1;
    }

    /** The last sequence of a batch that starts at {@code firstSeq} and holds {@code count} records. */
    static int lastSequence(int firstSeq, int count) {
        long last = (long) firstSeq + count - 1;
        return (int) (last > Integer.MAX_VALUE ? last - Integer.MAX_VALUE - 1 : last);
    }

    int size() {
        return producers.size();
    }

    boolean isDirty() {
        return dirty;
    }

    /** Drops batches at or above {@code offset} (after the log was cut back). */
    void truncateTo(long offset) {
        producers.values().forEach(e -> e.batches.removeIf(b -> b.lastOffset() >= offset));
        producers.values().removeIf(e -> e.batches.isEmpty());
    }

    void writeSnapshot(Path dir, long offset) {
        writeSnapshotFile(dir, snapshotText(offset));
    }

    /** The snapshot of the state below {@code offset}, for {@link #writeSnapshotFile}; clears dirty. */
    String snapshotText(long offset) {
        List<String> lines = new ArrayList<>();
        lines.add("offset " + offset);
        producers.forEach((pid, e) -> {
            for (BatchMeta b : e.batches) {
                if (b.lastOffset() < offset) {
                    lines.add(pid + " " + e.epoch + " " + b.firstSeq() + " " + b.lastSeq() + " " + b.firstOffset() + " "
                            + b.lastOffset());
                }
            }
        });
        dirty = false;
        return String.join("\n", lines) + "\n";
    }

    /** Writes a snapshot durably (fsyncs: call it without holding the partition's lock). */
    static void writeSnapshotFile(Path dir, String text) {
        DurableFiles.replace(dir.resolve(SNAPSHOT_FILE), text);
    }

    /** Loads a snapshot; returns the offset it covers up to, or -1 when there is none usable. */
    long readSnapshot(Path dir) {
        Path file = dir.resolve(SNAPSHOT_FILE);
        if (!Files.exists(file)) {
            return -1;
        }
        try {
            List<String> lines = Files.readAllLines(file, StandardCharsets.UTF_8);
            if (lines.isEmpty() || !lines.getFirst().startsWith("offset ")) {
                return -1;
            }
            long offset = Long.parseLong(
                    lines.getFirst().substring("offset ".length()).trim());
            for (String line : lines.subList(1, lines.size())) {
                if (line.isBlank()) {
                    continue;
                }
                String[] f = line.trim().split(" ");
                update(
                        Long.parseLong(f[0]),
                        Short.parseShort(f[1]),
                        Integer.parseInt(f[2]),
                        Integer.parseInt(f[3]),
                        Long.parseLong(f[4]),
                        Long.parseLong(f[5]));
            }
            dirty = false;
            return offset;
        } catch (IOException | RuntimeException e) {
            producers.clear();
            return -1;
        }
    }
}
