package io.fjord.raft.kv;

import java.util.List;

/**
 * An atomic compare-and-set: if every compare holds, apply {@code onSuccess}, else {@code
 * onFailure}. All of it is one Raft entry and one revision.
 */
public record Txn(List<Compare> compares, List<Op> onSuccess, List<Op> onFailure) {
    public Txn {
        compares = List.copyOf(compares);
        onSuccess = List.copyOf(onSuccess);
        onFailure = List.copyOf(onFailure);
    }
}
