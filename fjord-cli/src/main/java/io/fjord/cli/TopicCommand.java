package io.fjord.cli;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Properties;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutionException;
import java.util.stream.Collectors;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.Config;
import org.apache.kafka.clients.admin.ConfigEntry;
import org.apache.kafka.clients.admin.CreateTopicsResult;
import org.apache.kafka.clients.admin.ListOffsetsResult;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.admin.OffsetSpec;
import org.apache.kafka.clients.admin.TopicDescription;
import org.apache.kafka.common.Node;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.TopicPartitionInfo;
import org.apache.kafka.common.config.ConfigResource;
import org.apache.kafka.common.errors.InvalidConfigurationException;
import org.apache.kafka.common.errors.InvalidPartitionsException;
import org.apache.kafka.common.errors.InvalidReplicationFactorException;
import org.apache.kafka.common.errors.InvalidTopicException;
import org.apache.kafka.common.errors.PolicyViolationException;
import org.apache.kafka.common.errors.TopicExistsException;
import org.apache.kafka.common.errors.UnknownTopicOrPartitionException;
import org.apache.kafka.common.errors.UnsupportedVersionException;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/**
 * {@code fjord topic create|list|describe|delete}: topic administration through the kafka-clients
 * {@link Admin}, so it works against any Kafka-compatible broker. Not executable by itself: picocli
 * reports a missing subcommand.
 */
@Command(
        name = "topic",
        mixinStandardHelpOptions = true,
        description = "Create, list, describe and delete topics.",
        subcommands = {
            TopicCommand.Create.class,
            TopicCommand.ListTopics.class,
            TopicCommand.Describe.class,
            TopicCommand.Delete.class
        })
final class TopicCommand {
    /** Upper bound on each admin call, retries included (kafka-clients' default is 60 s). */
    static final int ADMIN_TIMEOUT_MS = 30_000;

    private TopicCommand() {}

    static Admin admin(ClientOptions client) {
        Properties p = client.clientProps();
        p.put(AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, ADMIN_TIMEOUT_MS);
        p.put(AdminClientConfig.REQUEST_TIMEOUT_MS_CONFIG, ADMIN_TIMEOUT_MS);
        return Admin.create(p);
    }

    @Command(name = "create", mixinStandardHelpOptions = true, description = "Create a topic.")
    static final class Create implements Callable<Integer> {
        private final Stdio stdio;

        @Spec
        CommandSpec spec;

        @Mixin
        ClientOptions client;

        @Parameters(index = "0", paramLabel = "NAME", description = "The topic.")
        String name;

        @Option(names = "--partitions", paramLabel = "N", description = "Partitions (default: the broker's).")
        Integer partitions;

        @Option(
                names = "--replication-factor",
                paramLabel = "R",
                description = "Replicas of each partition (default: the broker's).")
        Short replicationFactor;

        @Option(
                names = "--config",
                paramLabel = "KEY=VALUE",
                description = "A topic setting, e.g. retention.ms=86400000; repeatable.")
        Map<String, String> configs = new LinkedHashMap<>();

        Create(Stdio stdio) {
            this.stdio = stdio;
        }

        @Override
        public Integer call() throws Exception {
            if (partitions != null && partitions < 1) {
                throw new ParameterException(spec.commandLine(), "--partitions must be at least 1");
            }
            if (replicationFactor != null && replicationFactor < 1) {
                throw new ParameterException(spec.commandLine(), "--replication-factor must be at least 1");
            }
            NewTopic topic = new NewTopic(name, Optional.ofNullable(partitions), Optional.ofNullable(replicationFactor))
                    .configs(configs);
            try (Admin admin = admin(client)) {
                CreateTopicsResult result = admin.createTopics(List.of(topic));
                try {
                    result.all().get();
                } catch (ExecutionException e) {
                    return switch (e.getCause()) {
                        case TopicExistsException x -> stdio.fail(spec, "topic '" + name + "' already exists");
                        case InvalidTopicException x ->
                            stdio.fail(spec, "invalid topic name '" + name + "': " + x.getMessage());
                        case InvalidPartitionsException x -> stdio.fail(spec, Fjord.describe(x));
                        case InvalidReplicationFactorException x -> stdio.fail(spec, Fjord.describe(x));
                        case InvalidConfigurationException x -> stdio.fail(spec, Fjord.describe(x));
                        case PolicyViolationException x -> stdio.fail(spec, Fjord.describe(x));
                        case null, default -> throw e;
                    };
                }
                stdio.out()
                        .println("created topic " + name + " ("
                                + result.numPartitions(name).get() + " partitions, replication factor "
                                + result.replicationFactor(name).get() + ")");
            }
            return 0;
        }
    }

    @Command(name = "list", mixinStandardHelpOptions = true, description = "List topic names, one a line.")
    static final class ListTopics implements Callable<Integer> {
        private final Stdio stdio;

        @Mixin
        ClientOptions client;

        ListTopics(Stdio stdio) {
            this.stdio = stdio;
        }

        @Override
        public Integer call() throws Exception {
            try (Admin admin = admin(client)) {
                admin.listTopics().names().get().stream().sorted().forEach(stdio.out()::println);
            }
            return 0;
        }
    }

