package io.fjord.bench;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Properties;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLongArray;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.OffsetSpec;
import org.apache.kafka.clients.admin.TopicDescription;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.Node;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArraySerializer;

/**
 * Time to resume writes after the leader of a partition is killed. An idempotent acks=all
 * producer sends one record every INTERVAL_MS to partition 0 of TOPIC (linger.ms=0, otherwise the
 * client's defaults: retries without end within delivery.timeout.ms=120 s); KILL_AT_MS after the
 * first paced send the probe looks up the partition's leader with Admin and SIGKILLs that node's
 * process (its PID from NODE_PIDS, "id:pid,id:pid,..."; no other process is ever signalled). The
 * paced sends stop DURATION_MS after they began; then the probe waits (at most 60 s) for every
 * outstanding ack.
 *
 * <pre>
 *  FailoverProbe BOOTSTRAP TOPIC NODE_PIDS DURATION_MS KILL_AT_MS INTERVAL_MS
 * </pre>
 *
 * <p>Prints one line of {@code key=value}: {@code killed_node}, {@code killed_was_controller}
 * (yes/no/unknown: whether the node was the active metadata-quorum leader per DescribeQuorum),
 * {@code resume_ms} (from the kill until the ack of the first record sent after the kill),
 * {@code max_ack_gap_ms} (the longest time between two consecutive acks over the whole run),
 * {@code stall_ms} (from the kill until the first ack of any record after it), counts of sent,
 * acked and failed records, {@code end_offset} (the partition's log end after the run, read from
 * the surviving nodes; with idempotence it should equal the records acked, {@code lost_or_dup} is
 * the difference) and {@code max_latency_ms} (longest send-to-ack). Exit status 1 when the run
 * could not kill a leader or no record sent after the kill was acknowledged.
 */
public final class FailoverProbe {
    private FailoverProbe() {}

