package dev.cachemount.core.snapshot;

import dev.cachemount.core.blob.Digest;
import dev.cachemount.core.internal.Workers;
import dev.cachemount.core.pack.PackWriter;
import dev.cachemount.core.store.BlobPut;
import dev.cachemount.core.store.BlobSink;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Future;

/**
 * Stores packs while the snapshot is still being made: each pack goes to the store as soon as a
 * worker finishes it, up to {@link BlobSink#parallelPuts()} at a time, so that reading, chunking and
 * compressing overlap with uploading. Nothing names these blobs until the manifest is committed, so
 * an interrupted push still leaves the previous snapshot in place. Thread-safe.
 */
public final class PackUploader implements AutoCloseable {
  private final BlobSink sink;
  private final ExecutorService pool;
  private final Map<String, Future<BlobPut>> submitted = new ConcurrentHashMap<>();
  private dev.cachemount.core.Progress progress = dev.cachemount.core.Progress.unobserved();

  public PackUploader(BlobSink sink) {
    this.sink = sink;
    this.pool = Workers.pool("cachemount-upload", Math.max(1, sink.parallelPuts()));
  }

  /** Counts the bytes of each blob it writes in {@code progress}, once the store has it. */
  public PackUploader reportingTo(dev.cachemount.core.Progress progress) {
    this.progress = progress;
    return this;
  }

  /** Whether the store wants even the packs known to be there claimed ({@link BlobSink#claimsKnownBlobs}). */
  public boolean claimsKnownBlobs() {
    return sink.claimsKnownBlobs();
  }

  /** Starts storing a finished pack; called from the worker that finished it. */
  public void submit(PackWriter.FinishedPack pack) {
    submitted.computeIfAbsent(pack.file().toString(), k -> start(() -> sink.putBlob(pack.digest(), pack.size(), pack.file())));
  }

  /**
   * Starts storing a small blob held in memory (the index, the config) beside the packs; the
   * returned future is the caller's to {@link #await}.
   */
  public Future<BlobPut> submit(Digest digest, byte[] content) {
    return start(() -> sink.putBlob(digest, content));
  }

  /**
   * Starts making a blob an earlier snapshot stored part of the store again ({@link BlobSink#claimBlob}:
   * a registry's mount, or its copy where the registry does not mount), beside the uploads: each is
   * a registry's round trip, and a large cache reuses hundreds of packs.
   */
  public Future<BlobPut> claim(Digest digest, long size, java.util.Optional<String> repository) {
    return start(() -> sink.claimBlob(digest, size, repository));
  }

  /**
   * Starts a put; after {@link #close()} (a push cancelled by SIGTERM while a worker finished a pack)
   * the put fails as an I/O failure of the push, not as a defect.
   */
  private Future<BlobPut> start(java.util.concurrent.Callable<BlobPut> put) {
    try {
      return pool.submit(() -> {
        BlobPut done = put.call();
        progress.transferred(done.bytesWritten());
        return done;
      });
    } catch (java.util.concurrent.RejectedExecutionException e) {
      return java.util.concurrent.CompletableFuture.failedFuture(new IOException("the push was cancelled before this blob was stored", e));
    }
  }

  /** The outcome of a {@link #submit(Digest, byte[])}, waiting for it; its failure as it was thrown. */
  public static BlobPut await(Future<BlobPut> put) throws IOException {
    return Workers.await(put, "storing blobs");
  }

  /** Stores the packs not submitted yet and waits for all of them; the results are in {@code packs}' order. */
  public List<BlobPut> finish(List<PackWriter.FinishedPack> packs) throws IOException {
    packs.forEach(this::submit);
    List<BlobPut> puts = new ArrayList<>();
    for (PackWriter.FinishedPack pack : packs) {
      puts.add(await(submitted.get(pack.file().toString())));
    }
    return puts;
  }

  /** Stops uploads still running (a failed or cancelled push). */
  @Override
  public void close() {
    Workers.stop(pool);
  }

  /**
   * Stops uploads still running and waits for them at most {@code patience} (a push cancelled by
   * SIGTERM: an upload waiting for a registry that does not answer is blocked in a socket read until
   * the HTTP client's read timeout, longer than a CI system waits before SIGKILL). An upload still
   * running is left to die with the JVM; no manifest names its blob.
   */
  public void abandon(java.time.Duration patience) {
    Workers.stop(pool, patience);
  }
}
