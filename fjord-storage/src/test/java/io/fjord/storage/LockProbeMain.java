package io.fjord.storage;

import java.nio.file.Path;

/**
 * Run in a child JVM by {@link LogManagerTest}: tries to open a {@link LogManager} on the data
 * directory given as the only argument and prints the outcome on one line: {@code OPENED}, {@code
 * LOCKED} or {@code FAILED <exception>}.
 */
public final class LockProbeMain {
    private LockProbeMain() {}

    public static void main(String[] args) {
        try (LogManager manager =
                LogManager.open(Path.of(args[0]), id -> LogConfig.DEFAULT, System::currentTimeMillis)) {
            System.out.println("OPENED " + manager.logs().size());
        } catch (DataDirLockedException e) {
            System.out.println("LOCKED");
        } catch (RuntimeException e) {
            System.out.println("FAILED " + e);
        }
    }
}
