package io.fjord.bench;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.PooledByteBufAllocator;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.codec.LengthFieldBasedFrameDecoder;
import java.nio.ByteBuffer;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.common.message.ProduceRequestData;
import org.apache.kafka.common.protocol.ApiKeys;
import org.apache.kafka.common.protocol.ApiMessage;
import org.apache.kafka.common.protocol.ByteBufferAccessor;
import org.apache.kafka.common.record.MemoryRecords;
import org.apache.kafka.common.requests.AbstractRequest;
import org.apache.kafka.common.requests.ProduceRequest;
import org.apache.kafka.common.requests.RequestHeader;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * Decoding one Produce request frame the way fjord-wire's connection handler does: the request
 * header with kafka-clients' {@link RequestHeader#parse}, then the body with {@link
 * AbstractRequest#parseRequest} over the same NIO view of the frame (record batches stay slices of
 * the frame, nothing is copied). The frame is what the Java producer sends: Produce v12, acks=all,
 * one topic, {@code partitions} partitions of one batch each of 1 KiB records, {@code batchBytes}
 * per batch (16 KiB: the producer's default batch.size; 64 KiB: the tuned one of compare.sh).
 *
 * <p>{@link #parse} is the decode alone, from a direct buffer holding the frame. {@link
 * #frameAndParse} adds the step before it: Netty's {@code LengthFieldBasedFrameDecoder} (as
 * {@code KafkaServer} configures it) cutting the frame off a 4-byte length prefix in a pooled
 * direct buffer, as the socket read delivers it, inside an {@link EmbeddedChannel}. Ops/s =
 * frames per second; no bytes/s, since the decode does not read the records it slices.
 */
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@State(Scope.Thread)
@Fork(
        value = 1,
        jvmArgsAppend = {"-Xms1g", "-Xmx1g", "-Dorg.slf4j.simpleLogger.defaultLogLevel=warn"})
@Warmup(iterations = 2, time = 5)
@Measurement(iterations = 3, time = 5)
public class FrameDecodeBenchmark {
    static final short PRODUCE_VERSION = 12;
    static final int MAX_FRAME_BYTES = 100 * 1024 * 1024;

    @Param({"16384", "65536"})
    int batchBytes;

    @Param({"1", "6"})
    int partitions;

    /** Header and body, without the length prefix: what the frame decoder hands on. */
    private ByteBuffer frame;

    /** The same frame behind its 4-byte length prefix, as read from the socket. */
    private ByteBuf wire;

    private EmbeddedChannel channel;

    @Setup(Level.Trial)
    public void setUp() {
        ByteBuffer batch = BenchData.directBatch(batchBytes, System.currentTimeMillis());
        ProduceRequestData.TopicProduceData topic = new ProduceRequestData.TopicProduceData().setName("bench-topic");
        for (int p = 0; p < partitions; p++) {
            ByteBuffer copy = ByteBuffer.allocate(batch.remaining());
            copy.put(batch.duplicate()).flip();
            topic.partitionData()
                    .add(new ProduceRequestData.PartitionProduceData()
                            .setIndex(p)
                            .setRecords(MemoryRecords.readableRecords(copy)));
        }
        ProduceRequestData.TopicProduceDataCollection topics = new ProduceRequestData.TopicProduceDataCollection();
        topics.add(topic);
        ProduceRequestData data = new ProduceRequestData()
                .setAcks((short) -1)
                .setTimeoutMs(30_000)
                .setTransactionalId(null)
                .setTopicData(topics);
        RequestHeader header = new RequestHeader(ApiKeys.PRODUCE, PRODUCE_VERSION, "producer-1", 7);
        ByteBuffer serialized = new ProduceRequest(data, PRODUCE_VERSION).serializeWithHeader(header);
        frame = ByteBuffer.allocateDirect(serialized.remaining());
        frame.put(serialized).flip();

        wire = PooledByteBufAllocator.DEFAULT.directBuffer(4 + frame.remaining());
        wire.writeInt(frame.remaining()).writeBytes(frame.duplicate());
        channel = new EmbeddedChannel(new LengthFieldBasedFrameDecoder(MAX_FRAME_BYTES, 0, 4, 0, 4, true));

        // The frame must decode to what was encoded.
        ProduceRequestData back = (ProduceRequestData) parse();
        if (back.topicData().iterator().next().partitionData().size() != partitions) {
            throw new IllegalStateException("the frame did not decode to " + partitions + " partitions");
        }
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        channel.finishAndReleaseAll();
        wire.release();
    }

    @Benchmark
    public ApiMessage parse() {
        return decode(frame.duplicate());
    }

    @Benchmark
    public ApiMessage frameAndParse() {
        channel.writeInbound(wire.retainedDuplicate());
        ByteBuf f = channel.readInbound();
        try {
            return decode(f.nioBuffer());
        } finally {
            f.release();
        }
    }

    /** As KafkaConnectionHandler.channelRead: header, then body from the same buffer. */
    private static ApiMessage decode(ByteBuffer nio) {
        RequestHeader header = RequestHeader.parse(nio);
        return AbstractRequest.parseRequest(header.apiKey(), header.apiVersion(), new ByteBufferAccessor(nio))
                .request
                .data();
    }
}
