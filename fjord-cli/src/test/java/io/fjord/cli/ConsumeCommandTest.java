package io.fjord.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.ConsumerGroupDescription;
import org.apache.kafka.clients.admin.OffsetSpec;
import org.apache.kafka.common.GroupState;
import org.apache.kafka.common.TopicPartition;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

class ConsumeCommandTest {
    @TempDir
    static Path dir;

    static CliNode fjord;

    @BeforeAll
    static void start() throws Exception {
        fjord = new CliNode(dir);
    }

    @AfterAll
    static void stop() {
        fjord.close();
    }

    private static void produce(String topic, String lines, String... options) {
        List<String> args = new ArrayList<>(List.of("produce", topic));
        args.addAll(List.of(options));
        CliNode.Result r = fjord.runWithInput(lines, args.toArray(String[]::new));
        assertThat(r.code()).as(r.err()).isZero();
    }

    @Test
    void shouldStartAtAnOffset() {
        produce("offsets", "r0\nr1\nr2\nr3\nr4\n");
        CliNode.Result r = fjord.run("consume", "offsets", "--offset", "3");
        assertThat(r.code()).as(r.err()).isZero();
        assertThat(r.lines()).containsExactly("r3", "r4");
        assertThat(r.err()).isEqualTo("fjord consume: 2 records\n");

        CliNode.Result two = fjord.run("consume", "offsets", "--offset", "1", "--max-messages", "2");
        assertThat(two.lines()).containsExactly("r1", "r2");
    }

    @Test
    void shouldClampAnOffsetPastTheEnd() {
        produce("clamped", "a\n");
        CliNode.Result r = fjord.run("consume", "clamped", "--offset", "99");
        assertThat(r.code()).isZero();
        assertThat(r.out()).isEmpty();
        assertThat(r.err()).contains("partition 0 holds offsets 0 to 1; starting at 1");
    }

    @Test
    void shouldStopAtTheEndOffsetsOfItsStartAndReadOnePartition() {
        assertThat(fjord.run("topic", "create", "wide", "--partitions", "3").code())
                .isZero();
        StringBuilder lines = new StringBuilder();
        for (int i = 0; i < 300; i++) {
            lines.append("k").append(i).append(":v").append(i).append('\n');
        }
        assertThat(fjord.runWithInput(lines.toString(), "produce", "wide", "--key-separator", ":")
                        .code())
                .isZero();

        CliNode.Result all = fjord.run("consume", "wide", "--from-beginning");
        assertThat(all.code()).as(all.err()).isZero();
        assertThat(all.lines()).hasSize(300);

        int sum = 0;
        for (int p = 0; p < 3; p++) {
            CliNode.Result one = fjord.run("consume", "wide", "--from-beginning", "--partition", Integer.toString(p));
            assertThat(one.code()).isZero();
            sum += one.lines().size();
        }
        assertThat(sum).isEqualTo(300);
        assertThat(fjord.run("consume", "wide", "--partition", "3").err())
                .contains("topic 'wide' has no partition 3 (it has 3)");
    }

    @Test
    void shouldPrintNothingWhenStartingAtTheEnd() {
        produce("latest", "old\n");
        CliNode.Result r = fjord.run("consume", "latest");
        assertThat(r.code()).isZero();
        assertThat(r.out()).isEmpty();
        assertThat(r.err()).isEqualTo("fjord consume: 0 records\n");
    }

    @Test
    void shouldFollowNewRecordsUntilStopped() throws Exception {
        produce("followed", "before\n");
        CliNode.Streams s = new CliNode.Streams(new byte[0]);
        CommandLine cl = s.commandLine();
        ConsumeCommand command = cl.getSubcommands().get("consume").getCommand();
        AtomicInteger code = new AtomicInteger(-1);
        Thread consumer = new Thread(
                () -> code.set(cl.execute(fjord.withBootstrap("consume", "followed", "--from-beginning", "--follow"))),
                "test-consume");
        consumer.start();
        awaitOutput(s, "before\n");
        produce("followed", "after\n");
        awaitOutput(s, "before\nafter\n");

        command.stop();
        consumer.join(Duration.ofSeconds(10));
        assertThat(consumer.isAlive()).isFalse();
        CliNode.Result r = s.result(code.get());
        assertThat(r.code()).isZero();
        assertThat(r.err()).isEqualTo("fjord consume: 2 records\n");
    }

