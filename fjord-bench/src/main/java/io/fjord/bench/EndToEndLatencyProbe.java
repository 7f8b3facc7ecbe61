package io.fjord.bench;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Properties;
import java.util.SplittableRandom;
import java.util.concurrent.ExecutionException;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.PartitionInfo;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;

/**
 * End-to-end latency without a consumer group: one message at a time is produced (waiting for
 * its ack) and then polled back by a consumer that {@code assign()}s every partition of the topic
 * from its end; the latency is from before the send to the poll that returns the message. The
 * same shape as Kafka's EndToEndLatency (linger.ms=0, fetch.max.wait.ms=0, one message in flight),
 * which cannot be used against Fjord because it looks up a group coordinator when it closes.
 *
 * <pre>
 *  EndToEndLatencyProbe BOOTSTRAP TOPIC MESSAGES ACKS RECORD_BYTES TIMEOUT_MS
 * </pre>
 *
 * <p>Prints one line: {@code messages=N avg_ms=A p50_ms=.. p99_ms=.. p999_ms=.. max_ms=..} with
 * microsecond resolution. TIMEOUT_MS bounds each message's wait and the whole run; exit status 1
 * when a message did not come back or came back wrong.
 */
public final class EndToEndLatencyProbe {
    private static final Duration POLL_TIMEOUT = Duration.ofMillis(100);

    private EndToEndLatencyProbe() {}

    public static void main(String[] args) throws InterruptedException, ExecutionException {
        if (args.length != 6) {
            System.err.println("usage: EndToEndLatencyProbe BOOTSTRAP TOPIC MESSAGES ACKS RECORD_BYTES TIMEOUT_MS");
            System.exit(2);
        }
        String bootstrap = args[0];
        String topic = args[1];
        int messages = Integer.parseInt(args[2]);
        String acks = args[3];
        int recordBytes = Integer.parseInt(args[4]);
        long timeoutMs = Long.parseLong(args[5]);

        Properties cp = new Properties();
        cp.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        cp.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class.getName());
        cp.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class.getName());
        cp.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false");
        cp.put(ConsumerConfig.FETCH_MAX_WAIT_MS_CONFIG, "0"); // no batching in time: poll as fast as possible
        Properties pp = new Properties();
        pp.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        pp.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class.getName());
        pp.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class.getName());
        pp.put(ProducerConfig.LINGER_MS_CONFIG, "0");
        pp.put(ProducerConfig.ACKS_CONFIG, acks);

        long[] latenciesNs = new long[messages];
        SplittableRandom random = new SplittableRandom(42);
        byte[] value = new byte[recordBytes];
        long runDeadlineNs = System.nanoTime() + timeoutMs * 1_000_000L;
        try (KafkaConsumer<byte[], byte[]> consumer = new KafkaConsumer<>(cp);
                KafkaProducer<byte[], byte[]> producer = new KafkaProducer<>(pp)) {
            List<TopicPartition> partitions = new ArrayList<>();
            for (PartitionInfo p : consumer.partitionsFor(topic, Duration.ofMillis(timeoutMs))) {
                partitions.add(new TopicPartition(p.topic(), p.partition()));
            }
            consumer.assign(partitions);
            consumer.seekToEnd(partitions);
            partitions.forEach(consumer::position); // resolve the end offsets before the first send
            for (int i = 0; i < messages; i++) {
                for (int b = 0; b < recordBytes; b++) {
                    value[b] = (byte) ('a' + random.nextInt(26));
                }
                long beginNs = System.nanoTime();
                producer.send(new ProducerRecord<>(topic, value)).get();
                ConsumerRecord<byte[], byte[]> got = null;
                long deadlineNs = Math.min(runDeadlineNs, beginNs + timeoutMs * 1_000_000L);
                while (got == null && System.nanoTime() < deadlineNs) {
                    ConsumerRecords<byte[], byte[]> polled = consumer.poll(POLL_TIMEOUT);
                    for (ConsumerRecord<byte[], byte[]> r : polled) {
                        if (got != null) {
                            fail("more than one message came back for message " + i);
                        }
                        got = r;
                    }
                }
                long elapsedNs = System.nanoTime() - beginNs;
                if (got == null) {
                    fail("message " + i + " did not come back within " + timeoutMs + " ms");
                } else if (!Arrays.equals(value, got.value())) {
                    fail("message " + i + " came back with different bytes");
                }
                latenciesNs[i] = elapsedNs;
            }
        }
        long[] sorted = latenciesNs.clone();
        Arrays.sort(sorted);
        double avgMs = Arrays.stream(sorted).average().orElse(0) / 1e6;
        System.out.printf(
                Locale.ROOT,
                "messages=%d avg_ms=%.3f p50_ms=%.3f p99_ms=%.3f p999_ms=%.3f max_ms=%.3f%n",
                messages,
                avgMs,
                percentileMs(sorted, 0.50),
                percentileMs(sorted, 0.99),
                percentileMs(sorted, 0.999),
                sorted[sorted.length - 1] / 1e6);
    }

    /** Nearest-rank percentile of sorted nanosecond values, in milliseconds. */
    private static double percentileMs(long[] sortedNs, double q) {
        int rank = (int) Math.ceil(q * sortedNs.length);
        return sortedNs[Math.max(0, Math.min(sortedNs.length - 1, rank - 1))] / 1e6;
    }

    private static void fail(String message) {
        System.err.println(message);
        System.exit(1);
    }
}
