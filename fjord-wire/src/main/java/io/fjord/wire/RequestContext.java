package io.fjord.wire;

import io.netty.channel.EventLoop;
import org.apache.kafka.common.protocol.ApiKeys;
import org.apache.kafka.common.protocol.ApiMessage;
import org.apache.kafka.common.requests.RequestHeader;

/** One request being handled: its header, the event loop of its connection and the client's address. */
record RequestContext(RequestHeader header, EventLoop loop, String clientHost) {

    RequestContext(RequestHeader header, EventLoop loop) {
        this(header, loop, "");
    }

    ApiKeys apiKey() {
        return header.apiKey();
    }

    short version() {
        return header.apiVersion();
    }

    /** A response to this request with the header version its API and version call for. */
    Response respond(ApiMessage body) {
        return Response.of(body, version(), apiKey().responseHeaderVersion(version()));
    }
}
