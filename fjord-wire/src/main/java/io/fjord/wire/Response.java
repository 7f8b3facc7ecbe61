package io.fjord.wire;

import java.util.List;
import org.apache.kafka.common.protocol.ApiMessage;

/**
 * What a handler produced for one request: a body to send, nothing (acks=0 produce), or a reason
 * to close the connection. A body may reference file slices ({@link FileSliceRecords}); whoever
 * does not write the response must {@link #release()} it.
 */
final class Response {
    enum Kind {
        SEND,
        NONE,
        CLOSE
    }

    static final Response NONE = new Response(Kind.NONE, null, (short) 0, (short) 0, List.of(), null);

    final Kind kind;
    final ApiMessage body;
    final short version;
    final short headerVersion;
    final List<FileSliceRecords> files;
    final String closeReason;

    private Response(
            Kind kind,
            ApiMessage body,
            short version,
            short headerVersion,
            List<FileSliceRecords> files,
            String closeReason) {
        this.kind = kind;
        this.body = body;
        this.version = version;
        this.headerVersion = headerVersion;
        this.files = files;
        this.closeReason = closeReason;
    }

    static Response of(ApiMessage body, short version, short headerVersion) {
        return new Response(Kind.SEND, body, version, headerVersion, List.of(), null);
    }

    static Response withFiles(ApiMessage body, short version, short headerVersion, List<FileSliceRecords> files) {
        return new Response(Kind.SEND, body, version, headerVersion, List.copyOf(files), null);
    }

    static Response close(String reason) {
        return new Response(Kind.CLOSE, null, (short) 0, (short) 0, List.of(), reason);
    }

    void release() {
        files.forEach(FileSliceRecords::release);
    }
}
