package io.fjord.storage;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.fail;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileStore;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Assumptions;

/**
 * A tmpfs of a few MiB that a disk-full test mounts for itself (so it must run as root, with
 * CAP_SYS_ADMIN; otherwise {@link #mountOrSkip} skips the test with a message), and fills. Shared
 * with other modules' tests through this module's test jar.
 */
public final class SmallFileSystem {
    private static final long COMMAND_TIMEOUT_MS = 10_000;

    private final Path mountPoint;
    private final long sizeBytes;
    private boolean mounted;

    private SmallFileSystem(Path mountPoint, long sizeBytes) {
        this.mountPoint = mountPoint;
        this.sizeBytes = sizeBytes;
    }

    /** Mounts a tmpfs of {@code sizeMib} MiB at {@code mountPoint} (created), or skips the test. */
    public static SmallFileSystem mountOrSkip(Path mountPoint, int sizeMib) throws IOException, InterruptedException {
        Files.createDirectories(mountPoint);
        String size = sizeMib + "m";
        CommandResult r = run("mount", "-t", "tmpfs", "-o", "size=" + size, "tmpfs", mountPoint.toString());
        if (r.exitCode != 0) {
            Assumptions.abort("disk-full test skipped: it mounts a " + size
                    + " tmpfs and so must run as root (with CAP_SYS_ADMIN); `mount` exited with " + r.exitCode
                    + ": " + r.output.strip());
        }
        SmallFileSystem fs = new SmallFileSystem(mountPoint, sizeMib * 1024L * 1024L);
        fs.mounted = true;
        FileStore store = Files.getFileStore(mountPoint);
        assertThat(store.type()).as("file system at %s", mountPoint).isEqualTo("tmpfs");
        assertThat(store.getTotalSpace()).as("size of the test file system").isLessThanOrEqualTo(fs.sizeBytes);
        return fs;
    }

    public Path path() {
        return mountPoint;
    }

    /** Grows (or shrinks) the file system to {@code sizeMib} MiB in place: space comes back. */
    public void resize(int sizeMib) throws IOException, InterruptedException {
        CommandResult r = run("mount", "-o", "remount,size=" + sizeMib + "m", mountPoint.toString());
        assertThat(r.exitCode).as("remount %s: %s", mountPoint, r.output).isZero();
    }

    /**
     * Unmounts, calling the collector for up to {@code timeoutMs} while the mount is busy (mapped
     * index files stay mapped until their buffers are collected). With {@code lazyIfBusy} a mount
     * still busy then is detached lazily (the kernel frees it when the last mapping goes); without,
     * the test fails, as a busy mount means something still holds what was closed.
     */
    public void unmount(long timeoutMs, boolean lazyIfBusy) throws IOException, InterruptedException {
        if (!mounted) {
            return;
        }
        long deadlineNs = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(timeoutMs);
        CommandResult r = run("umount", mountPoint.toString());
        while (r.exitCode != 0 && System.nanoTime() < deadlineNs) {
            System.gc();
            r = run("umount", mountPoint.toString());
        }
        CommandResult busy = r;
        if (r.exitCode != 0) {
            r = run("umount", "--lazy", mountPoint.toString());
        }
        mounted = false;
        assertThat(r.exitCode).as("umount --lazy %s: %s", mountPoint, r.output).isZero();
        if (!lazyIfBusy) {
            assertThat(busy.exitCode)
                    .as("umount %s: %s", mountPoint, busy.output)
                    .isZero();
        }
    }

    /** Writes {@code file} until the file system is full; returns the bytes still usable then. */
    public long fill(Path file) throws IOException {
        ByteBuffer chunk = ByteBuffer.allocate(64 * 1024);
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
            while (true) {
                if (ch.size() > sizeBytes) {
                    fail("the file system did not fill up: " + file + " has " + ch.size() + " bytes");
                }
                chunk.clear();
                try {
                    while (chunk.hasRemaining()) {
                        ch.write(chunk);
                    }
                } catch (IOException e) {
                    assertThat(e.getMessage()).contains("No space left on device");
                    return Files.getFileStore(file).getUsableSpace();
                }
            }
        }
    }

    private record CommandResult(int exitCode, String output) {}

    private static CommandResult run(String... command) throws IOException, InterruptedException {
        Process p;
        try {
            p = new ProcessBuilder(command).redirectErrorStream(true).start();
        } catch (IOException e) {
            return new CommandResult(-1, "cannot run " + command[0] + ": " + e.getMessage());
        }
        p.getOutputStream().close();
        String output = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!p.waitFor(COMMAND_TIMEOUT_MS, TimeUnit.MILLISECONDS)) {
            p.destroyForcibly();
            fail(String.join(" ", command) + " did not finish in " + COMMAND_TIMEOUT_MS + " ms");
        }
        return new CommandResult(p.exitValue(), output);
    }
}
