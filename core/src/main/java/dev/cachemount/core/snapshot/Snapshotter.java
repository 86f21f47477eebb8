package dev.cachemount.core.snapshot;

import dev.cachemount.core.CachemountException;
import dev.cachemount.core.OperationListener;
import dev.cachemount.core.blob.Digest;
import dev.cachemount.core.blob.DigestTable;
import dev.cachemount.core.chunk.ChunkReader;
import dev.cachemount.core.chunk.FastCdcChunker;
import dev.cachemount.core.index.Entry;
import dev.cachemount.core.index.FormatLimits;
import dev.cachemount.core.index.SnapshotIndex;
import dev.cachemount.core.internal.Workers;
import dev.cachemount.core.pack.ChunkRef;
import dev.cachemount.core.pack.PackWriter;
import dev.cachemount.core.store.BlobSource;
import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.AccessDeniedException;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.time.Clock;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;

/**
 * Turns a directory tree into a {@link StagedSnapshot}: scan, then, in parallel workers, read each
 * file, cut it into content-defined chunks and hash them; every chunk no earlier file of the tree
 * had, and no earlier snapshot holds, goes into a frame, and full frames go to the {@link PackSink},
 * which compresses them on several threads and writes them into packs in order. Workers take
 * batches of consecutive files, so a frame holds neighbouring files (better compression, and a
 * restore reads packs in order), and decide in batch order (see {@link #runWorkers}), so the packs
 * are the same whatever the number of workers and their timing.
 *
 * <p>Memory is bounded by the workers' buffers (a read buffer, the chunks held until their batch's
 * turn), the one frame being filled, the frames queued for the sink, and the index; no pack is held in memory.
 * Each instance is used once per push; it is not thread-safe itself.
 */
public final class Snapshotter {
  /** Settings of one push. */
  public record Settings(FastCdcChunker chunker, int compressionLevel, int frameTarget, long packTarget, int workers, double keepPacksAbove) {
    /** An earlier pack is referenced again when at least this share of its bytes is used; else its chunks are packed anew. */
    public static final double DEFAULT_KEEP_PACKS_ABOVE = 0.5;

    public Settings(FastCdcChunker chunker, int compressionLevel, int frameTarget, long packTarget, int workers) {
      this(chunker, compressionLevel, frameTarget, packTarget, workers, DEFAULT_KEEP_PACKS_ABOVE);
    }

    public Settings {
      if (!(keepPacksAbove >= 0 && keepPacksAbove <= 1)) {
        throw new IllegalArgumentException("the pack reuse threshold is a share of a pack, 0 to 1: " + keepPacksAbove);
      }
      if (frameTarget < 1 || ContentBoundaries.frameCapacity(frameTarget, chunker.maxSize()) > FormatLimits.MAX_FRAME) {
        throw new IllegalArgumentException("frames of up to twice " + frameTarget + " bytes plus a chunk of " + chunker.maxSize()
            + " exceed the format's frame limit of " + FormatLimits.MAX_FRAME);
      }
      if (packTarget < 1 || workers < 1) {
        throw new IllegalArgumentException("pack target and workers must be positive");
      }
    }
  }

  private static final long BATCH_BYTES = 4L << 20;
  static final int BATCH_FILES = 256;
  /**
   * How often a file is read whose size or time changes while it is read (a tool still writing it):
   * the snapshot holds a read during which neither changed, or leaves the file out.
   */
  static final int READS = 3;
  /** The bytes of chunks a worker holds while it waits for its batch's turn. */
  private static final int HOLD_BYTES = 8 << 20;

  private final Settings settings;
  private final OperationListener listener;
  private dev.cachemount.core.Progress progress = dev.cachemount.core.Progress.unobserved();
  private final Clock clock;
  private volatile PackSink activeSink;
  private java.util.function.Consumer<PackWriter.FinishedPack> onPackFinished = pack -> { };
  private volatile boolean cancelled;
  /** The files that vanished before they were read, told once the reads are done ({@link SkipNotes}). */
  private final java.util.Queue<String> vanished = new java.util.concurrent.ConcurrentLinkedQueue<>();
  /** Files of the directory whose stored version a merge kept, not having read them whole ({@link ChunkReuse#standIn}). */
  private final java.util.Queue<String> standIns = new java.util.concurrent.ConcurrentLinkedQueue<>();
  /** Reads thrown away because the file changed meanwhile. */
  private final AtomicInteger rereads = new AtomicInteger();
  /** Called with a file's path after each read of it, before the check that it did not change meanwhile (tests). */
  private java.util.function.Consumer<String> afterEachRead = path -> { };
  /** Where the parent's packs are read for compaction of chunks not on disk; null: they are kept. */
  private BlobSource storedPacks;

  public Snapshotter(Settings settings, OperationListener listener, Clock clock) {
    this.settings = settings;
    this.listener = listener;
    this.clock = clock;
  }

