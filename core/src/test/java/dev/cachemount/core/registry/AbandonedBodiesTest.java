package dev.cachemount.core.registry;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.api.client.http.GenericUrl;
import com.google.api.client.http.HttpResponse;
import com.google.api.client.http.HttpTransport;
import com.google.api.client.http.apache.v2.ApacheHttpTransport;
import com.sun.net.httpserver.HttpServer;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.Executors;
import org.apache.http.conn.ConnectionReleaseTrigger;
import org.apache.http.impl.client.HttpClientBuilder;
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
  void aRestShorterThanTheLimitIsReadAndTheConnectionKept() throws IOException {
    Connection c = new Connection(10 + AbandonedBodies.DRAIN_LIMIT - 1);
    try (InputStream body = new AbandonedBodies.Body(c)) {
      assertEquals(10, body.read(new byte[10]));
    }
    assertTrue(c.closed);
    assertFalse(c.aborted);
    assertEquals(10 + AbandonedBodies.DRAIN_LIMIT - 1, c.read);
  }

  @Test
  void aLongerRestClosesTheConnectionAfterAtMostTheLimit() throws IOException {
    for (long rest : new long[] {AbandonedBodies.DRAIN_LIMIT, 100L * AbandonedBodies.DRAIN_LIMIT}) {
      Connection c = new Connection(10 + rest);
      try (InputStream body = new AbandonedBodies.Body(c)) {
        assertEquals(10, body.read(new byte[10]));
      }
      assertTrue(c.aborted);
      assertFalse(c.closed, "a closed Apache body reads on to its end");
      assertEquals(10 + AbandonedBodies.DRAIN_LIMIT, c.read, "bytes read of a rest of " + rest);
    }
  }

  /** A connection that gives one byte per read, each after {@code delayMillis}: a registry trickling a body. */
  private static class Trickle extends InputStream implements ConnectionReleaseTrigger {
    final long delayMillis;
    long read;
    boolean aborted;

    Trickle(long delayMillis) {
      this.delayMillis = delayMillis;
    }

    @Override
    public int read() throws IOException {
      try {
        Thread.sleep(delayMillis);
      } catch (InterruptedException e) {
        throw new java.io.InterruptedIOException();
      }
      read++;
      return 'x';
    }

    @Override
    public int read(byte[] b, int off, int len) throws IOException {
      int c = read();
      b[off] = (byte) c;
      return 1;
    }

    @Override
    public void releaseConnection() {}

    @Override
    public void abortConnection() {
      aborted = true;
    }
  }

  /**
   * A registry that sent a byte every few seconds kept a pull going for ever: each byte came within the
   * read timeout. A body slower than the low-speed limit, in time spent waiting for it, fails as a
   * broken answer; closing it then aborts its connection without reading on.
   */
  @Test
  void aBodyThatTricklesFailsOnceAWindowOfWaitingGaveTooFewBytes() {
    Trickle slow = new Trickle(20);
    IOException e = assertTimeoutPreemptively(Duration.ofSeconds(20), () -> org.junit.jupiter.api.Assertions.assertThrows(IOException.class, () -> {
      try (InputStream body = new AbandonedBodies.Body(slow, Long.MAX_VALUE, Duration.ofMillis(400), 1024)) {
        byte[] buffer = new byte[8192];
        while (body.read(buffer) >= 0) {
          // a reader that reads as fast as the body comes
        }
      }
    }));
    assertTrue(e.getMessage().contains("less than 1,024 bytes: a stalled or throttled connection"), e.getMessage());
    assertTrue(slow.read < 100, "failed within about one window: " + slow.read + " bytes read");
    assertTrue(slow.aborted, "its connection is dropped, not drained");
  }

  /**
   * A trickling body closed before its end (a reader that stopped early, an answer whose body nobody
   * reads) was drained on close without the low-speed limit: up to 64 KiB, a byte every few seconds,
   * held the command for hours. The drain is under the limit too: it gives up, and the connection goes.
   */
  @Test
  void aTricklingBodyClosedBeforeItsEndIsNotDrainedForEver() {
    Trickle slow = new Trickle(20);
    assertTimeoutPreemptively(Duration.ofSeconds(10), () -> {
      InputStream body = new AbandonedBodies.Body(slow, Long.MAX_VALUE, Duration.ofMillis(400), 1024);
      byte[] buffer = new byte[4];
      assertEquals(1, body.read(buffer));
      body.close();
    });
    assertTrue(slow.read < 100, "the drain gave up within about one window: " + slow.read + " bytes read");
    assertTrue(slow.aborted, "its connection is dropped, not drained");
  }

  /** Skipping reads the connection too (Apache's streams skip by reading): under the same limit. */
  @Test
  void skippingATricklingBodyFailsAsReadingItDoes() {
    Trickle slow = new Trickle(20) {
      @Override
      public long skip(long n) throws IOException {
        return read() < 0 ? 0 : 1;
      }
    };
    IOException e = assertTimeoutPreemptively(Duration.ofSeconds(10), () -> org.junit.jupiter.api.Assertions.assertThrows(IOException.class, () -> {
      try (InputStream body = new AbandonedBodies.Body(slow, Long.MAX_VALUE, Duration.ofMillis(400), 1024)) {
        body.skipNBytes(1_000_000);
      }
    }));
    assertTrue(e.getMessage().contains("a stalled or throttled connection"), e.getMessage());
    assertTrue(slow.read < 100, "failed within about one window: " + slow.read + " bytes read");
    assertTrue(slow.aborted);
  }

  /**
   * An error answer's body is read by google-http-client for its exception, which printed the stack
   * trace of the low-speed failure to standard error (a raw Java trace in the CLI's output) and went on
   * without the text. Too slow, an error body ends where it got to: no failure, its connection dropped.
   */
  @Test
  void aTricklingErrorBodyEndsWhereItGotToWithoutFailing() throws Exception {
    Trickle slow = new Trickle(20);
    byte[] text = assertTimeoutPreemptively(Duration.ofSeconds(10), () -> {
      try (InputStream body = new AbandonedBodies.Body(slow, AbandonedBodies.ERROR_BODY_LIMIT, Duration.ofMillis(400), 1024, true)) {
        byte[] all = body.readAllBytes();
        assertEquals(-1, body.read());
        return all;
      }
    });
    assertTrue(text.length > 0 && text.length < 100, "what arrived within about one window: " + text.length + " bytes");
    assertTrue(slow.read < 100, slow.read + " bytes read");
    assertTrue(slow.aborted, "its connection is dropped, not drained");
  }

  /** Time the reader spends elsewhere (a pull waiting for room to decode into) is not the registry's slowness. */
  @Test
  void timeOutsideTheReadsDoesNotCount() throws Exception {
    Connection fast = new Connection(200_000);
    try (InputStream body = new AbandonedBodies.Body(fast, Long.MAX_VALUE, Duration.ofMillis(100), 1024)) {
      byte[] buffer = new byte[100];
      for (int i = 0; i < 5; i++) {
        assertEquals(100, body.read(buffer));
        Thread.sleep(60); // 300 ms between reads, three windows' worth
      }
      assertEquals(500, fast.read);
    }
  }

  @Test
  void aBodyWithoutEndClosesTheConnection() throws IOException {
    Connection c = new Connection(-1);
    new AbandonedBodies.Body(c).close();
    assertTrue(c.aborted);
    assertFalse(c.closed);
    assertEquals(AbandonedBodies.DRAIN_LIMIT, c.read);
  }

  /**
   * Through the transport the registry client uses, as jib-core closes answers ({@code disconnect}):
   * which connection serves the request after an answer was closed early.
   */
  @Test
  void throughTheTransportAShortRestKeepsTheConnectionAndALongOrEndlessOneDropsIt() throws Exception {
    List<Integer> ports = new java.util.concurrent.CopyOnWriteArrayList<>();
    HttpServer server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
    server.setExecutor(Executors.newCachedThreadPool());
    server.createContext("/", exchange -> {
      ports.add(exchange.getRemoteAddress().getPort());
      String path = exchange.getRequestURI().getPath();
      long length = switch (path) {
        case "/short" -> 10 + 1_000;
        case "/long" -> 10 + 8L * AbandonedBodies.DRAIN_LIMIT;
        default -> -1; // endless
      };
      exchange.sendResponseHeaders(200, length < 0 ? 0 : length);
      byte[] bytes = new byte[8192];
      try (OutputStream out = exchange.getResponseBody()) {
        for (long left = length; length < 0 || left > 0; left -= bytes.length) {
          out.write(bytes, 0, (int) Math.min(bytes.length, length < 0 ? bytes.length : left));
        }
      } catch (IOException hungUp) {
        // the client closed the connection
      }
    });
    server.start();
    HttpTransport transport = new ApacheHttpTransport(HttpClientBuilder.create().addInterceptorFirst(new AbandonedBodies()).build());
    try {
      String base = "http://127.0.0.1:" + server.getAddress().getPort();
      for (String path : List.of("/short", "/short", "/long", "/short", "/endless", "/short")) {
        HttpResponse response = transport.createRequestFactory().buildGetRequest(new GenericUrl(base + path)).execute();
        assertEquals(10, response.getContent().readNBytes(10).length);
        assertTimeoutPreemptively(Duration.ofSeconds(20), response::disconnect, path);
      }
    } finally {
      transport.shutdown();
      server.stop(0);
    }
    // Each answer after /long and /endless came over a new connection; the others over the one before.
    assertEquals(6, ports.size(), ports.toString());
    assertEquals(ports.get(0), ports.get(1), ports.toString());
    assertEquals(ports.get(1), ports.get(2), ports.toString());
    assertNotEquals(ports.get(2), ports.get(3), ports.toString());
    assertEquals(ports.get(3), ports.get(4), ports.toString());
    assertNotEquals(ports.get(4), ports.get(5), ports.toString());
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

  @Test
  void theBodyOfAnErrorEndsAtItsLimitAndItsConnectionCloses() throws IOException {
    Connection c = new Connection(-1);
    InputStream body = new AbandonedBodies.Body(c, AbandonedBodies.ERROR_BODY_LIMIT);
    assertEquals(AbandonedBodies.ERROR_BODY_LIMIT, body.readAllBytes().length);
    assertEquals(-1, body.read());
    body.close();
    assertTrue(c.aborted);
    assertFalse(c.closed);
    assertEquals(AbandonedBodies.ERROR_BODY_LIMIT, c.read);
  }

  @Test
  void aShortErrorBodyIsReadWholeAndItsConnectionKept() throws IOException {
    Connection c = new Connection(300);
    try (InputStream body = new AbandonedBodies.Body(c, AbandonedBodies.ERROR_BODY_LIMIT)) {
      assertEquals(300, body.readAllBytes().length);
    }
    assertTrue(c.closed);
    assertFalse(c.aborted);
  }
}
