package dev.cachemount.core.testing;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;

/**
 * A blob's bytes up to {@code failAt}, then, once {@code placed} is a regular file (the restore has
 * replaced what stood there; at most 20 s later), a failure: a pull that fails after a replacement,
 * whatever the order of its threads.
 */
public final class FailingOnceReplaced extends InputStream {
  private final InputStream in;
  private final Path placed;
  private final long failAt;
  private long position;

  public FailingOnceReplaced(InputStream in, Path placed, long failAt) {
    this.in = in;
    this.placed = placed;
    this.failAt = failAt;
  }

  @Override
  public int read() throws IOException {
    byte[] one = new byte[1];
    return read(one, 0, 1) < 0 ? -1 : one[0] & 0xff;
  }

  @Override
  public int read(byte[] b, int off, int len) throws IOException {
    if (position >= failAt) {
      long deadline = System.nanoTime() + 20_000_000_000L;
      while (!Files.isRegularFile(placed, LinkOption.NOFOLLOW_LINKS) && System.nanoTime() < deadline) {
        try {
          Thread.sleep(5);
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          throw new java.io.InterruptedIOException();
        }
      }
      throw new IOException("the store went away");
    }
    int n = in.read(b, off, (int) Math.min(len, failAt - position));
    position += Math.max(n, 0);
    return n;
  }

  @Override
  public void close() throws IOException {
    in.close();
  }
}
