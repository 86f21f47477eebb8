package dev.cachemount.core.restore;

import dev.cachemount.core.CachemountException;
import dev.cachemount.core.blob.Digest;
import dev.cachemount.core.index.FrameEncoding;
import dev.cachemount.core.index.SnapshotIndex;
import dev.cachemount.core.internal.Workers;
import dev.cachemount.core.pack.FrameDecoder;
import dev.cachemount.core.store.BlobRange;
import dev.cachemount.core.store.BlobSource;
import java.io.IOException;
import java.io.InputStream;
import java.io.InterruptedIOException;
import java.security.DigestException;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;

/**
 * Reads the frames a restore needs, several reads at once: the plan cuts each pack into spans (see
 * {@link #plan}) and groups a pack's spans into reads (see {@link #group}); each worker takes one read
 * at a time, a single request where the store serves several ranges in one answer, streams its spans
 * front to back, skipping frames nobody needs, decodes each needed frame and checks every chunk the
 * restore will use from it against its SHA-256. A warm pull's many small ranges of one pack thus cost
 * a few round trips, and reads of several packs, or of one pack's groups, overlap. Verified frames
 * reach the caller's thread, in no particular order, through a queue bounded in bytes, so memory
 * stays bounded however large the snapshot.
 *
 * <p>Used once per restore, from one thread.
 */
final class FrameReader {
  /**
   * A decoded, verified frame: {@code data[0, rawLength)} are its chunk bytes. The buffer is the
   * reader's again once the sink returns: a sink must not keep it.
   */
  record Decoded(int frame, byte[] data) {}

  /** Receives verified frames on the thread that called {@link #read}. */
  interface Sink {
    void accept(Decoded frame) throws IOException;
  }

  /** What the restore needs from one frame: the distinct chunks it will write. */
  interface Needs {
    /** The frames needed from each pack, or null for a pack with none. */
    List<Integer> frames(int pack);

    /** The distinct chunks needed from {@code frame}. */
    int[] chunks(int frame);
  }

  private static final Decoded END_OF_READ = new Decoded(-1, new byte[0]);
  /**
   * The caller's thread gives room back to the readers this much at a time, or as soon as it has no
   * frame left to write. Given back frame by frame, each of its frames woke a reader waiting for room
   * that then decoded one frame and waited again: a cold pull of the go corpus (40,000 small files,
   * where the writing thread is the slower side) made 127,000 futex calls.
   */
  static final int RELEASE_BYTES = 1 << 20;
  private static final long BUFFER_BYTES = 16L << 20;

  private final BlobSource blobs;
  private final SnapshotIndex index;
  private final int threads;

  private final java.util.function.LongConsumer onRead;

  FrameReader(BlobSource blobs, SnapshotIndex index, int threads) {
    this(blobs, index, threads, n -> { });
  }

  /** @param onRead told of the bytes read from the store as they come in, from the reading threads */
  FrameReader(BlobSource blobs, SnapshotIndex index, int threads, java.util.function.LongConsumer onRead) {
    this.blobs = blobs;
    this.index = index;
    this.threads = threads;
    this.onRead = onRead;
  }

