package io.fjord.cli;

import io.fjord.raft.kv.KvException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStreamWriter;
import java.io.PrintWriter;
import java.lang.reflect.Constructor;
import java.nio.charset.StandardCharsets;
import java.util.Properties;
import java.util.concurrent.ExecutionException;
import org.apache.kafka.common.KafkaException;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/** The {@code fjord} command: entry point of the fat jar that {@code bin/fjord} runs. */
@Command(
        name = "fjord",
        mixinStandardHelpOptions = true,
        versionProvider = Fjord.Version.class,
        description = "Fjord: a Kafka-compatible, Raft-replicated streaming platform.",
        subcommands = {
            ServerCommand.class,
            TopicCommand.class,
            ProduceCommand.class,
            ConsumeCommand.class,
            GroupCommand.class,
            KvCommand.class,
            ClusterCommand.class,
            CommandLine.HelpCommand.class
        })
public final class Fjord implements Runnable {
    /** kafka-clients logs every client's configuration at INFO; the client commands keep stderr readable. */
    static final String KAFKA_CLIENTS_LOG_LEVEL_PROPERTY = "org.slf4j.simpleLogger.log.org.apache.kafka";

    /** Exit code of a command that ran and failed (picocli uses 2 for usage errors). */
    static final int EXIT_FAILED = 1;

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    public static void main(String[] args) {
        // Before the first logger exists: slf4j-simple reads its settings once. Fjord's own
        // loggers (io.fjord, the server's INFO lines) keep the level from simplelogger.properties.
        if (System.getProperty(KAFKA_CLIENTS_LOG_LEVEL_PROPERTY) == null) {
            System.setProperty(KAFKA_CLIENTS_LOG_LEVEL_PROPERTY, "warn");
        }
        System.exit(run(Stdio.system(), args));
    }

    /**
     * Runs one command line. {@code fjord server} builds only the server command's parser: the
     * whole tree (every client command's options and help, by reflection) took 250-350 ms of a
     * server's start, measured, before anything else could begin.
     */
    static int run(Stdio stdio, String... args) {
        if (args.length > 0 && args[0].equals("server")) {
            CommandLine server = withStdio(new CommandLine(new ServerCommand(), new StdioFactory(stdio)), stdio)
                    .setCommandName("fjord server");
            return server.execute(java.util.Arrays.copyOfRange(args, 1, args.length));
        }
        return commandLine(stdio).execute(args);
    }

    static CommandLine commandLine() {
        return commandLine(Stdio.system());
    }

    /** The command tree, with every command that takes a {@link Stdio} given {@code stdio}. */
    static CommandLine commandLine(Stdio stdio) {
        return withStdio(new CommandLine(new Fjord(), new StdioFactory(stdio)), stdio);
    }

    private static CommandLine withStdio(CommandLine cl, Stdio stdio) {
        cl.setOut(new PrintWriter(new OutputStreamWriter(stdio.out(), StandardCharsets.UTF_8), true));
        cl.setErr(new PrintWriter(new OutputStreamWriter(stdio.err(), StandardCharsets.UTF_8), true));
        cl.setExecutionExceptionHandler(Fjord::onFailure);
        return cl;
    }

    /**
     * A command that threw: client and I/O failures (broker unreachable, timeout, bad config) are
     * expected and get one line; anything else is a bug and keeps its stack trace.
     */
    private static int onFailure(Exception e, CommandLine cl, CommandLine.ParseResult parsed) {
        Throwable cause = e instanceof ExecutionException && e.getCause() != null ? e.getCause() : e;
        PrintWriter err = cl.getErr();
        if (cause instanceof KafkaException
                || cause instanceof IOException
                || cause instanceof KvException
                || cause instanceof java.util.concurrent.TimeoutException) {
            err.println(cl.getCommandSpec().qualifiedName() + ": " + describe(cause));
        } else {
            cause.printStackTrace(err);
        }
        err.flush();
        return EXIT_FAILED;
    }

    /** One line for an exception: its message, or its type when it has none. */
    static String describe(Throwable t) {
        String m = t.getMessage();
        return m == null || m.isBlank() ? t.getClass().getSimpleName() : m;
    }

    @Override
    public void run() {
        spec.commandLine().usage(spec.commandLine().getOut());
    }

    /** The version, from the build (fjord-version.properties, filtered by Maven). */
    static String version() {
        Properties p = new Properties();
        try (InputStream in = Fjord.class.getResourceAsStream("/fjord-version.properties")) {
            if (in != null) {
                p.load(in);
            }
        } catch (IOException e) {
            // fall through to "unknown"
        }
        return p.getProperty("version", "unknown");
    }

    static final class Version implements CommandLine.IVersionProvider {
        @Override
        public String[] getVersion() {
            return new String[] {
                "fjord " + version(),
                "JVM " + System.getProperty("java.vm.version") + " (" + System.getProperty("java.vm.vendor") + ")"
            };
        }
    }

    /** Creates commands through a constructor taking {@link Stdio} when they have one. */
    private record StdioFactory(Stdio stdio) implements CommandLine.IFactory {
        @Override
        public <K> K create(Class<K> cls) throws Exception {
            for (Constructor<?> c : cls.getDeclaredConstructors()) {
                if (c.getParameterCount() == 1 && c.getParameterTypes()[0] == Stdio.class) {
                    c.setAccessible(true);
                    return cls.cast(c.newInstance(stdio));
                }
            }
            return CommandLine.defaultFactory().create(cls);
        }
    }
}
