package io.fjord.raft.kv;

/**
 * One change of one key. For a delete, {@code kv} holds the key, an empty value, and the
 * deleting revision as its mod revision.
 */
public record WatchEvent(Type type, KeyValue kv) {
    public enum Type {
        PUT,
        DELETE
    }

    public long revision() {
        return kv.modRevision();
    }
}
