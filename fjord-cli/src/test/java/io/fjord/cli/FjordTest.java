package io.fjord.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.PrintWriter;
import java.io.StringWriter;
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
    void shouldRejectUnknownSubcommand() {
        StringWriter err = new StringWriter();
        int code = Fjord.commandLine().setErr(new PrintWriter(err)).execute("no-such-command");
        assertThat(code).isNotZero();
        assertThat(err.toString()).contains("no-such-command");
    }
}
