package dev.cachemount.core.registry;

import dev.cachemount.core.store.RangeSetStream;
import java.io.Closeable;
import java.io.IOException;
import java.io.InputStream;

/** Reads the parts of one answer from its body: never past the current part, which must not end early. */
abstract class PartReader implements RangeSetStream.Parts {
  final InputStream in;
  private final Closeable answer;
  /** Bytes of the current part not read yet; negative before the first part. */
  long left = -1;

  PartReader(InputStream in, Closeable answer) {
    this.in = in;
    this.answer = answer;
  }

  /** What the error says when the body ends inside a part. */
  abstract String endedEarly();

  @Override
  public final int read(byte[] b, int off, int len) throws IOException {
    if (left <= 0) {
      return -1;
    }
    int n = in.read(b, off, (int) Math.min(len, left));
    if (n < 0) {
      throw new RangeSetStream.MalformedAnswer(endedEarly() + ", " + left + " bytes short");
    }
    left -= n;
    return n;
  }

  @Override
  public final void close() throws IOException {
    answer.close();
  }
}
