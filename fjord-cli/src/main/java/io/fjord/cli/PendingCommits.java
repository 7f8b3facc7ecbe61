package io.fjord.cli;

import java.util.Collection;
import java.util.HashMap;
import java.util.Map;
import java.util.function.Consumer;
import org.apache.kafka.clients.consumer.CommitFailedException;
import org.apache.kafka.clients.consumer.ConsumerRebalanceListener;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.RebalanceInProgressException;
import org.apache.kafka.common.errors.WakeupException;

/**
 * The offsets {@code fjord consume --group} has printed but not yet committed, and the rebalance
 * listener that commits them before the group hands their partitions to another member.
 *
 * <p>At-least-once: the command {@linkplain #add adds} a poll's offsets only after that poll's
 * records have been written and flushed to stdout, and {@link #commit()} commits synchronously, so
 * no record is committed before it is printed. A record printed but not committed (the process
 * killed, a commit refused) is printed again by whichever member reads its partition next.
 *
 * <p>This class is not thread-safe: it is owned by the thread that owns the consumer ({@code
 * main}), which is also where kafka-clients calls the listener, from inside {@code poll} and
 * {@code close}.
 */
final class PendingCommits implements ConsumerRebalanceListener {
    private final KafkaConsumer<?, ?> consumer;
    private final Consumer<String> note;
    private final Runnable onAssigned;
    private final Map<TopicPartition, OffsetAndMetadata> pending = new HashMap<>();

    /**
     * @param consumer the group member that commits
     * @param note prints a line on stderr (a commit that was refused)
     * @param onAssigned called after each assignment, empty ones included
     */
    PendingCommits(KafkaConsumer<?, ?> consumer, Consumer<String> note, Runnable onAssigned) {
        this.consumer = consumer;
        this.note = note;
        this.onAssigned = onAssigned;
    }

    /** Adds offsets to commit: per partition, the offset after the last record printed. */
    void add(Map<TopicPartition, OffsetAndMetadata> printed) {
        pending.putAll(printed);
    }

    /**
     * Commits what is pending, synchronously. While the group rebalances they stay pending: the
     * revocation callback or the commit after the next poll takes them. A commit the group refuses
     * for good (this member was expelled) is dropped with a note.
     *
     * @throws WakeupException when {@link KafkaConsumer#wakeup()} interrupted it; nothing is lost
     */
    void commit() {
        if (pending.isEmpty()) {
            return;
        }
        try {
            consumer.commitSync(pending);
            pending.clear();
        } catch (RebalanceInProgressException e) {
            // Kept: committed once the rebalance is done, or on revocation.
        } catch (CommitFailedException e) {
            note.accept("commit refused: the group rebalanced without this member; the records printed since"
                    + " the last commit (" + pending.size() + " partitions) may be printed again");
            pending.clear();
        }
    }

    /**
     * The last commit as the command stops; tried twice because a stop request's wake-up may
     * interrupt the first.
     */
    void commitBeforeClose() {
        try {
            commit();
        } catch (WakeupException e) {
            commit();
        }
    }

    @Override
    public void onPartitionsRevoked(Collection<TopicPartition> partitions) {
        // Eager rebalancing revokes everything before rejoining, while this generation can still commit.
        commit();
        dropAll(partitions);
    }

    @Override
    public void onPartitionsAssigned(Collection<TopicPartition> partitions) {
        onAssigned.run();
    }

    @Override
    public void onPartitionsLost(Collection<TopicPartition> partitions) {
        dropAll(partitions); // another member may own them already: a commit would be refused
    }

    private void dropAll(Collection<TopicPartition> partitions) {
        int dropped = 0;
        for (TopicPartition tp : partitions) {
            if (pending.remove(tp) != null) {
                dropped++;
            }
        }
        if (dropped > 0) {
            note.accept(dropped + " partitions left this member before their offsets were committed;"
                    + " their last records may be printed again");
        }
    }
}
