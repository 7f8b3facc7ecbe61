package io.fjord.cli;

import java.io.InputStream;
import java.io.PrintStream;
import picocli.CommandLine.Model.CommandSpec;

/**
 * The standard streams a command reads and writes. Commands take them in their constructor (see
 * {@link Fjord#commandLine(Stdio)}) instead of using {@code System.in/out/err}, so tests run them
 * in-process with their own streams.
 *
 * <p>{@code out} carries a command's result only (records, topic names, descriptions,
 * confirmations), so it can be piped; notes, summaries and errors go to {@code err}.
 */
record Stdio(InputStream in, PrintStream out, PrintStream err) {
    static Stdio system() {
        return new Stdio(System.in, System.out, System.err);
    }

    /** Reports an expected failure ("fjord topic create: topic 'x' already exists") and returns its exit code. */
    int fail(CommandSpec command, String message) {
        err.println(command.qualifiedName() + ": " + message);
        err.flush();
        return Fjord.EXIT_FAILED;
    }
}