  /**
   * Counts in {@code progress} the files it reads and their bytes ({@link dev.cachemount.core.Progress.Step#READING}):
   * those it cannot take from an earlier snapshot unread.
   */
  public Snapshotter reportingTo(dev.cachemount.core.Progress progress) {
    this.progress = progress;
    return this;
  }

  /** Hands each pack to {@code consumer} as soon as it is finished, from the thread that finished it. */
  public Snapshotter onPackFinished(java.util.function.Consumer<PackWriter.FinishedPack> consumer) {
    this.onPackFinished = consumer;
    return this;
  }

  /**
   * Lets compaction read the parent's chunks that are not on disk from the parent's packs in
   * {@code store} (where the parent is stored): without it, a pack holding any such chunk is kept
   * whatever its use.
   */
  public Snapshotter readingStoredPacksFrom(BlobSource store) {
    this.storedPacks = store;
    return this;
  }

  /** Calls {@code hook} with a file's path after each read of it, on the reading thread (tests change files there). */
  Snapshotter afterEachRead(java.util.function.Consumer<String> hook) {
    this.afterEachRead = hook;
    return this;
  }

  /** Scans {@code root} and writes its new chunks as packs into {@code staging}. */
  public StagedSnapshot snapshot(Path root, Path staging) throws IOException {
    Instant scanStarted = clock.instant();
    List<ScannedEntry> scanned = new TreeScanner(listener).scan(root);
    return snapshot(root, scanned, scanStarted, staging);
  }

  /** Snapshots entries already scanned (at {@code scanStarted}) under {@code root}. */
  public StagedSnapshot snapshot(Path root, List<ScannedEntry> scanned, Instant scanStarted, Path staging) throws IOException {
    return snapshot(root, scanned, scanStarted, staging, ChunkReuse.none());
  }

  /**
   * Snapshots entries already scanned under {@code root}, referencing the chunks that earlier
   * snapshots hold instead of packing them again.
   *
   * @param parent the previous snapshot of the same tag, whose unchanged files are not even read
   * @param others further snapshots whose chunks may be referenced ({@code from=})
   */
  public StagedSnapshot snapshot(Path root, List<ScannedEntry> scanned, Instant scanStarted, Path staging,
      java.util.Optional<ReuseSource> parent, List<ReuseSource> others) throws IOException {
    return snapshot(root, TreePolicies.Tree.of(scanned), scanStarted, staging, parent, others);
  }

  /** As above, for a tree that may hold files of the parent the directory lacks ({@code mode=merge}). */
  public StagedSnapshot snapshot(Path root, TreePolicies.Tree tree, Instant scanStarted, Path staging,
      java.util.Optional<ReuseSource> parent, List<ReuseSource> others) throws IOException {
    List<ReuseSource> sources = new ArrayList<>();
    parent.ifPresent(sources::add);
    sources.addAll(others);
    return snapshot(root, tree.entries(), scanStarted, staging, new ChunkReuse(sources, parent.isPresent(), tree.fromParent(), tree.union()));
  }

