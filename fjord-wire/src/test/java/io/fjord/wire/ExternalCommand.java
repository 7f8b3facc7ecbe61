package io.fjord.wire;

import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;

/**
 * Runs a program outside the JVM (kcat, node, npm) for interop tests: stdin from a file, stdout
 * and stderr to files (so a chatty child never blocks on a full pipe), a hard timeout, and the
 * child and its descendants killed by PID whatever happens.
 */
final class ExternalCommand {
    private ExternalCommand() {}

    /** What a finished program left behind. */
    record Result(List<String> command, int exitCode, String stdout, String stderr) {
        /** The command, exit code and both streams, for assertion messages. */
        String describe() {
            return String.join(" ", command) + "\nexit code " + exitCode + "\n--- stdout (tail)\n" + tail(stdout)
                    + "\n--- stderr (tail)\n" + tail(stderr);
        }

        private static String tail(String s) {
            int keepChars = 4000;
            return s.length() <= keepChars ? s : "..." + s.substring(s.length() - keepChars);
        }
    }

    /** The absolute path of the first of {@code names} found on PATH, if any. */
    static Optional<Path> onPath(String... names) {
        String path = System.getenv("PATH");
        if (path == null) {
            return Optional.empty();
        }
        for (String name : names) {
            for (String dir : path.split(File.pathSeparator)) {
                if (dir.isEmpty()) {
                    continue;
                }
                Path p = Path.of(dir, name);
                if (Files.isRegularFile(p) && Files.isExecutable(p)) {
                    return Optional.of(p);
                }
            }
        }
        return Optional.empty();
    }

    /**
     * Runs {@code command} in {@code workDir} with {@code stdin} as its input and waits at most
     * {@code timeout}; a program still running then is killed and this throws.
     */
    static Result run(List<String> command, Path workDir, String stdin, Duration timeout)
            throws IOException, InterruptedException {
        Path io = Files.createTempDirectory("fjord-external-");
        Path in = io.resolve("stdin");
        Path out = io.resolve("stdout");
        Path err = io.resolve("stderr");
        Files.writeString(in, stdin, StandardCharsets.UTF_8);
        Process p = new ProcessBuilder(command)
                .directory(workDir.toFile())
                .redirectInput(in.toFile())
                .redirectOutput(out.toFile())
                .redirectError(err.toFile())
                .start();
        try {
            if (!p.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
                kill(p);
                throw new AssertionError("timed out after " + timeout + ": " + String.join(" ", command)
                        + "\n--- stdout\n" + Files.readString(out) + "\n--- stderr\n" + Files.readString(err));
            }
            return new Result(
                    command,
                    p.exitValue(),
                    Files.readString(out, StandardCharsets.UTF_8),
                    Files.readString(err, StandardCharsets.UTF_8));
        } finally {
            kill(p);
            for (Path f : List.of(in, out, err, io)) {
                Files.deleteIfExists(f);
            }
        }
    }

    /** Kills the child's descendants (npm starts node) and then the child, by PID. */
    private static void kill(Process p) throws InterruptedException {
        p.descendants().forEach(ProcessHandle::destroyForcibly);
        if (p.isAlive()) {
            p.destroyForcibly();
            p.waitFor(5, TimeUnit.SECONDS);
        }
    }
}
