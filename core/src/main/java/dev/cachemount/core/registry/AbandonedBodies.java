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
 * <p>Installed as the first response interceptor of the session's Apache client, so that it wraps the
 * body's own stream, which can close its connection, before any decoding wraps it in turn.
 */
final class AbandonedBodies implements HttpResponseInterceptor {
  /** The most bytes of an abandoned body read to keep its connection: a few range answers' worth. */
  static final int DRAIN_LIMIT = 64 * 1024;

  @Override
  public void process(HttpResponse response, HttpContext context) {
    HttpEntity entity = response.getEntity();
    if (entity != null && entity.isStreaming()) {
      response.setEntity(new Entity(entity));
    }
  }

  /**
   * One body per answer: google-http-client asks for the content again to close it, and the body it
   * closes must be the one that was read.
   */
  private static final class Entity extends HttpEntityWrapper {
    private Body body;

    Entity(HttpEntity wrapped) {
      super(wrapped);
    }

    @Override
    public synchronized InputStream getContent() throws IOException {
      if (body == null) {
        InputStream in = super.getContent();
        if (in == null) {
          return null;
        }
        body = new Body(in);
      }
      return body;
    }
  }

  /** A body that knows whether it was read to its end. */
  static final class Body extends FilterInputStream {
    private boolean ended;
    private boolean closed;

    Body(InputStream in) {
      super(in);
    }

    @Override
    public int read() throws IOException {
      int b = in.read();
      ended |= b < 0;
      return b;
    }

    @Override
    public int read(byte[] b, int off, int len) throws IOException {
      int n = in.read(b, off, len);
      ended |= n < 0;
      return n;
    }

    @Override
    public void close() throws IOException {
      if (closed) {
        return;
      }
      closed = true;
      if (!ended && !endsWithin(DRAIN_LIMIT) && in instanceof ConnectionReleaseTrigger connection) {
        connection.abortConnection();
        return;
      }
      in.close();
    }

    /** Reads on until the body ends, at most {@code limit} bytes; whether it ended (a rest of {@code limit} bytes or more has not). */
    private boolean endsWithin(int limit) {
      byte[] scratch = new byte[8192];
      for (int left = limit; left > 0; ) {
        int n;
        try {
          n = in.read(scratch, 0, Math.min(scratch.length, left));
        } catch (IOException e) {
          return false;
        }
        if (n < 0) {
          return true;
        }
        left -= n;
      }
      return false;
    }
  }
}
