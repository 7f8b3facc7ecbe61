package io.fjord.raft.kv;

import java.util.Arrays;

/**
 * A condition of a {@link Txn}, evaluated on the state the transaction applies to.
 */
public sealed interface Compare {
    String key();

    /** The key's mod revision equals {@code revision}; 0 means "the key does not exist". */
    record ModRevision(String key, long revision) implements Compare {}

    /** The key exists and its value equals {@code value}. */
    record Value(String key, byte[] value) implements Compare {
        @Override
        public boolean equals(Object o) {
            return o instanceof Value v && v.key.equals(key) && Arrays.equals(v.value, value);
        }

        @Override
        public int hashCode() {
            return key.hashCode() * 31 + Arrays.hashCode(value);
        }
    }
}
