package io.fjord.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Properties;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** {@code fjord cluster up|status|down} with real node processes. */
class ClusterCommandTest {
    @TempDir
    Path dir;

    private Path clusterDir() {
        return dir.resolve("cluster");
    }

    @AfterEach
    void killLeftovers() throws Exception {
        if (!Files.exists(clusterDir().resolve(LocalCluster.LAYOUT_FILE))) {
            return;
        }
        LocalCluster c = LocalCluster.open(clusterDir(), LocalCluster.Launcher.ofThisJvm(List.of()));
        for (int id : c.layout().ids()) {
            c.kill(id);
        }
    }

    private CliNode.Result run(String... args) {
        CliNode.Streams s = new CliNode.Streams(new byte[0]);
        int code = s.commandLine().execute(args);
        return s.result(code);
    }

    @Test
    @Timeout(value = 3, unit = TimeUnit.MINUTES)
    void shouldStartServeReportAndStopAThreeNodeCluster() throws Exception {
        int base = ClusterProcesses.freeBasePort(3);
        String d = clusterDir().toString();

        long t0 = System.nanoTime();
        CliNode.Result up = run(
                "cluster",
                "up",
                "--nodes",
                "3",
                "--base-port",
                Integer.toString(base),
                "--data-dir",
                d,
                "--heap",
                "256m");
        System.out.printf("cluster up took %d ms%n", (System.nanoTime() - t0) / 1_000_000);
        assertThat(up.code()).as(up.err()).isZero();
        String bootstrap = "127.0.0.1:" + base + ",127.0.0.1:" + (base + 1) + ",127.0.0.1:" + (base + 2);
        assertThat(up.out().trim()).isEqualTo(bootstrap);
        for (int id = 1; id <= 3; id++) {
            assertThat(clusterDir().resolve("node-" + id + "/pid")).exists();
            assertThat(clusterDir().resolve("node-" + id + "/server.log")).exists();
        }
        LocalCluster cluster = LocalCluster.open(clusterDir(), LocalCluster.Launcher.ofThisJvm(List.of()));
        List<Long> pids = new ArrayList<>();
        for (int id = 1; id <= 3; id++) {
            pids.add(cluster.process(id).orElseThrow().pid());
        }

        CliNode.Result again = run("cluster", "up", "--data-dir", d);
        assertThat(again.code()).isEqualTo(1);
        assertThat(again.err()).contains("already running");

        // The offsets topic (8 partitions, rf 3) exists once up returns: its leaders are counted.
        List<String[]> rows = statusRows(d);
        assertThat(rows).hasSize(3);
        assertThat(rows.stream().filter(r -> r[4].equals("LEADER"))).hasSize(1);
        assertThat(rows.stream().filter(r -> r[4].equals("FOLLOWER"))).hasSize(2);
        for (int i = 0; i < 3; i++) {
            assertThat(rows.get(i)[0]).isEqualTo(Integer.toString(i + 1));
            assertThat(rows.get(i)[1]).isEqualTo("127.0.0.1:" + (base + i));
            assertThat(rows.get(i)[2]).isEqualTo(Long.toString(pids.get(i)));
            assertThat(rows.get(i)[3]).isEqualTo("running");
        }
        assertThat(leaderSum(rows)).isEqualTo(8);

        Properties ap = new Properties();
        ap.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        try (Admin admin = Admin.create(ap)) {
            admin.createTopics(List.of(new NewTopic("orders", 3, (short) 3)))
                    .all()
                    .get();
        }
        Properties pp = new Properties();
        pp.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        pp.put(ProducerConfig.ACKS_CONFIG, "all");
        try (KafkaProducer<String, String> p =
                new KafkaProducer<>(pp, new StringSerializer(), new StringSerializer())) {
            for (int i = 0; i < 30; i++) {
                p.send(new ProducerRecord<>("orders", i % 3, null, "v" + i)).get();
            }
        }
        Properties cp = new Properties();
        cp.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        List<String> values = new ArrayList<>();
        try (KafkaConsumer<String, String> c =
                new KafkaConsumer<>(cp, new StringDeserializer(), new StringDeserializer())) {
            List<TopicPartition> tps = List.of(
                    new TopicPartition("orders", 0), new TopicPartition("orders", 1), new TopicPartition("orders", 2));
            c.assign(tps);
            c.seekToBeginning(tps);
            long deadlineNs = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
            while (values.size() < 30 && System.nanoTime() < deadlineNs) {
                for (ConsumerRecord<String, String> r : c.poll(Duration.ofMillis(200))) {
                    values.add(r.value());
                }
            }
        }
        assertThat(values).hasSize(30);
        for (int i = 0; i < 30; i++) {
            assertThat(values).contains("v" + i);
        }
        assertThat(leaderSum(statusRows(d))).isEqualTo(8 + 3);

        CliNode.Result down = run("cluster", "down", "--data-dir", d);
        assertThat(down.code()).as(down.err()).isZero();
        assertThat(down.err()).contains("node 1 (pid " + pids.get(0) + ") stopped");
        for (long pid : pids) {
            assertThat(ProcessHandle.of(pid).filter(ProcessHandle::isAlive)).isEmpty();
        }
        List<String[]> after = statusRows(d);
        assertThat(after).allSatisfy(r -> assertThat(r[3]).isEqualTo("stopped"));
    }