  private StagedSnapshot snapshot(Path root, List<ScannedEntry> scanned, Instant scanStarted, Path staging, ChunkReuse reuse) throws IOException {
    List<ScannedEntry> files = new ArrayList<>();
    SnapshotIndex.Builder builder = new SnapshotIndex.Builder();
    if (reuse.hasParent()) {
      builder.useParent(reuse.parentIndex());
    }
    for (ScannedEntry e : scanned) {
      switch (e.type()) {
        case FILE -> files.add(e);
        case DIRECTORY -> builder.addEntry(Entry.directory(e.path(), e.mode(), e.mtimeSeconds(), e.mtimeNanos()));
        case SYMLINK -> builder.addEntry(Entry.symlink(e.path(), e.mode(), e.mtimeSeconds(), e.mtimeNanos(), e.linkTarget()));
      }
    }
    List<int[]> batches = batches(files);
    FileResult[] results = new FileResult[files.size()];
    long bytes = 0;
    long toRead = 0;
    int filesToRead = 0;
    for (ScannedEntry f : files) {
      bytes += f.size();
      if (reuse.unchangedInParent(f).isEmpty()) {
        toRead += f.size();
        filesToRead++;
      }
    }
    progress.begin(dev.cachemount.core.Progress.Step.READING, toRead, filesToRead);
    int expectedChunks = (int) Math.min(1 << 20, files.size() + bytes / settings.chunker().parameters().avgSize());
    int frameCapacity = (int) ContentBoundaries.frameCapacity(settings.frameTarget(), settings.chunker().maxSize());
    try (PackSink sink = new PackSink(staging, settings.packTarget(), frameCapacity, settings.compressionLevel(), settings.workers(), onPackFinished)) {
      activeSink = sink;
      if (cancelled) {
        sink.refuse();
      }
      // Half of the expected chunks: the table grows as needed, and an incremental push reads few of the files.
      Decisions decisions = new Decisions(new DigestTable(expectedChunks / 2), sink, reuse, settings.frameTarget());
      try {
        try {
          runWorkers(root, files, batches, results, decisions);
        } finally {
          SkipNotes.tell(listener, SkipNotes.VANISHED_BEFORE_READ, vanished);
          vanished.clear();
        }
        reuse.damaged().forEach((name, what) -> listener.warning("the stored snapshot " + name + " is damaged: it " + what
            + "; such chunks are packed anew, not taken from it"));
        // The tree's last frame ends here, so that what compaction packs next does not change it.
        decisions.flushFrame();
        List<ChunkReuse.KeptPack> kept = new ArrayList<>();
        if (!reuse.isEmpty()) {
          if (rereads.get() > 0) {
            java.util.Set<Digest> digests = new java.util.HashSet<>();
            java.util.BitSet parentChunks = new java.util.BitSet();
            for (FileResult r : results) {
              if (r != null && r.chunks() != null) {
                digests.addAll(java.util.Arrays.asList(r.chunks()));
              } else if (r != null) {
                for (int c : r.parentChunks()) {
                  parentChunks.set(c);
                }
              }
            }
            reuse.retainUsed(digests, parentChunks);
          }
          ChunkReuse.Plan plan = reuse.plan(settings.keepPacksAbove(), storedPacks != null && reuse.hasParent());
          kept.addAll(plan.kept());
          kept.addAll(repack(root, files, plan.repack(), decisions));
        }
        for (int i = 0; i < files.size(); i++) {
          FileResult r = results[i];
          if (r != null) {
            ScannedEntry e = r.seen(); // as the scan saw it, or as a read after a change saw it
            if (r.parentChunks() != null) {
              builder.addFileOfParentChunks(e.path(), e.mode(), r.size(), e.mtimeSeconds(), e.mtimeNanos(), r.parentChunks());
            } else {
              builder.addFile(e.path(), e.mode(), r.size(), e.mtimeSeconds(), e.mtimeNanos(), r.chunks());
            }
          }
        }
        List<PackWriter.FinishedPack> packs = sink.finish(builder);
        List<ReusedPack> reused = placeKept(kept, reuse, builder);
        return new StagedSnapshot(builder.build(), packs, reused, scanStarted, decisions.chunkBytes, sink.frameCount(), java.util.Set.copyOf(standIns));
      } catch (PackSink.WriterFailed e) {
        // A worker stopped because the pack writer had failed: the writer's failure is the one to report.
        throw Workers.rethrow(sink.failure() != null ? sink.failure() : e);
      }
    }
  }

  /**
   * Makes a snapshot in progress start no new pack: called from a shutdown hook before it deletes
   * the staging directory, so that no pack file appears there afterwards. Thread-safe.
   */
  public void cancel() {
    cancelled = true;
    PackSink sink = activeSink;
    if (sink != null) {
      sink.refuse();
    }
  }

  /**
   * A file's chunks: by digest when it was read, by number in the parent when the parent vouched for
   * it; {@code seen}: its size, time and mode as the read that is stored saw them.
   */
  private record FileResult(long size, Digest[] chunks, int[] parentChunks, ScannedEntry seen) {}

  private static List<int[]> batches(List<ScannedEntry> files) {
    List<int[]> batches = new ArrayList<>();
    int start = 0;
    long bytes = 0;
    for (int i = 0; i < files.size(); i++) {
      bytes += files.get(i).size();
      if (bytes >= BATCH_BYTES || i + 1 - start >= BATCH_FILES) {
        batches.add(new int[] {start, i + 1});
        start = i + 1;
        bytes = 0;
      }
    }
    if (start < files.size()) {
      batches.add(new int[] {start, files.size()});
    }
    return batches;
  }

  /** A frame of a kept pack: the pack's number in the new index, the frame's offset in the pack. */
  private record FrameAt(int pack, long offset) {}

  /**
   * Records the kept earlier packs in the index: each pack once, each of its used frames once, with
   * the chunks this snapshot uses from them.
   */
  private static List<ReusedPack> placeKept(List<ChunkReuse.KeptPack> kept, ChunkReuse reuse, SnapshotIndex.Builder builder) {
    java.util.Map<Digest, Integer> packNumbers = new java.util.HashMap<>();
    java.util.Map<FrameAt, Integer> frameNumbers = new java.util.HashMap<>();
    java.util.Map<Digest, ReusedPack> reused = new java.util.LinkedHashMap<>();
    // Per source, each of its frames' number in the new index once placed (+1; 0: not yet): most
    // chunks share their frame with others, so the map above is asked once per frame, not per chunk.
    java.util.Map<Integer, int[]> placedFrames = new java.util.HashMap<>();
    for (ChunkReuse.KeptPack k : kept) {
      SnapshotIndex index = reuse.source(k.source()).snapshot().index();
      int[] placed = placedFrames.computeIfAbsent(k.source(), s -> new int[index.frames().size()]);
      Integer pack = packNumbers.get(k.pack().digest());
      if (pack == null) {
        pack = builder.addPack(k.pack().digest(), k.pack().size());
        packNumbers.put(k.pack().digest(), pack);
        reused.put(k.pack().digest(), k.pack());
      } else {
        ReusedPack before = reused.get(k.pack().digest());
        reused.put(before.digest(), new ReusedPack(before.digest(), before.size(), before.repository(), before.liveBytes() + k.pack().liveBytes(),
            before.knownPresent() || k.pack().knownPresent()));
      }
      boolean ofParent = k.source() == 0 && reuse.hasParent();
      for (int chunk : k.chunks()) {
        int sourceFrame = index.chunkFrame(chunk);
        int frame = placed[sourceFrame] - 1;
        if (frame < 0) {
          SnapshotIndex.Frame f = index.frames().get(sourceFrame);
          FrameAt key = new FrameAt(pack, f.offset());
          Integer known = frameNumbers.get(key);
          if (known == null) {
            known = builder.addFrame(pack, f.offset(), f.storedLength(), f.rawLength(), f.encoding());
            frameNumbers.put(key, known);
          }
          frame = known;
          placed[sourceFrame] = frame + 1;
        }
        if (ofParent) {
          builder.addParentChunk(chunk, frame);
        } else {
          builder.addChunk(index.chunkDigest(chunk), frame, index.chunkOffset(chunk), index.chunkLength(chunk));
        }
      }
    }
    return new ArrayList<>(reused.values());
  }

