package io.fjord.wire;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.fail;

import io.fjord.storage.SmallFileSystem;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Properties;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.KafkaStorageException;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A single-node broker whose disk fills up, with the real Java client: the broker's data directory
 * is on a small tmpfs the test mounts (it must run as root; otherwise it is skipped with a
 * message), and a file next to it takes the rest of the space. A produce then fails with
 * KAFKA_STORAGE_ERROR, nothing acknowledged is lost, reads go on, produce works again once the
 * space is back (no restart), and a restart afterwards finds exactly the acknowledged records.
 */
class DiskFullTest {
    private static final int FS_MIB = 96;
    private static final long UNMOUNT_TIMEOUT_MS = 3_000;
    private static final String TOPIC = "full";
    private static final TopicPartition TP = new TopicPartition(TOPIC, 0);
    private static final int RECORD_BYTES = 16 * 1024;

    @TempDir
    Path tmp;

    private SmallFileSystem fs;
    private Path mountPoint;
    private TestServer fjord;

    @BeforeEach
    void mountSmallFileSystem() throws Exception {
        fs = SmallFileSystem.mountOrSkip(tmp.resolve("small-fs"), FS_MIB);
        mountPoint = fs.path();
    }

    @AfterEach
    void stopAndUnmount() throws Exception {
        if (fjord != null) {
            fjord.close();
            fjord = null; // the broker's objects hold its mapped index files until collected
        }
        if (fs != null) {
            // A closed broker's objects may stay reachable for a while (Ratis keeps JVM-wide
            // registries), and with them read-only mappings of index files: detach lazily then.
            fs.unmount(UNMOUNT_TIMEOUT_MS, true);
        }
    }

    @Test
    void shouldRefuseProduceWithAStorageErrorWhenTheDiskIsFullAndLoseNothing() throws Exception {
        fjord = new TestServer(mountPoint.resolve("data"));
        try (Admin admin = Admin.create(fjord.clientProps())) {
            admin.createTopics(List.of(new NewTopic(TOPIC, 1, (short) 1))).all().get();
        }
        List<String> acked = new ArrayList<>();
        Path filler = mountPoint.resolve("filler");
        try (KafkaProducer<byte[], byte[]> producer = producer()) {
            // Acknowledged before the disk fills.
            for (int i = 0; i < 50; i++) {
                acked.add(sendAndWait(producer, "before-" + i));
            }

            long leftBytes = fs.fill(filler);
            // The last pages of the segment may still take a record or two: write until refused.
            Throwable refused = null;
            for (int i = 0; i < 200 && refused == null; i++) {
                try {
                    acked.add(sendAndWait(producer, "full-" + i));
                } catch (ExecutionException e) {
                    refused = e.getCause();
                }
            }
            assertThat(refused)
                    .as("a produce on a full disk (%d bytes were left after the filler)", leftBytes)
                    .isInstanceOf(KafkaStorageException.class);

            // Reads go on while the disk is full.
            assertThat(consumeAll()).as("records readable on a full disk").isEqualTo(acked);

            // Space back: produce works again, on the same broker and producer.
            Files.delete(filler);
            for (int i = 0; i < 50; i++) {
                acked.add(sendAndWait(producer, "after-" + i));
            }
        }
        assertThat(consumeAll()).as("every acknowledged record, once, in order").isEqualTo(acked);

        fjord.restart();
        assertThat(consumeAll()).as("after a restart").isEqualTo(acked);
    }

    /** No retries, no idempotence: a refused produce reaches the callback with the broker's error. */
    private KafkaProducer<byte[], byte[]> producer() {
        Properties p = fjord.clientProps();
        p.put(ProducerConfig.ACKS_CONFIG, "all");
        p.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, "false");
        p.put(ProducerConfig.RETRIES_CONFIG, "0");
        p.put(ProducerConfig.MAX_IN_FLIGHT_REQUESTS_PER_CONNECTION, "1");
        p.put(ProducerConfig.LINGER_MS_CONFIG, "0");
        return new KafkaProducer<>(p, new ByteArraySerializer(), new ByteArraySerializer());
    }

    private static String sendAndWait(KafkaProducer<byte[], byte[]> producer, String id) throws Exception {
        producer.send(new ProducerRecord<>(TOPIC, 0, null, value(id))).get(30, TimeUnit.SECONDS);
        return id;
    }

    /** A record of RECORD_BYTES: the id, then padding (so that a few records fill the last pages). */
    private static byte[] value(String id) {
        byte[] v = new byte[RECORD_BYTES];
        byte[] idBytes = (id + "|").getBytes(StandardCharsets.UTF_8);
        System.arraycopy(idBytes, 0, v, 0, idBytes.length);
        return v;
    }

    private static String idOf(byte[] value) {
        String s = new String(value, 0, 64, StandardCharsets.UTF_8);
        return s.substring(0, s.indexOf('|'));
    }

    /** The ids of every record in the partition, in offset order, read until the end offset. */
    private List<String> consumeAll() {
        Properties p = fjord.clientProps();
        p.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
        p.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false");
        List<String> ids = new ArrayList<>();
        try (KafkaConsumer<byte[], byte[]> consumer =
                new KafkaConsumer<>(p, new ByteArrayDeserializer(), new ByteArrayDeserializer())) {
            consumer.assign(List.of(TP));
            long end = consumer.endOffsets(List.of(TP), Duration.ofSeconds(30)).get(TP);
            consumer.seekToBeginning(List.of(TP));
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
            while (consumer.position(TP) < end) {
                if (System.nanoTime() > deadline) {
                    fail("read " + ids.size() + " records, position " + consumer.position(TP) + " of " + end);
                }
                for (ConsumerRecord<byte[], byte[]> r : consumer.poll(Duration.ofMillis(200))) {
                    ids.add(idOf(r.value()));
                }
            }
        }
        return ids;
    }
}
