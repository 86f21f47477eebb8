package dev.cachemount.core.chunk;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.ReadableByteChannel;

/**
 * Reads a stream through a buffer and hands it out in content-defined chunks. The cut points are
 * those {@link FastCdcChunker#cut} finds on the whole stream, however the channel splits its reads.
 * Not thread-safe: one instance per thread, reused across files.
 */
public final class ChunkReader {
  /** Receives each chunk; the bytes are valid only during the call. */
  @FunctionalInterface
  public interface ChunkConsumer {
    void accept(byte[] data, int offset, int length) throws IOException;
  }

  private final FastCdcChunker chunker;
  private final byte[] buffer;

  /** A reader whose buffer holds at least twice the largest chunk. */
  public ChunkReader(FastCdcChunker chunker, int bufferSize) {
    this.chunker = chunker;
    this.buffer = new byte[Math.max(bufferSize, 2 * chunker.maxSize())];
  }

  /** Reads {@code channel} to its end, chunk by chunk; returns the bytes read. */
  public long read(ReadableByteChannel channel, ChunkConsumer consumer) throws IOException {
    long total = 0;
    int start = 0;
    int end = 0;
    boolean eof = false;
    int max = chunker.maxSize();
    while (true) {
      while (!eof && end < buffer.length) {
        int n = channel.read(ByteBuffer.wrap(buffer, end, buffer.length - end));
        if (n < 0) {
          eof = true;
        } else {
          end += n;
        }
      }
      while (end - start >= max || (eof && end > start)) {
        int length = chunker.cut(buffer, start, end - start);
        consumer.accept(buffer, start, length);
        start += length;
        total += length;
      }
      if (eof) {
        return total;
      }
      System.arraycopy(buffer, start, buffer, 0, end - start);
      end -= start;
      start = 0;
    }
  }
}
