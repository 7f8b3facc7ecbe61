package io.fjord.bench;

import org.openjdk.jmh.annotations.AuxCounters;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;

/**
 * Bytes moved by a benchmark, reported by JMH as a secondary result "bytes" in bytes per second
 * (an {@link AuxCounters.Type#OPERATIONS} counter is divided by the iteration time). bench/jmh.sh
 * turns it into MB/s. Counting bytes rather than deriving them from ops/s keeps the figure exact
 * whatever the batch size.
 */
@State(Scope.Thread)
@AuxCounters(AuxCounters.Type.OPERATIONS)
public class ByteCounter {
    public long bytes;

    @Setup(Level.Iteration)
    public void reset() {
        bytes = 0;
    }
}
