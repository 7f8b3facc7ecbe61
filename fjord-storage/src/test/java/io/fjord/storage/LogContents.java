package io.fjord.storage;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;

/** Reads whole logs and raw segment files back for the fault tests, checking batches as it goes. */
final class LogContents {
    /** Bytes asked for per read: small enough to cross many slices, large enough to be quick. */
    private static final int READ_BYTES = 256 * 1024;

    private LogContents() {}

    /** Where one batch sits in a segment file. */
    record BatchSpan(int position, int sizeBytes, long baseOffset, long lastOffset) {
        int end() {
            return position + sizeBytes;
        }
    }

    /**
     * Every batch from the log start offset to the high watermark, each in its own buffer, after
     * asserting that each one validates and that offsets are dense.
     */
    static List<ByteBuffer> readAll(PartitionLog log) throws IOException {
        List<ByteBuffer> batches = new ArrayList<>();
        long next = log.logStartOffset();
        long hw = log.highWatermark();
        while (next < hw) {
            ReadResult r = log.read(next, READ_BYTES);
            assertThat(r).as("read at offset %d", next).isInstanceOf(LogSlice.class);
            ByteBuffer slice;
            try (LogSlice s = (LogSlice) r) {
                assertThat(s.firstBatchOffset())
                        .as("slice start at offset %d", next)
                        .isEqualTo(next);
                slice = s.toByteBuffer();
            }
            int pos = 0;
            while (pos < slice.limit()) {
                assertThat(RecordBatchHeader.validate(slice, pos, slice.limit(), Integer.MAX_VALUE))
                        .as("batch at offset %d", next)
                        .isNull();
                assertThat(RecordBatchHeader.baseOffset(slice, pos))
                        .as("base offset of the batch after %d", next - 1)
                        .isEqualTo(next);
                int size = RecordBatchHeader.sizeBytes(slice, pos);
                batches.add(ByteBuffer.wrap(slice.array(), pos, size).slice());
                next += RecordBatchHeader.lastOffsetDelta(slice, pos) + 1;
                pos += size;
            }
        }
        assertThat(next).as("offset after the last batch").isEqualTo(hw);
        return batches;
    }

    /**
     * The batches of a segment file, following length fields from position 0 and stopping at the
     * file end or at the first batch that does not validate or does not follow its predecessor.
     */
    static List<BatchSpan> chain(Path logFile) {
        ByteBuffer file = ByteBuffer.wrap(readBytes(logFile));
        List<BatchSpan> spans = new ArrayList<>();
        int pos = 0;
        long expectedBase = -1;
        while (pos < file.limit()) {
            if (RecordBatchHeader.validate(file, pos, file.limit(), Integer.MAX_VALUE) != null) {
                break;
            }
            long base = RecordBatchHeader.baseOffset(file, pos);
            if (expectedBase >= 0 && base != expectedBase) {
                break;
            }
            int size = RecordBatchHeader.sizeBytes(file, pos);
            long last = base + RecordBatchHeader.lastOffsetDelta(file, pos);
            spans.add(new BatchSpan(pos, size, base, last));
            expectedBase = last + 1;
            pos += size;
        }
        return spans;
    }

    /** Asserts that a segment file is whole batches, back to back, to its last byte. */
    static void assertCleanTail(Path logFile) throws IOException {
        List<BatchSpan> spans = chain(logFile);
        long end = spans.isEmpty() ? 0 : spans.getLast().end();
        assertThat(end).as("end of the last whole batch in %s", logFile).isEqualTo(Files.size(logFile));
    }

    /** The {@code .log} files of a log directory, oldest first. */
    static List<Path> segmentFiles(Path dir) throws IOException {
        List<Path> files = new ArrayList<>();
        try (DirectoryStream<Path> ds = Files.newDirectoryStream(dir, "*" + Segment.LOG_SUFFIX)) {
            ds.forEach(files::add);
        }
        files.sort(null);
        return files;
    }

    /** The newest segment file: the active one. */
    static Path activeSegmentFile(Path dir) throws IOException {
        return segmentFiles(dir).getLast();
    }

    static byte[] readBytes(Path file) {
        try {
            return Files.readAllBytes(file);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Overwrites bytes in place, without changing the file's length. */
    static void overwrite(Path file, long position, byte[] bytes) throws IOException {
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.WRITE)) {
            ByteBuffer b = ByteBuffer.wrap(bytes);
            long pos = position;
            while (b.hasRemaining()) {
                pos += ch.write(b, pos);
            }
        }
    }

    static void truncate(Path file, long sizeBytes) throws IOException {
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.WRITE)) {
            ch.truncate(sizeBytes);
        }
    }

    static void appendZeros(Path file, int count) throws IOException {
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.WRITE)) {
            ByteBuffer zeros = ByteBuffer.allocate(count);
            long pos = ch.size();
            while (zeros.hasRemaining()) {
                pos += ch.write(zeros, pos);
            }
        }
    }

    /** Flips every bit of the byte at {@code position}. */
    static void flipByte(Path file, long position) throws IOException {
        byte[] all = readBytes(file);
        overwrite(file, position, new byte[] {(byte) ~all[(int) position]});
    }
}
