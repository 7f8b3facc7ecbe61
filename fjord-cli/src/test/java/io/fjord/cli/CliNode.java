package io.fjord.cli;

import io.fjord.broker.BrokerConfig;
import io.fjord.broker.group.GroupConfig;
import io.fjord.wire.KafkaServer;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import picocli.CommandLine;

/** A Fjord node on a free port and a way to run {@code fjord} commands against it in-process. */
final class CliNode implements AutoCloseable {
    static final int INITIAL_REBALANCE_DELAY_MS = 100;

    private final KafkaServer server;

    CliNode(Path dataDir) throws InterruptedException {
        // A short initial rebalance delay: tests' groups have one member, waiting 3 s for more is waste.
        this(dataDir, INITIAL_REBALANCE_DELAY_MS);
    }

    CliNode(Path dataDir, int initialRebalanceDelayMs) throws InterruptedException {
        server = KafkaServer.start(BrokerConfig.defaults(dataDir, 0)
                .withIoThreads(2)
                .withGroups(GroupConfig.DEFAULT.withInitialRebalanceDelayMs(initialRebalanceDelayMs)));
    }

    String bootstrap() {
        return "127.0.0.1:" + server.port();
    }

    /** Runs a client command (its arguments, then {@code --bootstrap-server}) with empty stdin. */
    Result run(String... args) {
        return runWithInput("", args);
    }

    Result runWithInput(String stdin, String... args) {
        return runWithInput(stdin.getBytes(StandardCharsets.UTF_8), args);
    }

    Result runWithInput(byte[] stdin, String... args) {
        Streams s = new Streams(stdin);
        int code = s.commandLine().execute(withBootstrap(args));
        return s.result(code);
    }

    String[] withBootstrap(String... args) {
        List<String> all = new ArrayList<>(Arrays.asList(args));
        all.add("--bootstrap-server");
        all.add(bootstrap());
        return all.toArray(String[]::new);
    }

    @Override
    public void close() {
        server.close();
    }

    /** Captured stdout and stderr of one command run. */
    record Result(int code, String out, String err) {
        List<String> lines() {
            return out.lines().toList();
        }
    }

    /** In-memory stdin, stdout and stderr for one command line. */
    static final class Streams {
        final ByteArrayOutputStream out = new ByteArrayOutputStream();
        final ByteArrayOutputStream err = new ByteArrayOutputStream();
        final Stdio stdio;

        Streams(byte[] stdin) {
            stdio = new Stdio(
                    new ByteArrayInputStream(stdin),
                    new PrintStream(out, true, StandardCharsets.UTF_8),
                    new PrintStream(err, true, StandardCharsets.UTF_8));
        }

        CommandLine commandLine() {
            return Fjord.commandLine(stdio);
        }

        String out() {
            return out.toString(StandardCharsets.UTF_8);
        }

        Result result(int code) {
            stdio.out().flush();
            stdio.err().flush();
            return new Result(code, out(), err.toString(StandardCharsets.UTF_8));
        }
    }
}
