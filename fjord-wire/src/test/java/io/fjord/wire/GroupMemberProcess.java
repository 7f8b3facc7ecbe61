package io.fjord.wire;

import java.time.Duration;
import java.util.Collection;
import java.util.List;
import java.util.Properties;
import java.util.TreeSet;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRebalanceListener;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;

/**
 * A group member in a JVM of its own, for tests that kill it without warning (SIGKILL: no
 * LeaveGroup, no last commit). Consumes and commits until killed, and prints one line per
 * assignment to stdout: {@code assigned <partition>,<partition>,...} (an empty list when it owns
 * nothing).
 *
 * <p>Arguments: bootstrap servers, group id, topic, session timeout ms, heartbeat interval ms.
 */
public final class GroupMemberProcess {
    private GroupMemberProcess() {}

    public static void main(String[] args) {
        Properties p = new Properties();
        p.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, args[0]);
        p.put(ConsumerConfig.GROUP_ID_CONFIG, args[1]);
        p.put(ConsumerConfig.SESSION_TIMEOUT_MS_CONFIG, args[3]);
        p.put(ConsumerConfig.HEARTBEAT_INTERVAL_MS_CONFIG, args[4]);
        p.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
        p.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false");
        try (KafkaConsumer<byte[], byte[]> c =
                new KafkaConsumer<>(p, new ByteArrayDeserializer(), new ByteArrayDeserializer())) {
            c.subscribe(List.of(args[2]), new ConsumerRebalanceListener() {
                @Override
                public void onPartitionsRevoked(Collection<TopicPartition> partitions) {}

                @Override
                public void onPartitionsAssigned(Collection<TopicPartition> partitions) {
                    TreeSet<Integer> owned = new TreeSet<>();
                    c.assignment().forEach(tp -> owned.add(tp.partition()));
                    System.out.println("assigned "
                            + String.join(
                                    ",", owned.stream().map(String::valueOf).toList()));
                    System.out.flush();
                }
            });
            while (true) {
                if (!c.poll(Duration.ofMillis(100)).isEmpty()) {
                    c.commitSync();
                }
            }
        }
    }
}
