package io.fjord.raft;

/**
 * A replicated write whose outcome is unknown or that could not be started now (timeout, lost
 * leadership, overload). Retriable: an idempotent retry is safe.
 */
public final class ReplicationException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    public ReplicationException(String message, Throwable cause) {
        super(message, cause);
    }
}