    @Command(
            name = "describe",
            mixinStandardHelpOptions = true,
            description = {
                "Show a topic's partitions: leader, replicas, ISR, earliest/latest offset.",
                "Also the settings set on it, when the broker serves DescribeConfigs."
            })
    static final class Describe implements Callable<Integer> {
        private final Stdio stdio;

        @Spec
        CommandSpec spec;

        @Mixin
        ClientOptions client;

        @Parameters(index = "0", paramLabel = "NAME", description = "The topic.")
        String name;

        Describe(Stdio stdio) {
            this.stdio = stdio;
        }

        @Override
        public Integer call() throws Exception {
            try (Admin admin = admin(client)) {
                TopicDescription topic;
                try {
                    topic = admin.describeTopics(List.of(name))
                            .allTopicNames()
                            .get()
                            .get(name);
                } catch (ExecutionException e) {
                    if (e.getCause() instanceof UnknownTopicOrPartitionException) {
                        return stdio.fail(spec, "topic '" + name + "' does not exist");
                    }
                    throw e;
                }
                Map<TopicPartition, OffsetSpec> earliest = new LinkedHashMap<>();
                Map<TopicPartition, OffsetSpec> latest = new LinkedHashMap<>();
                for (TopicPartitionInfo p : topic.partitions()) {
                    earliest.put(new TopicPartition(name, p.partition()), OffsetSpec.earliest());
                    latest.put(new TopicPartition(name, p.partition()), OffsetSpec.latest());
                }
                Map<TopicPartition, ListOffsetsResult.ListOffsetsResultInfo> starts =
                        admin.listOffsets(earliest).all().get();
                Map<TopicPartition, ListOffsetsResult.ListOffsetsResultInfo> ends =
                        admin.listOffsets(latest).all().get();
                Optional<Config> configs = topicConfigs(admin);

                stdio.out().println("topic: " + name);
                stdio.out().println("id: " + topic.topicId());
                stdio.out().println("partitions: " + topic.partitions().size());
                stdio.out()
                        .println("replication-factor: "
                                + (topic.partitions().isEmpty()
                                        ? "-"
                                        : topic.partitions()
                                                .getFirst()
                                                .replicas()
                                                .size()));
                configs.ifPresent(c -> stdio.out().println("configs: " + overrides(c)));
                List<String[]> rows = new ArrayList<>();
                rows.add(new String[] {"partition", "leader", "replicas", "isr", "earliest", "latest"});
                for (TopicPartitionInfo p : topic.partitions()) {
                    TopicPartition tp = new TopicPartition(name, p.partition());
                    rows.add(new String[] {
                        Integer.toString(p.partition()),
                        p.leader() == null || p.leader().isEmpty()
                                ? "none"
                                : p.leader().idString(),
                        ids(p.replicas()),
                        ids(p.isr()),
                        Long.toString(starts.get(tp).offset()),
                        Long.toString(ends.get(tp).offset())
                    });
                }
                Table.print(rows, stdio.out());
            }
            return 0;
        }

        /** The topic's settings, or empty (with a note) when the broker does not serve DescribeConfigs. */
        private Optional<Config> topicConfigs(Admin admin) throws InterruptedException, ExecutionException {
            ConfigResource resource = new ConfigResource(ConfigResource.Type.TOPIC, name);
            try {
                return Optional.of(
                        admin.describeConfigs(List.of(resource)).all().get().get(resource));
            } catch (ExecutionException e) {
                if (e.getCause() instanceof UnsupportedVersionException) {
                    stdio.err()
                            .println(spec.qualifiedName()
                                    + ": configs omitted (the broker does not serve DescribeConfigs)");
                    return Optional.empty();
                }
                throw e;
            }
        }

        /** Settings set on the topic itself, as k=v,k=v; "(none)" when everything is a default. */
        private static String overrides(Config c) {
            String s = c.entries().stream()
                    .filter(e -> e.source() == ConfigEntry.ConfigSource.DYNAMIC_TOPIC_CONFIG)
                    .map(e -> e.name() + "=" + (e.isSensitive() ? "<sensitive>" : e.value()))
                    .sorted()
                    .collect(Collectors.joining(","));
            return s.isEmpty() ? "(none)" : s;
        }

        private static String ids(List<Node> nodes) {
            return nodes.isEmpty() ? "-" : nodes.stream().map(Node::idString).collect(Collectors.joining(","));
        }
    }

    @Command(name = "delete", mixinStandardHelpOptions = true, description = "Delete a topic and its data.")
    static final class Delete implements Callable<Integer> {
        private final Stdio stdio;

        @Spec
        CommandSpec spec;

        @Mixin
        ClientOptions client;

        @Parameters(index = "0", paramLabel = "NAME", description = "The topic.")
        String name;

        Delete(Stdio stdio) {
            this.stdio = stdio;
        }

        @Override
        public Integer call() throws Exception {
            try (Admin admin = admin(client)) {
                try {
                    admin.deleteTopics(List.of(name)).all().get();
                } catch (ExecutionException e) {
                    if (e.getCause() instanceof UnknownTopicOrPartitionException) {
                        return stdio.fail(spec, "topic '" + name + "' does not exist");
                    }
                    throw e;
                }
            }
            stdio.out().println("deleted topic " + name);
            return 0;
        }
    }
}
