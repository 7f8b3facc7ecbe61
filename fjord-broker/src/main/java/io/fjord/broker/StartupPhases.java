package io.fjord.broker;

import java.util.ArrayList;
import java.util.List;

/**
 * How long each phase of a node's start took, for the node's log: {@code mark("raft server")}
 * closes the phase that began at the previous mark. Milliseconds since the JVM started are shown
 * too, so a log line can be set against the process launch (the start-up benchmark's clock).
 *
 * <p>Threads: one (the starting thread); {@link #toString} may be read by any thread afterwards.
 */
public final class StartupPhases {
    private final long jvmStartMs = processStartMs();
    private final List<String> phases = new ArrayList<>();
    private long lastNs = System.nanoTime();

    /** Ends the current phase, naming it. */
    public synchronized void mark(String phase) {
        long nowNs = System.nanoTime();
        phases.add(phase + " " + (nowNs - lastNs) / 1_000_000 + " ms");
        lastNs = nowNs;
    }

    /** Milliseconds since this JVM started. */
    public long sinceJvmStartMs() {
        return System.currentTimeMillis() - jvmStartMs;
    }

    /**
     * When this process started, to about 10 ms on Linux (its start time in clock ticks since boot,
     * against the uptime); elsewhere {@link ProcessHandle}'s start instant, which may be off by up
     * to a second (it counts from the boot time in whole seconds).
     */
    static long processStartMs() {
        long nowMs = System.currentTimeMillis();
        try {
            String stat = java.nio.file.Files.readString(java.nio.file.Path.of("/proc/self/stat"));
            // Fields after the command name (which may hold spaces): state is field 3, starttime 22.
            String[] f = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
            long startTicks = Long.parseLong(f[22 - 3]);
            String up = java.nio.file.Files.readString(java.nio.file.Path.of("/proc/uptime"));
            double uptimeS = Double.parseDouble(up.substring(0, up.indexOf(' ')));
            return nowMs - (long) (uptimeS * 1000) + startTicks * 10; // USER_HZ is 100 on Linux
        } catch (java.io.IOException | RuntimeException e) {
            return ProcessHandle.current()
                    .info()
                    .startInstant()
                    .map(java.time.Instant::toEpochMilli)
                    .orElse(nowMs);
        }
    }

    @Override
    public synchronized String toString() {
        return String.join(", ", phases);
    }
}
