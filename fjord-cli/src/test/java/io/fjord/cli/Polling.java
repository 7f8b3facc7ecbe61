package io.fjord.cli;

import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;

/** Waiting for a condition with a deadline, for this module's process-level tests. */
final class Polling {
    private Polling() {}

    /** Polls {@code condition} every 20 ms until it holds; fails after {@code seconds}, naming {@code what}. */
    static void await(String what, int seconds, BooleanSupplier condition) throws InterruptedException {
        await(what, seconds, 20, condition);
    }

    /** {@link #await(String, int, BooleanSupplier)} for conditions that cost more to check, every {@code everyMs}. */
    static void await(String what, int seconds, long everyMs, BooleanSupplier condition) throws InterruptedException {
        long deadlineNs = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds);
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadlineNs) {
                throw new AssertionError("timed out after " + seconds + " s waiting for " + what);
            }
            Thread.sleep(everyMs); // between polls
        }
    }

    /** Milliseconds since {@code startNs} ({@link System#nanoTime}). */
    static long msSince(long startNs) {
        return (System.nanoTime() - startNs) / 1_000_000;
    }
}
