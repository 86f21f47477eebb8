package dev.cachemount.core.snapshot;

import dev.cachemount.core.index.FrameEncoding;
import dev.cachemount.core.index.SnapshotIndex;
import dev.cachemount.core.internal.Workers;
import dev.cachemount.core.pack.ChunkRef;
import dev.cachemount.core.pack.EncodedFrame;
import dev.cachemount.core.pack.FrameCompressor;
import dev.cachemount.core.pack.PackWriter;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;

/**
 * Turns one ordered stream of raw frames into the packs of a snapshot. Frames are compressed on a
 * pool of threads but written by one thread in the order they were {@link #submit submitted}, and a
 * pack is finished where its content says ({@link ContentBoundaries}): the packs' bytes depend only
 * on the frames and their order, never on which thread compressed what first. That makes packs
 * reproducible (a push retried after a failure, or the same tree pushed from another machine, makes
 * the same blobs, which a registry then already has).
 *
 * <p>Memory is bounded: at most {@link #QUEUED_BYTES} of frames (and at least 4 frames) wait to be
 * written; {@link #submit} blocks when they are there. Submitting is for one thread at a time (the
 * caller orders its producers); the rest is thread-safe.
 */
final class PackSink implements AutoCloseable {
  /** The raw bytes of the frames compressed or being compressed, not yet written, at most (192 of the largest default frames). */
  static final int QUEUED_BYTES = 12 << 20;

  private record Placement(int pack, long offset, int storedLength, int rawLength, FrameEncoding encoding, List<ChunkRef> chunks) {}

  /** A frame and the two buffers that go back to their pools once it is written. */
  private record Compressed(EncodedFrame frame, byte[] raw, byte[] out) {}

  private static final Future<Compressed> END = CompletableFuture.completedFuture(null);
  /** Queued by {@link #cutPack}: the frames after it go into a new pack. */
  private static final Future<Compressed> CUT = CompletableFuture.completedFuture(null);

  private final Path directory;
  private final long packTarget;
  private final int frameCapacity;
  private final java.util.function.Consumer<PackWriter.FinishedPack> onFinished;
  private final ExecutorService compressors;
  private final ThreadLocal<FrameCompressor> compressor;
  private final ConcurrentLinkedQueue<FrameCompressor> allCompressors = new ConcurrentLinkedQueue<>();
  private final ConcurrentLinkedQueue<byte[]> buffers = new ConcurrentLinkedQueue<>();
  private final ConcurrentLinkedQueue<byte[]> outs = new ConcurrentLinkedQueue<>();
  private final BlockingQueue<Future<Compressed>> queue;
  private final Thread writer;
  private final java.util.concurrent.atomic.AtomicReference<Throwable> failure = new java.util.concurrent.atomic.AtomicReference<>();
  /** Set by {@link #refuse}, under {@link #packLock}: no pack is started, and no frame written, after it. */
  private volatile boolean closed;
  private final Object packLock = new Object();
  /** Set once the stream is ended: no more frames. */
  private volatile boolean ending;
  private boolean ended;

  // The writer thread's own state; read by others only after it has been joined.
  private final List<PackWriter.FinishedPack> finished = new ArrayList<>();
  private final List<Placement> placements = new ArrayList<>();
  private PackWriter current;

  /**
   * @param frameCapacity the size of the frame buffers {@link #buffer()} hands out
   * @param threads how many threads compress
   * @param onFinished hears each pack as it is finished (to store it at once), on the writing thread
   */
  PackSink(Path directory, long packTarget, int frameCapacity, int level, int threads,
      java.util.function.Consumer<PackWriter.FinishedPack> onFinished) {
    this.directory = directory;
    this.packTarget = packTarget;
    this.frameCapacity = frameCapacity;
    this.onFinished = onFinished;
    this.queue = new ArrayBlockingQueue<>(Math.max(4, QUEUED_BYTES / frameCapacity));
    this.compressors = Workers.pool("cachemount-compress", threads);
    this.compressor = ThreadLocal.withInitial(() -> {
      FrameCompressor c = new FrameCompressor(level);
      allCompressors.add(c);
      return c;
    });
    this.writer = new Thread(this::write, "cachemount-pack-writer");
    writer.setDaemon(true);
    writer.start();
  }

