package io.fjord.raft.kv;

/**
 * One key's current value. Revisions are the Raft log index of the change that made them.
 *
 * @param createRevision revision of the put that created the key (since its last deletion)
 * @param modRevision revision of the last put of the key
 * @param version number of puts since creation (1 after the first)
 */
public record KeyValue(String key, byte[] value, long createRevision, long modRevision, long version) {}