    @Test
    void shouldRefuseAnotherLayoutOnTheSameDirectory() throws Exception {
        Files.createDirectories(clusterDir());
        new LocalCluster.Layout(LocalCluster.HOST, 3, 21_000).write(clusterDir().resolve(LocalCluster.LAYOUT_FILE));
        CliNode.Result up =
                run("cluster", "up", "--nodes", "2", "--data-dir", clusterDir().toString());
        assertThat(up.code()).isEqualTo(1);
        assertThat(up.err()).contains("holds a cluster of 3 nodes on base port 21000");
    }

    @Test
    void shouldGiveNodesTheServersAotCacheOnlyWhenItIsNewerThanTheJar() throws Exception {
        Path jar = Files.writeString(dir.resolve("fjord.jar"), "jar");
        Path cache = dir.resolve(ClusterCommand.AOT_CACHE_FILE);
        String cp = jar.toString();
        assertThat(ClusterCommand.aotOptions(cp, 25, null, null))
                .as("no cache yet")
                .isEmpty();

        Files.writeString(cache, "cache");
        Files.setLastModifiedTime(jar, java.nio.file.attribute.FileTime.fromMillis(1_000_000));
        Files.setLastModifiedTime(cache, java.nio.file.attribute.FileTime.fromMillis(2_000_000));
        assertThat(ClusterCommand.aotOptions(cp, 25, null, null))
                .containsExactly("-XX:AOTCache=" + cache, "-Xlog:aot=error,cds=error");
        assertThat(ClusterCommand.aotOptions(cp, 25, "1", null)).hasSize(2);

        assertThat(ClusterCommand.aotOptions(cp, 24, null, null))
                .as("JDK before 25")
                .isEmpty();
        assertThat(ClusterCommand.aotOptions(cp, 25, "0", null))
                .as("FJORD_AOT=0")
                .isEmpty();
        assertThat(ClusterCommand.aotOptions(cp + java.io.File.pathSeparator + cp, 25, null, null))
                .as("not a single jar")
                .isEmpty();
        assertThat(ClusterCommand.aotOptions(dir.resolve("classes").toString(), 25, null, null))
                .as("classes, not a jar")
                .isEmpty();

        Path elsewhere = Files.writeString(dir.resolve("other.aot"), "cache");
        Files.setLastModifiedTime(elsewhere, java.nio.file.attribute.FileTime.fromMillis(2_000_000));
        assertThat(ClusterCommand.aotOptions(cp, 25, null, elsewhere.toString()))
                .as("FJORD_AOT_CACHE names the file")
                .containsExactly("-XX:AOTCache=" + elsewhere, "-Xlog:aot=error,cds=error");
        assertThat(ClusterCommand.aotOptions(
                        cp, 25, null, dir.resolve("missing.aot").toString()))
                .as("FJORD_AOT_CACHE names a file that is not there")
                .isEmpty();

        Files.setLastModifiedTime(jar, java.nio.file.attribute.FileTime.fromMillis(3_000_000));
        assertThat(ClusterCommand.aotOptions(cp, 25, null, null))
                .as("a rebuilt jar: stale cache")
                .isEmpty();
    }

    @Test
    void shouldSayWhenThereIsNoCluster() {
        CliNode.Result status =
                run("cluster", "status", "--data-dir", clusterDir().toString());
        assertThat(status.code()).isEqualTo(1);
        assertThat(status.err()).contains("no cluster in");
        assertThat(run("cluster", "down", "--data-dir", clusterDir().toString()).code())
                .isEqualTo(1);
    }

    private List<String[]> statusRows(String d) {
        CliNode.Result status = run("cluster", "status", "--data-dir", d);
        assertThat(status.code()).as(status.err()).isZero();
        System.out.print(status.out());
        List<String> lines = status.out().lines().toList();
        assertThat(lines.getFirst().split("\\s+"))
                .containsExactly("node", "address", "pid", "process", "metadata", "leaders");
        return lines.subList(1, lines.size()).stream().map(l -> l.split("\\s+")).toList();
    }

    private static int leaderSum(List<String[]> rows) {
        return rows.stream()
                .mapToInt(r -> r[5].equals("-") ? 0 : Integer.parseInt(r[5]))
                .sum();
    }
}
