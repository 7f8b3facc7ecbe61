package io.fjord.cli;

import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.common.PartitionInfo;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.UnknownTopicOrPartitionException;
import org.apache.kafka.common.errors.WakeupException;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/**
 * {@code fjord consume TOPIC}: prints records to stdout, one a line, with a kafka-clients
 * {@link KafkaConsumer}. Keys and values are written as raw bytes; a null one prints as {@code
 * null}.
 *
 * <p>Without {@code --group} the consumer is in assign mode (no group, nothing committed). Without
 * {@code --follow} it reads up to the end offsets that exist when it starts, so it always finishes;
 * with {@code --follow} it polls until SIGINT/SIGTERM, whose shutdown hook wakes the consumer up and
 * waits for {@code main} to flush and close. Either way {@code --max-messages} stops it early.
 *
 * <p>With {@code --group} it subscribes to the topic as a member of that group (classic protocol),
 * so several processes share the partitions. It starts at the group's committed offsets ({@code
 * auto.offset.reset} earliest with {@code --from-beginning}, else latest, for partitions without
 * one) and, after the records of each poll are flushed to stdout, commits their offsets
 * synchronously ({@link PendingCommits}): at-least-once. A group has no end to reach, so without
 * {@code --follow} it stops after {@code --timeout-ms} without a record; closing the consumer
 * leaves the group.
 *
 * <p>Threads: {@code main} owns the consumer (and runs its rebalance callbacks); the shutdown hook
 * only calls {@link #stop()}.
 */
@Command(
        name = "consume",
        mixinStandardHelpOptions = true,
        description = {
            "Print records of a topic to stdout, one a line.",
            "Without --group: starts at the end unless --from-beginning or --offset, and",
            "stops at the end offsets that exist when it starts, unless --follow.",
            "With --group: shares the partitions with the group's other members, starts at",
            "its committed offsets, commits what it printed, and stops after --timeout-ms",
            "without a record, unless --follow."
        })
final class ConsumeCommand implements Callable<Integer> {
    static final Duration POLL_TIMEOUT = Duration.ofMillis(200);
    /** Without --follow, the longest wait for the next record before giving up (a broker gone away). */
    static final long BOUNDED_IDLE_TIMEOUT_MS_DEFAULT = 30_000;
    /** With --group and without --follow, how long to wait for a record before stopping (not a failure). */
    static final long GROUP_IDLE_TIMEOUT_MS_DEFAULT = 10_000;
    /**
     * With --group and an idle timeout, the longest wait for the group's first assignment: joining
     * takes the broker's initial rebalance delay (3 s in Kafka), or waiting for old members.
     */
    static final long JOIN_TIMEOUT_MS = 60_000;
    /** Metadata and offset look-ups at start; kafka-clients' default is 60 s. */
    static final int API_TIMEOUT_MS = 30_000;
    /** How long the shutdown hook waits for {@code main} to flush and close the consumer. */
    static final long STOP_WAIT_MS = 5_000;

    private static final byte[] NULL = "null".getBytes(StandardCharsets.UTF_8);

    private final Stdio stdio;
    private volatile boolean stopRequested;
    private volatile KafkaConsumer<byte[], byte[]> consumer;
    /** When the idle timeout started counting: the last record or (in a group) assignment. Main only. */
    private long idleSinceNs;
    /** In a group: whether it has assigned this member partitions (maybe none) yet. Main only. */
    private boolean assigned;

    @Spec
    CommandSpec spec;

    @Mixin
    ClientOptions client;

    @Parameters(index = "0", paramLabel = "TOPIC", description = "The topic to read.")
    String topic;

    @Option(
            names = "--group",
            paramLabel = "GROUP",
            description = "Read as a member of consumer group GROUP: share its partitions with the other"
                    + " members, start at its committed offsets, commit what was printed.")
    String group;

    @Option(
            names = "--from-beginning",
            description = "Start at the earliest offset still held (with --group: in partitions the group"
                    + " has no committed offset for).")
    boolean fromBeginning;

    @Option(
            names = "--offset",
            paramLabel = "N",
            description = "Start at offset N in each partition read (clamped to what the partition holds;"
                    + " not with --group).")
    Long offset;

    @Option(
            names = "--partition",
            paramLabel = "P",
            description = "Read only partition P (default: all; not with --group).")
    Integer partition;

    @Option(names = "--max-messages", paramLabel = "N", description = "Stop after N records.")
    Long maxMessages;

    @Option(names = "--follow", description = "Keep waiting for new records until interrupted (SIGINT/SIGTERM).")
    boolean follow;

    @Option(names = "--print-key", description = "Print the key, the separator, then the value.")
    boolean printKey;

    @Option(
            names = "--key-separator",
            paramLabel = "SEP",
            defaultValue = "\t",
            description = "Between key and value with --print-key (default: a tab).")
    String keySeparator;

    @Option(
            names = "--timeout-ms",
            paramLabel = "T",
            description = "Stop when no record arrived for T ms; without --follow and --group that is a"
                    + " failure (default: none with --follow, else " + GROUP_IDLE_TIMEOUT_MS_DEFAULT
                    + " with --group, " + BOUNDED_IDLE_TIMEOUT_MS_DEFAULT + " without).")
    Long timeoutMs;

