package io.fjord.cli;

import io.fjord.raft.kv.Consistency;
import io.fjord.raft.kv.KeyValue;
import io.fjord.raft.kv.KvException;
import io.fjord.raft.kv.KvWatch;
import io.fjord.raft.kv.RaftKvStore;
import io.fjord.raft.kv.RangeResult;
import io.fjord.raft.kv.WatchEvent;
import java.nio.charset.StandardCharsets;
import java.util.Optional;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/**
 * {@code fjord kv get|put|del|range|watch}: the metadata service's key-value store, spoken to
 * directly over Raft (the metadata group's voters), not through a broker. Values are UTF-8 text.
 */
@Command(
        name = "kv",
        mixinStandardHelpOptions = true,
        description = "Read and write the metadata key-value store.",
        subcommands = {
            KvCommand.Get.class,
            KvCommand.Put.class,
            KvCommand.Del.class,
            KvCommand.Range.class,
            KvCommand.Watch.class
        })
final class KvCommand {
    /** Upper bound on one call, the client's own retries included. */
    static final long CALL_TIMEOUT_MS = 30_000;

    private KvCommand() {}

    /** Options every kv command shares. */
    static final class KvOptions {
        static final String QUORUM_ENV = "FJORD_QUORUM";
        static final String QUORUM_DEFAULT = "1@127.0.0.1:10092";

        @Option(
                names = "--quorum",
                paramLabel = "ID@HOST:PORT[,...]",
                defaultValue = "${env:" + QUORUM_ENV + ":-" + QUORUM_DEFAULT + "}",
                description = "The metadata group's voters and their Raft ports (default: $" + QUORUM_ENV + ", else "
                        + QUORUM_DEFAULT + ").")
        String quorum;

        @Option(
                names = "--consistency",
                paramLabel = "C",
                defaultValue = "linearizable",
                description = "Reads: linearizable (through the leader) or serializable (one server's"
                        + " possibly stale copy). Default: ${DEFAULT-VALUE}.")
        String consistency;

        Consistency consistency(CommandSpec spec) {
            return switch (consistency.toLowerCase(java.util.Locale.ROOT)) {
                case "linearizable" -> Consistency.LINEARIZABLE;
                case "serializable" -> Consistency.SERIALIZABLE;
                default ->
                    throw new picocli.CommandLine.ParameterException(
                            spec.commandLine(), "--consistency must be linearizable or serializable");
            };
        }

        RaftKvStore connect(CommandSpec spec) {
            try {
                return RaftKvStore.connect(quorum);
            } catch (IllegalArgumentException e) {
                throw new picocli.CommandLine.ParameterException(spec.commandLine(), "--quorum: " + e.getMessage());
            }
        }
    }

    static <T> T await(CompletableFuture<T> f) throws InterruptedException, TimeoutException {
        try {
            return f.get(CALL_TIMEOUT_MS, TimeUnit.MILLISECONDS);
        } catch (ExecutionException e) {
            throw e.getCause() instanceof KvException k
                    ? k
                    : new KvException(Fjord.describe(e.getCause()), false, false, e);
        }
    }

    static String text(byte[] value) {
        return new String(value, StandardCharsets.UTF_8);
    }

    static String line(KeyValue kv) {
        return kv.key() + " = " + text(kv.value()) + " (rev " + kv.modRevision() + ")";
    }

    @Command(name = "get", mixinStandardHelpOptions = true, description = "Print a key's value.")
    static final class Get implements Callable<Integer> {
        private final Stdio stdio;

        @Spec
        CommandSpec spec;

        @Mixin
        KvOptions kv;

        @Parameters(index = "0", paramLabel = "KEY")
        String key;

        Get(Stdio stdio) {
            this.stdio = stdio;
        }

        @Override
        public Integer call() throws Exception {
            Consistency c = kv.consistency(spec);
            try (RaftKvStore store = kv.connect(spec)) {
                Optional<KeyValue> got = await(store.get(key, c));
                if (got.isEmpty()) {
                    return stdio.fail(spec, "key '" + key + "' not found");
                }
                stdio.out().println(text(got.get().value()));
            }
            return 0;
        }
    }

