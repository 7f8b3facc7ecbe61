package io.fjord.cli;

import java.util.ArrayList;
import java.util.Collection;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.TreeSet;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutionException;
import java.util.stream.Collectors;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.ConsumerGroupDescription;
import org.apache.kafka.clients.admin.GroupListing;
import org.apache.kafka.clients.admin.ListOffsetsResult;
import org.apache.kafka.clients.admin.MemberDescription;
import org.apache.kafka.clients.admin.OffsetSpec;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.common.GroupState;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.GroupIdNotFoundException;
import org.apache.kafka.common.errors.GroupNotEmptyException;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/**
 * {@code fjord group list|describe|reset-offsets|delete}: consumer group administration through the
 * kafka-clients {@link Admin} (ListGroups, DescribeGroups, OffsetFetch, ListOffsets, OffsetCommit,
 * DeleteGroups), so it works against any Kafka-compatible broker. {@code reset-offsets} lives in
 * {@link ResetOffsetsCommand}. Not executable by itself: picocli reports a missing subcommand.
 */
@Command(
        name = "group",
        mixinStandardHelpOptions = true,
        description = "List, describe and delete consumer groups; reset their offsets.",
        subcommands = {
            GroupCommand.ListGroups.class,
            GroupCommand.Describe.class,
            ResetOffsetsCommand.class,
            GroupCommand.Delete.class
        })
final class GroupCommand {
    /** Printed for a value a broker did not give (an old ListGroups version, no committed offset). */
    static final String NONE = "-";

    static final Comparator<TopicPartition> BY_TOPIC_THEN_PARTITION =
            Comparator.comparing(TopicPartition::topic).thenComparingInt(TopicPartition::partition);

    private GroupCommand() {}

    /**
     * The group's description, or empty when it does not exist: Kafka's classic coordinator
     * describes an unknown group as {@code Dead}, newer coordinators answer GROUP_ID_NOT_FOUND.
     */
    static Optional<ConsumerGroupDescription> describeGroup(Admin admin, String groupId)
            throws InterruptedException, ExecutionException {
        ConsumerGroupDescription d;
        try {
            d = admin.describeConsumerGroups(List.of(groupId)).all().get().get(groupId);
        } catch (ExecutionException e) {
            if (e.getCause() instanceof GroupIdNotFoundException) {
                return Optional.empty();
            }
            throw e;
        }
        return d == null || d.groupState() == GroupState.DEAD ? Optional.empty() : Optional.of(d);
    }

    /** The group's committed offsets; partitions the broker lists without an offset are left out. */
    static Map<TopicPartition, Long> committedOffsets(Admin admin, String groupId)
            throws InterruptedException, ExecutionException {
        Map<TopicPartition, OffsetAndMetadata> raw = admin.listConsumerGroupOffsets(groupId)
                .partitionsToOffsetAndMetadata()
                .get();
        Map<TopicPartition, Long> committed = new HashMap<>();
        raw.forEach((tp, om) -> {
            if (om != null && om.offset() >= 0) {
                committed.put(tp, om.offset());
            }
        });
        return committed;
    }

    @Command(
            name = "list",
            mixinStandardHelpOptions = true,
            description = "List groups, one a line: id, state, type and protocol type, sorted by id.")
    static final class ListGroups implements Callable<Integer> {
        private final Stdio stdio;

        @Mixin
        ClientOptions client;

        ListGroups(Stdio stdio) {
            this.stdio = stdio;
        }

        @Override
        public Integer call() throws Exception {
            Collection<GroupListing> groups;
            try (Admin admin = TopicCommand.admin(client)) {
                groups = admin.listGroups().all().get();
            }
            List<String[]> rows = new ArrayList<>();
            rows.add(new String[] {"group", "state", "type", "protocol"});
            groups.stream()
                    .sorted(Comparator.comparing(GroupListing::groupId))
                    .forEach(g -> rows.add(new String[] {
                        g.groupId(),
                        g.groupState().map(GroupState::toString).orElse(NONE),
                        g.type().map(t -> t.toString().toLowerCase(Locale.ROOT)).orElse(NONE),
                        g.protocol().isEmpty() ? NONE : g.protocol()
                    }));
            Table.print(rows, stdio.out());
            return 0;
        }
    }

    @Command(
            name = "describe",
            mixinStandardHelpOptions = true,
            description = {
                "Show a group: state, protocol, members with their partitions, and per partition",
                "the committed offset, the end offset, the lag and the member that owns it."
            })
    static final class Describe implements Callable<Integer> {
        private final Stdio stdio;

        @Spec
        CommandSpec spec;

        @Mixin
        ClientOptions client;

        @Parameters(index = "0", paramLabel = "GROUP", description = "The group id.")
        String groupId;

        Describe(Stdio stdio) {
            this.stdio = stdio;
        }

