package io.fjord.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class GroupCommandTest {
    @TempDir
    static Path dir;

    static CliNode fjord;

    @BeforeAll
    static void start() throws Exception {
        fjord = new CliNode(dir);
    }

    @AfterAll
    static void stop() {
        fjord.close();
    }

    /** A two-partition topic with 5 records in partition 0 and 3 in partition 1. */
    private static void topicWithRecords(String topic) throws Exception {
        GroupClients.createTopic(fjord.bootstrap(), topic, 2);
        long nowMs = System.currentTimeMillis();
        GroupClients.produce(fjord.bootstrap(), topic, 0, 5, nowMs);
        GroupClients.produce(fjord.bootstrap(), topic, 1, 3, nowMs);
    }

    @Test
    void shouldListAGroupAsEmptyOnceItsConsumerLeft() throws Exception {
        topicWithRecords("listed");
        GroupClients.commit(fjord.bootstrap(), "lister", "listed", Map.of(0, 1L));

        CliNode.Result r = fjord.run("group", "list");
        assertThat(r.code()).as(r.err()).isZero();
        assertThat(r.lines().getFirst()).matches("group +state +type +protocol");
        assertThat(r.lines()).anySatisfy(l -> assertThat(l).matches("lister +Empty +classic +consumer"));
        assertThat(r.err()).isEmpty();
    }

    @Test
    void shouldDescribeCommittedOffsetsAndTheLagOfEachPartition() throws Exception {
        topicWithRecords("described");
        GroupClients.commit(fjord.bootstrap(), "describer", "described", Map.of(0, 3L, 1, 1L));

        CliNode.Result r = fjord.run("group", "describe", "describer");
        assertThat(r.code()).as(r.err()).isZero();
        assertThat(r.lines())
                .startsWith("group: describer", "state: Empty")
                .contains("lag: 4", "members: 0")
                .anySatisfy(l -> assertThat(l).matches("topic +partition +committed +end +lag +member"))
                .anySatisfy(l -> assertThat(l).matches("described +0 +3 +5 +2 +-"))
                .anySatisfy(l -> assertThat(l).matches("described +1 +1 +3 +2 +-"));
        assertThat(r.err()).isEmpty();
    }

    @Test
    void shouldDescribeAnActiveMemberAndRefuseToDeleteItsGroup() throws Exception {
        topicWithRecords("watched");
        try (GroupClients.Member m = GroupClients.Member.join(fjord.bootstrap(), "watchers", "watched")) {
            m.commit("watched", Map.of(0, 5L));

            CliNode.Result r = fjord.run("group", "describe", "watchers");
            assertThat(r.code()).as(r.err()).isZero();
            assertThat(r.lines())
                    .contains("state: Stable", "protocol: consumer (range)", "members: 1", "lag: 0")
                    .anySatisfy(l -> assertThat(l).matches("member +client-id +host +partitions"))
                    .anySatisfy(
                            l -> assertThat(l)
                                    .matches(
                                            "member-of-watchers-\\S+ +member-of-watchers +/127\\.0\\.0\\.1 +watched-0,watched-1"))
                    .anySatisfy(l -> assertThat(l).matches("watched +0 +5 +5 +0 +member-of-watchers-\\S+"))
                    // Assigned but nothing committed: no lag to compute.
                    .anySatisfy(l -> assertThat(l).matches("watched +1 +- +3 +- +member-of-watchers-\\S+"));

            CliNode.Result deleted = fjord.run("group", "delete", "watchers");
            assertThat(deleted.code()).isEqualTo(1);
            assertThat(deleted.out()).isEmpty();
            assertThat(deleted.err())
                    .isEqualTo("fjord group delete: group 'watchers' is not empty: stop its members first\n");
        }
    }

    @Test
    void shouldDeleteAGroupThenReportItUnknown() throws Exception {
        topicWithRecords("doomed");
        GroupClients.commit(fjord.bootstrap(), "deleted", "doomed", Map.of(0, 2L));

        CliNode.Result r = fjord.run("group", "delete", "deleted");
        assertThat(r.code()).as(r.err()).isZero();
        assertThat(r.out()).isEqualTo("deleted group deleted\n");
        assertThat(fjord.run("group", "list").lines()).noneMatch(l -> l.startsWith("deleted "));
        assertThat(GroupClients.committed(fjord.bootstrap(), "deleted", "doomed"))
                .isEmpty();

        CliNode.Result again = fjord.run("group", "delete", "deleted");
        assertThat(again.code()).isEqualTo(1);
        assertThat(again.err()).isEqualTo("fjord group delete: group 'deleted' does not exist\n");
    }

    @Test
    void shouldFailToDescribeAnUnknownGroup() {
        CliNode.Result r = fjord.run("group", "describe", "nobody");
        assertThat(r.code()).isEqualTo(1);
        assertThat(r.out()).isEmpty();
        assertThat(r.err()).isEqualTo("fjord group describe: group 'nobody' does not exist\n");
    }

    @Test
    void shouldListItsSubcommandsInHelp() {
        CliNode.Streams s = new CliNode.Streams(new byte[0]);
        int code = s.commandLine().execute("group", "--help");
        assertThat(code).isZero();
        assertThat(s.out()).contains("Usage: fjord group", "list", "describe", "reset-offsets", "delete");
    }
}