  /**
   * Packs anew the chunks of earlier packs too little used to keep: read again from the tree where
   * the workers found them, or from the parent's packs (see {@link StoredChunks}) when they are not on
   * disk, or no longer there as they were. A chunk that can be read from neither keeps its earlier
   * pack, whatever its use.
   */
  private List<ChunkReuse.KeptPack> repack(Path root, List<ScannedEntry> files, List<java.util.Map.Entry<Digest, ChunkReuse.Found>> chunks,
      Decisions decisions) throws IOException {
    if (chunks.isEmpty()) {
      return List.of();
    }
    List<java.util.Map.Entry<Digest, ChunkReuse.Found>> onDisk = new ArrayList<>();
    List<java.util.Map.Entry<Digest, ChunkReuse.Found>> stored = new ArrayList<>();
    for (java.util.Map.Entry<Digest, ChunkReuse.Found> c : chunks) {
      (c.getValue().readable() ? onDisk : stored).add(c);
    }
    boolean readsStored = storedPacks != null && decisions.reuse.hasParent();
    List<java.util.Map.Entry<Digest, ChunkReuse.Found>> kept = new ArrayList<>();
    // A chunk of the parent whose file changed since the workers found it there: the parent's packs still hold it.
    for (java.util.Map.Entry<Digest, ChunkReuse.Found> c : repackFromTree(root, files, onDisk, decisions)) {
      (readsStored && c.getValue().source() == 0 ? stored : kept).add(c);
    }
    if (!kept.isEmpty()) {
      listener.warning(kept.size() + " chunks changed or vanished while the push ran; the snapshot references their earlier packs");
    }
    if (!stored.isEmpty()) {
      kept.addAll(repackFromStore(files, stored, decisions));
    }
    // Kept whatever their use: their bytes exist nowhere else now.
    return kept.isEmpty() ? List.of() : decisions.reuse.keepAll(kept);
  }

  /** Packs anew chunks of the parent read from its packs; returns those it could not read. */
  private List<java.util.Map.Entry<Digest, ChunkReuse.Found>> repackFromStore(List<ScannedEntry> files,
      List<java.util.Map.Entry<Digest, ChunkReuse.Found>> chunks, Decisions decisions) throws IOException {
    int[] openFile = {-1};
    StoredChunks.Result read = new StoredChunks(storedPacks, decisions.reuse.parentIndex()).read(chunks, (c, data, offset) -> {
      // Frames and packs end at the files they come from, as when read from the tree.
      int file = c.getValue().fileNumber();
      if (file != openFile[0]) {
        long before = openFile[0] >= 0 ? files.get(openFile[0]).size() : 0;
        long next = files.get(file).size();
        if (startsOwnFrames(before) || startsOwnFrames(next)) {
          decisions.endFrame(startsOwnPacks(before) || startsOwnPacks(next));
        }
        openFile[0] = file;
      }
      decisions.pack(c.getKey(), data, offset, c.getValue().length());
    });
    decisions.flushFrame();
    List<java.util.Map.Entry<Digest, ChunkReuse.Found>> unread = new ArrayList<>();
    for (StoredChunks.Unread u : read.unread()) {
      listener.warning("compaction could not read " + u.chunks().size() + " chunks from the stored pack " + u.pack() + " (" + u.why()
          + "); the snapshot references that pack as it is" + (u.why().startsWith("it is damaged")
              ? " (`cachemount verify` names the files that need it; a push with --force stores the directory anew)" : ""));
      unread.addAll(u.chunks());
    }
    listener.info(String.format("compaction read %,d chunks (%,d bytes) back from %,d stored packs", chunks.size() - unread.size(),
        read.bytesRead(), read.packs()));
    return unread;
  }

