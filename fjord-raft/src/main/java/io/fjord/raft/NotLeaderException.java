package io.fjord.raft;

/** This node does not lead the group; {@link #leaderHint()} is the leader it knows of, or -1. */
public final class NotLeaderException extends RuntimeException {
    private static final long serialVersionUID = 1L;
    private final int leaderHint;

    public NotLeaderException(String message, int leaderHint) {
        super(message, null, false, false);
        this.leaderHint = leaderHint;
    }

    public int leaderHint() {
        return leaderHint;
    }
}
