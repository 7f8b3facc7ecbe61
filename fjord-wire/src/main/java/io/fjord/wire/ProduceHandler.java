package io.fjord.wire;

import io.fjord.broker.AppendOutcome;
import io.fjord.broker.Broker;
import io.fjord.broker.PartitionReplica;
import io.fjord.broker.TopicConfigs;
import io.fjord.broker.TopicInfo;
import io.fjord.storage.RecordBatchHeader;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import org.apache.kafka.common.message.ProduceRequestData;
import org.apache.kafka.common.message.ProduceResponseData;
import org.apache.kafka.common.protocol.Errors;
import org.apache.kafka.common.record.BaseRecords;
import org.apache.kafka.common.record.MemoryRecords;
import org.apache.kafka.common.record.Record;
import org.apache.kafka.common.record.RecordBatch;

/**
 * Produce 3-12. Checks what a broker must refuse before the log sees a batch (one v2 batch per
 * partition, base offset 0, no control or transactional batch, zstd only from v7, sequence set
 * when a producer id is), then hands the batch to its partition's owner and answers once every
 * partition has answered. acks=0 gets no response at all.
 */
final class ProduceHandler {
    private static final int ZSTD = 4;

    private final Broker broker;

    ProduceHandler(Broker broker) {
        this.broker = broker;
    }

    CompletableFuture<Response> handle(RequestContext ctx, ProduceRequestData req) {
        short acks = req.acks();
        ProduceResponseData resp = new ProduceResponseData();
        List<CompletableFuture<?>> pending = new ArrayList<>();
        for (ProduceRequestData.TopicProduceData td : req.topicData()) {
            ProduceResponseData.TopicProduceResponse tr =
                    new ProduceResponseData.TopicProduceResponse().setName(td.name());
            resp.responses().add(tr);
            for (ProduceRequestData.PartitionProduceData pd : td.partitionData()) {
                ProduceResponseData.PartitionProduceResponse pr = new ProduceResponseData.PartitionProduceResponse()
                        .setIndex(pd.index())
                        .setBaseOffset(-1)
                        .setLogAppendTimeMs(-1)
                        .setLogStartOffset(-1);
                tr.partitionResponses().add(pr);
                if (acks != 0 && acks != 1 && acks != -1) {
                    fail(pr, Errors.INVALID_REQUIRED_ACKS, "acks must be 0, 1 or -1");
                    continue;
                }
                if (Broker.isInternal(td.name())) {
                    fail(pr, Errors.INVALID_TOPIC_EXCEPTION, "topic " + td.name() + " is internal to Fjord");
                    continue;
                }
                PartitionReplica replica = broker.replica(td.name(), pd.index());
                Errors notServed = ErrorCodes.notServed(broker, td.name(), pd.index(), replica);
                if (notServed != null) {
                    fail(pr, notServed, null);
                    continue;
                }
                ByteBuffer batch = batchOf(pd.records());
                String bad = check(batch, ctx.version());
                if (bad == null && compacted(td.name()) && hasKeylessRecord(batch)) {
                    bad = "compacted topic " + td.name() + " cannot accept a record without a key";
                }
                if (bad != null) {
                    Errors e = bad.startsWith("zstd")
                            ? Errors.UNSUPPORTED_COMPRESSION_TYPE
                            : bad.startsWith("corrupt") ? Errors.CORRUPT_MESSAGE : Errors.INVALID_RECORD;
                    fail(pr, e, bad);
                    continue;
                }
                pending.add(replica.append(batch).thenAccept(outcome -> {
                    switch (outcome) {
                        case AppendOutcome.Appended a ->
                            pr.setErrorCode(Errors.NONE.code())
                                    .setBaseOffset(a.baseOffset())
                                    .setLogStartOffset(a.logStartOffset());
                        case AppendOutcome.Failed f -> fail(pr, ErrorCodes.of(f.error()), f.message());
                    }
                }));
            }
        }
        return CompletableFuture.allOf(pending.toArray(new CompletableFuture<?>[0]))
                .thenApply(v -> acks == 0 ? Response.NONE : ctx.respond(resp));
    }

    private boolean compacted(String topic) {
        TopicInfo t = broker.topic(topic);
        return t != null && TopicConfigs.isCompacted(t.configs());
    }

    /** Whether any record of the (checked) batch lacks a key, as a compacted topic refuses (Kafka too). */
    private static boolean hasKeylessRecord(ByteBuffer batch) {
        try {
            for (RecordBatch b :
                    MemoryRecords.readableRecords(batch.duplicate()).batches()) {
                for (Record r : b) {
                    if (!r.hasKey()) {
                        return true;
                    }
                }
            }
            return false;
        } catch (RuntimeException e) {
            return true; // records that cannot be read are refused like keyless ones
        }
    }

    private static void fail(ProduceResponseData.PartitionProduceResponse pr, Errors e, String message) {
        pr.setErrorCode(e.code()).setErrorMessage(message);
    }

    private static ByteBuffer batchOf(BaseRecords records) {
        if (records instanceof MemoryRecords m) {
            return m.buffer();
        }
        return null;
    }

    /** Why the broker must refuse this partition's records, or null. */
    static String check(ByteBuffer buf, short version) {
        if (buf == null || buf.remaining() < RecordBatchHeader.HEADER_SIZE) {
            return "corrupt or missing record batch";
        }
        int pos = buf.position();
        if (RecordBatchHeader.magic(buf, pos) != RecordBatchHeader.MAGIC_V2) {
            return "corrupt: only record batch format v2 (magic 2) is accepted";
        }
        long size = (long) buf.getInt(pos + RecordBatchHeader.LENGTH_OFFSET) + RecordBatchHeader.LOG_OVERHEAD;
        if (size != buf.remaining()) {
            return size < buf.remaining()
                    ? "exactly one record batch per partition is accepted"
                    : "corrupt: batch length runs past the records";
        }
        if (RecordBatchHeader.baseOffset(buf, pos) != 0) {
            return "a producer batch must have base offset 0";
        }
        if (RecordBatchHeader.isControl(buf, pos)) {
            return "control batches cannot be produced by clients";
        }
        if (RecordBatchHeader.isTransactional(buf, pos)) {
            return "transactions are not supported by Fjord yet";
        }
        if (RecordBatchHeader.compression(buf, pos) == ZSTD && version < 7) {
            return "zstd compression needs Produce v7 or later";
        }
        if (RecordBatchHeader.producerId(buf, pos) >= 0 && RecordBatchHeader.baseSequence(buf, pos) < 0) {
            return "an idempotent batch needs a base sequence >= 0";
        }
        return null;
    }
}