  /** The staging directory the packs are written to. */
  Path directory() {
    return directory;
  }

  /** A buffer for one raw frame, of the capacity given at construction; hand it back through {@link #submit}. */
  byte[] buffer() {
    byte[] b = buffers.poll();
    return b != null ? b : new byte[frameCapacity];
  }

  /**
   * Queues {@code raw[0, length)}, the concatenation of {@code chunks}, as the next frame; the buffer
   * is the sink's from now on. Blocks while {@link #QUEUED_BYTES} of frames wait. Frames are written in the
   * order of the calls, so calls must come from one thread at a time in an order the caller fixes.
   *
   * @throws Abandoned after {@link #refuse()}
   * @throws WriterFailed when writing packs failed ({@link #failure()} says how)
   */
  void submit(byte[] raw, int length, List<ChunkRef> chunks) throws IOException {
    check();
    List<ChunkRef> frameChunks = List.copyOf(chunks);
    Future<Compressed> f;
    try {
      f = compressors.submit(() -> compress(raw, length, frameChunks));
    } catch (java.util.concurrent.RejectedExecutionException e) {
      throw new Abandoned(); // the stream has ended
    }
    enqueue(f);
  }

  /** Ends the current pack after the frames submitted so far (none is left empty). Ordered as {@link #submit} is. */
  void cutPack() throws IOException {
    check();
    enqueue(CUT);
  }

