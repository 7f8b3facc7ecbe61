package io.fjord.cli;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.Properties;
import java.util.Set;
import java.util.concurrent.Callable;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/**
 * {@code fjord produce TOPIC}: one record per line of stdin, sent with a kafka-clients
 * {@link KafkaProducer}. Lines are bytes, not text: whatever is between two newlines becomes the
 * value unchanged. Stops reading at the first failed send (a broken topic or broker would fail
 * every line after it), flushes, and prints a summary to stderr.
 *
 * <p>Threads: {@code main} reads and sends; the producer's I/O thread runs the send callbacks,
 * which only touch the atomic counters and stderr.
 */
@Command(
        name = "produce",
        mixinStandardHelpOptions = true,
        description = {
            "Send lines from stdin to a topic, one record per line.",
            "With --key-separator, what precedes the first separator is the key and",
            "the rest the value; a line without it has no key. An unknown topic is",
            "created if the broker auto-creates topics."
        })
final class ProduceCommand implements Callable<Integer> {
    static final Set<String> ACKS = Set.of("all", "-1", "1", "0");
    static final Set<String> COMPRESSION = Set.of("none", "gzip", "snappy", "lz4", "zstd");
    /** Errors of individual sends shown before the summary; the rest are only counted. */
    static final int FAILURES_SHOWN_MAX = 5;

    private final Stdio stdio;

    @Spec
    CommandSpec spec;

    @Mixin
    ClientOptions client;

    @Parameters(index = "0", paramLabel = "TOPIC", description = "The topic to write to.")
    String topic;

    @Option(names = "--key-separator", paramLabel = "SEP", description = "Split each line into key SEP value.")
    String keySeparator;

    @Option(
            names = "--acks",
            paramLabel = "all|1|0",
            description = "Acknowledgement to wait for (default: all, with idempotence).")
    String acks;

    @Option(
            names = "--compression",
            paramLabel = "none|gzip|snappy|lz4|zstd",
            defaultValue = "none",
            description = "Batch compression (default: ${DEFAULT-VALUE}).")
    String compression;

    ProduceCommand(Stdio stdio) {
        this.stdio = stdio;
    }

    @Override
    public Integer call() throws Exception {
        if (acks != null && !ACKS.contains(acks)) {
            throw new ParameterException(spec.commandLine(), "--acks must be all, 1 or 0: " + acks);
        }
        if (!COMPRESSION.contains(compression)) {
            throw new ParameterException(
                    spec.commandLine(), "--compression must be none, gzip, snappy, lz4 or zstd: " + compression);
        }
        if (keySeparator != null && keySeparator.isEmpty()) {
            throw new ParameterException(spec.commandLine(), "--key-separator must not be empty");
        }
        byte[] separator = keySeparator == null ? null : keySeparator.getBytes(StandardCharsets.UTF_8);
        Properties p = client.clientProps();
        if (acks != null) {
            // Without an explicit enable.idempotence, acks 1 or 0 quietly turns idempotence off.
            p.put(ProducerConfig.ACKS_CONFIG, acks);
        }
        p.put(ProducerConfig.COMPRESSION_TYPE_CONFIG, compression);

        AtomicLong acked = new AtomicLong();
        AtomicLong failed = new AtomicLong();
        long lines = 0;
        String stoppedBecause = null;
        try (KafkaProducer<byte[], byte[]> producer =
                new KafkaProducer<>(p, new ByteArraySerializer(), new ByteArraySerializer())) {
            LineReader in = new LineReader(stdio.in());
            try {
                while (true) {
                    if (failed.get() > 0) {
                        stoppedBecause = "stopped at the first failure; the rest of stdin was not read";
                        break;
                    }
                    byte[] line = in.next();
                    if (line == null) {
                        break;
                    }
                    long lineNumber = ++lines;
                    producer.send(record(line, separator), (md, e) -> {
                        if (e == null) {
                            acked.incrementAndGet();
                        } else if (failed.incrementAndGet() <= FAILURES_SHOWN_MAX) {
                            stdio.err()
                                    .println(spec.qualifiedName() + ": line " + lineNumber + " failed: "
                                            + Fjord.describe(e));
                        }
                    });
                }
            } catch (IOException e) {
                stoppedBecause = "stopped reading stdin at line " + (lines + 1) + ": " + Fjord.describe(e);
            }
            producer.flush();
        }
        if (stoppedBecause != null) {
            stdio.err().println(spec.qualifiedName() + ": " + stoppedBecause);
        }
        stdio.err()
                .println(spec.qualifiedName() + ": " + acked.get() + " records sent to " + topic + ", " + failed.get()
                        + " failed");
        stdio.err().flush();
        return stoppedBecause == null && failed.get() == 0 ? 0 : Fjord.EXIT_FAILED;
    }

    private ProducerRecord<byte[], byte[]> record(byte[] line, byte[] separator) {
        int at = separator == null ? -1 : indexOf(line, separator);
        if (at < 0) {
            return new ProducerRecord<>(topic, null, line);
        }
        return new ProducerRecord<>(
                topic, Arrays.copyOfRange(line, 0, at), Arrays.copyOfRange(line, at + separator.length, line.length));
    }

    static int indexOf(byte[] haystack, byte[] needle) {
        outer:
        for (int i = 0; i <= haystack.length - needle.length; i++) {
            for (int j = 0; j < needle.length; j++) {
                if (haystack[i + j] != needle[j]) {
                    continue outer;
                }
            }
            return i;
        }
        return -1;
    }
}
