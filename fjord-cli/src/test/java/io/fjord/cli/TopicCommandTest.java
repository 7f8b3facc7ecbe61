package io.fjord.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class TopicCommandTest {
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

    @Test
    void shouldCreateListDescribeAndDeleteATopic() {
        CliNode.Result created =
                fjord.run("topic", "create", "orders", "--partitions", "3", "--config", "retention.ms=3600000");
        assertThat(created.code()).as(created.err()).isZero();
        assertThat(created.out()).isEqualTo("created topic orders (3 partitions, replication factor 1)\n");

        assertThat(fjord.runWithInput("a\nb\nc\n", "produce", "orders").code()).isZero();

        CliNode.Result listed = fjord.run("topic", "list");
        assertThat(listed.code()).isZero();
        assertThat(listed.lines()).contains("orders");

        CliNode.Result described = fjord.run("topic", "describe", "orders");
        assertThat(described.code()).as(described.err()).isZero();
        assertThat(described.lines())
                .startsWith("topic: orders")
                .contains("partitions: 3", "replication-factor: 1")
                .anySatisfy(l -> assertThat(l).matches("id: \\S{22}"))
                .anySatisfy(l -> assertThat(l).matches("partition +leader +replicas +isr +earliest +latest"))
                .anySatisfy(l -> assertThat(l).matches("0 +0 +0 +0 +0 +\\d+"))
                .anySatisfy(l -> assertThat(l).matches("2 +0 +0 +0 +0 +\\d+"));
        long total = described.lines().stream()
                .filter(l -> l.matches("\\d+ +0 +0 +0 +0 +\\d+"))
                .mapToLong(l -> Long.parseLong(l.substring(l.lastIndexOf(' ') + 1)))
                .sum();
        assertThat(total).isEqualTo(3);
        // Only what was set on the topic, not every default.
        assertThat(described.lines()).contains("configs: retention.ms=3600000");
        assertThat(described.err()).isEmpty();

        CliNode.Result deleted = fjord.run("topic", "delete", "orders");
        assertThat(deleted.code()).as(deleted.err()).isZero();
        assertThat(deleted.out()).isEqualTo("deleted topic orders\n");
        assertThat(fjord.run("topic", "list").lines()).doesNotContain("orders");
    }

    @Test
    void shouldUseTheBrokersDefaultPartitions() {
        CliNode.Result created = fjord.run("topic", "create", "defaults");
        assertThat(created.code()).as(created.err()).isZero();
        assertThat(created.out()).contains("(1 partitions, replication factor 1)");
    }

    @Test
    void shouldFailWithExitOneWhenTheTopicExists() {
        assertThat(fjord.run("topic", "create", "twice").code()).isZero();
        CliNode.Result again = fjord.run("topic", "create", "twice");
        assertThat(again.code()).isEqualTo(1);
        assertThat(again.out()).isEmpty();
        assertThat(again.err()).isEqualTo("fjord topic create: topic 'twice' already exists\n");
    }

    @Test
    void shouldFailWithExitOneOnAConfigTheBrokerRejects() {
        CliNode.Result r = fjord.run("topic", "create", "compacted", "--config", "cleanup.policy=shred");
        assertThat(r.code()).isEqualTo(1);
        assertThat(r.err()).startsWith("fjord topic create: ").contains("cleanup.policy");
    }

    @Test
    void shouldFailToDescribeAnUnknownTopic() {
        CliNode.Result r = fjord.run("topic", "describe", "nope");
        assertThat(r.code()).isEqualTo(1);
        assertThat(r.out()).isEmpty();
        assertThat(r.err()).isEqualTo("fjord topic describe: topic 'nope' does not exist\n");
    }

    @Test
    void shouldFailToDeleteAnUnknownTopic() {
        CliNode.Result r = fjord.run("topic", "delete", "nope");
        assertThat(r.code()).isEqualTo(1);
        assertThat(r.err()).isEqualTo("fjord topic delete: topic 'nope' does not exist\n");
    }

    @Test
    void shouldRejectBadArgumentsAsUsageErrors() {
        assertThat(fjord.run("topic", "create", "bad", "--partitions", "0").code())
                .isEqualTo(2);
        CliNode.Streams s = new CliNode.Streams(new byte[0]);
        int code = s.commandLine().execute("topic");
        CliNode.Result r = s.result(code);
        assertThat(r.code()).isEqualTo(2);
        assertThat(r.err()).contains("Missing required subcommand");
    }

    @Test
    void shouldListItsSubcommandsInHelp() {
        CliNode.Streams s = new CliNode.Streams(new byte[0]);
        int code = s.commandLine().execute("topic", "--help");
        assertThat(code).isZero();
        assertThat(s.out()).contains("Usage: fjord topic", "create", "list", "describe", "delete");
    }
}
