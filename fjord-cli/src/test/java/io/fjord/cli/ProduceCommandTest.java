package io.fjord.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ProduceCommandTest {
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
    void shouldSendKeyedLinesThatConsumeReadsBackInOrder() {
        assertThat(fjord.run("topic", "create", "keyed").code()).isZero();
        int n = 500;
        List<String> lines = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            lines.add("key-" + (i % 7) + "::value " + i + " with :: inside");
        }
        CliNode.Result produced =
                fjord.runWithInput(String.join("\n", lines) + "\n", "produce", "keyed", "--key-separator", "::");
        assertThat(produced.code()).as(produced.err()).isZero();
        assertThat(produced.out()).isEmpty();
        assertThat(produced.err()).isEqualTo("fjord produce: " + n + " records sent to keyed, 0 failed\n");

        CliNode.Result consumed = fjord.run(
                "consume",
                "keyed",
                "--from-beginning",
                "--max-messages",
                Integer.toString(n),
                "--print-key",
                "--key-separator",
                "::");
        assertThat(consumed.code()).as(consumed.err()).isZero();
        assertThat(consumed.lines()).containsExactlyElementsOf(lines);
    }

    @Test
    void shouldAutoCreateAMissingTopic() {
        CliNode.Result produced = fjord.runWithInput("one\ntwo", "produce", "fresh");
        assertThat(produced.code()).as(produced.err()).isZero();
        assertThat(produced.err()).contains("2 records sent to fresh, 0 failed");
        assertThat(fjord.run("topic", "list").lines()).contains("fresh");
        assertThat(fjord.run("consume", "fresh", "--from-beginning").lines()).containsExactly("one", "two");
    }

    @Test
    void shouldSendALineWithoutTheSeparatorWithoutKey() {
        CliNode.Result produced = fjord.runWithInput("k=v\nplain\n\n", "produce", "mixed", "--key-separator", "=");
        assertThat(produced.code()).as(produced.err()).isZero();
        CliNode.Result consumed = fjord.run("consume", "mixed", "--from-beginning", "--print-key");
        assertThat(consumed.lines()).containsExactly("k\tv", "null\tplain", "null\t");
    }

    @Test
    void shouldHonourAcksAndCompression() {
        for (String[] setting : new String[][] {{"1", "zstd"}, {"0", "gzip"}, {"all", "lz4"}}) {
            String topic = "codec-" + setting[1];
            CliNode.Result produced = fjord.runWithInput(
                    "x\ny\nz\n", "produce", topic, "--acks", setting[0], "--compression", setting[1]);
            assertThat(produced.code()).as(produced.err()).isZero();
            assertThat(fjord.run("consume", topic, "--from-beginning").lines()).containsExactly("x", "y", "z");
        }
    }

    @Test
    void shouldExitNonZeroAndCountAFailedSend() {
        // Larger than the producer's max.request.size (1 MiB): the send fails without reaching the broker.
        String tooLarge = "x".repeat(2 * 1024 * 1024);
        CliNode.Result produced = fjord.runWithInput("small\n" + tooLarge + "\nnever\n", "produce", "large");
        assertThat(produced.code()).isEqualTo(1);
        assertThat(produced.err())
                .contains("fjord produce: line 2 failed: ")
                .contains("1 records sent to large, 1 failed");
    }

    @Test
    void shouldRejectUnknownAcksAndCompression() {
        assertThat(fjord.run("produce", "t", "--acks", "2").code()).isEqualTo(2);
        CliNode.Result r = fjord.run("produce", "t", "--compression", "brotli");
        assertThat(r.code()).isEqualTo(2);
        assertThat(r.err()).contains("--compression must be");
    }
}
