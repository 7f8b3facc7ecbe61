package io.fjord.cli;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.TimeUnit;

/** Short system commands (ip, kill) for this module's process-level tests, bounded in time. */
final class Commands {
    static final long TIMEOUT_MS = 10_000;

    private Commands() {}

    /** A finished command: its exit code (-1: it could not be started) and its output, stderr included. */
    record Result(int exitCode, String output) {}

    /** Runs {@code command}; fails when it does not finish within {@link #TIMEOUT_MS}. */
    static Result run(String... command) throws IOException, InterruptedException {
        Process p;
        try {
            p = new ProcessBuilder(command).redirectErrorStream(true).start();
        } catch (IOException e) {
            return new Result(-1, "cannot run " + command[0] + ": " + e.getMessage());
        }
        p.getOutputStream().close();
        String output = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!p.waitFor(TIMEOUT_MS, TimeUnit.MILLISECONDS)) {
            p.destroyForcibly();
            throw new IOException(String.join(" ", command) + " did not finish in " + TIMEOUT_MS + " ms");
        }
        return new Result(p.exitValue(), output);
    }

    /** Runs {@code command}; fails unless it exits with 0. */
    static void must(String... command) throws IOException, InterruptedException {
        Result r = run(command);
        if (r.exitCode() != 0) {
            throw new IOException(String.join(" ", command) + " exited with " + r.exitCode() + ": "
                    + r.output().strip());
        }
    }
}