        @Override
        public Integer call() throws Exception {
            try (Admin admin = TopicCommand.admin(client)) {
                Optional<ConsumerGroupDescription> found = describeGroup(admin, groupId);
                if (found.isEmpty()) {
                    return stdio.fail(spec, "group '" + groupId + "' does not exist");
                }
                ConsumerGroupDescription group = found.get();
                Map<TopicPartition, Long> committed = committedOffsets(admin, groupId);

                Map<TopicPartition, MemberDescription> owners = new HashMap<>();
                for (MemberDescription m : group.members()) {
                    m.assignment().topicPartitions().forEach(tp -> owners.put(tp, m));
                }
                TreeSet<TopicPartition> partitions = new TreeSet<>(BY_TOPIC_THEN_PARTITION);
                partitions.addAll(committed.keySet());
                partitions.addAll(owners.keySet());
                Map<TopicPartition, Long> ends = endOffsets(admin, partitions);

                long totalLag = 0;
                List<String[]> rows = new ArrayList<>();
                rows.add(new String[] {"topic", "partition", "committed", "end", "lag", "member"});
                for (TopicPartition tp : partitions) {
                    Long c = committed.get(tp);
                    Long end = ends.get(tp);
                    Long lag = c == null || end == null ? null : end - c;
                    totalLag += lag == null ? 0 : lag;
                    MemberDescription owner = owners.get(tp);
                    rows.add(new String[] {
                        tp.topic(),
                        Integer.toString(tp.partition()),
                        orNone(c),
                        orNone(end),
                        orNone(lag),
                        owner == null ? NONE : owner.consumerId()
                    });
                }

                stdio.out().println("group: " + groupId);
                stdio.out().println("state: " + group.groupState());
                stdio.out().println("protocol: " + protocol(group));
                stdio.out()
                        .println("coordinator: "
                                + (group.coordinator() == null
                                        ? NONE
                                        : group.coordinator().idString()));
                stdio.out().println("lag: " + totalLag);
                stdio.out().println("members: " + group.members().size());
                if (!group.members().isEmpty()) {
                    printMembers(group.members());
                }
                stdio.out().println();
                Table.print(rows, stdio.out());
            }
            return 0;
        }

        private void printMembers(Collection<MemberDescription> members) {
            List<String[]> rows = new ArrayList<>();
            rows.add(new String[] {"member", "client-id", "host", "partitions"});
            members.stream()
                    .sorted(Comparator.comparing(MemberDescription::consumerId))
                    .forEach(m -> rows.add(new String[] {
                        m.consumerId(),
                        m.clientId(),
                        m.host(),
                        m.assignment().topicPartitions().isEmpty()
                                ? NONE
                                : m.assignment().topicPartitions().stream()
                                        .sorted(BY_TOPIC_THEN_PARTITION)
                                        .map(TopicPartition::toString)
                                        .collect(Collectors.joining(","))
                    }));
            stdio.out().println();
            Table.print(rows, stdio.out());
        }

        /**
         * End offsets, one look-up per partition so that a partition that is gone (its topic
         * deleted while the group still has offsets for it) only loses its own row's values.
         */
        private Map<TopicPartition, Long> endOffsets(Admin admin, Collection<TopicPartition> partitions)
                throws InterruptedException {
            Map<TopicPartition, OffsetSpec> latest = new HashMap<>();
            partitions.forEach(tp -> latest.put(tp, OffsetSpec.latest()));
            ListOffsetsResult result = admin.listOffsets(latest);
            Map<TopicPartition, Long> ends = new HashMap<>();
            for (TopicPartition tp : partitions) {
                try {
                    ends.put(tp, result.partitionResult(tp).get().offset());
                } catch (ExecutionException e) {
                    stdio.err()
                            .println(spec.qualifiedName() + ": no end offset for " + tp + ": "
                                    + Fjord.describe(e.getCause()));
                }
            }
            return ends;
        }

        /**
         * "consumer (range)": the protocol type and the assignor the members agreed on; "-" for a
         * group that only has offsets (committed without joining, or all members gone before a
         * protocol was chosen).
         */
        private static String protocol(ConsumerGroupDescription group) {
            if (group.isSimpleConsumerGroup()) {
                return NONE;
            }
            String assignor = group.partitionAssignor();
            return assignor == null || assignor.isEmpty() ? "consumer" : "consumer (" + assignor + ")";
        }

        private static String orNone(Long v) {
            return v == null ? NONE : Long.toString(v);
        }
    }

    @Command(
            name = "delete",
            mixinStandardHelpOptions = true,
            description = "Delete a group and its committed offsets; the group must have no members.")
    static final class Delete implements Callable<Integer> {
        private final Stdio stdio;

        @Spec
        CommandSpec spec;

        @Mixin
        ClientOptions client;

        @Parameters(index = "0", paramLabel = "GROUP", description = "The group id.")
        String groupId;

        Delete(Stdio stdio) {
            this.stdio = stdio;
        }

        @Override
        public Integer call() throws Exception {
            try (Admin admin = TopicCommand.admin(client)) {
                admin.deleteConsumerGroups(List.of(groupId)).all().get();
            } catch (ExecutionException e) {
                return switch (e.getCause()) {
                    case GroupIdNotFoundException x -> stdio.fail(spec, "group '" + groupId + "' does not exist");
                    case GroupNotEmptyException x ->
                        stdio.fail(spec, "group '" + groupId + "' is not empty: stop its members first");
                    case null, default -> throw e;
                };
            }
            stdio.out().println("deleted group " + groupId);
            return 0;
        }
    }
}