    @Command(name = "put", mixinStandardHelpOptions = true, description = "Set a key; prints the revision.")
    static final class Put implements Callable<Integer> {
        private final Stdio stdio;

        @Spec
        CommandSpec spec;

        @Mixin
        KvOptions kv;

        @Parameters(index = "0", paramLabel = "KEY")
        String key;

        @Parameters(index = "1", paramLabel = "VALUE")
        String value;

        Put(Stdio stdio) {
            this.stdio = stdio;
        }

        @Override
        public Integer call() throws Exception {
            try (RaftKvStore store = kv.connect(spec)) {
                long rev = await(store.put(key, value.getBytes(StandardCharsets.UTF_8)));
                stdio.out().println("rev " + rev);
            }
            return 0;
        }
    }

    @Command(name = "del", mixinStandardHelpOptions = true, description = "Delete a key, or every key under a prefix.")
    static final class Del implements Callable<Integer> {
        private final Stdio stdio;

        @Spec
        CommandSpec spec;

        @Mixin
        KvOptions kv;

        @Parameters(index = "0", paramLabel = "KEY")
        String key;

        @Option(names = "--prefix", description = "Delete every key starting with KEY.")
        boolean prefix;

        Del(Stdio stdio) {
            this.stdio = stdio;
        }

        @Override
        public Integer call() throws Exception {
            try (RaftKvStore store = kv.connect(spec)) {
                long deleted = await(prefix ? store.deletePrefix(key) : store.delete(key));
                stdio.out().println("deleted " + deleted);
            }
            return 0;
        }
    }

    @Command(
            name = "range",
            mixinStandardHelpOptions = true,
            description = "Print every key under a prefix, in key order: key = value (rev N).")
    static final class Range implements Callable<Integer> {
        private final Stdio stdio;

        @Spec
        CommandSpec spec;

        @Mixin
        KvOptions kv;

        @Parameters(index = "0", paramLabel = "PREFIX", defaultValue = "", description = "Default: every key.")
        String prefix;

        Range(Stdio stdio) {
            this.stdio = stdio;
        }

        @Override
        public Integer call() throws Exception {
            Consistency c = kv.consistency(spec);
            try (RaftKvStore store = kv.connect(spec)) {
                RangeResult r = await(store.range(prefix, c));
                r.kvs().forEach(x -> stdio.out().println(line(x)));
            }
            return 0;
        }
    }

    @Command(
            name = "watch",
            mixinStandardHelpOptions = true,
            description = "Print changes under a prefix as they happen, until interrupted.")
    static final class Watch implements Callable<Integer> {
        private final Stdio stdio;

        @Spec
        CommandSpec spec;

        @Mixin
        KvOptions kv;

        @Parameters(index = "0", paramLabel = "PREFIX", defaultValue = "", description = "Default: every key.")
        String prefix;

        @Option(
                names = "--from",
                paramLabel = "REV",
                description = "Start with the changes at revision REV (default: changes after now).")
        Long from;

        @Option(names = "--max-events", paramLabel = "N", description = "Exit after N events.")
        Integer maxEvents;

        Watch(Stdio stdio) {
            this.stdio = stdio;
        }

        @Override
        public Integer call() throws Exception {
            try (RaftKvStore store = kv.connect(spec)) {
                long after = from != null
                        ? Math.max(0, from - 1)
                        : await(store.range(prefix, Consistency.LINEARIZABLE)).revision();
                CountDownLatch done = new CountDownLatch(maxEvents == null ? 1 : Math.max(0, maxEvents));
                try (KvWatch w = store.watch(prefix, after, e -> {
                    if (done.getCount() == 0) {
                        return;
                    }
                    stdio.out()
                            .println(
                                    e.type() == WatchEvent.Type.PUT
                                            ? "PUT " + line(e.kv())
                                            : "DELETE " + e.kv().key() + " (rev " + e.revision() + ")");
                    stdio.out().flush();
                    if (maxEvents != null) {
                        done.countDown();
                    }
                })) {
                    while (!done.await(100, TimeUnit.MILLISECONDS)) {
                        if (w.failure().isPresent()) {
                            return stdio.fail(spec, w.failure().get().getMessage());
                        }
                    }
                }
            }
            return 0;
        }
    }
}