  /** Packs anew chunks read again from the tree where the workers found them; returns those whose bytes changed or vanished since. */
  private List<java.util.Map.Entry<Digest, ChunkReuse.Found>> repackFromTree(Path root, List<ScannedEntry> files,
      List<java.util.Map.Entry<Digest, ChunkReuse.Found>> chunks, Decisions decisions) throws IOException {
    if (chunks.isEmpty()) {
      return List.of();
    }
    List<java.util.Map.Entry<Digest, ChunkReuse.Found>> sorted = new ArrayList<>(chunks);
    sorted.sort(java.util.Comparator.comparingInt((java.util.Map.Entry<Digest, ChunkReuse.Found> e) -> e.getValue().file())
        .thenComparingLong(e -> e.getValue().offset()));
    List<java.util.Map.Entry<Digest, ChunkReuse.Found>> stale = new ArrayList<>();
    MessageDigest md = Digest.newMessageDigest();
    byte[] buffer = new byte[settings.chunker().maxSize()];
    // After every batch: this thread decides alone, in the order above, so the new packs do not depend on timing either.
    java.nio.channels.SeekableByteChannel open = null;
    int openFile = -1;
    try (TreeFiles tree = new TreeFiles(root)) {
      for (java.util.Map.Entry<Digest, ChunkReuse.Found> c : sorted) {
        ChunkReuse.Found f = c.getValue();
        if (f.file() != openFile) {
          if (open != null) {
            open.close();
          }
          long before = openFile >= 0 ? files.get(openFile).size() : 0;
          long next = files.get(f.file()).size();
          if (startsOwnFrames(before) || startsOwnFrames(next)) {
            decisions.endFrame(startsOwnPacks(before) || startsOwnPacks(next));
          }
          openFile = f.file();
          try {
            // Gone, or no longer a regular file (a FIFO's open would block), or a directory above it
            // replaced by a link (not followed out of the tree): its chunks keep their earlier packs.
            open = tree.open(files.get(openFile).path());
          } catch (java.nio.file.AccessDeniedException e) {
            open = null; // no longer readable: the same
          }
        }
        if (open == null) {
          stale.add(c);
          continue;
        }
        java.nio.ByteBuffer b = java.nio.ByteBuffer.wrap(buffer, 0, f.length());
        long position = f.offset();
        try {
          open.position(position);
          while (b.hasRemaining() && open.read(b) >= 0) {
            // reads until the chunk is whole or the file ends
          }
        } catch (java.io.InterruptedIOException | java.nio.channels.ClosedChannelException e) {
          throw e; // interrupted (ClosedByInterruptException), not the file's failure
        } catch (IOException e) {
          b.position(0); // the file's failure (EISDIR: replaced by a directory opened since): a stale chunk
        }
        md.update(buffer, 0, b.position());
        if (b.hasRemaining() || !Digest.finish(md).equals(c.getKey())) {
          stale.add(c);
        } else {
          decisions.pack(c.getKey(), buffer, 0, f.length());
        }
      }
    } finally {
      if (open != null) {
        open.close();
      }
    }
    decisions.flushFrame();
    return stale;
  }

  /**
   * Runs the workers over the batches. Each worker reads, chunks and hashes its batch on its own, but
   * decides which chunks are new, and frames them, only in its batch's turn: after every earlier batch
   * has decided. So each chunk is packed where it first occurs in the tree's order, frames and packs
   * come out in that order, and a push makes the same packs whatever the number of workers and their
   * timing. A worker holds its batch's chunks while it waits (at most {@link #HOLD_BYTES}); with more,
   * it waits for its turn and then decides each chunk as it is read.
   */
  private void runWorkers(Path root, List<ScannedEntry> files, List<int[]> batches, FileResult[] results, Decisions decisions) throws IOException {
    int workers = Math.max(1, Math.min(settings.workers(), batches.size()));
    AtomicInteger nextBatch = new AtomicInteger();
    AtomicBoolean failed = new AtomicBoolean();
    AtomicReference<Throwable> firstFailure = new AtomicReference<>();
    Turns turns = new Turns();
    ExecutorService pool = Workers.pool("cachemount-snapshot", workers);
    try {
      List<Future<Void>> futures = new ArrayList<>();
      for (int w = 0; w < workers; w++) {
        futures.add(pool.submit(() -> {
          try (Worker worker = new Worker(root, decisions, turns)) {
            int b;
            while (!failed.get() && (b = nextBatch.getAndIncrement()) < batches.size()) {
              int[] range = batches.get(b);
              worker.startBatch(b);
              for (int i = range[0]; i < range[1]; i++) {
                if (failed.get()) {
                  return null;
                }
                results[i] = worker.read(files.get(i), i);
                if (results[i] == null || results[i].parentChunks() == null) {
                  progress.file(); // read (or found gone), not taken from the parent unread
                }
              }
              worker.endBatch();
            }
          } catch (Throwable t) {
            if (!(t instanceof Turns.Aborted)) {
              firstFailure.compareAndSet(null, t);
            }
            failed.set(true);
            turns.abort();
          }
          return null;
        }));
      }
      for (Future<Void> f : futures) {
        Workers.await(f, "snapshotting");
      }
    } finally {
      Workers.stop(pool);
    }
    Throwable t = firstFailure.get();
    if (t != null) {
      throw Workers.rethrow(t);
    }
  }