    public static void main(String[] args) throws Exception {
        if (args.length != 6) {
            System.err.println("usage: FailoverProbe BOOTSTRAP TOPIC NODE_PIDS DURATION_MS KILL_AT_MS INTERVAL_MS");
            System.exit(2);
        }
        String bootstrap = args[0];
        String topic = args[1];
        Map<Integer, Long> pids = new HashMap<>();
        for (String e : args[2].split(",")) {
            String[] kv = e.split(":");
            pids.put(Integer.parseInt(kv[0]), Long.parseLong(kv[1]));
        }
        long durationMs = Long.parseLong(args[3]);
        long killAtMs = Long.parseLong(args[4]);
        long intervalMs = Long.parseLong(args[5]);

        Properties ap = new Properties();
        ap.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        ap.put(AdminClientConfig.REQUEST_TIMEOUT_MS_CONFIG, "10000");
        ap.put(AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, "30000");
        Properties pp = new Properties();
        pp.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        pp.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class.getName());
        pp.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class.getName());
        pp.put(ProducerConfig.ACKS_CONFIG, "all");
        pp.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, "true");
        pp.put(ProducerConfig.LINGER_MS_CONFIG, "0");

        int capacity = (int) (durationMs / Math.max(1, intervalMs)) + 16;
        long[] sentNs = new long[capacity];
        AtomicLongArray ackedNs = new AtomicLongArray(capacity);
        boolean[] failed = new boolean[capacity];
        AtomicInteger failures = new AtomicInteger();
        List<String> errors = new ArrayList<>();
        byte[] value = new byte[1024];
        int n = 0;
        long killNs = 0;
        int killed = -1;
        String wasController = "unknown";
        try (Admin admin = Admin.create(ap);
                KafkaProducer<byte[], byte[]> producer = new KafkaProducer<>(pp)) {
            // Warm up: metadata, producer id, connection to the leader.
            for (int i = 0; i < 20; i++) {
                producer.send(new ProducerRecord<>(topic, 0, null, value)).get(60, TimeUnit.SECONDS);
            }
            long startNs = System.nanoTime();
            long nextNs = startNs;
            long endNs = startNs + durationMs * 1_000_000L;
            long killDueNs = startNs + killAtMs * 1_000_000L;
            while (System.nanoTime() < endNs && n < capacity) {
                if (killed < 0 && System.nanoTime() >= killDueNs - 1_000_000_000L) {
                    // Look the leader up a second before the kill, so the lookup does not delay sends near it.
                    TopicDescription d = admin.describeTopics(List.of(topic))
                            .allTopicNames()
                            .get()
                            .get(topic);
                    Node leader = d.partitions().get(0).leader();
                    if (leader == null || !pids.containsKey(leader.id())) {
                        System.err.println("no known leader for " + topic + "-0: " + leader);
                        System.exit(1);
                    }
                    killed = leader.id();
                    try {
                        int controller = admin.describeMetadataQuorum()
                                .quorumInfo()
                                .get(10, TimeUnit.SECONDS)
                                .leaderId();
                        wasController = controller == killed ? "yes" : "no";
                    } catch (Exception e) {
                        wasController = "unknown";
                    }
                }
                if (killNs == 0 && killed >= 0 && System.nanoTime() >= killDueNs) {
                    Optional<ProcessHandle> ph = ProcessHandle.of(pids.get(killed));
                    if (ph.isEmpty()) {
                        System.err.println("process of node " + killed + " is not running");
                        System.exit(1);
                    }
                    killNs = System.nanoTime();
                    ph.get().destroyForcibly(); // SIGKILL
                    System.err.printf(Locale.ROOT, "killed node %d (pid %d)%n", killed, pids.get(killed));
                }
                int i = n++;
                sentNs[i] = System.nanoTime();
                producer.send(new ProducerRecord<>(topic, 0, null, value), (md, ex) -> {
                    if (ex != null) {
                        failed[i] = true;
                        if (failures.incrementAndGet() <= 5) {
                            synchronized (errors) {
                                errors.add(ex.toString());
                            }
                        }
                    }
                    ackedNs.set(i, System.nanoTime()); // last: publishes failed[i]
                });
                nextNs += intervalMs * 1_000_000L;
                long now = System.nanoTime();
                if (nextNs > now) {
                    TimeUnit.NANOSECONDS.sleep(nextNs - now);
                } else {
                    nextNs = now; // behind (send() blocked): do not burst to catch up
                }
            }
            long waitUntil = System.nanoTime() + 60_000_000_000L;
            for (int i = 0; i < n; i++) {
                while (ackedNs.get(i) == 0 && System.nanoTime() < waitUntil) {
                    Thread.sleep(5);
                }
            }
            long endOffset = -1;
            try {
                TopicPartition tp = new TopicPartition(topic, 0);
                endOffset = admin.listOffsets(Map.of(tp, OffsetSpec.latest()))
                        .partitionResult(tp)
                        .get(30, TimeUnit.SECONDS)
                        .offset();
            } catch (Exception e) {
                System.err.println("listOffsets failed: " + e);
            }
            report(sentNs, ackedNs, failed, n, killNs, killed, wasController, endOffset, errors);
        }
    }

    private static void report(
            long[] sentNs,
            AtomicLongArray ackedNs,
            boolean[] failed,
            int n,
            long killNs,
            int killed,
            String wasController,
            long endOffset,
            List<String> errors) {
        if (killNs == 0) {
            System.err.println("the run ended before the kill");
            System.exit(1);
        }
        int acked = 0;
        int failedCount = 0;
        long maxLatency = 0;
        List<Long> acks = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            if (ackedNs.get(i) == 0) {
                continue;
            }
            if (failed[i]) {
                failedCount++;
                continue;
            }
            acked++;
            acks.add(ackedNs.get(i));
            maxLatency = Math.max(maxLatency, ackedNs.get(i) - sentNs[i]);
        }
        acks.sort(null);
        long maxGap = 0;
        long firstAckAfterKill = -1;
        for (int i = 0; i < acks.size(); i++) {
            if (i > 0) {
                maxGap = Math.max(maxGap, acks.get(i) - acks.get(i - 1));
            }
            if (firstAckAfterKill < 0 && acks.get(i) >= killNs) {
                firstAckAfterKill = acks.get(i);
            }
        }
        long resume = -1;
        for (int i = 0; i < n; i++) {
            if (sentNs[i] >= killNs) {
                if (ackedNs.get(i) != 0 && !failed[i]) {
                    resume = ackedNs.get(i) - killNs;
                }
                break;
            }
        }
        // 20 warm-up records precede the paced ones.
        long lostOrDup = endOffset < 0 ? 0 : endOffset - (acked + 20);
        System.out.printf(
                Locale.ROOT,
                "killed_node=%d killed_was_controller=%s resume_ms=%.1f stall_ms=%.1f max_ack_gap_ms=%.1f"
                        + " max_latency_ms=%.1f sent=%d acked=%d failed=%d unanswered=%d end_offset=%d lost_or_dup=%s%n",
                killed,
                wasController,
                resume / 1e6,
                firstAckAfterKill < 0 ? -1 : (firstAckAfterKill - killNs) / 1e6,
                maxGap / 1e6,
                maxLatency / 1e6,
                n,
                acked,
                failedCount,
                n - acked - failedCount,
                endOffset,
                endOffset < 0 ? "unknown" : Long.toString(lostOrDup));
        for (String e : errors) {
            System.err.println("send failed: " + e);
        }
        if (resume < 0) {
            System.err.println("no record sent after the kill was acknowledged");
            System.exit(1);
        }
    }
}
