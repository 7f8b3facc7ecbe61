package io.fjord.raft.kv;

import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One watch: a daemon thread that pulls changes after its cursor from a {@link Source} and hands
 * them to the listener in revision order. The thread owns the cursor and the listener calls; the
 * applying side only {@link #wake()}s it, so a slow listener never holds up Raft.
 *
 * <p>A watch whose cursor falls out of the bounded history (the listener was too slow, or asked for
 * an old revision) stops, and {@link #failure()} says why.
 */
public final class KvWatch implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(KvWatch.class);

    /** Events fetched per pull. */
    static final int BATCH_EVENTS_MAX = 512;

    /** Reads changes after a revision; throws {@link KvException}. */
    interface Source {
        KvCodec.ChangesReply changes(String prefix, long afterRevision, int limit) throws InterruptedException;
    }

    private final Source source;
    private final String prefix;
    private final Consumer<WatchEvent> listener;
    private final long pollNs;
    private final Thread thread;
    private final Consumer<KvWatch> onClose;
    private volatile boolean closed;
    private volatile KvException failure;
    private long cursor; // owned by the watch thread

    KvWatch(
            Source source,
            String prefix,
            long afterRevision,
            Consumer<WatchEvent> listener,
            long pollMs,
            Consumer<KvWatch> onClose) {
        this.onClose = onClose;
        this.source = source;
        this.prefix = prefix;
        this.cursor = afterRevision;
        this.listener = listener;
        this.pollNs = TimeUnit.MILLISECONDS.toNanos(pollMs);
        this.thread =
                Thread.ofPlatform().daemon().name("kv-watch[" + prefix + "]").unstarted(this::run);
    }

    KvWatch start() {
        thread.start();
        return this;
    }

    /** New changes may be there: pull now instead of at the next poll. */
    void wake() {
        LockSupport.unpark(thread);
    }

    /** Why the watch stopped by itself (compacted history, a non-retriable error), if it did. */
    public Optional<KvException> failure() {
        return Optional.ofNullable(failure);
    }

    public boolean isClosed() {
        return closed;
    }

    private void run() {
        while (!closed) {
            KvCodec.ChangesReply reply;
            try {
                reply = source.changes(prefix, cursor, BATCH_EVENTS_MAX);
            } catch (InterruptedException e) {
                break;
            } catch (KvException e) {
                if (e.retriable()) {
                    LockSupport.parkNanos(pollNs);
                    continue;
                }
                failure = e;
                close();
                log.warn("watch on '{}' stopped after revision {}: {}", prefix, cursor, e.getMessage());
                break;
            }
            for (WatchEvent e : reply.events()) {
                if (closed) {
                    return;
                }
                try {
                    listener.accept(e);
                } catch (RuntimeException ex) {
                    log.warn("watch listener on '{}' failed at revision {}", prefix, e.revision(), ex);
                }
            }
            cursor = Math.max(cursor, reply.revision());
            if (reply.events().size() < BATCH_EVENTS_MAX) {
                LockSupport.parkNanos(pollNs);
            }
        }
    }

    @Override
    public void close() {
        closed = true;
        onClose.accept(this);
        if (Thread.currentThread() != thread) {
            thread.interrupt();
        }
    }
}
