package dev.cachemount.core.registry;

import java.io.FilterInputStream;
import java.io.IOException;
import java.io.InputStream;
import org.apache.http.HttpEntity;
import org.apache.http.HttpResponse;
import org.apache.http.HttpResponseInterceptor;
import org.apache.http.conn.ConnectionReleaseTrigger;
import org.apache.http.entity.HttpEntityWrapper;
import org.apache.http.protocol.HttpContext;

/**
 * An answer closed before its body ended costs at most {@value #DRAIN_LIMIT} more bytes read. Apache's
 * client reads the rest of a body when its stream is closed, to reuse the connection, however long
 * the rest is: the rest of a whole pack (hundreds of MB) from a registry that ignored a request's
 * {@code Range}, or bytes without end from a broken or hostile one, which would hold a pull for ever.
 * Now a rest shorter than the limit is still read, and the connection kept; a longer one closes the
 * connection instead.
 *
 * <p>The body of an answer that is not a success (a 4xx or 5xx, a redirect) is read to at most
 * {@value #ERROR_BODY_LIMIT} bytes and then ends, and its connection is closed: google-http-client reads
 * such a body whole into a string for its exception (for the message, and jib-core's error codes),
 * however long it is, so an error page without end from a broken or hostile registry (or a proxy in
 * front of it) filled the heap and failed the command as out of memory, blaming the cache's size.
 * Registries answer errors with a few hundred bytes of JSON.
 *
 * <p>Installed as the first response interceptor of the session's Apache client, so that it wraps the
 * body's own stream, which can close its connection, before any decoding wraps it in turn.
 */
final class AbandonedBodies implements HttpResponseInterceptor {
  /** The most bytes of an abandoned body read to keep its connection: a few range answers' worth. */
  static final int DRAIN_LIMIT = 64 * 1024;
  /** The most bytes of the body of an answer that is not a success read: its error text. */
  static final int ERROR_BODY_LIMIT = 64 * 1024;

  @Override
  public void process(HttpResponse response, HttpContext context) {
    HttpEntity entity = response.getEntity();
    if (entity != null && entity.isStreaming()) {
      int status = response.getStatusLine() == null ? 200 : response.getStatusLine().getStatusCode();
      boolean success = status >= 200 && status < 300;
      response.setEntity(new Entity(entity, success ? Long.MAX_VALUE : ERROR_BODY_LIMIT, !success));
    }
  }

  /**
   * One body per answer: google-http-client asks for the content again to close it, and the body it
   * closes must be the one that was read.
   */
  private static final class Entity extends HttpEntityWrapper {
    private final long limit;
    private final boolean error;
    private Body body;

    Entity(HttpEntity wrapped, long limit, boolean error) {
      super(wrapped);
      this.limit = limit;
      this.error = error;
    }

    @Override
    public synchronized InputStream getContent() throws IOException {
      if (body == null) {
        InputStream in = super.getContent();
        if (in == null) {
          return null;
        }
        body = new Body(in, limit, LOW_SPEED_WINDOW, LOW_SPEED_BYTES, error);
      }
      return body;
    }
  }

  /**
   * A body slower than this while it is waited for fails: fewer than {@link #LOW_SPEED_BYTES} bytes in
   * {@link #LOW_SPEED_WINDOW} of time spent inside its reads (time its reader spends elsewhere, a pull
   * waiting for room to decode into, does not count), as curl's {@code --speed-limit} and
   * {@code --speed-time}. The read timeout (a minute without a byte) let a registry that sends a byte
   * every few seconds keep a command going for ever (a 699-byte manifest at a byte every 2 s ran 7
   * minutes without a word). The failure is a broken answer's: a request is tried again, a blob's read
   * resumes where it stopped.
   */
  static final int LOW_SPEED_BYTES = 1024;
  static final java.time.Duration LOW_SPEED_WINDOW = java.time.Duration.ofSeconds(60);