    ConsumeCommand(Stdio stdio) {
        this.stdio = stdio;
    }

    /** Makes {@code main} stop consuming, flush and return; callable from any thread. */
    void stop() {
        stopRequested = true;
        KafkaConsumer<byte[], byte[]> c = consumer;
        if (c != null) {
            c.wakeup();
        }
    }

    @Override
    public Integer call() throws Exception {
        validate();
        Properties p = client.clientProps();
        p.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false);
        // Reading must not create the topic; a position that retention overtakes moves to the start.
        p.put(ConsumerConfig.ALLOW_AUTO_CREATE_TOPICS_CONFIG, false);
        if (group == null) {
            p.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
        } else {
            p.put(ConsumerConfig.GROUP_ID_CONFIG, group);
            // For partitions without a commit (and positions retention overtook); as Kafka's console consumer.
            p.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, fromBeginning ? "earliest" : "latest");
        }
        p.put(ConsumerConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, API_TIMEOUT_MS);
        CountDownLatch finished = new CountDownLatch(1);
        Thread hook = new Thread(
                () -> {
                    stop();
                    try {
                        finished.await(STOP_WAIT_MS, TimeUnit.MILLISECONDS);
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                    }
                },
                "fjord-consume-stop");
        Runtime.getRuntime().addShutdownHook(hook);
        try (KafkaConsumer<byte[], byte[]> c =
                new KafkaConsumer<>(p, new ByteArrayDeserializer(), new ByteArrayDeserializer())) {
            consumer = c;
            if (stopRequested) {
                return 0;
            }
            return consume(c);
        } catch (WakeupException e) {
            return 0; // stopped while still looking up partitions or offsets
        } finally {
            consumer = null;
            finished.countDown();
            try {
                Runtime.getRuntime().removeShutdownHook(hook);
            } catch (IllegalStateException e) {
                // The JVM is shutting down: the hook is what stopped us.
            }
        }
    }

    private void validate() {
        if (group != null) {
            if (group.isEmpty()) {
                throw new ParameterException(spec.commandLine(), "--group must not be empty");
            }
            if (offset != null) {
                throw new ParameterException(
                        spec.commandLine(),
                        "--offset does not apply with --group: the group's committed offsets say where to start");
            }
            if (partition != null) {
                throw new ParameterException(
                        spec.commandLine(), "--partition does not apply with --group: the group assigns partitions");
            }
        }
        if (fromBeginning && offset != null) {
            throw new ParameterException(spec.commandLine(), "--from-beginning and --offset exclude each other");
        }
        if (offset != null && offset < 0) {
            throw new ParameterException(spec.commandLine(), "--offset must be at least 0");
        }
        if (partition != null && partition < 0) {
            throw new ParameterException(spec.commandLine(), "--partition must be at least 0");
        }
        if (maxMessages != null && maxMessages < 1) {
            throw new ParameterException(spec.commandLine(), "--max-messages must be at least 1");
        }
        if (timeoutMs != null && timeoutMs < 1) {
            throw new ParameterException(spec.commandLine(), "--timeout-ms must be at least 1");
        }
    }

    private int consume(KafkaConsumer<byte[], byte[]> c) throws IOException {
        List<TopicPartition> partitions = new ArrayList<>();
        try {
            for (PartitionInfo info : c.partitionsFor(topic)) {
                partitions.add(new TopicPartition(topic, info.partition()));
            }
        } catch (UnknownTopicOrPartitionException e) {
            // as empty
        }
        if (partitions.isEmpty()) {
            return stdio.fail(spec, "topic '" + topic + "' does not exist");
        }
        if (group != null) {
            // Joining can take longer than an idle timeout: it counts from each assignment.
            PendingCommits commits = new PendingCommits(c, this::note, () -> {
                assigned = true;
                idleSinceNs = System.nanoTime();
            });
            c.subscribe(List.of(topic), commits);
            return poll(c, Map.of(), List.of(), commits);
        }
        partitions.sort(Comparator.comparingInt(TopicPartition::partition));
        if (partition != null) {
            TopicPartition only = new TopicPartition(topic, partition);
            if (!partitions.contains(only)) {
                return stdio.fail(
                        spec,
                        "topic '" + topic + "' has no partition " + partition + " (it has " + partitions.size() + ")");
            }
            partitions = List.of(only);
        }
        c.assign(partitions);
        Map<TopicPartition, Long> ends = c.endOffsets(partitions);
        Map<TopicPartition, Long> starts = c.beginningOffsets(partitions);
        List<TopicPartition> unfinished = new ArrayList<>();
        for (TopicPartition tp : partitions) {
            long start = startOffset(tp, starts.get(tp), ends.get(tp));
            c.seek(tp, start);
            if (start < ends.get(tp)) {
                unfinished.add(tp);
            } else if (!follow) {
                c.pause(List.of(tp));
            }
        }
        return follow ? poll(c, Map.of(), unfinished, null) : poll(c, ends, unfinished, null);
    }

    private long startOffset(TopicPartition tp, long earliest, long latest) {
        if (fromBeginning) {
            return earliest;
        }
        if (offset == null) {
            return latest;
        }
        long start = Math.max(earliest, Math.min(offset, latest));
        if (start != offset) {
            note("partition " + tp.partition() + " holds offsets " + earliest + " to " + latest + "; starting at "
                    + start);
        }
        return start;
    }

    /**
     * Polls until stopped, {@code --max-messages} is reached, the idle timeout passes, or (when
     * {@code ends} is not empty) every partition has reached its end offset.
     *
     * @param ends the end offset of each partition; empty to follow, or in a group
     * @param unfinished partitions still below their end offset; emptied as they reach it
     * @param commits in a group, where the offsets of flushed records go to be committed; else null
     */
    private int poll(
            KafkaConsumer<byte[], byte[]> c,
            Map<TopicPartition, Long> ends,
            List<TopicPartition> unfinished,
            PendingCommits commits)
            throws IOException {
        boolean bounded = !ends.isEmpty();
        long idleTimeoutMs = idleTimeoutMs(bounded);
        Map<TopicPartition, OffsetAndMetadata> written = new HashMap<>();
        long printed = 0;
        long startNs = System.nanoTime();
        idleSinceNs = startNs;
        boolean timedOut = false;
        boolean joinTimedOut = false;
        OutputStream out = new BufferedOutputStream(stdio.out(), 64 * 1024);
        byte[] separator = keySeparator.getBytes(StandardCharsets.UTF_8);
        try {
            while (!stopRequested && (maxMessages == null || printed < maxMessages)) {
                if (bounded && unfinished.isEmpty()) {
                    break;
                }
                ConsumerRecords<byte[], byte[]> records = c.poll(POLL_TIMEOUT);
                for (ConsumerRecord<byte[], byte[]> r : records) {
                    if (bounded && r.offset() >= ends.get(new TopicPartition(r.topic(), r.partition()))) {
                        continue; // written after we started
                    }
                    if (maxMessages != null && printed >= maxMessages) {
                        break;
                    }
                    write(out, r, separator);
                    printed++;
                    if (commits != null) {
                        written.put(
                                new TopicPartition(r.topic(), r.partition()),
                                new OffsetAndMetadata(r.offset() + 1, r.leaderEpoch(), ""));
                    }
                }
                out.flush();
                if (stdio.out().checkError()) {
                    break; // the reader went away (a closed pipe): nothing more to do, or to commit
                }
                if (commits != null && !written.isEmpty()) {
                    commits.add(written);
                    written.clear();
                    commits.commit();
                }
                long nowNs = System.nanoTime();
                if (!records.isEmpty()) {
                    idleSinceNs = nowNs;
                }
                if (bounded) {
                    List<TopicPartition> done = new ArrayList<>();
                    for (TopicPartition tp : unfinished) {
                        if (c.position(tp) >= ends.get(tp)) {
                            done.add(tp);
                        }
                    }
                    unfinished.removeAll(done);
                    c.pause(done); // no need to fetch what we will not print
                }
                if (commits != null && !assigned) {
                    if (idleTimeoutMs >= 0 && nowNs - startNs > TimeUnit.MILLISECONDS.toNanos(JOIN_TIMEOUT_MS)) {
                        joinTimedOut = true;
                        break;
                    }
                } else if (idleTimeoutMs >= 0 && nowNs - idleSinceNs > TimeUnit.MILLISECONDS.toNanos(idleTimeoutMs)) {
                    timedOut = true;
                    break;
                }
            }
        } catch (WakeupException e) {
            // stop(): fall through to flush and report
        } finally {
            out.flush();
        }
        if (commits != null) {
            // Offsets a stop()'s wake-up kept from their commit; `written` stays out: its flush failed.
            commits.commitBeforeClose();
            if (timedOut) {
                note("no record for " + idleTimeoutMs + " ms; stopping");
            }
        }
        stdio.err().println(spec.qualifiedName() + ": " + printed + " records");
        if (joinTimedOut) {
            return stdio.fail(spec, "group '" + group + "' assigned no partitions in " + JOIN_TIMEOUT_MS + " ms");
        }
        if (timedOut && bounded) {
            return stdio.fail(spec, "no record for " + idleTimeoutMs + " ms before the end offsets were reached");
        }
        return 0;
    }

    /** In ms; -1 for none. */
    private long idleTimeoutMs(boolean bounded) {
        if (timeoutMs != null) {
            return timeoutMs;
        }
        if (follow) {
            return -1;
        }
        return bounded ? BOUNDED_IDLE_TIMEOUT_MS_DEFAULT : GROUP_IDLE_TIMEOUT_MS_DEFAULT;
    }

    private void note(String line) {
        stdio.err().println(spec.qualifiedName() + ": " + line);
    }

    private void write(OutputStream out, ConsumerRecord<byte[], byte[]> r, byte[] separator) throws IOException {
        if (printKey) {
            out.write(r.key() == null ? NULL : r.key());
            out.write(separator);
        }
        out.write(r.value() == null ? NULL : r.value());
        out.write('\n');
    }
}
