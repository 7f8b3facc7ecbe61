package io.fjord.cli;

import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.errors.WakeupException;
import org.apache.kafka.common.serialization.StringDeserializer;

/**
 * One member of a consumer group on its own thread: polls, records every record it reads (the
 * values {@link SequencedProducer} writes, {@code <partition>:<seq>}), and commits synchronously
 * after every poll that read something. A failed commit is counted and retried with the next poll
 * (the next commit covers it), as an application would; any other failure stops the member and is
 * kept for the test.
 */
final class CommittingConsumer implements AutoCloseable {
    private final KafkaConsumer<String, String> consumer;
    private final Map<Integer, Set<Long>> seenSeqs = new ConcurrentHashMap<>();
    private final AtomicLong seen = new AtomicLong();
    private final AtomicLong commits = new AtomicLong();
    private final AtomicLong failedCommits = new AtomicLong();
    private final AtomicLong lastCommitNs = new AtomicLong(Long.MIN_VALUE);
    private final AtomicReference<Exception> failure = new AtomicReference<>();
    private final AtomicBoolean running = new AtomicBoolean(true);
    private final Thread thread;

    CommittingConsumer(String bootstrap, String group, String topic) {
        Properties p = new Properties();
        p.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        p.put(ConsumerConfig.GROUP_ID_CONFIG, group);
        p.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false);
        p.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
        p.put(ConsumerConfig.MAX_POLL_RECORDS_CONFIG, 200);
        p.put(ConsumerConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, 10_000);
        p.put(ConsumerConfig.REQUEST_TIMEOUT_MS_CONFIG, 5_000);
        this.consumer = new KafkaConsumer<>(p, new StringDeserializer(), new StringDeserializer());
        consumer.subscribe(List.of(topic));
        this.thread = new Thread(this::run, "committing-consumer");
        thread.setDaemon(true);
        thread.start();
    }

    private void run() {
        try {
            while (running.get()) {
                ConsumerRecords<String, String> records = consumer.poll(Duration.ofMillis(200));
                for (ConsumerRecord<String, String> r : records) {
                    String v = r.value();
                    long seq = Long.parseLong(v.substring(v.indexOf(':') + 1));
                    seenSeqs.computeIfAbsent(r.partition(), k -> ConcurrentHashMap.newKeySet())
                            .add(seq);
                    seen.incrementAndGet();
                }
                if (!records.isEmpty()) {
                    long startNs = System.nanoTime();
                    try {
                        consumer.commitSync();
                        commits.incrementAndGet();
                        lastCommitNs.set(startNs);
                    } catch (KafkaException e) { // retried with the next poll's commit
                        if (e instanceof WakeupException) {
                            throw e;
                        }
                        failedCommits.incrementAndGet();
                    }
                }
            }
        } catch (WakeupException e) {
            // closing
        } catch (Exception e) {
            failure.set(e);
        } finally {
            consumer.close(org.apache.kafka.clients.consumer.CloseOptions.timeout(Duration.ofSeconds(5)));
        }
    }

    /** Records read, counting any read again. */
    long seen() {
        return seen.get();
    }

    long commits() {
        return commits.get();
    }

    long failedCommits() {
        return failedCommits.get();
    }

    /** When the last commit that succeeded was started ({@link System#nanoTime}); Long.MIN_VALUE before the first. */
    long lastCommitNs() {
        return lastCommitNs.get();
    }

    Exception failure() {
        return failure.get();
    }

    /** Whether every sequence number of {@code expected} (per partition) has been read. */
    boolean hasSeenAll(Map<Integer, Set<Long>> expected) {
        return expected.entrySet().stream()
                .allMatch(e -> seenSeqs.getOrDefault(e.getKey(), Set.of()).containsAll(e.getValue()));
    }

    @Override
    public void close() {
        running.set(false);
        consumer.wakeup();
        try {
            thread.join(10_000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
