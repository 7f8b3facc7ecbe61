package io.fjord.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

class FjordTest {
    @Test
    void shouldPrintVersionFromTheBuild() {
        StringWriter out = new StringWriter();
        int code = Fjord.commandLine().setOut(new PrintWriter(out)).execute("--version");
        assertThat(code).isZero();
        assertThat(out.toString()).startsWith("fjord ").doesNotContain("${").doesNotContain("unknown");
    }

    @Test
    void shouldListServerInHelp() {
        StringWriter out = new StringWriter();
        int code = Fjord.commandLine().setOut(new PrintWriter(out)).execute("--help");
        assertThat(code).isZero();
        assertThat(out.toString()).contains("server").contains("Usage: fjord");
    }

    @Test
    void shouldParseTheServerCommandWithoutTheRestOfTheTree() {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        Stdio stdio = new Stdio(
                new ByteArrayInputStream(new byte[0]),
                new PrintStream(out, true, StandardCharsets.UTF_8),
                new PrintStream(err, true, StandardCharsets.UTF_8));
        assertThat(Fjord.run(stdio, "server", "--help")).isZero();
        assertThat(out.toString(StandardCharsets.UTF_8))
                .contains("Usage: fjord server")
                .contains("--data-dir")
                .contains("--quorum");
        assertThat(Fjord.run(stdio, "server", "--no-such-option")).isEqualTo(2);
        assertThat(err.toString(StandardCharsets.UTF_8)).contains("--no-such-option");
    }

    @Test
    void shouldRejectUnknownSubcommand() {
        StringWriter err = new StringWriter();
        int code = Fjord.commandLine().setErr(new PrintWriter(err)).execute("no-such-command");
        assertThat(code).isNotZero();
        assertThat(err.toString()).contains("no-such-command");
    }
}