  /** The batches' turns to decide, one after another in batch order. Thread-safe. */
  private static final class Turns {
    private int next;
    private boolean aborted;

    /** Waits until every batch before {@code batch} has decided. */
    synchronized void await(int batch) throws IOException {
      while (next != batch) {
        if (aborted) {
          throw new Aborted();
        }
        try {
          wait();
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          throw new java.io.InterruptedIOException("interrupted while snapshotting");
        }
      }
    }

    /** {@code batch} has decided: the next one's turn. */
    synchronized void pass(int batch) {
      next = batch + 1;
      notifyAll();
    }

    /** A worker failed: nobody waits for a turn any more. */
    synchronized void abort() {
      aborted = true;
      notifyAll();
    }

    /** What a worker waiting for its turn throws once another has failed; that failure is the one reported. */
    static final class Aborted extends IOException {
      Aborted() {
        super("another worker failed");
      }
    }
  }

  /**
   * What the decisions of one push share: the chunks packed so far, the earlier snapshots, and the
   * sink. Used only in a batch's turn (or by the one thread that repacks after them), so one thread
   * at a time, each after the one before it.
   */
  private static final class Decisions {
    private final DigestTable packed;
    private final PackSink sink;
    private final ChunkReuse reuse;
    private final int frameTarget;
    private long chunkBytes;
    /** The frame being filled: it runs on from one batch into the next, so batches do not cut frames. */
    private byte[] frame;
    private int frameLength;
    private final List<ChunkRef> frameChunks = new ArrayList<>();

    Decisions(DigestTable packed, PackSink sink, ChunkReuse reuse, int frameTarget) {
      this.packed = packed;
      this.sink = sink;
      this.reuse = reuse;
      this.frameTarget = frameTarget;
    }

    /** Appends a new chunk to the frame, and ends the frame where its content says ({@link ContentBoundaries}). */
    void pack(Digest digest, byte[] data, int offset, int length) throws IOException {
      chunkBytes += length;
      if (frame == null) {
        frame = sink.buffer();
      }
      System.arraycopy(data, offset, frame, frameLength, length);
      frameLength += length;
      frameChunks.add(new ChunkRef(digest, length));
      if (ContentBoundaries.endsFrame(frameLength, digest, length, frameTarget)) {
        flushFrame();
      }
    }

    /** Ends the frame and, with {@code pack}, the pack too. */
    void endFrame(boolean pack) throws IOException {
      flushFrame();
      if (pack) {
        sink.cutPack();
      }
    }

    /** Hands the frame to the sink, which compresses it and writes it in the order handed. */
    void flushFrame() throws IOException {
      if (frameLength == 0) {
        return;
      }
      byte[] full = frame;
      int length = frameLength;
      frame = null;
      frameLength = 0;
      try {
        sink.submit(full, length, frameChunks);
      } finally {
        frameChunks.clear();
      }
    }

    /** Whether a chunk read from the tree is new: not packed by an earlier batch, not held by an earlier snapshot. */
    boolean isNew(Digest digest, int file, long offset, int length) {
      return packed.putIfAbsent(digest, 0) < 0 && !reuse.find(digest, file, offset, length);
    }

    /** A file the parent vouches for: notes where this tree has each of its chunks. */
    void fromParent(int file, int[] chunks) {
      SnapshotIndex parent = reuse.parentIndex();
      long offset = 0;
      for (int ref : chunks) {
        reuse.foundInParent(ref, file, offset);
        offset += parent.chunkLength(ref);
      }
    }
  }

  /** A chunk a worker holds until its batch's turn: where it is in the file, where its bytes are in the worker's buffer. */
  private record HeldChunk(Digest digest, int file, long offset, int length, int at) {}

  /** A file the parent vouches for, held until its batch's turn. */
  private record HeldParentFile(int file, int[] chunks) {}

  /** A frame boundary held until the batch's turn. */
  private static final Object HELD_FLUSH = new Object();

  /** A frame boundary that also ends the pack, held until the batch's turn. */
  private static final Object HELD_PACK_CUT = new Object();

  /** One worker's read buffer, hasher and held chunks. Used by its thread only. */
  private final class Worker implements ChunkReader.ChunkConsumer, java.io.Closeable {
    private final Path root;
    /** The tree's files, opened without following a link below the root. */
    private final TreeFiles files;
    private final Decisions decisions;
    private final Turns turns;
    private final FastCdcChunker chunker = settings.chunker();
    private final MessageDigest md = Digest.newMessageDigest();
    private final ChunkReader reader;
    /** The chunks of the file being read. */
    private final List<Digest> fileChunks = new ArrayList<>();
    private int fileNumber;
    private long fileOffset;
    private int batch;
    /** In its batch's turn: each chunk is decided as it comes. Before it: chunks, files and boundaries are held. */
    private boolean deciding;
    private byte[] held = new byte[0];
    private int heldLength;
    private final List<Object> heldEvents = new ArrayList<>();

