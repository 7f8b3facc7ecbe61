package io.fjord.bench;

import java.io.File;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Properties;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArraySerializer;

/**
 * Time from a broker's process start to its first acknowledged produce (issue #6's start-up
 * figure). The probe's own JVM and Kafka client are up before the broker is launched, so only the
 * broker's start is timed:
 *
 * <pre>
 *   FirstAckProbe HOST:PORT TOPIC LOG_FILE -- COMMAND ARGS...
 * </pre>
 *
 * launches COMMAND (output to LOG_FILE), then sends one record (acks=all) to TOPIC, which the
 * broker creates on first use if it does not exist, retrying with short backoffs until it is
 * acknowledged (at most 60 s). Prints {@code port_open_ms=... first_ack_ms=...} and stops the
 * broker it started (SIGTERM, then SIGKILL after 30 s), and only that process.
 */
public final class FirstAckProbe {
    private FirstAckProbe() {}

    public static void main(String[] args) throws Exception {
        int dash = Arrays.asList(args).indexOf("--");
        if (args.length < 5 || dash != 3) {
            System.err.println("usage: FirstAckProbe HOST:PORT TOPIC LOG_FILE -- COMMAND ARGS...");
            System.exit(2);
        }
        String bootstrap = args[0];
        String topic = args[1];
        File logFile = new File(args[2]);
        List<String> command = Arrays.asList(args).subList(dash + 1, args.length);
        String host = bootstrap.substring(0, bootstrap.lastIndexOf(':'));
        int port = Integer.parseInt(bootstrap.substring(bootstrap.lastIndexOf(':') + 1));

        Properties p = new Properties();
        p.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        p.put(ProducerConfig.ACKS_CONFIG, "all");
        p.put(ProducerConfig.RECONNECT_BACKOFF_MS_CONFIG, "5");
        p.put(ProducerConfig.RECONNECT_BACKOFF_MAX_MS_CONFIG, "20");
        p.put(ProducerConfig.RETRY_BACKOFF_MS_CONFIG, "5");
        p.put(ProducerConfig.RETRY_BACKOFF_MAX_MS_CONFIG, "20");
        p.put(ProducerConfig.MAX_BLOCK_MS_CONFIG, "60000");
        p.put(ProducerConfig.DELIVERY_TIMEOUT_MS_CONFIG, "60000");
        p.put(ProducerConfig.REQUEST_TIMEOUT_MS_CONFIG, "5000");
        p.put(ProducerConfig.LINGER_MS_CONFIG, "0");
        p.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class.getName());
        p.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class.getName());

        try (KafkaProducer<byte[], byte[]> producer = new KafkaProducer<>(p)) {
            long t0 = System.nanoTime();
            Process broker = new ProcessBuilder(command)
                    .redirectErrorStream(true)
                    .redirectOutput(logFile)
                    .start();
            long firstAckMs = -1;
            try {
                Thread portWatch = Thread.ofPlatform().daemon().start(() -> {
                    while (!Thread.currentThread().isInterrupted()) {
                        try (Socket s = new Socket()) {
                            s.connect(new InetSocketAddress(host, port), 100);
                            System.out.printf(Locale.ROOT, "port_open_ms=%d%n", (System.nanoTime() - t0) / 1_000_000);
                            return;
                        } catch (IOException e) {
                            sleepQuietly(5);
                        }
                    }
                });
                producer.send(new ProducerRecord<>(topic, new byte[] {1})).get(60, TimeUnit.SECONDS);
                firstAckMs = (System.nanoTime() - t0) / 1_000_000;
                portWatch.join(1000);
            } finally {
                broker.destroy();
                if (!broker.waitFor(30, TimeUnit.SECONDS)) {
                    broker.destroyForcibly().waitFor();
                }
            }
            System.out.printf(Locale.ROOT, "first_ack_ms=%d%n", firstAckMs);
        }
    }

    private static void sleepQuietly(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
