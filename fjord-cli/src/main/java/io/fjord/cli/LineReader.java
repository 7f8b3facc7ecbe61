package io.fjord.cli;

import java.io.IOException;
import java.io.InputStream;
import java.util.Arrays;

/**
 * Splits a byte stream into lines without decoding them, so any bytes but the newline pass
 * through unchanged. A line ends at {@code \n}; a {@code \r} just before it is dropped too (as
 * {@link java.io.BufferedReader#readLine()} does); the last line needs no newline. Not
 * thread-safe.
 */
final class LineReader {
    /** Lines are bounded so a stream without newlines cannot exhaust the heap. */
    static final int LINE_BYTES_MAX = 64 * 1024 * 1024;

    private final InputStream in;
    private final int lineBytesMax;
    private final byte[] buf = new byte[64 * 1024];
    private int pos;
    private int limit;
    private byte[] line = new byte[256];

    LineReader(InputStream in) {
        this(in, LINE_BYTES_MAX);
    }

    LineReader(InputStream in, int lineBytesMax) {
        this.in = in;
        this.lineBytesMax = lineBytesMax;
    }

    /**
     * The next line without its terminator, or null at the end of the stream.
     *
     * @throws LineTooLongException when a line exceeds the limit; the stream is left mid-line
     */
    byte[] next() throws IOException {
        int length = 0;
        boolean any = false;
        while (true) {
            if (pos == limit) {
                limit = in.read(buf);
                pos = 0;
                if (limit <= 0) {
                    limit = 0;
                    return any ? trimCr(length) : null;
                }
            }
            any = true;
            int start = pos;
            while (pos < limit && buf[pos] != '\n') {
                pos++;
            }
            int n = pos - start;
            if (length + n > lineBytesMax) {
                throw new LineTooLongException(lineBytesMax);
            }
            if (length + n > line.length) {
                line = Arrays.copyOf(line, Math.min(lineBytesMax, Math.max(line.length * 2, length + n)));
            }
            System.arraycopy(buf, start, line, length, n);
            length += n;
            if (pos < limit) {
                pos++; // the newline
                return trimCr(length);
            }
        }
    }

    private byte[] trimCr(int length) {
        int n = length > 0 && line[length - 1] == '\r' ? length - 1 : length;
        return Arrays.copyOf(line, n);
    }

    static final class LineTooLongException extends IOException {
        private static final long serialVersionUID = 1L;

        LineTooLongException(int lineBytesMax) {
            super("a line is longer than " + lineBytesMax + " bytes");
        }
    }
}
