package io.fjord.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.temporal.ChronoUnit;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ResetOffsetsCommandTest {
    @TempDir
    static Path dir;

    static CliNode fjord;

    /** When the first record of each partition was written; the rest follow a second apart. */
    static final Instant FIRST_RECORD_AT =
            Instant.now().minus(1, ChronoUnit.HOURS).truncatedTo(ChronoUnit.SECONDS);

    @BeforeAll
    static void start() throws Exception {
        fjord = new CliNode(dir);
    }

    @AfterAll
    static void stop() {
        fjord.close();
    }

    /**
     * A two-partition topic with 5 records in partition 0 and 3 in partition 1, and a group that
     * committed {@code offsets} for it and left.
     */
    private static void groupWithOffsets(String topic, String group, Map<Integer, Long> offsets) throws Exception {
        GroupClients.createTopic(fjord.bootstrap(), topic, 2);
        GroupClients.produce(fjord.bootstrap(), topic, 0, 5, FIRST_RECORD_AT.toEpochMilli());
        GroupClients.produce(fjord.bootstrap(), topic, 1, 3, FIRST_RECORD_AT.toEpochMilli());
        GroupClients.commit(fjord.bootstrap(), group, topic, offsets);
    }

    private static Map<Integer, Long> committed(String group, String topic) throws Exception {
        return GroupClients.committed(fjord.bootstrap(), group, topic);
    }

    @Test
    void shouldOnlyPrintThePlanWithoutExecute() throws Exception {
        groupWithOffsets("dry", "dry-run", Map.of(0, 3L, 1, 2L));

        CliNode.Result plan = fjord.run("group", "reset-offsets", "dry-run", "--topic", "dry", "--to-earliest");
        assertThat(plan.code()).as(plan.err()).isZero();
        assertThat(plan.lines())
                .containsExactly(
                        "topic  partition  committed  new",
                        "dry    0          3          0",
                        "dry    1          2          0");
        assertThat(plan.err())
                .isEqualTo(
                        "fjord group reset-offsets: dry run, nothing committed; add --execute to commit these offsets\n");
        assertThat(committed("dry-run", "dry")).isEqualTo(Map.of(0, 3L, 1, 2L));

        CliNode.Result done =
                fjord.run("group", "reset-offsets", "dry-run", "--topic", "dry", "--to-earliest", "--execute");
        assertThat(done.code()).as(done.err()).isZero();
        assertThat(done.out()).isEqualTo(plan.out());
        assertThat(done.err())
                .isEqualTo("fjord group reset-offsets: committed new offsets for 2 partition(s) of group dry-run\n");
        assertThat(committed("dry-run", "dry")).isEqualTo(Map.of(0, 0L, 1, 0L));

        CliNode.Result described = fjord.run("group", "describe", "dry-run");
        assertThat(described.lines()).contains("lag: 8");
    }

    @Test
    void shouldShiftByAndClampAtTheStart() throws Exception {
        groupWithOffsets("shifted", "shifter", Map.of(0, 3L, 1, 1L));

        CliNode.Result r =
                fjord.run("group", "reset-offsets", "shifter", "--topic", "shifted", "--shift-by", "-2", "--execute");
        assertThat(r.code()).as(r.err()).isZero();
        assertThat(r.lines()).contains("shifted  0          3          1", "shifted  1          1          0");
        assertThat(r.err()).contains("shifted-1 holds offsets 0 to 3; using 0 instead of -1");
        assertThat(committed("shifter", "shifted")).isEqualTo(Map.of(0, 1L, 1, 0L));

        assertThat(fjord.run("group", "reset-offsets", "shifter", "--topic", "shifted", "--shift-by", "3", "--execute")
                        .code())
                .isZero();
        assertThat(committed("shifter", "shifted")).isEqualTo(Map.of(0, 4L, 1, 3L));
    }

    @Test
    void shouldRefuseToShiftAPartitionWithoutACommittedOffset() throws Exception {
        groupWithOffsets("half", "half-committed", Map.of(0, 3L));

        CliNode.Result r = fjord.run(
                "group", "reset-offsets", "half-committed", "--topic", "half", "--shift-by", "1", "--execute");
        assertThat(r.code()).isEqualTo(1);
        assertThat(r.out()).isEmpty();
        assertThat(r.err())
                .isEqualTo("fjord group reset-offsets: --shift-by needs a committed offset;"
                        + " group 'half-committed' has none for half-1\n");
        assertThat(committed("half-committed", "half")).isEqualTo(Map.of(0, 3L));
    }

    @Test
    void shouldResetOnePartitionToAnOffsetClampedToItsEnd() throws Exception {
        groupWithOffsets("pinned", "pinner", Map.of(0, 1L, 1, 1L));

        CliNode.Result r = fjord.run(
                "group",
                "reset-offsets",
                "pinner",
                "--topic",
                "pinned",
                "--partition",
                "1",
                "--to-offset",
                "2",
                "--execute");
        assertThat(r.code()).as(r.err()).isZero();
        assertThat(r.lines()).containsExactly("topic   partition  committed  new", "pinned  1          1          2");
        assertThat(committed("pinner", "pinned")).isEqualTo(Map.of(0, 1L, 1, 2L));

        CliNode.Result past =
                fjord.run("group", "reset-offsets", "pinner", "--topic", "pinned", "--to-offset", "99", "--execute");
        assertThat(past.code()).as(past.err()).isZero();
        assertThat(committed("pinner", "pinned")).isEqualTo(Map.of(0, 5L, 1, 3L));

        CliNode.Result latest = fjord.run("group", "reset-offsets", "pinner", "--topic", "pinned", "--to-latest");
        assertThat(latest.lines()).contains("pinned  0          5          5", "pinned  1          3          3");
    }

    @Test
    void shouldResetToTheFirstRecordAtOrAfterADatetime() throws Exception {
        groupWithOffsets("timed", "time-traveller", Map.of(0, 5L, 1, 3L));
        // Records are at +0 s, +1 s, ...; +2.5 s falls before the record at offset 3 of partition 0.
        // Partition 1 holds only 3 records (up to +2 s), so it moves to its end.
        String at = FIRST_RECORD_AT
                .plusMillis(2_500)
                .atOffset(ZoneOffset.ofHours(2))
                .toString();

        CliNode.Result r = fjord.run(
                "group", "reset-offsets", "time-traveller", "--topic", "timed", "--to-datetime", at, "--execute");
        assertThat(r.code()).as(r.err()).isZero();
        assertThat(committed("time-traveller", "timed")).isEqualTo(Map.of(0, 3L, 1, 3L));

        String early = FIRST_RECORD_AT.minusSeconds(60).toString();
        assertThat(fjord.run(
                                "group",
                                "reset-offsets",
                                "time-traveller",
                                "--topic",
                                "timed",
                                "--to-datetime",
                                early,
                                "--execute")
                        .code())
                .isZero();
        assertThat(committed("time-traveller", "timed")).isEqualTo(Map.of(0, 0L, 1, 0L));
    }

    @Test
    void shouldRefuseWhileTheGroupHasAnActiveMember() throws Exception {
        groupWithOffsets("busy", "busy-group", Map.of(0, 4L, 1, 2L));
        GroupClients.Member member = GroupClients.Member.join(fjord.bootstrap(), "busy-group", "busy");
        try {
            // Refused with --execute, and also as a dry run (a plan for a live group would mislead).
            String[][] runs = {
                {"group", "reset-offsets", "busy-group", "--topic", "busy", "--to-earliest", "--execute"},
                {"group", "reset-offsets", "busy-group", "--topic", "busy", "--to-earliest"}
            };
            for (String[] args : runs) {
                CliNode.Result r = fjord.run(args);
                assertThat(r.code()).isEqualTo(1);
                assertThat(r.out()).isEmpty();
                assertThat(r.err())
                        .isEqualTo("fjord group reset-offsets: group 'busy-group' has active members (state Stable);"
                                + " offsets can only be reset while it has none: stop its consumers first\n");
            }
        } finally {
            member.close();
        }
        assertThat(committed("busy-group", "busy")).isEqualTo(Map.of(0, 4L, 1, 2L));
    }

    @Test
    void shouldFailOnAnUnknownTopicOrPartition() throws Exception {
        groupWithOffsets("known", "asker", Map.of(0, 1L));

        CliNode.Result topic = fjord.run("group", "reset-offsets", "asker", "--topic", "unknown", "--to-earliest");
        assertThat(topic.code()).isEqualTo(1);
        assertThat(topic.err()).isEqualTo("fjord group reset-offsets: topic 'unknown' does not exist\n");

        CliNode.Result partition =
                fjord.run("group", "reset-offsets", "asker", "--topic", "known", "--partition", "2", "--to-earliest");
        assertThat(partition.code()).isEqualTo(1);
        assertThat(partition.err())
                .isEqualTo("fjord group reset-offsets: topic 'known' has no partition 2 (it has 2)\n");
    }

    @Test
    void shouldRejectBadArgumentsAsUsageErrors() {
        String[][] bad = {
            {"group", "reset-offsets", "g", "--topic", "t"},
            {"group", "reset-offsets", "g", "--topic", "t", "--to-earliest", "--to-latest"},
            {"group", "reset-offsets", "g", "--to-earliest"},
            {"group", "reset-offsets", "g", "--topic", "t", "--to-offset", "-1"},
            {"group", "reset-offsets", "g", "--topic", "t", "--to-datetime", "yesterday"}
        };
        for (String[] args : bad) {
            CliNode.Result r = fjord.run(args);
            assertThat(r.code()).as(String.join(" ", args) + ": " + r.err()).isEqualTo(2);
        }
        assertThat(fjord.run("group", "reset-offsets", "g", "--topic", "t", "--to-datetime", "yesterday")
                        .err())
                .contains("--to-datetime: 'yesterday' is not an ISO-8601 date-time");
    }
}
