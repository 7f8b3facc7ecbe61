package io.fjord.wire;

import io.fjord.broker.Broker;
import io.fjord.broker.PartitionReplica;
import io.fjord.storage.LogSlice;
import io.fjord.storage.ReadResult;
import io.fjord.storage.StorageException;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.common.message.FetchRequestData;
import org.apache.kafka.common.message.FetchResponseData;
import org.apache.kafka.common.protocol.Errors;
import org.apache.kafka.common.record.MemoryRecords;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Fetch 4-12, consumers only. Reads lock-free on the connection's event loop and answers at once
 * when there are at least minBytes, when maxWait is 0, or on any error; otherwise parks (a {@link
 * Delayed}) until an append to one of the partitions or maxWait. Record bytes go out as file
 * regions. Fetch sessions are refused politely (sessionId 0), so every response is full.
 */
final class FetchHandler {
    private static final Logger log = LoggerFactory.getLogger(FetchHandler.class);
    /** The longest a fetch may park, whatever it asks for. */
    static final int MAX_WAIT_MS_LIMIT = 30_000;

    private final Broker broker;

    FetchHandler(Broker broker) {
        this.broker = broker;
    }

    CompletableFuture<Response> handle(RequestContext ctx, FetchRequestData req) {
        if (req.replicaId() >= 0
                || (req.replicaState() != null && req.replicaState().replicaId() >= 0)) {
            return CompletableFuture.completedFuture(ctx.respond(new FetchResponseData()
                    .setErrorCode(Errors.UNSUPPORTED_VERSION.code())
                    .setSessionId(0)));
        }
        Delayed d = new Delayed(ctx, req);
        d.attempt();
        return d.result;
    }

    /** One fetch, from its first read until it is answered. Confined to the connection's loop. */
    private final class Delayed {
        final RequestContext ctx;
        final FetchRequestData req;
        final CompletableFuture<Response> result = new CompletableFuture<>();
        final List<Runnable> cancels = new ArrayList<>();
        ScheduledFuture<?> timeout;
        boolean parked;
        boolean expired;

        Delayed(RequestContext ctx, FetchRequestData req) {
            this.ctx = ctx;
            this.req = req;
        }

        void attempt() {
            if (result.isDone()) {
                return;
            }
            List<FileSliceRecords> files = new ArrayList<>();
            int[] bytesAndErrors = new int[2];
            FetchResponseData resp = read(files, bytesAndErrors);
            boolean enough = bytesAndErrors[0] >= Math.max(1, req.minBytes()) || bytesAndErrors[1] > 0;
            if (enough || req.maxWaitMs() <= 0 || expired) {
                finish(Response.withFiles(
                        resp, ctx.version(), ctx.apiKey().responseHeaderVersion(ctx.version()), files));
                return;
            }
            files.forEach(FileSliceRecords::release);
            if (!parked) {
                park();
            }
        }

        private void park() {
            parked = true;
            for (FetchRequestData.FetchTopic t : req.topics()) {
                for (FetchRequestData.FetchPartition p : t.partitions()) {
                    PartitionReplica r = broker.replica(t.topic(), p.partition());
                    if (r != null) {
                        listen(r);
                    }
                }
            }
            long waitMs = Math.min(req.maxWaitMs(), MAX_WAIT_MS_LIMIT);
            timeout = ctx.loop()
                    .schedule(
                            () -> {
                                expired = true;
                                attempt();
                            },
                            waitMs,
                            TimeUnit.MILLISECONDS);
            // An append may have landed between the read and the registration: look once more.
            attempt();
        }

        private void listen(PartitionReplica r) {
            cancels.add(r.onNextAppend(() -> {
                try {
                    ctx.loop().execute(() -> {
                        if (!result.isDone()) {
                            listen(r);
                            attempt();
                        }
                    });
                } catch (RejectedExecutionException e) {
                    // The connection's loop has stopped: the server is shutting down and closing
                    // the partitions, which wakes every listener. Nobody is left to answer, and a
                    // throw here would abort the clean close of the remaining logs.
                }
            }));
        }

        private void finish(Response response) {
            if (timeout != null) {
                timeout.cancel(false);
            }
            cancels.forEach(Runnable::run);
            cancels.clear();
            result.complete(response);
        }

        private FetchResponseData read(List<FileSliceRecords> files, int[] bytesAndErrors) {
            FetchResponseData resp = new FetchResponseData().setSessionId(0).setErrorCode(Errors.NONE.code());
            long remaining = req.maxBytes() <= 0 ? Integer.MAX_VALUE : req.maxBytes();
            boolean anyData = false;
            for (FetchRequestData.FetchTopic t : req.topics()) {
                FetchResponseData.FetchableTopicResponse tr = new FetchResponseData.FetchableTopicResponse()
                        .setTopic(t.topic())
                        .setTopicId(t.topicId());
                resp.responses().add(tr);
                for (FetchRequestData.FetchPartition p : t.partitions()) {
                    FetchResponseData.PartitionData pd = new FetchResponseData.PartitionData()
                            .setPartitionIndex(p.partition())
                            .setRecords(MemoryRecords.EMPTY)
                            .setHighWatermark(-1)
                            .setLastStableOffset(-1)
                            .setLogStartOffset(-1);
                    tr.partitions().add(pd);
                    PartitionReplica r = broker.replica(t.topic(), p.partition());
                    Errors notServed = ErrorCodes.notServed(broker, t.topic(), p.partition(), r);
                    if (notServed != null) {
                        pd.setErrorCode(notServed.code());
                        bytesAndErrors[1]++;
                        continue;
                    }
                    long hw = r.highWatermark();
                    pd.setHighWatermark(hw).setLastStableOffset(hw).setLogStartOffset(r.logStartOffset());
                    // KIP-74: the first partition with data gets at least one whole batch.
                    if (remaining <= 0 && anyData) {
                        continue;
                    }
                    int limit =
                            (int) Math.min(Math.max(0, Math.min(p.partitionMaxBytes(), remaining)), Integer.MAX_VALUE);
                    ReadResult rr;
                    try {
                        rr = r.read(p.fetchOffset(), Math.max(1, limit));
                    } catch (StorageException e) {
                        log.error("{}: read failed: {}", r.id(), e.getMessage());
                        pd.setErrorCode(Errors.KAFKA_STORAGE_ERROR.code());
                        bytesAndErrors[1]++;
                        continue;
                    }
                    switch (rr) {
                        case ReadResult.OffsetOutOfRange oor -> {
                            pd.setErrorCode(Errors.OFFSET_OUT_OF_RANGE.code())
                                    .setHighWatermark(oor.highWatermark())
                                    .setLastStableOffset(oor.highWatermark())
                                    .setLogStartOffset(oor.logStartOffset());
                            bytesAndErrors[1]++;
                        }
                        case LogSlice slice -> {
                            pd.setHighWatermark(slice.highWatermark())
                                    .setLastStableOffset(slice.highWatermark())
                                    .setLogStartOffset(slice.logStartOffset());
                            if (slice.isEmpty()) {
                                slice.close();
                            } else {
                                FileSliceRecords fr = new FileSliceRecords(slice);
                                files.add(fr);
                                pd.setRecords(fr);
                                remaining -= slice.length();
                                bytesAndErrors[0] += slice.length();
                                anyData = true;
                            }
                        }
                    }
                }
            }
            return resp;
        }
    }
}
