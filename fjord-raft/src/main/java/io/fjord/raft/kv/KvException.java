package io.fjord.raft.kv;

/** A KV operation failed. {@link #retriable()} when a later attempt may succeed (no leader yet, timeout). */
public class KvException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    private final boolean retriable;
    private final boolean compacted;

    public KvException(String message, boolean retriable, boolean compacted, Throwable cause) {
        super(message, cause);
        this.retriable = retriable;
        this.compacted = compacted;
    }

    public boolean retriable() {
        return retriable;
    }

    /** The requested history was compacted away. */
    public boolean compacted() {
        return compacted;
    }
}