    Worker(Path root, Decisions decisions, Turns turns) {
      this.root = root;
      this.files = new TreeFiles(root);
      this.decisions = decisions;
      this.turns = turns;
      this.reader = new ChunkReader(chunker, 1 << 20);
    }

    @Override
    public void close() throws IOException {
      files.close();
    }

    void startBatch(int number) {
      batch = number;
      deciding = false;
    }

    /** Decides what the batch still holds (waiting for its turn) and passes the turn on; its last frame stays open for the next batch. */
    void endBatch() throws IOException {
      if (!deciding) {
        takeTurn();
      }
      deciding = false;
      turns.pass(batch);
    }

    /** Waits for the batch's turn, then decides everything held, in the order it was read. */
    private void takeTurn() throws IOException {
      turns.await(batch);
      deciding = true;
      for (Object e : heldEvents) {
        if (e == HELD_FLUSH || e == HELD_PACK_CUT) {
          decisions.endFrame(e == HELD_PACK_CUT);
        } else if (e instanceof HeldParentFile p) {
          decisions.fromParent(p.file(), p.chunks());
        } else {
          HeldChunk c = (HeldChunk) e;
          if (decisions.isNew(c.digest(), c.file(), c.offset(), c.length())) {
            decisions.pack(c.digest(), held, c.at(), c.length());
          }
        }
      }
      heldEvents.clear();
      heldLength = 0;
    }

    /** Reads, chunks and stores one file (number {@code number} of the push); {@code null} when it vanished. */
    FileResult read(ScannedEntry entry, int number) throws IOException {
      Path file = root.resolve(entry.path());
      fileChunks.clear();
      fileNumber = number;
      fileOffset = 0;
      java.util.Optional<Entry> unchanged = decisions.reuse.unchangedInParent(entry);
      if (unchanged.isPresent()) {
        // A file taken from the parent that is not in the directory: its chunks cannot be read again for compaction.
        return fromParent(unchanged.get(), decisions.reuse.isForced(entry.path()) ? ChunkReuse.notOnDisk(number) : number, entry);
      }
      FileResult read = readWhole(entry, file);
      if (read == null) {
        // A merge keeps the stored version of a file it could not read whole, as of one the directory lacks.
        java.util.Optional<Entry> stored = decisions.reuse.standIn(entry.path());
        if (stored.isPresent()) {
          Entry e = stored.get();
          standIns.add(e.path());
          return fromParent(e, ChunkReuse.notOnDisk(number), new ScannedEntry(e.path(), dev.cachemount.core.index.EntryType.FILE, e.mode(), e.size(), e.mtimeSeconds(), e.mtimeNanos(), null));
        }
      }
      return read;
    }

    /** The parent's version of a file: its chunks, found at {@code at} in the tree ({@link ChunkReuse#notOnDisk}: not on disk to read again). */
    private FileResult fromParent(Entry stored, int at, ScannedEntry seen) {
      int[] chunks = new int[stored.chunkCount()];
      for (int c = 0; c < chunks.length; c++) {
        chunks[c] = stored.chunk(c);
      }
      if (deciding) {
        decisions.fromParent(at, chunks);
      } else {
        heldEvents.add(new HeldParentFile(at, chunks));
      }
      return new FileResult(stored.size(), null, chunks, seen);
    }

    /**
     * Reads the file until a read sees no change to its size and time, at most {@link #READS} times;
     * {@code null} when it vanished, is no longer a regular file, or changed during every read.
     */
    private FileResult readWhole(ScannedEntry entry, Path file) throws IOException {
      ScannedEntry seen = entry;
      for (int read = 1; ; read++) {
        FileResult r = readOnce(seen, file);
        if (r == null) {
          return null;
        }
        afterEachRead.accept(entry.path());
        ScannedEntry now = seen.statNow(file);
        if (now != null && r.size() == seen.size() && now.sameSizeAndTime(seen)) {
          return r;
        }
        rereads.incrementAndGet(); // this read's chunks are no file's
        if (now == null) {
          listener.warning(entry.path() + (Files.exists(file, LinkOption.NOFOLLOW_LINKS)
              ? " was replaced while it was being read and is no longer a regular file" : " vanished while it was being read") + "; skipped");
          return null;
        }
        if (read == READS) {
          listener.warning(entry.path() + " changed during each of the " + READS + " times it was read (something is writing it); "
              + (decisions.reuse.standIn(entry.path()).isPresent() ? "the stored snapshot's version stays (mode=merge)"
                  : "left out of the snapshot") + ": push again once nothing writes to the directory");
          return null;
        }
        // Written to while read: what was read may mix two versions. Read it again, as it is now.
        fileChunks.clear();
        fileOffset = 0;
        seen = now;
      }
    }