  /** Queues for the writer, waiting while the queue is full, unless writing failed or was refused meanwhile. */
  private void enqueue(Future<Compressed> next) throws IOException {
    try {
      while (!queue.offer(next, 50, TimeUnit.MILLISECONDS)) {
        check();
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new java.io.InterruptedIOException("interrupted while writing packs");
    }
  }

  private void check() throws IOException {
    Throwable failed = failure.get();
    if (failed != null) {
      throw failed instanceof Abandoned ? new Abandoned() : new WriterFailed();
    }
    if (closed || ending) {
      throw new Abandoned();
    }
  }

  private Compressed compress(byte[] raw, int length, List<ChunkRef> chunks) {
    byte[] out = outs.poll();
    if (out == null) {
      out = new byte[FrameCompressor.bound(frameCapacity)];
    }
    return new Compressed(compressor.get().encodeInto(raw, length, chunks, out), raw, out);
  }

  /** The writing thread: frames in queue order into packs, until {@link #END}. */
  private void write() {
    while (true) {
      Future<Compressed> next;
      try {
        next = queue.take();
      } catch (InterruptedException e) {
        fail(e);
        break;
      }
      if (next == END) {
        break;
      }
      if (failure.get() != null) {
        continue; // drained, so that no producer stays blocked
      }
      if (next == CUT) {
        try {
          if (current != null) {
            finishCurrent();
          }
        } catch (Throwable t) {
          fail(t);
        }
        continue;
      }
      try {
        Compressed c = next.get();
        append(c.frame());
        buffers.add(c.raw());
        outs.add(c.out());
      } catch (ExecutionException e) {
        fail(e.getCause());
      } catch (Throwable t) {
        fail(t);
      }
    }
    if (failure.get() == null && current != null) {
      try {
        finishCurrent();
      } catch (Throwable t) {
        fail(t);
      }
    }
    if (current != null) {
      try {
        current.close(); // unfinished: deleted
      } catch (IOException e) {
        fail(e);
      }
      current = null;
    }
  }

  private void append(EncodedFrame frame) throws IOException {
    synchronized (packLock) {
      // Checked for every frame, and the pack created under the lock: once refuse() has returned
      // (a SIGTERM's hook, which then deletes the staging directory), no pack file appears.
      if (closed) {
        throw new Abandoned();
      }
      if (current == null) {
        try {
          current = new PackWriter(directory.resolve("pack-" + finished.size()));
        } catch (IOException e) {
          throw new Snapshotter.StagingWriteFailure(directory, e);
        }
      }
    }
    long offset;
    try {
      offset = current.append(frame);
    } catch (IOException e) {
      throw new Snapshotter.StagingWriteFailure(directory, e);
    }
    placements.add(new Placement(finished.size(), offset, frame.storedLength(), frame.rawLength(), frame.encoding(), frame.chunks()));
    if (ContentBoundaries.endsPack(current.size(), frame.chunks().get(0).digest(), frame.storedLength(), packTarget)) {
      finishCurrent();
    }
  }

  private void finishCurrent() throws IOException {
    PackWriter w = current;
    PackWriter.FinishedPack pack;
    try {
      pack = w.finish();
    } catch (IOException e) {
      throw new Snapshotter.StagingWriteFailure(directory, e);
    } finally {
      w.close();
      current = null;
    }
    finished.add(pack);
    onFinished.accept(pack);
  }

  private void fail(Throwable t) {
    failure.compareAndSet(null, t);
  }

  /** Why writing packs failed; null while it has not. */
  Throwable failure() {
    return failure.get();
  }

  /**
   * Refuses further frames from now on (a cancelled push): the writer fails on its next frame and
   * deletes the pack it had open; packs finished before stay, the caller's to remove.
   */
  void refuse() {
    synchronized (packLock) {
      closed = true;
    }
  }

  /**
   * Writes what is queued, finishes the last pack and records packs, frames and chunks in
   * {@code builder}. Called once, after the last {@link #submit}.
   *
   * @throws IOException how writing failed, as it was thrown
   */
  List<PackWriter.FinishedPack> finish(SnapshotIndex.Builder builder) throws IOException {
    end();
    if (failure.get() != null) {
      throw Workers.rethrow(failure.get());
    }
    for (PackWriter.FinishedPack pack : finished) {
      builder.addPack(pack.digest(), pack.size());
    }
    for (Placement p : placements) {
      int frame = builder.addFrame(p.pack(), p.offset(), p.storedLength(), p.rawLength(), p.encoding());
      int offset = 0;
      for (ChunkRef c : p.chunks()) {
        builder.addChunk(c.digest(), frame, offset, c.length());
        offset += c.length();
      }
    }
    return List.copyOf(finished);
  }

  /** Frames written so far; exact once {@link #finish} has returned. */
  long frameCount() {
    return placements.size();
  }

  /**
   * Ends the stream, waits for the writer (it has at most a queue's worth of frames to write or
   * drop) and then for the compressing threads, and frees their zstd contexts; idempotent. An
   * interrupt does not cut this short, which would leave the writer waiting and a pack file open;
   * it is kept and reported once everything has stopped.
   */
  private synchronized void end() throws IOException {
    if (ended) {
      return;
    }
    ended = true;
    ending = true;
    boolean interrupted = Thread.interrupted();
    if (interrupted) {
      fail(new java.io.InterruptedIOException("interrupted while writing packs")); // the writer drops what is queued
    }
    try {
      while (true) {
        try {
          queue.put(END); // the writer drains the queue, failed or not
          break;
        } catch (InterruptedException e) {
          interrupted = true;
        }
      }
      while (writer.isAlive()) {
        try {
          writer.join();
        } catch (InterruptedException e) {
          interrupted = true;
        }
      }
      compressors.shutdown();
      while (true) {
        try {
          if (compressors.awaitTermination(1, TimeUnit.MINUTES)) {
            break;
          }
        } catch (InterruptedException e) {
          interrupted = true;
        }
      }
      for (FrameCompressor c : allCompressors) {
        try {
          c.close();
        } catch (RuntimeException e) {
          // Each context on its own: one that cannot be closed keeps no other open.
        }
      }
      allCompressors.clear();
    } finally {
      if (interrupted) {
        Thread.currentThread().interrupt();
      }
    }
    if (interrupted) {
      throw new java.io.InterruptedIOException("interrupted while writing packs");
    }
  }

  /**
   * Refuses further frames, waits for the writer and deletes the pack it had not finished; finished
   * packs are the caller's to remove. Call only when no producer submits any more.
   */
  @Override
  public void close() throws IOException {
    refuse();
    fail(new Abandoned());
    end();
  }

  /** What {@link #submit} throws once the push was cancelled: no new pack. */
  static final class Abandoned extends IOException {
    Abandoned() {
      super("the snapshot was abandoned");
    }
  }

  /** What {@link #submit} throws once writing packs failed; the failure itself is {@link #failure()}. */
  static final class WriterFailed extends IOException {
    WriterFailed() {
      super("writing packs failed");
    }
  }
}
