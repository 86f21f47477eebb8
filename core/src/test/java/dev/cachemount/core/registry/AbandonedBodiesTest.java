package dev.cachemount.core.registry;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import org.apache.http.conn.ConnectionReleaseTrigger;
import org.junit.jupiter.api.Test;

class AbandonedBodiesTest {
  /** A connection's body of {@code length} bytes (-1: without end) that records how it was let go. */
  private static final class Connection extends InputStream implements ConnectionReleaseTrigger {
    final long length;
    long read;
    boolean closed;
    boolean aborted;
    IOException failAt;

    Connection(long length) {
      this.length = length;
    }

    @Override
    public int read() throws IOException {
      byte[] one = new byte[1];
      return read(one, 0, 1) < 0 ? -1 : one[0] & 0xff;
    }

    @Override
    public int read(byte[] b, int off, int len) throws IOException {
      if (failAt != null && read > 0) {
        throw failAt;
      }
      if (length >= 0 && read >= length) {
        return -1;
      }
      int n = (int) (length < 0 ? len : Math.min(len, length - read));
      java.util.Arrays.fill(b, off, off + n, (byte) 7);
      read += n;
      return n;
    }

    @Override
    public void close() {
      closed = true;
    }

    @Override
    public void releaseConnection() {
      closed = true;
    }

    @Override
    public void abortConnection() {
      aborted = true;
    }
  }

  @Test
  void aBodyReadToItsEndIsClosedForTheConnectionToBeReused() throws IOException {
    Connection c = new Connection(3);
    try (InputStream body = new AbandonedBodies.Body(c)) {
      assertArrayEquals(new byte[] {7, 7, 7}, body.readAllBytes());
    }
    assertTrue(c.closed);
    assertFalse(c.aborted);
    assertEquals(3, c.read);
  }

  @Test
  void aRestWithinTheLimitIsReadAndTheConnectionKept() throws IOException {
    Connection c = new Connection(10 + AbandonedBodies.DRAIN_LIMIT);
    try (InputStream body = new AbandonedBodies.Body(c)) {
      assertEquals(10, body.read(new byte[10]));
    }
    assertTrue(c.closed);
    assertFalse(c.aborted);
    assertEquals(10 + AbandonedBodies.DRAIN_LIMIT, c.read);
  }

  @Test
  void aLongerRestClosesTheConnectionAfterAtMostTheLimit() throws IOException {
    Connection c = new Connection(11 + AbandonedBodies.DRAIN_LIMIT);
    try (InputStream body = new AbandonedBodies.Body(c)) {
      assertEquals(10, body.read(new byte[10]));
    }
    assertTrue(c.aborted);
    assertFalse(c.closed, "a closed Apache body reads on to its end");
    assertTrue(c.read <= 11 + AbandonedBodies.DRAIN_LIMIT, c.read + " bytes read");
  }

  @Test
  void aBodyWithoutEndClosesTheConnection() throws IOException {
    Connection c = new Connection(-1);
    new AbandonedBodies.Body(c).close();
    assertTrue(c.aborted);
    assertFalse(c.closed);
    assertTrue(c.read <= AbandonedBodies.DRAIN_LIMIT + 1, c.read + " bytes read");
  }

  @Test
  void aRestThatFailsClosesTheConnection() throws IOException {
    Connection c = new Connection(100);
    c.failAt = new IOException("reset");
    InputStream body = new AbandonedBodies.Body(c);
    assertEquals(1, body.read(new byte[1]));
    body.close();
    assertTrue(c.aborted);
    body.close();
    assertFalse(c.closed, "closed once");
  }
}
