package io.fjord.wire;

import io.fjord.broker.Broker;
import io.fjord.broker.PartitionReplica;
import io.fjord.storage.PartitionLog;
import java.util.Optional;
import org.apache.kafka.common.message.ListOffsetsRequestData;
import org.apache.kafka.common.message.ListOffsetsResponseData;
import org.apache.kafka.common.protocol.Errors;

/**
 * ListOffsets 1-7: earliest (-2), latest (-1), and by timestamp through the time index (the first
 * batch whose max timestamp is at or after the target). Max-timestamp (-3) is answered as "none".
 */
final class ListOffsetsHandler {
    static final long LATEST = -1;
    static final long EARLIEST = -2;
    /** The first ListOffsets response version that carries a leader epoch. */
    static final short LEADER_EPOCH_MIN_VERSION = 4;

    private final Broker broker;

    ListOffsetsHandler(Broker broker) {
        this.broker = broker;
    }

    Response handle(RequestContext ctx, ListOffsetsRequestData req) {
        ListOffsetsResponseData resp = new ListOffsetsResponseData();
        for (ListOffsetsRequestData.ListOffsetsTopic t : req.topics()) {
            ListOffsetsResponseData.ListOffsetsTopicResponse tr =
                    new ListOffsetsResponseData.ListOffsetsTopicResponse().setName(t.name());
            resp.topics().add(tr);
            for (ListOffsetsRequestData.ListOffsetsPartition p : t.partitions()) {
                ListOffsetsResponseData.ListOffsetsPartitionResponse pr =
                        new ListOffsetsResponseData.ListOffsetsPartitionResponse()
                                .setPartitionIndex(p.partitionIndex())
                                .setTimestamp(-1)
                                .setOffset(-1)
                                .setLeaderEpoch(-1);
                tr.partitions().add(pr);
                PartitionReplica r = broker.replica(t.name(), p.partitionIndex());
                Errors notServed = ErrorCodes.notServed(broker, t.name(), p.partitionIndex(), r);
                if (notServed != null) {
                    pr.setErrorCode(notServed.code());
                    continue;
                }
                pr.setErrorCode(Errors.NONE.code());
                // LeaderEpoch exists from v4 and is not ignorable: a non-default value makes the
                // v1-3 encoder throw, so older versions must keep the default -1.
                if (ctx.version() >= LEADER_EPOCH_MIN_VERSION) {
                    pr.setLeaderEpoch(r.leaderEpoch());
                }
                long ts = p.timestamp();
                if (ts == LATEST) {
                    pr.setOffset(r.highWatermark());
                } else if (ts == EARLIEST) {
                    pr.setOffset(r.logStartOffset());
                } else if (ts >= 0) {
                    Optional<PartitionLog.TimestampOffset> found = r.offsetForTimestamp(ts);
                    found.ifPresent(f -> pr.setOffset(f.offset()).setTimestamp(f.timestampMs()));
                }
            }
        }
        return ctx.respond(resp);
    }
}
