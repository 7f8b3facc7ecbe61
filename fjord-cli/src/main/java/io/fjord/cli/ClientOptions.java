package io.fjord.cli;

import java.util.Properties;
import org.apache.kafka.clients.CommonClientConfigs;
import picocli.CommandLine.Option;

/**
 * Options every client command shares (a picocli mixin): where the cluster is. Commands build
 * their kafka-clients configuration from {@link #clientProps()}.
 */
final class ClientOptions {
    static final String BOOTSTRAP_ENV = "FJORD_BOOTSTRAP";
    static final String BOOTSTRAP_DEFAULT = "127.0.0.1:9092";

    @Option(
            names = "--bootstrap-server",
            paramLabel = "HOST:PORT[,...]",
            defaultValue = "${env:" + BOOTSTRAP_ENV + ":-" + BOOTSTRAP_DEFAULT + "}",
            description = "Brokers to connect to (default: $" + BOOTSTRAP_ENV + ", else " + BOOTSTRAP_DEFAULT + ").")
    String bootstrapServer;

    Properties clientProps() {
        Properties p = new Properties();
        p.put(CommonClientConfigs.BOOTSTRAP_SERVERS_CONFIG, bootstrapServer);
        p.put(CommonClientConfigs.CLIENT_ID_CONFIG, "fjord-cli");
        return p;
    }
}
