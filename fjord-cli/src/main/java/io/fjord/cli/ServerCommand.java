package io.fjord.cli;

import io.fjord.storage.LogConfig;
import io.fjord.storage.LogManager;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code fjord server}. Until the broker lands this is a storage-only stub: it opens (and, if
 * needed, recovers) the data directory, says plainly that no Kafka listener exists yet, and waits
 * for SIGTERM to close every log cleanly. It never binds a port, so no client can mistake it for a
 * Kafka broker.
 */
@Command(
        name = "server",
        mixinStandardHelpOptions = true,
        description = {
            "Start a single-node Fjord.",
            "For now a storage-only stub: it opens the data directory and serves no Kafka protocol yet."
        })
final class ServerCommand implements Callable<Integer> {
    private static final Logger log = LoggerFactory.getLogger(ServerCommand.class);

    @Option(
            names = "--data-dir",
            defaultValue = "data",
            description = "Where partition logs live (default: ${DEFAULT-VALUE}, relative to the current directory).")
    Path dataDir;

    @Option(
            names = "--port",
            defaultValue = "9092",
            description = "Kafka listener port on 127.0.0.1, once the broker exists (default: ${DEFAULT-VALUE}).")
    int port;

    @Override
    public Integer call() throws Exception {
        Path dir = dataDir.toAbsolutePath().normalize();
        LogManager logs = LogManager.open(dir, id -> LogConfig.DEFAULT, System::currentTimeMillis);
        CountDownLatch stopped = new CountDownLatch(1);
        Thread hook = new Thread(
                () -> {
                    log.info("stopping: closing {} partition logs", logs.logs().size());
                    logs.close();
                    stopped.countDown();
                },
                "fjord-shutdown");
        Runtime.getRuntime().addShutdownHook(hook);
        log.info(
                "fjord {} storage-only stub: data directory {} ({} partition logs). No Kafka listener:"
                        + " port {} stays closed until the broker exists. Stop with SIGTERM or Ctrl-C.",
                Fjord.version(),
                dir,
                logs.logs().size(),
                port);
        stopped.await();
        return 0;
    }
}
