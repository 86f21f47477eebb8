package dev.cachemount.core.registry;

import dev.cachemount.core.store.RangeSetStream;
import java.io.Closeable;
import java.io.IOException;
import java.io.InputStream;

/** Reads the parts of one answer from its body: never past the current part, which must not end early. */
abstract class PartReader implements RangeSetStream.Parts {
  final InputStream in;
  private final Closeable answer;
  private final boolean delimited;
  /** Bytes of the current part not read yet; negative before the first part. */
  long left = -1;

  /**
   * @param delimited whether the answer said where its body ends ({@code Content-Length}, or chunked):
   *     a body that ends early is then the answer's fault. Without, the body ends when the connection
   *     closes, and an early end may be a broken connection.
   */
  PartReader(InputStream in, Closeable answer, boolean delimited) {
    this.in = in;
    this.answer = answer;
    this.delimited = delimited;
  }

  /** What the error says when the body ends inside a part. */
  abstract String endedEarly();

  /** The error for a body that ended before {@code what} did. */
  final IOException earlyEnd(String what) {
    return delimited ? new RangeSetStream.MalformedAnswer(what) : new IOException(what + " (the answer's end was its connection's close)");
  }

  @Override
  public final int read(byte[] b, int off, int len) throws IOException {
    if (left <= 0) {
      return -1;
    }
    int n = in.read(b, off, (int) Math.min(len, left));
    if (n < 0) {
      throw earlyEnd(endedEarly() + ", " + left + " bytes short");
    }
    left -= n;
    return n;
  }

  @Override
  public final void close() throws IOException {
    answer.close();
  }
}
