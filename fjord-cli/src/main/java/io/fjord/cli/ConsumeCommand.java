package io.fjord.cli;

import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
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
 * {@link KafkaConsumer} in assign mode (no consumer group, nothing committed). Keys and values are
 * written as raw bytes; a null one prints as {@code null}.
 *
 * <p>Without {@code --follow} it reads up to the end offsets that exist when it starts, so it always
 * finishes; with {@code --follow} it polls until SIGINT/SIGTERM, whose shutdown hook wakes the
 * consumer up and waits for {@code main} to flush and close. Either way {@code --max-messages}
 * stops it early.
 *
 * <p>Threads: {@code main} owns the consumer; the shutdown hook only calls {@link #stop()}.
 */
@Command(
        name = "consume",
        mixinStandardHelpOptions = true,
        description = {
            "Print records of a topic to stdout, one a line (no consumer group).",
            "Starts at the end unless --from-beginning or --offset. Stops at the end",
            "offsets that exist when it starts, unless --follow."
        })
final class ConsumeCommand implements Callable<Integer> {
    static final Duration POLL_TIMEOUT = Duration.ofMillis(200);
    /** Without --follow, the longest wait for the next record before giving up (a broker gone away). */
    static final long BOUNDED_IDLE_TIMEOUT_MS_DEFAULT = 30_000;
    /** Metadata and offset look-ups at start; kafka-clients' default is 60 s. */
    static final int API_TIMEOUT_MS = 30_000;
    /** How long the shutdown hook waits for {@code main} to flush and close the consumer. */
    static final long STOP_WAIT_MS = 5_000;

    private static final byte[] NULL = "null".getBytes(StandardCharsets.UTF_8);

    private final Stdio stdio;
    private volatile boolean stopRequested;
    private volatile KafkaConsumer<byte[], byte[]> consumer;

    @Spec
    CommandSpec spec;

    @Mixin
    ClientOptions client;

    @Parameters(index = "0", paramLabel = "TOPIC", description = "The topic to read.")
    String topic;

    @Option(names = "--from-beginning", description = "Start at the earliest offset still held.")
    boolean fromBeginning;

    @Option(
            names = "--offset",
            paramLabel = "N",
            description = "Start at offset N in each partition read (clamped to what the partition holds).")
    Long offset;

    @Option(names = "--partition", paramLabel = "P", description = "Read only partition P (default: all).")
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
            description = "Stop when no record arrived for T ms; without --follow that is a failure"
                    + " (default: none with --follow, " + BOUNDED_IDLE_TIMEOUT_MS_DEFAULT + " without).")
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
        p.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
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
        return follow ? poll(c, Map.of(), unfinished) : poll(c, ends, unfinished);
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
            stdio.err()
                    .println(spec.qualifiedName() + ": partition " + tp.partition() + " holds offsets " + earliest
                            + " to " + latest + "; starting at " + start);
        }
        return start;
    }

    /**
     * Polls until stopped, {@code --max-messages} is reached, the idle timeout passes, or (when
     * {@code ends} is not empty) every partition has reached its end offset.
     *
     * @param ends the end offset of each partition; empty to follow
     * @param unfinished partitions still below their end offset; emptied as they reach it
     */
    private int poll(KafkaConsumer<byte[], byte[]> c, Map<TopicPartition, Long> ends, List<TopicPartition> unfinished)
            throws IOException {
        boolean bounded = !ends.isEmpty();
        long idleTimeoutMs = timeoutMs != null ? timeoutMs : bounded ? BOUNDED_IDLE_TIMEOUT_MS_DEFAULT : -1;
        long printed = 0;
        long lastRecordNs = System.nanoTime();
        boolean timedOut = false;
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
                }
                out.flush();
                if (stdio.out().checkError()) {
                    break; // the reader went away (a closed pipe): nothing more to do
                }
                long nowNs = System.nanoTime();
                if (!records.isEmpty()) {
                    lastRecordNs = nowNs;
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
                if (idleTimeoutMs >= 0 && nowNs - lastRecordNs > TimeUnit.MILLISECONDS.toNanos(idleTimeoutMs)) {
                    timedOut = true;
                    break;
                }
            }
        } catch (WakeupException e) {
            // stop(): fall through to flush and report
        } finally {
            out.flush();
        }
        stdio.err().println(spec.qualifiedName() + ": " + printed + " records");
        if (timedOut && bounded) {
            return stdio.fail(spec, "no record for " + idleTimeoutMs + " ms before the end offsets were reached");
        }
        return 0;
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
