package io.fjord.bench;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Properties;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.PartitionInfo;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;

/**
 * Consumer throughput without a consumer group: {@code KafkaConsumer.assign()} on every partition
 * of a topic, from the beginning, until a given number of records has arrived or a deadline
 * passes. Fjord has no group coordinator yet and Kafka's ConsumerPerformance always joins a group,
 * so bench/compare.sh runs this one tool against both brokers.
 *
 * <pre>
 *  ConsumerThroughput BOOTSTRAP TOPIC RECORDS TIMEOUT_MS [key=value consumer properties...]
 * </pre>
 *
 * <p>Prints one line: {@code records=N bytes=B fetch_ms=T MiB_per_s=X records_per_s=Y first_ms=F},
 * where the fetch phase runs from the first poll to the last record (as ConsumerPerformance's
 * "fetch" figures, which exclude the group join), bytes count keys and values (as
 * ConsumerPerformance does) and first_ms is the time to the first record. Client settings follow
 * ConsumerPerformance's defaults: 1 MiB per partition per fetch, 2 MiB socket receive buffer, no
 * CRC check. Exit status 1 when fewer than RECORDS arrived before the deadline.
 */
public final class ConsumerThroughput {
    private static final Duration POLL_TIMEOUT = Duration.ofMillis(100);

    private ConsumerThroughput() {}

    public static void main(String[] args) {
        if (args.length < 4) {
            System.err.println(
                    "usage: ConsumerThroughput BOOTSTRAP TOPIC RECORDS TIMEOUT_MS [key=value consumer properties...]");
            System.exit(2);
        }
        String topic = args[1];
        long recordsWanted = Long.parseLong(args[2]);
        long timeoutMs = Long.parseLong(args[3]);
        Properties props = new Properties();
        props.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, args[0]);
        props.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class.getName());
        props.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class.getName());
        props.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false");
        props.put(ConsumerConfig.MAX_PARTITION_FETCH_BYTES_CONFIG, "1048576");
        props.put(ConsumerConfig.RECEIVE_BUFFER_CONFIG, "2097152");
        props.put(ConsumerConfig.CHECK_CRCS_CONFIG, "false");
        props.put(ConsumerConfig.CLIENT_ID_CONFIG, "fjord-consumer-throughput");
        for (int i = 4; i < args.length; i++) {
            int eq = args[i].indexOf('=');
            if (eq <= 0) {
                throw new IllegalArgumentException("not key=value: " + args[i]);
            }
            props.put(args[i].substring(0, eq), args[i].substring(eq + 1));
        }
        long records = 0;
        long bytes = 0;
        long startNs;
        long firstNs = -1;
        long lastNs;
        try (KafkaConsumer<byte[], byte[]> consumer = new KafkaConsumer<>(props)) {
            List<TopicPartition> partitions = new ArrayList<>();
            for (PartitionInfo p : consumer.partitionsFor(topic, Duration.ofMillis(timeoutMs))) {
                partitions.add(new TopicPartition(p.topic(), p.partition()));
            }
            consumer.assign(partitions);
            consumer.seekToBeginning(partitions);
            startNs = System.nanoTime();
            lastNs = startNs;
            long deadlineNs = startNs + timeoutMs * 1_000_000L;
            while (records < recordsWanted && System.nanoTime() < deadlineNs) {
                ConsumerRecords<byte[], byte[]> batch = consumer.poll(POLL_TIMEOUT);
                if (batch.isEmpty()) {
                    continue;
                }
                for (ConsumerRecord<byte[], byte[]> r : batch) {
                    records++;
                    bytes += (r.key() == null ? 0 : r.key().length) + (r.value() == null ? 0 : r.value().length);
                }
                lastNs = System.nanoTime();
                if (firstNs < 0) {
                    firstNs = lastNs;
                }
            }
        }
        double fetchS = Math.max(1e-9, (lastNs - startNs) / 1e9);
        System.out.printf(
                Locale.ROOT,
                "records=%d bytes=%d fetch_ms=%.0f MiB_per_s=%.1f records_per_s=%.0f first_ms=%.0f%n",
                records,
                bytes,
                fetchS * 1000,
                bytes / fetchS / (1024 * 1024),
                records / fetchS,
                firstNs < 0 ? -1.0 : (firstNs - startNs) / 1e6);
        if (records < recordsWanted) {
            System.err.println("only " + records + " of " + recordsWanted + " records before the deadline");
            System.exit(1);
        }
    }
}
