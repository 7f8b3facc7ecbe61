package io.fjord.cli;

import java.io.IOException;
import java.io.InputStream;
import java.util.Properties;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/** The {@code fjord} command: entry point of the fat jar that {@code bin/fjord} runs. */
@Command(
        name = "fjord",
        mixinStandardHelpOptions = true,
        versionProvider = Fjord.Version.class,
        description = "Fjord: a Kafka-compatible, Raft-replicated streaming platform.",
        subcommands = {ServerCommand.class, CommandLine.HelpCommand.class})
public final class Fjord implements Runnable {
    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    public static void main(String[] args) {
        System.exit(commandLine().execute(args));
    }

    static CommandLine commandLine() {
        return new CommandLine(new Fjord());
    }

    @Override
    public void run() {
        spec.commandLine().usage(System.out);
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
}
