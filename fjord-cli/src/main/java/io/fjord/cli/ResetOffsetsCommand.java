package io.fjord.cli;

import java.time.DateTimeException;
import java.time.Instant;
import java.time.LocalDateTime;
import java.time.ZoneId;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.time.temporal.TemporalAccessor;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeSet;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutionException;
import java.util.function.Function;
import java.util.stream.Collectors;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.ConsumerGroupDescription;
import org.apache.kafka.clients.admin.OffsetSpec;
import org.apache.kafka.clients.admin.TopicDescription;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.common.GroupState;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.TopicPartitionInfo;
import org.apache.kafka.common.errors.FencedInstanceIdException;
import org.apache.kafka.common.errors.IllegalGenerationException;
import org.apache.kafka.common.errors.RebalanceInProgressException;
import org.apache.kafka.common.errors.UnknownMemberIdException;
import org.apache.kafka.common.errors.UnknownTopicOrPartitionException;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/**
 * {@code fjord group reset-offsets GROUP --topic T ...}: plans new committed offsets for a group's
 * partitions of one topic and, with {@code --execute}, commits them (Admin
 * alterConsumerGroupOffsets, i.e. OffsetCommit outside any generation).
 *
 * <p>Like Kafka's tool it only works on an inactive group (Empty, or not yet existing): members
 * would overwrite the new offsets with their next commit, and the broker rejects a commit from
 * outside the generation anyway. Every target is clamped to the offsets the partition holds
 * (earliest to end), with a note on stderr when that changes it.
 */
@Command(
        name = "reset-offsets",
        mixinStandardHelpOptions = true,
        description = {
            "Reset a group's committed offsets for a topic. Prints the plan (topic, partition,",
            "committed, new); commits it only with --execute. The group must have no members."
        })
final class ResetOffsetsCommand implements Callable<Integer> {
    private final Stdio stdio;

    @Spec
    CommandSpec spec;

    @Mixin
    ClientOptions client;

    @Parameters(index = "0", paramLabel = "GROUP", description = "The group id.")
    String groupId;

    @Option(names = "--topic", paramLabel = "T", required = true, description = "The topic whose offsets to reset.")
    String topic;

    @Option(
            names = "--partition",
            paramLabel = "P",
            description = "Only partition P; repeatable (default: all partitions of the topic).")
    List<Integer> partitions = new ArrayList<>();

    @ArgGroup(exclusive = true, multiplicity = "1")
    Target target;

    @Option(names = "--execute", description = "Commit the new offsets (default: only print the plan).")
    boolean execute;

    /** Exactly one of these says where to move each partition's committed offset. */
    static final class Target {
        @Option(names = "--to-earliest", description = "The earliest offset each partition still holds.")
        boolean toEarliest;

        @Option(names = "--to-latest", description = "The end of each partition (skip everything).")
        boolean toLatest;

        @Option(names = "--to-offset", paramLabel = "N", description = "Offset N.")
        Long toOffset;

        @Option(
                names = "--shift-by",
                paramLabel = "N",
                description = "The committed offset plus N (negative: back); needs a committed offset.")
        Long shiftBy;

        @Option(
                names = "--to-datetime",
                paramLabel = "ISO8601",
                description = "The first record at or after this time, e.g. 2025-01-31T12:00:00Z or"
                        + " 2025-01-31T13:00:00+01:00 (without a zone: this machine's); the end when none.")
        String toDatetime;
    }

    ResetOffsetsCommand(Stdio stdio) {
        this.stdio = stdio;
    }

    @Override
    public Integer call() throws Exception {
        Optional<Long> timestampMs = Optional.empty();
        if (target.toDatetime != null) {
            timestampMs = Optional.of(parseDatetime(target.toDatetime));
        }
        if (target.toOffset != null && target.toOffset < 0) {
            throw new ParameterException(spec.commandLine(), "--to-offset must be at least 0");
        }
        if (partitions.stream().anyMatch(p -> p < 0)) {
            throw new ParameterException(spec.commandLine(), "--partition must be at least 0");
        }
        try (Admin admin = TopicCommand.admin(client)) {
            Optional<List<TopicPartition>> selected = selectPartitions(admin);
            if (selected.isEmpty()) {
                return Fjord.EXIT_FAILED;
            }
            Optional<ConsumerGroupDescription> group = GroupCommand.describeGroup(admin, groupId);
            // Dead (no such group yet) is reported as absent and can be reset, as in Kafka.
            if (group.isPresent() && group.get().groupState() != GroupState.EMPTY) {
                return refuseActive(group.get().groupState().toString());
            }
            Map<TopicPartition, Long> committed = GroupCommand.committedOffsets(admin, groupId);
            List<TopicPartition> tps = selected.get();
            if (target.shiftBy != null) {
                String missing = tps.stream()
                        .filter(tp -> !committed.containsKey(tp))
                        .map(TopicPartition::toString)
                        .collect(Collectors.joining(", "));
                if (!missing.isEmpty()) {
                    return stdio.fail(
                            spec,
                            "--shift-by needs a committed offset; group '" + groupId + "' has none for " + missing);
                }
            }
            Map<TopicPartition, Long> earliest = offsets(admin, tps, tp -> OffsetSpec.earliest());
            Map<TopicPartition, Long> latest = offsets(admin, tps, tp -> OffsetSpec.latest());
            Map<TopicPartition, Long> byTime =
                    timestampMs.isPresent() ? offsets(admin, tps, forTimestamp(timestampMs.get())) : Map.of();

            Map<TopicPartition, OffsetAndMetadata> plan = new LinkedHashMap<>();
            List<String[]> rows = new ArrayList<>();
            rows.add(new String[] {"topic", "partition", "committed", "new"});
            for (TopicPartition tp : tps) {
                long lo = earliest.get(tp);
                long hi = latest.get(tp);
                long wanted = wanted(tp, committed, lo, hi, byTime);
                long next = Math.clamp(wanted, lo, hi);
                if (next != wanted) {
                    stdio.err()
                            .println(spec.qualifiedName() + ": " + tp + " holds offsets " + lo + " to " + hi
                                    + "; using " + next + " instead of " + wanted);
                }
                plan.put(tp, new OffsetAndMetadata(next));
                Long c = committed.get(tp);
                rows.add(new String[] {
                    tp.topic(),
                    Integer.toString(tp.partition()),
                    c == null ? GroupCommand.NONE : Long.toString(c),
                    Long.toString(next)
                });
            }
            Table.print(rows, stdio.out());
            if (!execute) {
                stdio.err()
                        .println(spec.qualifiedName()
                                + ": dry run, nothing committed; add --execute to commit these offsets");
                return 0;
            }
            try {
                admin.alterConsumerGroupOffsets(groupId, plan).all().get();
            } catch (ExecutionException e) {
                // A member joined between the check above and the commit.
                return switch (e.getCause()) {
                    case UnknownMemberIdException x -> refuseActive("active");
                    case IllegalGenerationException x -> refuseActive("active");
                    case RebalanceInProgressException x -> refuseActive("rebalancing");
                    case FencedInstanceIdException x -> refuseActive("active");
                    case null, default -> throw e;
                };
            }
            stdio.err()
                    .println(spec.qualifiedName() + ": committed new offsets for " + plan.size()
                            + " partition(s) of group " + groupId);
        }
        return 0;
    }

