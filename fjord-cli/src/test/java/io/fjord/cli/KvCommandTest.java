package io.fjord.cli;

import static org.assertj.core.api.Assertions.assertThat;

import io.fjord.raft.kv.StandaloneMetaServer;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Path;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code fjord kv} against a single-voter metadata group in this JVM. */
class KvCommandTest {
    @TempDir
    static Path dir;

    static StandaloneMetaServer server;
    static String quorum;

    @BeforeAll
    static void start() throws Exception {
        int port;
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            port = s.getLocalPort();
        }
        quorum = "1@127.0.0.1:" + port;
        server = StandaloneMetaServer.start(1, quorum, dir);
        long deadlineNs = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
        while (!server.isLeaderReady()) {
            assertThat(System.nanoTime() - deadlineNs)
                    .as("leader elected in time")
                    .isNegative();
            Thread.sleep(10);
        }
    }

    @AfterAll
    static void stop() throws Exception {
        server.close();
    }

    static CliNode.Result run(String... args) {
        CliNode.Streams s = new CliNode.Streams(new byte[0]);
        String[] all = java.util.Arrays.copyOf(args, args.length + 2);
        all[args.length] = "--quorum";
        all[args.length + 1] = quorum;
        int code = s.commandLine().execute(all);
        return s.result(code);
    }

    @Test
    void shouldPutGetRangeAndDelete() {
        CliNode.Result put = run("kv", "put", "/cli/a", "hello wörld");
        assertThat(put.code()).as(put.err()).isZero();
        assertThat(put.out()).matches("rev \\d+\n");
        long rev = Long.parseLong(put.out().strip().substring(4));
        assertThat(run("kv", "put", "/cli/b", "2").code()).isZero();

        CliNode.Result got = run("kv", "get", "/cli/a");
        assertThat(got.out()).isEqualTo("hello wörld\n");
        assertThat(run("kv", "get", "/cli/a", "--consistency", "serializable").out())
                .isEqualTo("hello wörld\n");

        CliNode.Result range = run("kv", "range", "/cli/");
        assertThat(range.lines()).hasSize(2);
        assertThat(range.lines().getFirst()).isEqualTo("/cli/a = hello wörld (rev " + rev + ")");

        assertThat(run("kv", "del", "/cli/a").out()).isEqualTo("deleted 1\n");
        CliNode.Result missing = run("kv", "get", "/cli/a");
        assertThat(missing.code()).isEqualTo(1);
        assertThat(missing.err()).isEqualTo("fjord kv get: key '/cli/a' not found\n");
        assertThat(run("kv", "del", "/cli/", "--prefix").out()).isEqualTo("deleted 1\n");
    }

    @Test
    void shouldWatchFromARevision() throws Exception {
        CliNode.Result first = run("kv", "put", "/w/a", "1");
        long rev = Long.parseLong(first.out().strip().substring(4));
        run("kv", "del", "/w/a");
        CompletableFuture<CliNode.Result> watch = CompletableFuture.supplyAsync(
                () -> run("kv", "watch", "/w/", "--from", Long.toString(rev), "--max-events", "3"));
        run("kv", "put", "/w/b", "2");
        CliNode.Result watched = watch.get(30, TimeUnit.SECONDS);
        assertThat(watched.code()).as(watched.err()).isZero();
        assertThat(watched.lines())
                .hasSize(3)
                .satisfies(l -> assertThat(l.get(0)).isEqualTo("PUT /w/a = 1 (rev " + rev + ")"))
                .satisfies(l -> assertThat(l.get(1)).startsWith("DELETE /w/a (rev "))
                .satisfies(l -> assertThat(l.get(2)).startsWith("PUT /w/b = 2 (rev "));
    }

    @Test
    void shouldRejectABadQuorum() {
        CliNode.Streams s = new CliNode.Streams(new byte[0]);
        int code = s.commandLine().execute("kv", "get", "/x", "--quorum", "nonsense");
        CliNode.Result r = s.result(code);
        assertThat(r.code()).isEqualTo(2);
        assertThat(r.err()).contains("--quorum");
    }
}
