package dev.cachemount.core.registry;

import com.google.cloud.tools.jib.http.Response;
import com.google.cloud.tools.jib.registry.RegistryClient;
import dev.cachemount.core.CachemountException;
import dev.cachemount.core.blob.Digest;
import dev.cachemount.core.store.BlobRange;
import dev.cachemount.core.store.RangeSetStream;
import java.io.Closeable;
import java.io.IOException;
import java.io.InputStream;
import java.io.InterruptedIOException;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Consumer;

/**
 * Several ranges of a blob in one request ({@code Range: bytes=A-B,C-D,…}), so that a warm pull's
 * scattered frames cost one round trip per pack, not one per run of frames. A registry that serves
 * blobs itself (distribution with its filesystem driver, through Go's {@code http.ServeContent})
 * answers {@code 206} with a {@code multipart/byteranges} body. Others may send only some of the
 * ranges, the whole blob ({@code 200}), or refuse ({@code 416}); whatever comes back is used as far as it
 * goes and the rest is read range by range. The first answer decides, for the rest of the session,
 * whether asking for several ranges is worth it ({@link Support}).
 */
final class MultiRangeRead {
  private static final List<String> ACCEPT = List.of("*/*");

  private MultiRangeRead() {}

  /**
   * Whether this registry answers a request for several ranges with them. Unknown until the first
   * answer; meanwhile the other readers wait for it rather than all risking a whole blob at once.
   */
  static final class Support {
    private final AtomicBoolean asked = new AtomicBoolean();
    private final AtomicBoolean reported = new AtomicBoolean();
    private final CompletableFuture<Void> settled = new CompletableFuture<>();
    private final Consumer<String> report;
    private volatile boolean refused;

    /** @param report hears once, if the registry turns out not to serve several ranges, what it did instead */
    Support(Consumer<String> report) {
      this.report = report;
    }

    /** Whether to ask for several ranges at once. The first caller asks, and must then call {@link #settle}. */
    boolean worthAsking() throws InterruptedIOException {
      if (refused) {
        return false;
      }
      if (!settled.isDone() && !asked.compareAndSet(false, true)) {
        try {
          settled.get();
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          throw new InterruptedIOException("interrupted while waiting for the registry's first answer to a request for several ranges");
        } catch (ExecutionException e) {
          throw new IllegalStateException(e);
        }
      }
      return !refused;
    }

    /** The registry did not serve several ranges as asked ({@code how}): ask for one range at a time from now on. */
    void refuse(String how) {
      refused = true;
      if (reported.compareAndSet(false, true)) {
        report.accept(how);
      }
      settle();
    }

    /** The first request got its answer, whatever it was. */
    void settle() {
      settled.complete(null);
    }
  }

  /** Opens {@code ranges} of a blob (at least two, as {@link BlobRange#checkSet} requires) as one stream. */
  static InputStream open(RegistrySession session, Support support, Digest digest, long size, List<BlobRange> ranges) throws IOException {
    RangeSetStream.RangeOpener single = (offset, length) -> RangedBlobStream.open(session, session.reader(), digest, size, offset, length);
    if (!support.worthAsking()) {
      return RangeSetStream.oneByOne(ranges, single);
    }
    RangeSetStream.Parts parts;
    try {
      RegistryClient client = session.reader();
      parts = session.call("download of " + ranges.size() + " ranges of blob " + digest, () -> request(session, client, support, digest, size, ranges, true));
    } finally {
      support.settle();
    }
    return new RangeSetStream(ranges, parts, single, support::refuse);
  }

  /** The parts of the answer, or null when the registry refused to serve several ranges. */
  private static RangeSetStream.Parts request(RegistrySession session, RegistryClient client, Support support, Digest digest, long size,
      List<BlobRange> ranges, boolean mayReauthenticate) throws IOException {
    Response r;
    try {
      r = session.get(client, "blobs/" + digest, ACCEPT, BlobRange.httpHeader(ranges));
    } catch (IOException e) {
      if (RegistrySession.isNotFound(e)) {
        throw new dev.cachemount.core.store.BlobNotFoundException(digest, session.ref().repositoryName() + " lacks blob " + digest + " that the snapshot names");
      }
      if (mayReauthenticate && RegistrySession.isUnauthorized(e)) {
        session.reauthenticate(client);
        return request(session, client, support, digest, size, ranges, false);
      }
      int status = RegistryFailures.status(e);
      if (status == 400 || status == 416 || status == 501) {
        support.refuse("it answered a request for " + ranges.size() + " ranges with HTTP " + status);
        return null;
      }
      throw e;
    }
    try {
      if (r.getStatusCode() == 206) {
        Optional<String> boundary = MultipartByteRanges.boundaryOf(first(r, "Content-Type"));
        if (boundary.isPresent()) {
          return new MultipartByteRanges(r.getBody(), boundary.get(), size, r, delimited(r));
        }
        Optional<BlobRange> run = MultipartByteRanges.contentRange(first(r, "Content-Range"), size);
        if (run.isEmpty()) {
          r.close();
          support.refuse("it answered a request for " + ranges.size() + " ranges with a 206 that is not multipart and names no range of the blob ("
              + first(r, "Content-Type") + ", Content-Range: " + first(r, "Content-Range") + ")");
          return null;
        }
        // One run for all: the registry joined the ranges (fine), or sent the first one only.
        if (run.get().offset() > ranges.get(0).offset() || run.get().end() < ranges.get(ranges.size() - 1).end()) {
          support.refuse("it answered a request for " + ranges.size() + " ranges with one of them");
        }
        return new OneRun(run.get(), r.getBody(), r, delimited(r));
      }
      // 200: the registry ignored Range and sends the whole blob; read what is needed of it.
      support.refuse("it answered a request for " + ranges.size() + " ranges with the whole blob (HTTP " + r.getStatusCode() + ")");
      return new OneRun(new BlobRange(0, size), r.getBody(), r, delimited(r));
    } catch (IOException | RuntimeException e) {
      r.close();
      throw e;
    }
  }

  /** Whether the answer says where its body ends: a {@code Content-Length}, or chunked. */
  private static boolean delimited(Response r) {
    String encoding = first(r, "Transfer-Encoding");
    return first(r, "Content-Length") != null || (encoding != null && encoding.toLowerCase(java.util.Locale.ROOT).contains("chunked"));
  }

  private static String first(Response r, String header) {
    List<String> values = r.getHeader(header);
    return values.isEmpty() ? null : values.get(0);
  }

  /** An answer that is one run of the blob. */
  private static final class OneRun extends PartReader {
    private final BlobRange run;

    OneRun(BlobRange run, InputStream in, Closeable answer, boolean delimited) {
      super(in, answer, delimited);
      this.run = run;
    }

    @Override
    public BlobRange next() {
      if (left >= 0) {
        return null;
      }
      left = run.length();
      return run;
    }

    @Override
    String endedEarly() {
      return "the registry's answer ended early";
    }
  }
}