    /** The offset asked for, before clamping to what the partition holds. */
    private long wanted(
            TopicPartition tp,
            Map<TopicPartition, Long> committed,
            long lo,
            long hi,
            Map<TopicPartition, Long> byTime) {
        if (target.toEarliest) {
            return lo;
        } else if (target.toLatest) {
            return hi;
        } else if (target.toOffset != null) {
            return target.toOffset;
        } else if (target.shiftBy != null) {
            long c = committed.get(tp);
            long n = target.shiftBy;
            // c >= 0, so only a positive shift can overflow.
            return n > 0 && c > Long.MAX_VALUE - n ? Long.MAX_VALUE : c + n;
        } else {
            // No record at or after the time: the end, so the group skips everything older.
            long found = byTime.getOrDefault(tp, -1L);
            return found < 0 ? hi : found;
        }
    }

    private int refuseActive(String state) {
        return stdio.fail(
                spec,
                "group '" + groupId + "' has active members (state " + state
                        + "); offsets can only be reset while it has none: stop its consumers first");
    }

    /** The topic's partitions asked for, sorted; empty after reporting an unknown topic or partition. */
    private Optional<List<TopicPartition>> selectPartitions(Admin admin)
            throws InterruptedException, ExecutionException {
        TopicDescription d;
        try {
            d = admin.describeTopics(List.of(topic)).allTopicNames().get().get(topic);
        } catch (ExecutionException e) {
            if (e.getCause() instanceof UnknownTopicOrPartitionException) {
                stdio.fail(spec, "topic '" + topic + "' does not exist");
                return Optional.empty();
            }
            throw e;
        }
        TreeSet<Integer> all = d.partitions().stream()
                .map(TopicPartitionInfo::partition)
                .collect(Collectors.toCollection(TreeSet::new));
        TreeSet<Integer> chosen = partitions.isEmpty() ? all : new TreeSet<>(partitions);
        for (int p : chosen) {
            if (!all.contains(p)) {
                stdio.fail(spec, "topic '" + topic + "' has no partition " + p + " (it has " + all.size() + ")");
                return Optional.empty();
            }
        }
        return Optional.of(
                chosen.stream().map(p -> new TopicPartition(topic, p)).toList());
    }

    private static Map<TopicPartition, Long> offsets(
            Admin admin, List<TopicPartition> tps, Function<TopicPartition, OffsetSpec> spec)
            throws InterruptedException, ExecutionException {
        Map<TopicPartition, OffsetSpec> asked = new HashMap<>();
        tps.forEach(tp -> asked.put(tp, spec.apply(tp)));
        Map<TopicPartition, Long> result = new HashMap<>();
        admin.listOffsets(asked).all().get().forEach((tp, info) -> result.put(tp, info.offset()));
        return result;
    }

    private static Function<TopicPartition, OffsetSpec> forTimestamp(long timestampMs) {
        return tp -> OffsetSpec.forTimestamp(timestampMs);
    }

    /** Epoch milliseconds of an ISO-8601 date-time; one without a zone is in this machine's zone. */
    private long parseDatetime(String s) {
        try {
            TemporalAccessor t = DateTimeFormatter.ISO_DATE_TIME.parseBest(s, ZonedDateTime::from, LocalDateTime::from);
            Instant at = t instanceof ZonedDateTime z
                    ? z.toInstant()
                    : ((LocalDateTime) t).atZone(ZoneId.systemDefault()).toInstant();
            return at.toEpochMilli();
        } catch (DateTimeException e) {
            throw new ParameterException(
                    spec.commandLine(),
                    "--to-datetime: '" + s + "' is not an ISO-8601 date-time such as 2025-01-31T12:00:00Z");
        }
    }
}