  /**
   * A body that knows whether it was read to its end, ends after at most {@code limit} bytes, and fails
   * when it arrives slower than the low-speed limit.
   */
  static final class Body extends FilterInputStream {
    private boolean ended;
    private boolean closed;
    /** Bytes that may still be read; at 0 the body ends here (its connection then closes). */
    private long left;
    private final long windowNanos;
    private final int minimumBytes;
    /** Time spent inside reads, and bytes they gave, since the window began. */
    private long waitedNanos;
    private long arrived;
    /** Failed as too slow: closing it aborts its connection, without reading on. */
    private boolean tooSlow;
    /**
     * An error answer's body, too slow, ends where it got to instead of failing: google-http-client
     * reads it for its exception's message, and prints the stack trace of an exception it gets there
     * to standard error, then goes on with the answer's status (which the retry policy judges).
     */
    private final boolean endWhenTooSlow;

    Body(InputStream in) {
      this(in, Long.MAX_VALUE);
    }

    Body(InputStream in, long limit) {
      this(in, limit, LOW_SPEED_WINDOW, LOW_SPEED_BYTES);
    }

    Body(InputStream in, long limit, java.time.Duration window, int minimumBytes) {
      this(in, limit, window, minimumBytes, false);
    }

    Body(InputStream in, long limit, java.time.Duration window, int minimumBytes, boolean endWhenTooSlow) {
      super(in);
      this.left = limit;
      this.windowNanos = window.toNanos();
      this.minimumBytes = minimumBytes;
      this.endWhenTooSlow = endWhenTooSlow;
    }

    @Override
    public int read() throws IOException {
      if (left <= 0) {
        return -1;
      }
      long start = System.nanoTime();
      int b = in.read();
      ended |= b < 0;
      if (b >= 0) {
        left--;
      }
      account(b >= 0 ? 1 : 0, start);
      return b;
    }

    /** Counts a read that gave {@code bytes} and began at {@code start}; fails the body once a window of waiting gave too few. */
    private void account(int bytes, long start) throws IOException {
      waitedNanos += System.nanoTime() - start;
      arrived += bytes;
      if (waitedNanos < windowNanos) {
        return;
      }
      if (arrived < minimumBytes && !ended) {
        tooSlow = true;
        if (endWhenTooSlow) {
          left = 0; // what arrived so far is the error's text; the next read ends it
          return;
        }
        throw new IOException(String.format("the registry sent %,d bytes in %d s of waiting, less than %,d bytes: a stalled or throttled"
            + " connection (or a proxy between); if it persists, check the network to the registry", arrived, windowNanos / 1_000_000_000L,
            minimumBytes));
      }
      waitedNanos = 0;
      arrived = 0;
    }

    @Override
    public int read(byte[] b, int off, int len) throws IOException {
      if (len == 0) {
        return 0;
      }
      if (left <= 0) {
        return -1;
      }
      long start = System.nanoTime();
      int n = in.read(b, off, (int) Math.min(len, left));
      ended |= n < 0;
      if (n > 0) {
        left -= n;
      }
      account(Math.max(n, 0), start);
      return n;
    }

    @Override
    public long skip(long n) throws IOException {
      // Apache's streams skip by reading: under the low-speed limit too (a multipart answer's unread
      // rest of a part is skipped so).
      long start = System.nanoTime();
      long skipped = in.skip(Math.min(n, Math.max(0, left)));
      left -= skipped;
      account((int) Math.min(Integer.MAX_VALUE, Math.max(0, skipped)), start);
      return skipped;
    }

    @Override
    public int available() throws IOException {
      return (int) Math.min(in.available(), Math.max(0, left));
    }

    @Override
    public void close() throws IOException {
      if (closed) {
        return;
      }
      closed = true;
      if (!ended && (tooSlow || left <= 0 || !endsWithin((int) Math.min(DRAIN_LIMIT, left))) && in instanceof ConnectionReleaseTrigger connection) {
        connection.abortConnection();
        return;
      }
      in.close();
    }

    /**
     * Reads on until the body ends, at most {@code limit} bytes; whether it ended (a rest of {@code limit}
     * bytes or more has not, nor one that arrives slower than the low-speed limit: drained at a byte
     * every few seconds, {@value #DRAIN_LIMIT} bytes would hold the command for hours).
     */
    private boolean endsWithin(int limit) {
      byte[] scratch = new byte[8192];
      for (int left = limit; left > 0; ) {
        int n;
        try {
          long start = System.nanoTime();
          n = in.read(scratch, 0, Math.min(scratch.length, left));
          if (n < 0) {
            return true;
          }
          account(n, start);
          if (tooSlow) {
            return false;
          }
        } catch (IOException e) {
          return false;
        }
        left -= n;
      }
      return false;
    }
  }
}
