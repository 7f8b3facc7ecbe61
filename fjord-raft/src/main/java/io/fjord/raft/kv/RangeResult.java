package io.fjord.raft.kv;

import java.util.List;

/** Keys of a range, in key order, as of {@code revision}. */
public record RangeResult(List<KeyValue> kvs, long revision) {}