    /** Reads, chunks and stores the file {@code entry} names once; {@code null} when it vanished or is no longer a regular file. */
    private FileResult readOnce(ScannedEntry entry, Path file) throws IOException {
      long size = 0;
      java.nio.channels.SeekableByteChannel ch;
      try {
        ch = files.open(entry.path());
      } catch (AccessDeniedException e) {
        throw CachemountException.operational("cannot read " + file + ": permission denied; make it readable by this user or remove it", e);
      }
      if (ch == null) {
        // Gone, or replaced since the scan (by a directory, a link or a FIFO, whose open would block), or
        // a directory above it replaced (by a link, which is not followed out of the tree): not read.
        if (Files.exists(file, LinkOption.NOFOLLOW_LINKS)) {
          listener.warning(entry.path() + " is no longer a regular file (or a directory above it was replaced); skipped");
        } else {
          vanished.add(entry.path()); // told after the reads, one line for many of one directory
        }
        return null;
      }
      boolean ownFrames = startsOwnFrames(entry.size());
      boolean ownPacks = startsOwnPacks(entry.size());
      if (ownFrames) {
        try {
          frameBoundary(ownPacks);
        } catch (Throwable t) {
          ch.close();
          throw t;
        }
      }
      try (ch) {
        size = reader.read(ch, this);
      } catch (NoSuchFileException e) {
        vanished.add(entry.path());
        return null;
      } catch (AccessDeniedException e) {
        throw CachemountException.operational("cannot read " + file + ": permission denied; make it readable by this user or remove it", e);
      } catch (FileSystemException e) {
        if (Files.isSymbolicLink(file)) {
          listener.warning(entry.path() + " became a symlink before it was read; skipped");
          return null;
        }
        throw e;
      } catch (StagingWriteFailure | PackSink.Abandoned | PackSink.WriterFailed | Turns.Aborted | java.io.InterruptedIOException e) {
        throw e; // not the file's failure
      } catch (IOException e) {
        if (fileOffset == 0 && !Files.isRegularFile(file, LinkOption.NOFOLLOW_LINKS)) {
          // Replaced by a directory between the check above and the open (EISDIR), before a byte was read.
          listener.warning(entry.path() + " is no longer a regular file; skipped");
          return null;
        }
        throw new IOException("reading " + file + ": " + e.getMessage(), e);
      }
      if (ownFrames) {
        frameBoundary(ownPacks);
      }
      return new FileResult(size, fileChunks.toArray(new Digest[0]), null, entry);
    }

    /** Ends the frame, and with {@code pack} the pack too, in the batch's turn (held until then). */
    private void frameBoundary(boolean pack) throws IOException {
      if (deciding) {
        decisions.endFrame(pack);
      } else {
        heldEvents.add(pack ? HELD_PACK_CUT : HELD_FLUSH);
      }
    }

    /**
     * One chunk of the file being read: hashed; then, in the batch's turn, referenced from an earlier
     * snapshot that holds it or added to the frame if no earlier batch packed it; before the turn,
     * held for it.
     */
    @Override
    public void accept(byte[] data, int offset, int length) throws IOException {
      progress.bytes(length);
      md.update(data, offset, length);
      Digest digest = Digest.finish(md);
      fileChunks.add(digest);
      long at = fileOffset;
      fileOffset += length;
      if (!deciding && heldLength + length > HOLD_BYTES) {
        takeTurn();
      }
      if (deciding) {
        if (decisions.isNew(digest, fileNumber, at, length)) {
          decisions.pack(digest, data, offset, length);
        }
        return;
      }
      if (held.length < heldLength + length) {
        held = java.util.Arrays.copyOf(held, Math.min(HOLD_BYTES, Math.max(heldLength + length, Math.max(held.length * 2, 1 << 20))));
      }
      System.arraycopy(data, offset, held, heldLength, length);
      heldEvents.add(new HeldChunk(digest, fileNumber, at, length, heldLength));
      heldLength += length;
    }
  }

  /**
   * Whether a file of this size gets frames of its own: one at least a frame long starts a new frame
   * and closes its last one, so that a restore missing only this file fetches no neighbour's bytes
   * and a restore missing only a neighbour fetches none of this file's. Smaller files share frames,
   * which is where the compression of neighbouring poms, checksums and metadata comes from.
   */
  private boolean startsOwnFrames(long size) {
    return size >= settings.frameTarget();
  }

  /**
   * Whether a file of this size gets packs of its own: one of at least a quarter of the pack
   * target starts a new pack and ends its last one. Large files dominate the packs they are in:
   * when one is deleted or replaced, or another project lacks it ({@code from=}), its own pack is
   * simply no longer referenced, instead of taking a shared pack under the compaction threshold
   * and having its neighbours' chunks packed and uploaded again.
   */
  private boolean startsOwnPacks(long size) {
    return size >= Math.max(settings.frameTarget(), settings.packTarget() / 4);
  }

  /** A failure to write a pack to the staging directory, told apart from a failure to read the file being chunked. */
  static final class StagingWriteFailure extends IOException {
    StagingWriteFailure(Path staging, IOException cause) {
      super("writing a pack to the staging directory " + staging + ": " + cause.getMessage()
          + "; free space on that file system (the store's, or for a registry $XDG_CACHE_HOME's)", cause);
    }
  }
}
