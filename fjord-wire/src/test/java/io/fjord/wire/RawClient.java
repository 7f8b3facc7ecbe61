package io.fjord.wire;

import java.io.DataInputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.net.Socket;
import java.nio.ByteBuffer;
import org.apache.kafka.common.message.RequestHeaderData;
import org.apache.kafka.common.message.ResponseHeaderData;
import org.apache.kafka.common.protocol.ApiKeys;
import org.apache.kafka.common.protocol.ApiMessage;
import org.apache.kafka.common.protocol.ByteBufferAccessor;
import org.apache.kafka.common.protocol.ObjectSerializationCache;
import org.apache.kafka.common.requests.AbstractResponse;

/**
 * A bare Kafka-protocol client over a blocking socket, for tests that send what real clients
 * never would (garbage, wrong versions, hand-made batches) and read the exact answer.
 */
final class RawClient implements AutoCloseable {
    private final Socket socket;
    private final DataInputStream in;
    private final OutputStream out;
    private int nextCorrelationId = 1;

    RawClient(int port) throws IOException {
        socket = new Socket("127.0.0.1", port);
        socket.setSoTimeout(10_000);
        in = new DataInputStream(socket.getInputStream());
        out = socket.getOutputStream();
    }

    /** Sends a request and returns its parsed response body. */
    AbstractResponse call(ApiKeys key, short version, ApiMessage body) throws IOException {
        int cid = send(key, version, body);
        return receive(key, version, cid);
    }

    int send(ApiKeys key, short version, ApiMessage body) throws IOException {
        int cid = nextCorrelationId++;
        RequestHeaderData h = new RequestHeaderData()
                .setRequestApiKey(key.id)
                .setRequestApiVersion(version)
                .setCorrelationId(cid)
                .setClientId("raw-test");
        short hv = key.requestHeaderVersion(version);
        ObjectSerializationCache cache = new ObjectSerializationCache();
        int size = h.size(cache, hv) + body.size(cache, version);
        ByteBuffer buf = ByteBuffer.allocate(4 + size);
        buf.putInt(size);
        ByteBufferAccessor acc = new ByteBufferAccessor(buf);
        h.write(acc, cache, hv);
        body.write(acc, cache, version);
        sendRaw(buf.array());
        return cid;
    }

    AbstractResponse receive(ApiKeys key, short version, int expectedCorrelationId) throws IOException {
        int size = in.readInt();
        byte[] bytes = new byte[size];
        in.readFully(bytes);
        ByteBufferAccessor acc = new ByteBufferAccessor(ByteBuffer.wrap(bytes));
        ResponseHeaderData h = new ResponseHeaderData(acc, key.responseHeaderVersion(version));
        if (h.correlationId() != expectedCorrelationId) {
            throw new IOException("correlation id " + h.correlationId() + ", expected " + expectedCorrelationId);
        }
        return AbstractResponse.parseResponse(key, acc, version);
    }

    /** The raw bytes of the next response frame (after its size), for hand parsing. */
    ByteBuffer receiveFrame() throws IOException {
        int size = in.readInt();
        byte[] bytes = new byte[size];
        in.readFully(bytes);
        return ByteBuffer.wrap(bytes);
    }

    void sendRaw(byte[] bytes) throws IOException {
        out.write(bytes);
        out.flush();
    }

    /** True once the server has closed the connection (reads EOF or a reset within the timeout). */
    boolean isClosedByPeer() {
        try {
            return in.read() < 0;
        } catch (IOException e) {
            return true;
        }
    }

    @Override
    public void close() throws IOException {
        socket.close();
    }
}