  /**
   * Reads every needed frame and hands it to {@code sink}; returns the bytes read from the store.
   *
   * @throws CachemountException INTEGRITY when a frame does not decode or a chunk does not match
   */
  long read(Needs needs, Sink sink, String where) throws IOException {
    List<SnapshotIndex.PackRef> packs = new ArrayList<>();
    List<List<Span>> spansOfPacks = new ArrayList<>();
    for (int p = 0; p < index.packs().size(); p++) {
      List<Integer> needed = needs.frames(p);
      if (needed == null) {
        continue;
      }
      SnapshotIndex.PackRef pack = index.packs().get(p);
      List<Integer> frames = new ArrayList<>(needed);
      frames.sort(Comparator.comparingLong(f -> index.frames().get(f).offset()));
      long previousEnd = 0;
      List<Span> spans = plan(index, frames, pack.size());
      for (Span span : spans) {
        if (span.start() < previousEnd || span.end() > pack.size()) {
          throw CachemountException.integrity("snapshot " + where + ": frames overlap or lie past the end of pack " + pack.digest());
        }
        previousEnd = span.end();
      }
      packs.add(pack);
      spansOfPacks.add(spans);
    }
    List<Task> tasks = group(packs, spansOfPacks, threads);
    if (tasks.isEmpty()) {
      return 0;
    }
    AtomicLong bytesRead = new AtomicLong();
    AtomicInteger next = new AtomicInteger();
    AtomicReference<Throwable> failure = new AtomicReference<>();
    BlockingQueue<Decoded> queue = new ArrayBlockingQueue<>(1024);
    FrameBuffers buffers = new FrameBuffers(index, tasks);
    // room for several of the largest frames at once, whatever frame target the snapshot was written with
    Semaphore budget = new Semaphore((int) Math.min(Integer.MAX_VALUE, Math.max(BUFFER_BYTES, 4L * buffers.largest())));
    int workers = Math.max(1, Math.min(threads, tasks.size()));
    ExecutorService pool = Workers.pool("cachemount-restore", workers);
    try {
      for (int w = 0; w < workers; w++) {
        pool.execute(() -> {
          try (FrameDecoder decoder = new FrameDecoder()) {
            FrameWork work = new FrameWork(needs, decoder, Digest.newMessageDigest(), budget, buffers, queue, bytesRead, where);
            int i;
            while (failure.get() == null && (i = next.getAndIncrement()) < tasks.size()) {
              readTask(tasks.get(i), work);
              queue.put(END_OF_READ);
            }
          } catch (Throwable t) {
            failure.compareAndSet(null, t);
            queue.offer(END_OF_READ);
          }
        });
      }
      int readsDone = 0;
      int unreleased = 0;
      while (readsDone < tasks.size()) {
        if (unreleased > 0 && (unreleased >= RELEASE_BYTES || queue.isEmpty())) {
          budget.release(unreleased); // before waiting: a reader may be waiting for this room
          unreleased = 0;
        }
        Decoded d;
        try {
          d = queue.poll(100, TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          throw new InterruptedIOException("interrupted while restoring");
        }
        rethrow(failure.get());
        if (d == null) {
          continue;
        }
        if (d == END_OF_READ) {
          readsDone++;
          continue;
        }
        try {
          sink.accept(d);
        } finally {
          buffers.giveBack(d.data());
          unreleased += buffers.cost(index.frames().get(d.frame()).rawLength());
        }
      }
      rethrow(failure.get());
      return bytesRead.get();
    } finally {
      failure.compareAndSet(null, new CancelledRead());
      Workers.stop(pool);
    }
  }

  /**
   * Buffers for decoded frames, used again once the sink is done with them rather than allocated (and
   * zeroed) for every frame: all of one size, that of the largest frame to read, when that is at most
   * {@link #POOLED_FRAME}; larger frames get buffers of their own. How many exist at once is bounded by
   * the byte budget of frames in flight, which counts buffers, not frames.
   */
  private static final class FrameBuffers {
    private final java.util.concurrent.ConcurrentLinkedQueue<byte[]> free = new java.util.concurrent.ConcurrentLinkedQueue<>();
    private final int size;
    private final int largest;

    FrameBuffers(SnapshotIndex index, List<Task> tasks) {
      int largest = 0;
      for (Task t : tasks) {
        for (Span span : t.spans()) {
          for (int f : span.frames()) {
            largest = Math.max(largest, index.frames().get(f).rawLength());
          }
        }
      }
      this.largest = largest;
      this.size = largest <= POOLED_FRAME ? largest : 0;
    }

    /** The largest frame to read, decoded. */
    int largest() {
      return largest;
    }

    /** The bytes a frame of this length holds while in flight: its buffer's size. */
    int cost(int length) {
      return Math.max(length, size);
    }

    byte[] take(int length) {
      if (length > size) {
        return new byte[length];
      }
      byte[] b = free.poll();
      return b != null ? b : new byte[size];
    }

    void giveBack(byte[] b) {
      if (b.length == size) {
        free.offer(b);
      }
    }
  }

  /** Frames up to this size (the writer's default frames are under 64 KiB) decode into reused buffers. */
  private static final int POOLED_FRAME = 1 << 20;

  /** One read of the plan: spans of one pack, asked for together. */
  record Task(SnapshotIndex.PackRef pack, List<Span> spans) {}

  /** The most spans one read asks for: a {@code Range} header of about a kilobyte. */
  static final int MAX_SPANS_PER_READ = 48;

  /**
   * Groups each pack's spans into reads of up to {@link #MAX_SPANS_PER_READ} neighbouring spans, so
   * that a registry that serves several ranges in one answer is asked once per group, not once per
   * span; but into no larger groups than keep {@code threads} readers busy, since a registry that
   * does not is then asked for a group's spans one after another.
   */
  static List<Task> group(List<SnapshotIndex.PackRef> packs, List<List<Span>> spansOfPacks, int threads) {
    int total = 0;
    for (List<Span> spans : spansOfPacks) {
      total += spans.size();
    }
    int perRead = Math.max(1, Math.min(MAX_SPANS_PER_READ, (total + threads - 1) / Math.max(1, threads)));
    List<Task> tasks = new ArrayList<>();
    for (int p = 0; p < packs.size(); p++) {
      List<Span> spans = spansOfPacks.get(p);
      int reads = (spans.size() + perRead - 1) / perRead;
      // equal shares, so that a pack of 49 spans is read as 25 and 24, not 48 and 1
      for (int r = 0; r < reads; r++) {
        tasks.add(new Task(packs.get(p), List.copyOf(spans.subList(r * spans.size() / reads, (r + 1) * spans.size() / reads))));
      }
    }
    return tasks;
  }

  /** Frames at most this far apart may share a read, if {@link #GAP_SHARE} allows. */
  static final long MERGE_GAP = 256 << 10;
  /**
   * The gap bytes a plan may read to save requests, as a share of the needed frames' bytes: so a
   * warm pull downloads at most an eighth more than the frames it needs.
   */
  static final double GAP_SHARE = 0.125;
  /** A pack of which the needed frames hold at least this share is read in one go. */
  static final double WHOLE_PACK_SHARE = 0.5;

  /** A run of a pack read with one request: the needed frames in it, by offset. */
  record Span(long start, long end, List<Integer> frames) {}

  /**
   * Plans the reads of one pack: when the needed frames hold at least {@link #WHOLE_PACK_SHARE} of
   * the pack, one read covers them all. Otherwise adjacent frames share a read, and so do runs of
   * frames whose gap is at most {@link #MERGE_GAP}, smallest gaps first, while the gap bytes read stay
   * within {@link #GAP_SHARE} of the needed bytes: a few files scattered over a pack cost their
   * frames and a bounded excess, not the pack, and neighbouring runs cost one request, not several.
   */
  static List<Span> plan(SnapshotIndex index, List<Integer> sortedFrames, long packSize) {
    List<Span> runs = new ArrayList<>();
    long start = -1;
    long end = -1;
    List<Integer> current = new ArrayList<>();
    long needed = 0;
    for (int f : sortedFrames) {
      SnapshotIndex.Frame frame = index.frames().get(f);
      needed += frame.storedLength();
      if (start >= 0 && frame.offset() > end) {
        runs.add(new Span(start, end, current));
        current = new ArrayList<>();
        start = -1;
      }
      if (start < 0) {
        start = frame.offset();
      }
      end = Math.max(end, frame.offset() + frame.storedLength());
      current.add(f);
    }
    if (start >= 0) {
      runs.add(new Span(start, end, current));
    }
    if (runs.size() > 1 && needed >= WHOLE_PACK_SHARE * packSize) {
      return List.of(new Span(runs.get(0).start(), runs.get(runs.size() - 1).end(), sortedFrames));
    }
    if (runs.size() < 2) {
      return runs;
    }
    // gap i lies between run i and run i + 1; merge the smallest while the budget lasts
    Integer[] gaps = new Integer[runs.size() - 1];
    for (int i = 0; i < gaps.length; i++) {
      gaps[i] = i;
    }
    java.util.Arrays.sort(gaps, Comparator.comparingLong(i -> runs.get(i + 1).start() - runs.get(i).end()));
    boolean[] merge = new boolean[gaps.length];
    long budget = (long) (GAP_SHARE * needed);
    for (int i : gaps) {
      long gap = runs.get(i + 1).start() - runs.get(i).end();
      if (gap > MERGE_GAP || gap > budget) {
        break;
      }
      budget -= gap;
      merge[i] = true;
    }
    List<Span> spans = new ArrayList<>();
    Span open = runs.get(0);
    for (int i = 1; i < runs.size(); i++) {
      Span next = runs.get(i);
      if (merge[i - 1]) {
        List<Integer> frames = new ArrayList<>(open.frames());
        frames.addAll(next.frames());
        open = new Span(open.start(), next.end(), frames);
      } else {
        spans.add(open);
        open = next;
      }
    }
    spans.add(open);
    return spans;
  }

  /**
   * Reads one task's spans front to back and hands each needed frame on. The per-frame work is a
   * method of its own ({@link FrameWork#frame}): this loop runs a few times per pack, that one once per
   * frame, and a JIT that compiled them as one method (twice on the stack, then whole, on the core the
   * restore shares with it) spent about a second compiling on a pull of 100,000 files.
   */
  private void readTask(Task task, FrameWork work) throws IOException, InterruptedException, DigestException {
    SnapshotIndex.PackRef pack = task.pack();
    List<BlobRange> ranges = new ArrayList<>(task.spans().size());
    for (Span span : task.spans()) {
      ranges.add(new BlobRange(span.start(), span.end() - span.start()));
    }
    // The stream yields the spans' bytes one after another, nothing between them.
    try (InputStream in = blobs.openRanges(pack.digest(), pack.size(), ranges)) {
      for (Span span : task.spans()) {
        long position = span.start();
        for (int f : span.frames()) {
          long at = position;
          position = work.frame(in, pack, f, position);
          onRead.accept(position - at);
        }
        in.skipNBytes(span.end() - position);
        onRead.accept(span.end() - position);
        // What the span cost: frames and the gaps between them all come over the wire from a registry.
        work.bytesRead.addAndGet(span.end() - span.start());
      }
    }
  }

  /** One reading thread's tools and buffers, and the frame-by-frame work of its reads. */
  private final class FrameWork {
    private final Needs needs;
    private final FrameDecoder decoder;
    private final MessageDigest md;
    private final Semaphore budget;
    private final FrameBuffers buffers;
    private final BlockingQueue<Decoded> queue;
    private final AtomicLong bytesRead;
    private final String where;
    private final byte[] computed = new byte[Digest.LENGTH];
    private byte[] stored = new byte[0];

    FrameWork(Needs needs, FrameDecoder decoder, MessageDigest md, Semaphore budget, FrameBuffers buffers, BlockingQueue<Decoded> queue,
        AtomicLong bytesRead, String where) {
      this.needs = needs;
      this.decoder = decoder;
      this.md = md;
      this.budget = budget;
      this.buffers = buffers;
      this.queue = queue;
      this.bytesRead = bytesRead;
      this.where = where;
    }

    /**
     * Skips to frame {@code f} of the stream, which stands at {@code position} of the pack, reads,
     * decodes and verifies it, and queues it; returns the position after it.
     */
    long frame(InputStream in, SnapshotIndex.PackRef pack, int f, long position) throws IOException, InterruptedException, DigestException {
      SnapshotIndex.Frame frame = index.frames().get(f);
      if (frame.offset() < position) {
        throw CachemountException.integrity("snapshot " + where + ": frames overlap in pack " + pack.digest());
      }
      in.skipNBytes(frame.offset() - position);
      int cost = buffers.cost(frame.rawLength());
      budget.acquire(cost);
      byte[] raw = buffers.take(frame.rawLength());
      try {
        if (frame.encoding() == FrameEncoding.RAW && frame.storedLength() == frame.rawLength()) {
          // stored as is (most of a cache of jars): straight into the buffer, no copy
          readFully(in, raw, frame.storedLength(), pack, f, where);
        } else {
          decode(in, frame, raw, pack, f);
        }
        verify(raw, f, pack);
        queue.put(new Decoded(f, raw));
      } catch (Throwable t) {
        budget.release(cost);
        throw t;
      }
      return frame.offset() + frame.storedLength();
    }

    private void decode(InputStream in, SnapshotIndex.Frame frame, byte[] raw, SnapshotIndex.PackRef pack, int f) throws IOException {
      if (stored.length < frame.storedLength()) {
        stored = new byte[frame.storedLength()];
      }
      readFully(in, stored, frame.storedLength(), pack, f, where);
      try {
        decoder.decode(frame.encoding(), stored, 0, frame.storedLength(), raw, frame.rawLength(),
            () -> "frame " + f + " of pack " + pack.digest() + " in " + where);
      } catch (CachemountException e) {
        throw CachemountException.integrity(e.getMessage(), e); // a frame that does not decode is damage, whatever the decoder called it
      }
    }

    /** Checks every chunk the restore will take from frame {@code f} against its SHA-256. */
    private void verify(byte[] raw, int f, SnapshotIndex.PackRef pack) throws DigestException {
      for (int chunk : needs.chunks(f)) {
        md.update(raw, index.chunkOffset(chunk), index.chunkLength(chunk));
        md.digest(computed, 0, Digest.LENGTH);
        if (!index.chunkDigestEquals(chunk, computed, 0)) {
          throw CachemountException.integrity("chunk " + index.chunkDigest(chunk) + " of " + where + " does not match its content (pack "
              + pack.digest() + " is corrupt)");
        }
      }
    }
  }

  private static void readFully(InputStream in, byte[] buffer, int length, SnapshotIndex.PackRef pack, int frame, String where) throws IOException {
    if (in.readNBytes(buffer, 0, length) != length) {
      throw CachemountException.integrity("pack " + pack.digest() + " of " + where + " ends early, inside frame " + frame);
    }
  }

  private static void rethrow(Throwable t) throws IOException {
    if (t != null && !(t instanceof CancelledRead)) {
      throw Workers.rethrow(t);
    }
  }

  /** Marks a read the caller abandoned, so that workers stop. */
  private static final class CancelledRead extends RuntimeException {
    private static final long serialVersionUID = 1L;

    CancelledRead() {
      super(null, null, false, false);
    }
  }
}
