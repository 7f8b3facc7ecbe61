package io.fjord.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.StringSerializer;

/**
 * An idempotent, acks=all producer on a thread of its own that writes {@code "<partition>:<seq>"}
 * to the partitions of a topic in turn, {@code seq} counting 0, 1, 2, ... per partition, and
 * remembers every acknowledgement (offset and when) and every failure. At most {@link
 * #IN_FLIGHT_MAX} sends are outstanding.
 *
 * <p>Threads: the producer thread sends; the producer's I/O thread records outcomes; the test
 * thread reads the concurrent collections and calls {@link #stop}.
 */
final class SequencedProducer implements AutoCloseable {
    static final int IN_FLIGHT_MAX = 200;

    /** One acknowledged record. */
    record Ack(int partition, long seq, long offset, long sentNs, long ackedNs) {}

    /** One send the producer gave up on. */
    record Failure(int partition, long seq, Exception error) {}

    private final String topic;
    private final int partitions;
    private final KafkaProducer<String, String> producer;
    private final long[] sent;
    private final Map<Integer, ConcurrentLinkedQueue<Ack>> acks = new ConcurrentHashMap<>();
    private final ConcurrentLinkedQueue<Failure> failures = new ConcurrentLinkedQueue<>();
    private final Semaphore inFlight = new Semaphore(IN_FLIGHT_MAX);
    private final AtomicBoolean running = new AtomicBoolean(true);
    private final Thread thread;

    SequencedProducer(String bootstrap, String topic, int partitions, int deliveryTimeoutMs) {
        this.topic = topic;
        this.partitions = partitions;
        this.sent = new long[partitions];
        for (int p = 0; p < partitions; p++) {
            acks.put(p, new ConcurrentLinkedQueue<>());
        }
        this.producer = new KafkaProducer<>(
                props(bootstrap, deliveryTimeoutMs), new StringSerializer(), new StringSerializer());
        this.thread = new Thread(this::run, "sequenced-producer");
        thread.setDaemon(true);
        thread.start();
    }

    static Properties props(String bootstrap, int deliveryTimeoutMs) {
        Properties p = new Properties();
        p.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        p.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, true);
        p.put(ProducerConfig.ACKS_CONFIG, "all");
        p.put(ProducerConfig.LINGER_MS_CONFIG, 5);
        p.put(ProducerConfig.REQUEST_TIMEOUT_MS_CONFIG, Math.min(10_000, deliveryTimeoutMs / 2));
        p.put(ProducerConfig.DELIVERY_TIMEOUT_MS_CONFIG, deliveryTimeoutMs);
        p.put(ProducerConfig.MAX_BLOCK_MS_CONFIG, deliveryTimeoutMs);
        return p;
    }

    private void run() {
        int p = 0;
        try {
            while (running.get()) {
                if (!inFlight.tryAcquire(100, TimeUnit.MILLISECONDS)) {
                    continue;
                }
                long seq = sent[p]++;
                int partition = p;
                long sentNs = System.nanoTime();
                producer.send(new ProducerRecord<>(topic, partition, null, partition + ":" + seq), (md, e) -> {
                    inFlight.release();
                    if (e != null) {
                        failures.add(new Failure(partition, seq, e));
                    } else {
                        acks.get(partition).add(new Ack(partition, seq, md.offset(), sentNs, System.nanoTime()));
                    }
                });
                p = (p + 1) % partitions;
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (RuntimeException e) {
            failures.add(new Failure(p, -1, e));
        }
    }

    long ackedCount() {
        return acks.values().stream().mapToLong(ConcurrentLinkedQueue::size).sum();
    }

    long ackedCount(int partition) {
        return acks.get(partition).size();
    }

    List<Ack> acks(int partition) {
        return new ArrayList<>(acks.get(partition));
    }

    List<Failure> failures() {
        return new ArrayList<>(failures);
    }

    /** Sends issued to {@code partition}; valid once {@link #stop} returned. */
    long sent(int partition) {
        return sent[partition];
    }

    /**
     * Every send was acknowledged: each partition of {@code logs} (what a consumer read from the
     * start) holds exactly the sequence 0..n-1, in order, and each record sits at the offset its
     * acknowledgement named. Valid once {@link #stop} returned.
     */
    void assertEachSentRecordOnceInOrder(Map<Integer, List<ConsumerRecord<String, String>>> logs) {
        for (int p = 0; p < partitions; p++) {
            List<String> values =
                    logs.get(p).stream().map(ConsumerRecord::value).toList();
            List<String> expected = new ArrayList<>();
            for (long s = 0; s < sent[p]; s++) {
                expected.add(p + ":" + s);
            }
            assertThat(values).as("partition %d", p).isEqualTo(expected);
            for (Ack a : acks(p)) {
                assertThat(logs.get(p).get((int) a.offset()).value()).isEqualTo(p + ":" + a.seq());
            }
        }
    }

    /** Stops sending, then waits for every outstanding send to be acknowledged or to fail. */
    void stop() throws InterruptedException {
        running.set(false);
        thread.join(TimeUnit.SECONDS.toMillis(30));
        producer.flush();
    }

    @Override
    public void close() {
        running.set(false);
        producer.close(java.time.Duration.ofSeconds(5));
    }
}
