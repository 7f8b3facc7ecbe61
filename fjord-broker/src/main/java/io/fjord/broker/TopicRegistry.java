package io.fjord.broker;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.UUID;

/**
 * The durable list of topics: until the Raft metadata service exists, a text file {@code
 * <dataDir>/.meta/topics} replaced atomically (write temp, fsync, rename, fsync dir) on each change.
 *
 * <p>Format, one line per item, fields separated by a single space:
 *
 * <pre>
 *   topic NAME UUID PARTITIONS
 *   config NAME KEY VALUE...      (VALUE is the rest of the line)
 * </pre>
 *
 * <p>Threads: readers on any thread see an immutable snapshot published through a volatile field
 * (no lock on the produce/fetch path); changes are serialized by {@code synchronized} (admin path
 * only).
 */
public final class TopicRegistry {
    private final Path file;
    private volatile Map<String, TopicInfo> topics;

    private TopicRegistry(Path file, Map<String, TopicInfo> topics) {
        this.file = file;
        this.topics = topics;
    }

    public static TopicRegistry open(Path metaDir) {
        Path file = metaDir.resolve("topics");
        Map<String, TopicInfo> loaded = new TreeMap<>();
        try {
            Files.createDirectories(metaDir);
            if (Files.exists(file)) {
                Map<String, Map<String, String>> configs = new TreeMap<>();
                for (String line : Files.readAllLines(file, StandardCharsets.UTF_8)) {
                    if (line.isBlank()) {
                        continue;
                    }
                    String[] f = line.split(" ", 4);
                    switch (f[0]) {
                        case "topic" ->
                            loaded.put(
                                    f[1], new TopicInfo(f[1], UUID.fromString(f[2]), Integer.parseInt(f[3]), Map.of()));
                        case "config" ->
                            configs.computeIfAbsent(f[1], k -> new TreeMap<>()).put(f[2], f.length > 3 ? f[3] : "");
                        default -> throw new IOException("unknown line in " + file + ": " + line);
                    }
                }
                configs.forEach((name, cfg) -> {
                    TopicInfo t = loaded.get(name);
                    if (t != null) {
                        loaded.put(name, new TopicInfo(name, t.id(), t.partitions(), cfg));
                    }
                });
            }
        } catch (IOException | RuntimeException e) {
            throw new IllegalStateException("cannot read topic registry " + file + ": " + e.getMessage(), e);
        }
        return new TopicRegistry(file, Collections.unmodifiableMap(loaded));
    }

    public TopicInfo get(String name) {
        return topics.get(name);
    }

    /** All topics, by name. An immutable snapshot. */
    public Map<String, TopicInfo> all() {
        return topics;
    }

    /** Adds a topic; false if one with that name exists. Durable when it returns true. */
    public synchronized boolean create(TopicInfo topic) {
        if (topics.containsKey(topic.name())) {
            return false;
        }
        Map<String, TopicInfo> next = new TreeMap<>(topics);
        next.put(topic.name(), topic);
        persist(next);
        topics = Collections.unmodifiableMap(next);
        return true;
    }

    /** Replaces a topic's partition count and configs; false if it does not exist. */
    public synchronized boolean update(TopicInfo topic) {
        TopicInfo old = topics.get(topic.name());
        if (old == null || !old.id().equals(topic.id())) {
            return false;
        }
        Map<String, TopicInfo> next = new TreeMap<>(topics);
        next.put(topic.name(), topic);
        persist(next);
        topics = Collections.unmodifiableMap(next);
        return true;
    }

    /** Removes a topic; returns it, or null if there was none. */
    public synchronized TopicInfo delete(String name) {
        TopicInfo old = topics.get(name);
        if (old == null) {
            return null;
        }
        Map<String, TopicInfo> next = new TreeMap<>(topics);
        next.remove(name);
        persist(next);
        topics = Collections.unmodifiableMap(next);
        return old;
    }

    private void persist(Map<String, TopicInfo> all) {
        List<String> lines = new ArrayList<>();
        for (TopicInfo t : all.values()) {
            lines.add("topic " + t.name() + " " + t.id() + " " + t.partitions());
            new TreeMap<>(t.configs()).forEach((k, v) -> lines.add("config " + t.name() + " " + k + " " + v));
        }
        DurableFiles.replace(file, String.join("\n", lines) + "\n");
    }

    /** Writes small files durably and atomically. */
    static final class DurableFiles {
        private DurableFiles() {}

        static void replace(Path file, String content) {
            Path tmp = file.resolveSibling(file.getFileName() + ".tmp");
            try {
                Files.writeString(
                        tmp,
                        content,
                        StandardCharsets.UTF_8,
                        StandardOpenOption.CREATE,
                        StandardOpenOption.TRUNCATE_EXISTING,
                        StandardOpenOption.WRITE,
                        StandardOpenOption.SYNC);
                Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
                try (var ch = java.nio.channels.FileChannel.open(file.getParent(), StandardOpenOption.READ)) {
                    ch.force(true);
                }
            } catch (IOException e) {
                throw new java.io.UncheckedIOException("cannot write " + file, e);
            }
        }
    }
}
