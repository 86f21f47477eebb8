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
 * An answer closed before its body ended costs at most {@value #DRAIN_LIMIT} more bytes. Apache's
 * client reads the rest of a body when its stream is closed, to reuse the connection, however long
 * the rest is: the rest of a whole pack (hundreds of MB) from a registry that ignored a request's
 * {@code Range}, or bytes without end from a broken or hostile one, which would hold a pull for ever.
 * Now a rest that ends within the limit is still read, and the connection kept; a longer one closes
 * the connection instead.
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

  private static final class Entity extends HttpEntityWrapper {
    Entity(HttpEntity wrapped) {
      super(wrapped);
    }

    @Override
    public InputStream getContent() throws IOException {
      InputStream in = super.getContent();
      return in == null ? null : new Body(in);
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

    /** Reads on until the body ends, at most {@code limit} bytes; whether it ended. */
    private boolean endsWithin(int limit) throws IOException {
      byte[] scratch = new byte[8192];
      for (int left = limit + 1; left > 0; ) {
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
