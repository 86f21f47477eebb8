package dev.cachemount.core.registry;

import com.google.cloud.tools.jib.http.Response;
import com.google.cloud.tools.jib.registry.RegistryClient;
import dev.cachemount.core.CachemountException;
import dev.cachemount.core.blob.Digest;
import dev.cachemount.core.store.BlobRange;
import java.io.IOException;
import java.io.InputStream;
import java.util.List;
import java.util.Optional;

/**
 * A blob's bytes from a registry, never more than its descriptor's size. When the connection breaks
 * mid-blob, the stream asks again from where it stopped ({@code Range: bytes=N-}), under the session's
 * retry policy; a registry that ignores Range resends the blob from its start, and the bytes already
 * delivered are skipped. The caller verifies the digest, as with every {@link dev.cachemount.core.store.BlobSource}.
 */
final class RangedBlobStream extends InputStream {
  private static final List<String> ACCEPT = List.of("*/*");

  private final RegistrySession session;
  private final RegistryClient client;
  private final Digest digest;
  private final long size;
  private final long end;
  private long position;
  /** Resumes since the download last made {@link #PROGRESS} of progress, and where the last one began. */
  private int resumes;
  private long resumedAt;
  private Response response;
  private InputStream body;

  private RangedBlobStream(RegistrySession session, RegistryClient client, Digest digest, long size, long offset, long length) {
    this.session = session;
    this.client = client;
    this.digest = digest;
    this.size = size;
    this.position = offset;
    this.end = offset + length;
  }

  /**
   * Opens the blob.
   *
   * @throws CachemountException of kind INTEGRITY when the registry lacks it
   */
  static InputStream open(RegistrySession session, RegistryClient client, Digest digest, long size) throws IOException {
    return open(session, client, digest, size, 0, size);
  }

  /** Opens {@code length} bytes from {@code offset}, asking for that range only. */
  static InputStream open(RegistrySession session, RegistryClient client, Digest digest, long size, long offset, long length) throws IOException {
    RangedBlobStream s = new RangedBlobStream(session, client, digest, size, offset, length);
    s.connect();
    return s;
  }

  private void connect() throws IOException {
    closeResponse();
    long from = position;
    String operation = "download of blob " + digest + (from > 0 ? " from byte " + from : "");
    session.call(operation, () -> {
      request(from, true);
      return null;
    });
  }

  private void request(long from, boolean mayReauthenticate) throws IOException {
    String range = from > 0 || end < size ? "bytes=" + from + "-" + (end - 1) : null;
    Response r;
    try {
      r = session.get(client, "blobs/" + digest, ACCEPT, range);
    } catch (IOException e) {
      if (RegistrySession.isNotFound(e)) {
        throw new dev.cachemount.core.store.BlobNotFoundException(digest, session.ref().repositoryName() + " lacks blob " + digest + " that the snapshot names");
      }
      if (mayReauthenticate && RegistrySession.isUnauthorized(e)) {
        session.reauthenticate(client);
        request(from, false);
        return;
      }
      if (range != null && RegistryFailures.status(e) == 416) {
        // One range, within the descriptor's size, that the registry cannot serve: it holds this
        // digest's blob shorter than the descriptor says. Damage, as a short Content-Range is.
        throw CachemountException.integrity("blob " + digest + " in registry " + session.ref().registry() + ", repository "
            + session.ref().repository() + " is shorter than its descriptor says " + size + " bytes: it answered the range "
            + range + " with 416 Range Not Satisfiable");
      }
      throw e;
    }
    InputStream in;
    try {
      in = r.getBody();
      // The registry ignored Range (200: the whole blob), or answered with a run that starts earlier:
      // skip to the byte asked for.
      long start = r.getStatusCode() == 206 ? startOf(r, from) : 0;
      long skipped = skip(in, from - start);
      if (skipped < from - start) {
        throw new IOException("blob " + digest + " ended after " + (start + skipped) + " bytes, before byte " + from);
      }
    } catch (IOException | RuntimeException e) {
      r.close();
      throw e;
    }
    response = r;
    body = in;
  }

  /**
   * Where a {@code 206}'s bytes start, by its {@code Content-Range}: {@code from} when it names none
   * (trusted, as HTTP requires the header). A run that starts after {@code from}, or that is not of
   * this blob, fails the pull at once: asking again would get the same answer.
   */
  private long startOf(Response r, long from) {
    List<String> values = r.getHeader("Content-Range");
    if (values.isEmpty()) {
      return from;
    }
    Optional<BlobRange> run = MultipartByteRanges.contentRange(values.get(0), size);
    java.util.OptionalLong length = MultipartByteRanges.completeLength(values.get(0));
    if (run.isEmpty() && length.isPresent() && length.getAsLong() != size) {
      // A well-formed answer about a blob of another length: the registry holds this digest's blob
      // cut short (or grown), as a layout directory's blob of the wrong size. Damage, not a misbehaving server.
      throw CachemountException.integrity("blob " + digest + " in registry " + session.ref().registry() + ", repository "
          + session.ref().repository() + " has " + length.getAsLong() + " bytes (its Content-Range: " + values.get(0).trim()
          + "), its descriptor says " + size);
    }
    if (run.isEmpty() || run.get().offset() > from) {
      throw CachemountException.operational("registry " + session.ref().registry() + ", repository " + session.ref().repository()
          + ": a request for blob " + digest + " from byte " + from + " was answered with 'Content-Range: " + values.get(0)
          + "': the registry, or a proxy in front of it, does not serve byte ranges as HTTP says; tell its operator", null);
    }
    return run.get().offset();
  }

  private static long skip(InputStream in, long n) throws IOException {
    byte[] buffer = new byte[64 * 1024];
    long done = 0;
    while (done < n) {
      int r = in.read(buffer, 0, (int) Math.min(buffer.length, n - done));
      if (r < 0) {
        break;
      }
      done += r;
    }
    return done;
  }

  @Override
  public int read() throws IOException {
    byte[] one = new byte[1];
    int n = read(one, 0, 1);
    return n < 0 ? -1 : one[0] & 0xff;
  }

  @Override
  public int read(byte[] b, int off, int len) throws IOException {
    if (position >= end) {
      return -1;
    }
    int want = (int) Math.min(len, end - position);
    while (true) {
      try {
        int n = body.read(b, off, want);
        if (n < 0) {
          throw new IOException("the registry ended blob " + digest + " at byte " + position + ", before byte " + end);
        }
        position += n;
        return n;
      } catch (IOException e) {
        // Counted across reads, and forgiven only after real progress: a connection that hands over a
        // few bytes after each resume and then stalls must not keep the download going for ever.
        if (position - resumedAt >= PROGRESS) {
          resumes = 0;
        }
        if (resumes >= session.retryAttempts()) {
          throw new IOException("the download of blob " + digest + " from " + session.ref().registry() + " broke " + (resumes + 1)
              + " times within " + PROGRESS + " bytes (at byte " + position + " of " + end + ": " + e.getMessage() + "); the registry, or a"
              + " proxy in front of it, stalls or cuts its answers: try again later, and if it goes on, tell its operator", e);
        }
        resumes++;
        resumedAt = position;
        connect();
      }
    }
  }

  /** How far a download must get after a resume for its resumes to count from zero again. */
  static final long PROGRESS = 1 << 20;

  private void closeResponse() throws IOException {
    if (response != null) {
      Response r = response;
      response = null;
      body = null;
      r.close();
    }
  }

  @Override
  public void close() throws IOException {
    closeResponse();
  }
}
