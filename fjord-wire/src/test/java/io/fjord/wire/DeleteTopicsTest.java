package io.fjord.wire;

import static org.assertj.core.api.Assertions.assertThat;

import io.fjord.broker.BrokerConfig;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class DeleteTopicsTest {
    @TempDir
    Path dir;

    @Test
    void shouldDeleteATopicWhosePartitionsTheConnectionsOwnLoopOwns() throws Exception {
        // One loop: it carries the admin connection and owns every partition.
        try (TestServer fjord = new TestServer(BrokerConfig.defaults(dir, 0).withIoThreads(1));
                Admin admin = Admin.create(fjord.clientProps())) {
            admin.createTopics(List.of(new NewTopic("doomed", 3, (short) 1)))
                    .all()
                    .get(10, TimeUnit.SECONDS);
            try (KafkaProducer<byte[], byte[]> producer =
                    new KafkaProducer<>(fjord.clientProps(), new ByteArraySerializer(), new ByteArraySerializer())) {
                for (int p = 0; p < 3; p++) {
                    producer.send(new ProducerRecord<>("doomed", p, null, "x".getBytes(StandardCharsets.UTF_8)))
                            .get(10, TimeUnit.SECONDS);
                }
            }
            long startNs = System.nanoTime();
            admin.deleteTopics(List.of("doomed")).all().get(20, TimeUnit.SECONDS);
            assertThat(TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - startNs))
                    .isLessThan(5_000);
            assertThat(admin.listTopics().names().get(10, TimeUnit.SECONDS)).doesNotContain("doomed");
        }
    }
}
