package io.fjord.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class LineReaderTest {
    @Test
    void shouldSplitOnNewlinesAndDropCarriageReturnsBeforeThem() throws IOException {
        assertThat(lines("a\nb\r\n\nlast")).containsExactly("a", "b", "", "last");
        assertThat(lines("a\n")).containsExactly("a");
        assertThat(lines("")).isEmpty();
        assertThat(lines("\n")).containsExactly("");
        assertThat(lines("mid\rline\n")).containsExactly("mid\rline");
    }

    @Test
    void shouldPassAnyBytesButTheNewlineThrough() throws IOException {
        byte[] raw = {0, (byte) 0xff, (byte) 0xc3, '\t', '\n', (byte) 0x80};
        LineReader r = new LineReader(new ByteArrayInputStream(raw));
        assertThat(r.next()).containsExactly(0, (byte) 0xff, (byte) 0xc3, '\t');
        assertThat(r.next()).containsExactly((byte) 0x80);
        assertThat(r.next()).isNull();
    }

    @Test
    void shouldJoinALineSpreadOverManyReads() throws IOException {
        String longLine = "y".repeat(200_000);
        InputStream trickle = new ByteArrayInputStream((longLine + "\nz").getBytes(StandardCharsets.UTF_8)) {
            @Override
            public synchronized int read(byte[] b, int off, int len) {
                return super.read(b, off, Math.min(len, 777));
            }
        };
        LineReader r = new LineReader(trickle);
        assertThat(new String(r.next(), StandardCharsets.UTF_8)).isEqualTo(longLine);
        assertThat(new String(r.next(), StandardCharsets.UTF_8)).isEqualTo("z");
        assertThat(r.next()).isNull();
    }

    @Test
    void shouldRefuseALineOverTheLimit() throws IOException {
        LineReader r = new LineReader(new ByteArrayInputStream("1234\n12345\n".getBytes(StandardCharsets.UTF_8)), 4);
        assertThat(r.next()).containsExactly('1', '2', '3', '4');
        assertThatThrownBy(r::next)
                .isInstanceOf(LineReader.LineTooLongException.class)
                .hasMessageContaining("longer than 4 bytes");
    }

    private static List<String> lines(String s) throws IOException {
        LineReader r = new LineReader(new ByteArrayInputStream(s.getBytes(StandardCharsets.UTF_8)));
        List<String> out = new ArrayList<>();
        for (byte[] line = r.next(); line != null; line = r.next()) {
            out.add(new String(line, StandardCharsets.UTF_8));
        }
        return out;
    }
}
