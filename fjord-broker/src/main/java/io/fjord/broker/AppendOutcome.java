package io.fjord.broker;

/** What a produce to one partition came to. */
public sealed interface AppendOutcome {

    /**
     * Written (or, for a retried duplicate from an idempotent producer, written before: then the
     * original offsets are returned and nothing is appended).
     */
    record Appended(long baseOffset, long lastOffset, long logStartOffset, boolean duplicate)
            implements AppendOutcome {}

    /** Refused; nothing was appended. */
    record Failed(ProduceError error, String message) implements AppendOutcome {}
}
