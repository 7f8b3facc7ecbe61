package io.fjord.storage;

import java.util.regex.Pattern;

/**
 * A topic partition, as storage names it: the directory {@code <topic>-<partition>} under the data
 * directory. Topic names follow Kafka's rule (letters, digits, '.', '_', '-', at most 249 chars),
 * so the last '-' always separates the partition number.
 */
public record PartitionId(String topic, int partition) {
    private static final Pattern LEGAL_TOPIC = Pattern.compile("[a-zA-Z0-9._-]{1,249}");

    public PartitionId {
        if (!isLegalTopic(topic)) {
            throw new IllegalArgumentException("illegal topic name: " + topic);
        }
        if (partition < 0) {
            throw new IllegalArgumentException("negative partition: " + partition);
        }
    }

    public static boolean isLegalTopic(String topic) {
        return topic != null && LEGAL_TOPIC.matcher(topic).matches() && !topic.equals(".") && !topic.equals("..");
    }

    public String dirName() {
        return topic + "-" + partition;
    }

    /** Parses a directory name, or returns null when it is not one of ours. */
    public static PartitionId parseDirName(String name) {
        int dash = name.lastIndexOf('-');
        if (dash <= 0 || dash == name.length() - 1) {
            return null;
        }
        String topic = name.substring(0, dash);
        String part = name.substring(dash + 1);
        if (!part.chars().allMatch(Character::isDigit) || part.length() > 9 || !isLegalTopic(topic)) {
            return null;
        }
        return new PartitionId(topic, Integer.parseInt(part));
    }

    @Override
    public String toString() {
        return dirName();
    }
}
