package io.fjord.storage;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Function;
import java.util.function.LongSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Every partition log under one data directory: {@code <dataDir>/<topic>-<partition>/}.
 *
 * <p>The data directory holds a {@code .lock} file locked (with an OS file lock) for as long as
 * the manager is open, so a second process, or a second manager in this one, fails fast with
 * {@link DataDirLockedException} instead of corrupting logs. A deleted partition's directory is
 * first renamed to {@code <name>.<uuid>-delete} (atomic, so a restart never sees half of it) and
 * then removed; leftovers are removed at the next open.
 *
 * <p>Threads: the map of logs is safe for any thread. Each {@link PartitionLog} keeps its own
 * single-writer rule.
 */
public final class LogManager implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(LogManager.class);

    static final String LOCK_FILE = ".lock";
    private static final String DELETE_SUFFIX = "-delete";

    /**
     * Lock files held by managers in this JVM (real paths). The OS lock is per process, and closing
     * <em>any</em> channel on the file releases it (POSIX record-lock semantics), so a second open
     * in this JVM must be refused before it opens the lock file at all.
     */
    private static final Set<Path> LOCKED_IN_THIS_JVM = ConcurrentHashMap.newKeySet();

    private final Path dataDir;
    private final Path lockKey;
    private final FileChannel lockChannel;
    private final FileLock lock;
    private final LongSupplier clockMs;
    /** Partition logs opened side by side at start (each open mostly waits for the disk). */
    static final int OPEN_THREADS_MAX = 4;

    private final Map<PartitionId, PartitionLog> logs = new ConcurrentHashMap<>();
    /** fsyncs rolled segments and deletes retired files for every log, in order, off the writers. */
    private final java.util.concurrent.ExecutorService background =
            java.util.concurrent.Executors.newSingleThreadExecutor(r -> {
                Thread t = new Thread(r, "fjord-log-io");
                t.setDaemon(true);
                return t;
            });

    private volatile boolean closed;

    private LogManager(Path dataDir, Path lockKey, FileChannel lockChannel, FileLock lock, LongSupplier clockMs) {
        this.dataDir = dataDir;
        this.lockKey = lockKey;
        this.lockChannel = lockChannel;
        this.lock = lock;
        this.clockMs = clockMs;
    }

    /**
     * Locks {@code dataDir} (creating it if needed) and opens every partition log in it, with the
     * config {@code configFor} gives each.
     */
    public static LogManager open(Path dataDir, Function<PartitionId, LogConfig> configFor, LongSupplier clockMs) {
        try {
            Files.createDirectories(dataDir);
        } catch (IOException e) {
            throw new StorageException("cannot create data directory", dataDir, e);
        }
        Path lockPath = dataDir.resolve(LOCK_FILE);
        Path lockKey;
        try {
            lockKey = dataDir.toRealPath().resolve(LOCK_FILE);
        } catch (IOException e) {
            throw new StorageException("cannot resolve data directory", dataDir, e);
        }
        if (!LOCKED_IN_THIS_JVM.add(lockKey)) {
            throw new DataDirLockedException(lockPath);
        }
        FileChannel ch;
        FileLock lock;
        try {
            ch = FileChannel.open(lockPath, StandardOpenOption.CREATE, StandardOpenOption.WRITE);
        } catch (IOException e) {
            LOCKED_IN_THIS_JVM.remove(lockKey);
            throw new StorageException("cannot open lock file", lockPath, e);
        }
        try {
            lock = ch.tryLock();
        } catch (OverlappingFileLockException e) {
            lock = null;
        } catch (IOException e) {
            closeQuietly(ch);
            LOCKED_IN_THIS_JVM.remove(lockKey);
            throw new StorageException("cannot lock data directory", lockPath, e);
        }
        if (lock == null) {
            closeQuietly(ch);
            LOCKED_IN_THIS_JVM.remove(lockKey);
            throw new DataDirLockedException(lockPath);
        }
        LogManager manager = new LogManager(dataDir, lockKey, ch, lock, clockMs);
        try {
            manager.loadAll(configFor);
        } catch (RuntimeException e) {
            manager.close();
            throw e;
        }
        return manager;
    }

    /**
     * Opens every partition log, up to {@link #OPEN_THREADS_MAX} at a time: each open is
     * independent and mostly waits for the disk (a clean log's open removes its marker durably, an
     * unclean one reads and checks its tail), so a start with many partitions does not wait for them
     * one by one.
     */
    private void loadAll(Function<PartitionId, LogConfig> configFor) {
        long startNs = System.nanoTime();
        List<Path> leftovers = new ArrayList<>();
        List<Path> partitions = new ArrayList<>();
        try (DirectoryStream<Path> ds = Files.newDirectoryStream(dataDir, Files::isDirectory)) {
            for (Path p : ds) {
                String name = p.getFileName().toString();
                if (name.startsWith(".")) {
                    continue; // not ours: hidden directories belong to the broker (e.g. .meta)
                }
                if (name.endsWith(DELETE_SUFFIX)) {
                    leftovers.add(p);
                    continue;
                }
                if (PartitionId.parseDirName(name) == null) {
                    log.warn("{}: not a partition directory; ignoring it", p);
                    continue;
                }
                partitions.add(p);
            }
        } catch (IOException e) {
            throw new StorageException("cannot list data directory", dataDir, e);
        }
        openInParallel(partitions, configFor);
        for (Path p : leftovers) {
            deleteRecursively(p);
        }
        log.info(
                "{}: opened {} partition logs in {} ms",
                dataDir,
                logs.size(),
                (System.nanoTime() - startNs) / 1_000_000);
    }

    private void openInParallel(List<Path> partitions, Function<PartitionId, LogConfig> configFor) {
        if (partitions.isEmpty()) {
            return;
        }
        int threads = Math.min(OPEN_THREADS_MAX, partitions.size());
        java.util.concurrent.ExecutorService pool = java.util.concurrent.Executors.newFixedThreadPool(threads, r -> {
            Thread t = new Thread(r, "fjord-log-open");
            t.setDaemon(true);
            return t;
        });
        try {
            List<java.util.concurrent.Future<?>> opens = new ArrayList<>();
            for (Path p : partitions) {
                PartitionId id = PartitionId.parseDirName(p.getFileName().toString());
                opens.add(pool.submit(
                        () -> logs.put(id, PartitionLog.open(p, configFor.apply(id), clockMs, background))));
            }
            RuntimeException failed = null;
            for (java.util.concurrent.Future<?> f : opens) {
                try {
                    f.get();
                } catch (java.util.concurrent.ExecutionException e) {
                    RuntimeException cause = e.getCause() instanceof RuntimeException r
                            ? r
                            : new StorageException("cannot open a partition log", dataDir, e.getCause());
                    if (failed == null) {
                        failed = cause; // the first; the caller closes what did open
                    } else {
                        failed.addSuppressed(cause);
                    }
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    throw new StorageException("interrupted while opening partition logs", dataDir);
                }
            }
            if (failed != null) {
                throw failed;
            }
        } finally {
            pool.shutdownNow();
        }
    }

    /** The log of {@code id}, created with {@code config} if it does not exist. */
    public PartitionLog getOrCreate(PartitionId id, LogConfig config) {
        ensureOpen();
        return logs.computeIfAbsent(
                id, k -> PartitionLog.open(dataDir.resolve(k.dirName()), config, clockMs, background));
    }

    /** The log of {@code id}, or null. */
    public PartitionLog get(PartitionId id) {
        return logs.get(id);
    }

    public Collection<PartitionLog> logs() {
        return Collections.unmodifiableCollection(logs.values());
    }

    public Map<PartitionId, PartitionLog> logsById() {
        return Collections.unmodifiableMap(logs);
    }

    /**
     * Removes a partition and its files. The caller must be the log's owner (no append running);
     * readers holding slices can finish. Returns false if there was no such log.
     */
    public boolean delete(PartitionId id) {
        ensureOpen();
        PartitionLog pl = logs.remove(id);
        if (pl == null) {
            return false;
        }
        Path doomed = dataDir.resolve(
                id.dirName() + "." + UUID.randomUUID().toString().replace("-", "") + DELETE_SUFFIX);
        try {
            pl.close();
            Files.move(pl.dir(), doomed);
            CheckpointFile.fsyncDirectory(dataDir);
        } catch (IOException e) {
            throw new StorageException("cannot delete partition " + id, pl.dir(), e);
        }
        deleteRecursively(doomed);
        return true;
    }

    public Path dataDir() {
        return dataDir;
    }

    /** Closes every log cleanly (so the next open scans nothing) and releases the lock. */
    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        StorageException first = null;
        for (PartitionLog pl : logs.values()) {
            try {
                pl.close();
            } catch (StorageException e) {
                log.error("{}: close failed: {}", pl.dir(), e.getMessage());
                if (first == null) {
                    first = e;
                }
            }
        }
        logs.clear();
        // Let queued fsyncs and deletions finish before another process may take the directory.
        background.shutdown();
        try {
            if (!background.awaitTermination(60, java.util.concurrent.TimeUnit.SECONDS)) {
                log.warn("{}: background fsyncs still running after 60 s", dataDir);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        try {
            lock.release();
        } catch (IOException e) {
            log.warn("{}: cannot release lock: {}", dataDir, e.toString());
        }
        closeQuietly(lockChannel);
        LOCKED_IN_THIS_JVM.remove(lockKey);
        if (first != null) {
            throw first;
        }
    }

    private void ensureOpen() {
        if (closed) {
            throw new IllegalStateException("log manager is closed: " + dataDir);
        }
    }

    private static void deleteRecursively(Path root) {
        try (var walk = Files.walk(root)) {
            List<Path> paths = walk.sorted(Collections.reverseOrder()).toList();
            for (Path p : paths) {
                Files.deleteIfExists(p);
            }
        } catch (IOException e) {
            log.warn("{}: cannot delete: {}", root, e.toString());
        }
    }

    private static void closeQuietly(FileChannel ch) {
        try {
            ch.close();
        } catch (IOException e) {
            // nothing left to do
        }
    }
}