    @Test
    void shouldStopFollowingAfterMaxMessagesOrIdleTimeout() {
        produce("bounded-follow", "1\n2\n3\n");
        CliNode.Result max =
                fjord.run("consume", "bounded-follow", "--from-beginning", "--follow", "--max-messages", "2");
        assertThat(max.code()).isZero();
        assertThat(max.lines()).containsExactly("1", "2");

        CliNode.Result idle =
                fjord.run("consume", "bounded-follow", "--from-beginning", "--follow", "--timeout-ms", "500");
        assertThat(idle.code()).isZero();
        assertThat(idle.lines()).containsExactly("1", "2", "3");
    }

    @Test
    void shouldFailForAnUnknownTopicWithoutCreatingIt() {
        CliNode.Result r = fjord.run("consume", "ghost", "--from-beginning");
        assertThat(r.code()).isEqualTo(1);
        assertThat(r.err()).isEqualTo("fjord consume: topic 'ghost' does not exist\n");
        assertThat(fjord.run("topic", "list").lines()).doesNotContain("ghost");
    }

    @Test
    void shouldRejectConflictingStartOptions() {
        CliNode.Result r = fjord.run("consume", "t", "--from-beginning", "--offset", "1");
        assertThat(r.code()).isEqualTo(2);
        assertThat(r.err()).contains("exclude each other");
    }

    @Test
    void shouldCommitWhatAGroupReadAndResumeFromItsCommits() throws Exception {
        createTopic("grouped", 3);
        produce("grouped", keyedLines(30), "--key-separator", ":");

        CliNode.Result first =
                fjord.run("consume", "grouped", "--group", "g", "--from-beginning", "--max-messages", "30");
        assertThat(first.code()).as(first.err()).isZero();
        assertThat(first.lines()).hasSize(30).doesNotHaveDuplicates();
        assertThat(committed("g")).isEqualTo(endOffsets("grouped")).hasSize(3);

        // --from-beginning only applies to partitions without a commit: there is nothing left to read.
        CliNode.Result second =
                fjord.run("consume", "grouped", "--group", "g", "--from-beginning", "--timeout-ms", "2000");
        assertThat(second.code()).as(second.err()).isZero();
        assertThat(second.out()).isEmpty();
        assertThat(second.err())
                .isEqualTo("fjord consume: no record for 2000 ms; stopping\nfjord consume: 0 records\n");
    }

    @Test
    void shouldResumeAGroupAfterTheLastRecordPrintedNotTheLastFetched() throws Exception {
        // One produce call, one batch: the first run fetches all ten but prints and commits four.
        produce("resumed", "r0\nr1\nr2\nr3\nr4\nr5\nr6\nr7\nr8\nr9\n");
        CliNode.Result first =
                fjord.run("consume", "resumed", "--group", "g3", "--from-beginning", "--max-messages", "4");
        assertThat(first.lines()).containsExactly("r0", "r1", "r2", "r3");
        assertThat(committed("g3")).containsExactly(Map.entry(new TopicPartition("resumed", 0), 4L));

        CliNode.Result second =
                fjord.run("consume", "resumed", "--group", "g3", "--max-messages", "6", "--timeout-ms", "5000");
        assertThat(second.code()).as(second.err()).isZero();
        assertThat(second.lines()).containsExactly("r4", "r5", "r6", "r7", "r8", "r9");
        assertThat(committed("g3")).containsExactly(Map.entry(new TopicPartition("resumed", 0), 10L));
    }

    @Test
    void shouldSplitPartitionsBetweenFollowingMembersAndLeaveOnStop() throws Exception {
        createTopic("shared", 4);
        List<Reader> readers = List.of(new Reader("shared", "g2"), new Reader("shared", "g2"));
        try (Admin admin = Admin.create(GroupClients.props(fjord.bootstrap()))) {
            awaitTwoMembersWithTwoPartitionsEach(admin, "g2");
            produce("shared", keyedLines(40), "--key-separator", ":");

            long deadlineNs = System.nanoTime() + Duration.ofSeconds(15).toNanos();
            while (readers.stream().mapToInt(r -> r.lines().size()).sum() < 40 && System.nanoTime() < deadlineNs) {
                Thread.sleep(20);
            }
            List<CliNode.Result> results = new ArrayList<>();
            for (Reader r : readers) {
                results.add(r.stop());
            }

            List<String> all = new ArrayList<>();
            for (CliNode.Result r : results) {
                assertThat(r.code()).as(r.err()).isZero();
                assertThat(r.lines()).as("each member reads its own partitions").isNotEmpty();
                all.addAll(r.lines());
            }
            assertThat(all).hasSize(40).doesNotHaveDuplicates();
            assertThat(committed("g2")).isEqualTo(endOffsets("shared"));
            assertThat(GroupCommand.describeGroup(admin, "g2").orElseThrow().members())
                    .as("close() left the group")
                    .isEmpty();
        }
    }

