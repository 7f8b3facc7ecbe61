package io.fjord.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicInteger;
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

    private static void produce(String topic, String lines) {
        CliNode.Result r = fjord.runWithInput(lines, "produce", topic);
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

    private static void awaitOutput(CliNode.Streams s, String expected) throws InterruptedException {
        long deadlineNs = System.nanoTime() + Duration.ofSeconds(15).toNanos();
        while (!s.out().equals(expected) && System.nanoTime() < deadlineNs) {
            Thread.sleep(20);
        }
        assertThat(s.out()).isEqualTo(expected);
    }
}