    @Test
    void shouldStartTheIdleTimeoutWhenTheGroupAssignsPartitionsNotBefore(@TempDir Path slowDir) throws Exception {
        try (CliNode slow = new CliNode(slowDir, 1_500)) {
            assertThat(slow.runWithInput("waiting\n", "produce", "slow-join").code())
                    .isZero();
            CliNode.Result r =
                    slow.run("consume", "slow-join", "--group", "g4", "--from-beginning", "--timeout-ms", "1000");
            assertThat(r.code()).as(r.err()).isZero();
            assertThat(r.lines()).containsExactly("waiting");
        }
    }

    @Test
    void shouldRejectOffsetAndPartitionWithAGroup() {
        CliNode.Result offset = fjord.run("consume", "t", "--group", "g", "--offset", "1");
        assertThat(offset.code()).isEqualTo(2);
        assertThat(offset.err()).contains("--offset does not apply with --group");

        CliNode.Result partition = fjord.run("consume", "t", "--group", "g", "--partition", "0");
        assertThat(partition.code()).isEqualTo(2);
        assertThat(partition.err()).contains("--partition does not apply with --group");
    }

    /** A {@code consume --group --from-beginning --follow} running on its own thread until stopped. */
    private static final class Reader {
        final CliNode.Streams streams = new CliNode.Streams(new byte[0]);
        final ConsumeCommand command;
        final AtomicInteger code = new AtomicInteger(-1);
        final Thread thread;

        Reader(String topic, String group) {
            CommandLine cl = streams.commandLine();
            command = cl.getSubcommands().get("consume").getCommand();
            thread = new Thread(
                    () -> code.set(cl.execute(
                            fjord.withBootstrap("consume", topic, "--group", group, "--from-beginning", "--follow"))),
                    "test-consume-" + group);
            thread.start();
        }

        List<String> lines() {
            return streams.out().lines().toList();
        }

        CliNode.Result stop() throws InterruptedException {
            command.stop();
            thread.join(Duration.ofSeconds(10));
            assertThat(thread.isAlive()).isFalse();
            return streams.result(code.get());
        }
    }

    private static void awaitTwoMembersWithTwoPartitionsEach(Admin admin, String group) throws Exception {
        long deadlineNs = System.nanoTime() + Duration.ofSeconds(15).toNanos();
        List<Integer> sizes = List.of();
        while (System.nanoTime() < deadlineNs) {
            Optional<ConsumerGroupDescription> d = GroupCommand.describeGroup(admin, group);
            sizes = d.map(g -> g.members().stream()
                            .map(m -> m.assignment().topicPartitions().size())
                            .toList())
                    .orElse(List.of());
            if (d.isPresent() && d.get().groupState() == GroupState.STABLE && sizes.equals(List.of(2, 2))) {
                return;
            }
            Thread.sleep(50);
        }
        throw new AssertionError("group " + group + " not split in two, partitions per member: " + sizes);
    }

    private static void createTopic(String topic, int partitions) {
        CliNode.Result r = fjord.run("topic", "create", topic, "--partitions", Integer.toString(partitions));
        assertThat(r.code()).as(r.err()).isZero();
    }

    private static String keyedLines(int count) {
        StringBuilder lines = new StringBuilder();
        for (int i = 0; i < count; i++) {
            lines.append('k').append(i).append(":v").append(i).append('\n');
        }
        return lines.toString();
    }

    private static Map<TopicPartition, Long> committed(String group) throws Exception {
        try (Admin admin = Admin.create(GroupClients.props(fjord.bootstrap()))) {
            return GroupCommand.committedOffsets(admin, group);
        }
    }

    private static Map<TopicPartition, Long> endOffsets(String topic) throws Exception {
        try (Admin admin = Admin.create(GroupClients.props(fjord.bootstrap()))) {
            Map<TopicPartition, OffsetSpec> latest = new HashMap<>();
            int partitions = admin.describeTopics(List.of(topic))
                    .allTopicNames()
                    .get()
                    .get(topic)
                    .partitions()
                    .size();
            for (int p = 0; p < partitions; p++) {
                latest.put(new TopicPartition(topic, p), OffsetSpec.latest());
            }
            Map<TopicPartition, Long> ends = new HashMap<>();
            admin.listOffsets(latest).all().get().forEach((tp, info) -> ends.put(tp, info.offset()));
            return ends;
        }
    }

    private static void awaitOutput(CliNode.Streams s, String expected) throws InterruptedException {
        long deadlineNs = System.nanoTime() + Duration.ofSeconds(15).toNanos();
        while (!s.out().equals(expected) && System.nanoTime() < deadlineNs) {
            Thread.sleep(20);
        }
        assertThat(s.out()).isEqualTo(expected);
    }
}
