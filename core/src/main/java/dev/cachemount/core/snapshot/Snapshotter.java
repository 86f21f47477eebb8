package dev.cachemount.core.snapshot;

import dev.cachemount.core.CachemountException;
import dev.cachemount.core.OperationListener;
import dev.cachemount.core.blob.ConcurrentDigestSet;
import dev.cachemount.core.blob.Digest;
import dev.cachemount.core.chunk.ChunkReader;
import dev.cachemount.core.chunk.FastCdcChunker;
import dev.cachemount.core.index.Entry;
import dev.cachemount.core.index.FormatLimits;
import dev.cachemount.core.index.SnapshotIndex;
import dev.cachemount.core.internal.Workers;
import dev.cachemount.core.pack.ChunkRef;
import dev.cachemount.core.pack.FrameCompressor;
import dev.cachemount.core.pack.PackWriter;
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
import java.util.concurrent.atomic.AtomicLong;

/**
 * Turns a directory tree into a {@link StagedSnapshot}: scan, then, in parallel workers, read each
 * file, cut it into content-defined chunks, hash them, and for every chunk not seen before append it
 * to the worker's current frame; full frames are compressed by the worker and appended to the
 * shared {@link PackSink}. Workers take batches of consecutive files, so a frame holds neighbouring
 * files (better compression, and a restore reads packs in order).
 *
 * <p>Memory is bounded by the workers' buffers (a read buffer and a frame each) and the index; no
 * pack is held in memory. Each instance is used once per push; it is not thread-safe itself.
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
      if (frameTarget < 1 || (long) frameTarget - 1 + chunker.maxSize() > FormatLimits.MAX_FRAME) {
        throw new IllegalArgumentException("a frame of " + frameTarget + " bytes plus a chunk of " + chunker.maxSize()
            + " exceeds the format's frame limit of " + FormatLimits.MAX_FRAME);
      }
      if (packTarget < 1 || workers < 1) {
        throw new IllegalArgumentException("pack target and workers must be positive");
      }
    }
  }

  private static final long BATCH_BYTES = 4L << 20;
  private static final int BATCH_FILES = 256;

  private final Settings settings;
  private final OperationListener listener;
  private final Clock clock;
  private volatile PackSink activeSink;
  private java.util.function.Consumer<PackWriter.FinishedPack> onPackFinished = pack -> { };
  private volatile boolean cancelled;

  public Snapshotter(Settings settings, OperationListener listener, Clock clock) {
    this.settings = settings;
    this.listener = listener;
    this.clock = clock;
  }

  /** Hands each pack to {@code consumer} as soon as it is finished, from the thread that finished it. */
  public Snapshotter onPackFinished(java.util.function.Consumer<PackWriter.FinishedPack> consumer) {
    this.onPackFinished = consumer;
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
    return snapshot(root, tree.entries(), scanStarted, staging, new ChunkReuse(sources, parent.isPresent(), tree.fromParent()));
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
    for (ScannedEntry f : files) {
      bytes += f.size();
    }
    int expectedChunks = (int) Math.min(1 << 20, files.size() + bytes / settings.chunker().parameters().avgSize());
    // Half of that: the tables grow as needed, and an incremental push reads few of the files.
    ConcurrentDigestSet seen = new ConcurrentDigestSet(expectedChunks / 2);
    AtomicLong chunkBytes = new AtomicLong();
    try (PackSink sink = new PackSink(staging, settings.packTarget(), onPackFinished)) {
      activeSink = sink;
      if (cancelled) {
        sink.refuse();
      }
      runWorkers(root, files, batches, results, seen, chunkBytes, sink, reuse);
      List<ChunkReuse.KeptPack> kept = new ArrayList<>();
      if (!reuse.isEmpty()) {
        ChunkReuse.Plan plan = reuse.plan(settings.keepPacksAbove());
        kept.addAll(plan.kept());
        kept.addAll(repack(root, files, plan.repack(), seen, chunkBytes, sink, reuse));
      }
      List<PackWriter.FinishedPack> packs;
      for (int i = 0; i < files.size(); i++) {
        FileResult r = results[i];
        if (r != null) {
          ScannedEntry e = files.get(i);
          if (r.parentChunks() != null) {
            builder.addFileOfParentChunks(e.path(), e.mode(), r.size(), e.mtimeSeconds(), e.mtimeNanos(), r.parentChunks());
          } else {
            builder.addFile(e.path(), e.mode(), r.size(), e.mtimeSeconds(), e.mtimeNanos(), r.chunks());
          }
        }
      }
      long frames = sink.frameCount();
      packs = sink.finish(builder);
      List<ReusedPack> reused = placeKept(kept, reuse, builder);
      return new StagedSnapshot(builder.build(), packs, reused, scanStarted, chunkBytes.get(), frames);
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

  /** A file's chunks: by digest when it was read, by number in the parent when the parent vouched for it. */
  private record FileResult(long size, Digest[] chunks, int[] parentChunks) {}

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
    for (ChunkReuse.KeptPack k : kept) {
      SnapshotIndex index = reuse.source(k.source()).snapshot().index();
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
        SnapshotIndex.Frame f = index.frames().get(index.chunkFrame(chunk));
        FrameAt key = new FrameAt(pack, f.offset());
        Integer frame = frameNumbers.get(key);
        if (frame == null) {
          frame = builder.addFrame(pack, f.offset(), f.storedLength(), f.rawLength(), f.encoding());
          frameNumbers.put(key, frame);
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
   * Packs anew the chunks of earlier packs too little used to keep, reading them again from the tree
   * where the workers found them. A chunk whose bytes changed since (the file was written to during
   * the push) keeps its earlier pack instead.
   */
  private List<ChunkReuse.KeptPack> repack(Path root, List<ScannedEntry> files, List<java.util.Map.Entry<Digest, ChunkReuse.Found>> chunks,
      ConcurrentDigestSet seen, AtomicLong chunkBytes, PackSink sink, ChunkReuse reuse) throws IOException {
    if (chunks.isEmpty()) {
      return List.of();
    }
    List<java.util.Map.Entry<Digest, ChunkReuse.Found>> sorted = new ArrayList<>(chunks);
    sorted.sort(java.util.Comparator.comparingInt((java.util.Map.Entry<Digest, ChunkReuse.Found> e) -> e.getValue().file())
        .thenComparingLong(e -> e.getValue().offset()));
    List<java.util.Map.Entry<Digest, ChunkReuse.Found>> stale = new ArrayList<>();
    MessageDigest md = Digest.newMessageDigest();
    byte[] buffer = new byte[settings.chunker().maxSize()];
    try (Worker worker = new Worker(root, seen, chunkBytes, sink.newLane(), reuse)) {
      FileChannel open = null;
      int openFile = -1;
      try {
        for (java.util.Map.Entry<Digest, ChunkReuse.Found> c : sorted) {
          ChunkReuse.Found f = c.getValue();
          if (f.file() != openFile) {
            if (open != null) {
              open.close();
            }
            if ((openFile >= 0 && worker.startsOwnFrames(files.get(openFile).size())) || worker.startsOwnFrames(files.get(f.file()).size())) {
              worker.flushFrame();
            }
            openFile = f.file();
            try {
              open = FileChannel.open(root.resolve(files.get(openFile).path()), StandardOpenOption.READ, LinkOption.NOFOLLOW_LINKS);
            } catch (NoSuchFileException gone) {
              open = null; // deleted since it was read: its chunks keep their earlier packs, as changed ones do
            }
          }
          if (open == null) {
            stale.add(c);
            continue;
          }
          java.nio.ByteBuffer b = java.nio.ByteBuffer.wrap(buffer, 0, f.length());
          long position = f.offset();
          while (b.hasRemaining() && open.read(b, position + b.position()) >= 0) {
            // positional reads until the chunk is whole or the file ends
          }
          md.update(buffer, 0, b.position());
          if (b.hasRemaining() || !Digest.finish(md).equals(c.getKey())) {
            stale.add(c);
          } else {
            worker.pack(c.getKey(), buffer, 0, f.length());
          }
        }
      } finally {
        if (open != null) {
          open.close();
        }
      }
      worker.finish();
    }
    if (!stale.isEmpty()) {
      listener.warning(stale.size() + " chunks changed or vanished while the push ran; the snapshot references their earlier packs");
      // Kept whatever their use: their bytes exist nowhere else now.
      return reuse.keepAll(stale);
    }
    return List.of();
  }

  private void runWorkers(
      Path root, List<ScannedEntry> files, List<int[]> batches, FileResult[] results,
      ConcurrentDigestSet seen, AtomicLong chunkBytes, PackSink sink, ChunkReuse reuse) throws IOException {
    int workers = Math.max(1, Math.min(settings.workers(), batches.size()));
    AtomicInteger nextBatch = new AtomicInteger();
    AtomicBoolean failed = new AtomicBoolean();
    ExecutorService pool = Workers.pool("cachemount-snapshot", workers);
    try {
      List<Future<Void>> futures = new ArrayList<>();
      for (int w = 0; w < workers; w++) {
        futures.add(pool.submit(() -> {
          try (Worker worker = new Worker(root, seen, chunkBytes, sink.newLane(), reuse)) {
            int b;
            while (!failed.get() && (b = nextBatch.getAndIncrement()) < batches.size()) {
              int[] range = batches.get(b);
              for (int i = range[0]; i < range[1] && !failed.get(); i++) {
                results[i] = worker.read(files.get(i), i);
              }
              worker.flushFrame();
            }
            if (!failed.get()) {
              worker.finish();
            }
            return null;
          } catch (Throwable t) {
            failed.set(true);
            throw t;
          }
        }));
      }
      for (Future<Void> f : futures) {
        Workers.await(f, "snapshotting");
      }
    } finally {
      Workers.stop(pool);
    }
  }

  /** One worker's buffers, hasher and compressor. */
  private final class Worker implements ChunkReader.ChunkConsumer, AutoCloseable {
    private final Path root;
    private final ConcurrentDigestSet seen;
    private final AtomicLong chunkBytes;
    private final PackSink.Lane lane;
    private final FastCdcChunker chunker = settings.chunker();
    private final MessageDigest md = Digest.newMessageDigest();
    private final FrameCompressor compressor = new FrameCompressor(settings.compressionLevel());
    private final ChunkReader reader;
    private final byte[] frame;
    private int frameLength;
    private final List<ChunkRef> frameChunks = new ArrayList<>();
    /** The chunks of the file being read. */
    private final List<Digest> fileChunks = new ArrayList<>();
    private final ChunkReuse reuse;
    private int fileNumber;
    private long fileOffset;

    Worker(Path root, ConcurrentDigestSet seen, AtomicLong chunkBytes, PackSink.Lane lane, ChunkReuse reuse) {
      this.root = root;
      this.reuse = reuse;
      this.seen = seen;
      this.chunkBytes = chunkBytes;
      this.lane = lane;
      this.reader = new ChunkReader(chunker, 1 << 20);
      this.frame = new byte[settings.frameTarget() + chunker.maxSize()];
    }

    /** Reads, chunks and stores one file (number {@code number} of the push); {@code null} when it vanished. */
    FileResult read(ScannedEntry entry, int number) throws IOException {
      Path file = root.resolve(entry.path());
      fileChunks.clear();
      fileNumber = number;
      fileOffset = 0;
      java.util.Optional<Entry> unchanged = reuse.unchangedInParent(entry);
      if (unchanged.isPresent()) {
        if (reuse.isForced(entry.path())) {
          fileNumber = -1; // not in the directory: its chunks cannot be read again for compaction
        }
        return fromParent(unchanged.get());
      }
      long size = 0;
      if (!Files.isRegularFile(file, LinkOption.NOFOLLOW_LINKS)) {
        // Gone, or replaced since the scan (by a directory, a link or a FIFO, whose open would block): not read.
        listener.warning(entry.path() + (Files.exists(file, LinkOption.NOFOLLOW_LINKS) ? " is no longer a regular file" : " vanished before it was read")
            + "; skipped");
        return null;
      }
      boolean ownFrames = startsOwnFrames(entry.size());
      if (ownFrames) {
        flushFrame();
      }
      try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ, LinkOption.NOFOLLOW_LINKS)) {
        size = reader.read(ch, this);
      } catch (NoSuchFileException e) {
        listener.warning(entry.path() + " vanished before it was read; skipped");
        return null;
      } catch (AccessDeniedException e) {
        throw CachemountException.operational("cannot read " + file + ": permission denied; make it readable by this user or remove it", e);
      } catch (FileSystemException e) {
        if (Files.isSymbolicLink(file)) {
          listener.warning(entry.path() + " became a symlink before it was read; skipped");
          return null;
        }
        throw e;
      } catch (StagingWriteFailure e) {
        throw e;
      } catch (IOException e) {
        throw new IOException("reading " + file + ": " + e.getMessage(), e);
      }
      if (ownFrames) {
        flushFrame(); // outside the read's try: a failure to write the pack is not the file's
      }
      if (size != entry.size() || !entry.stillMatches(file)) {
        listener.warning(entry.path() + " changed while it was being read; the snapshot holds what was read");
      }
      return new FileResult(size, fileChunks.toArray(new Digest[0]), null);
    }

    /** A file the parent vouches for: its chunks, unread, all of them in the parent, by number. */
    private FileResult fromParent(Entry entry) {
      SnapshotIndex parent = reuse.parentIndex();
      int[] chunks = new int[entry.chunkCount()];
      long offset = 0;
      for (int c = 0; c < chunks.length; c++) {
        int ref = entry.chunk(c);
        chunks[c] = ref;
        reuse.foundInParent(ref, fileNumber, offset);
        offset += parent.chunkLength(ref);
      }
      return new FileResult(entry.size(), null, chunks);
    }

    /**
     * One chunk of the file being read: hashed; referenced from an earlier snapshot that holds it, or
     * added to the frame, if no worker has seen it.
     */
    @Override
    public void accept(byte[] data, int offset, int length) throws IOException {
      md.update(data, offset, length);
      Digest digest = Digest.finish(md);
      fileChunks.add(digest);
      long at = fileOffset;
      fileOffset += length;
      if (seen.add(digest) && !reuse.find(digest, fileNumber, at, length)) {
        pack(digest, data, offset, length);
      }
    }

    /**
     * Whether a file of this size gets frames of its own: one at least a frame long starts a new frame
     * and closes its last one, so that a restore missing only this file fetches no neighbour's bytes
     * and a restore missing only a neighbour fetches none of this file's. Smaller files share frames,
     * which is where the compression of neighbouring poms, checksums and metadata comes from.
     */
    boolean startsOwnFrames(long size) {
      return size >= settings.frameTarget();
    }

    /** Appends a chunk to the frame, closing the frame once it is full. */
    void pack(Digest digest, byte[] data, int offset, int length) throws IOException {
      chunkBytes.addAndGet(length);
      System.arraycopy(data, offset, frame, frameLength, length);
      frameLength += length;
      frameChunks.add(new ChunkRef(digest, length));
      if (frameLength >= settings.frameTarget()) {
        flushFrame();
      }
    }

    void flushFrame() throws IOException {
      if (frameLength == 0) {
        return;
      }
      dev.cachemount.core.pack.EncodedFrame encoded = compressor.encode(frame, frameLength, frameChunks);
      try {
        lane.append(encoded);
      } catch (PackSink.Abandoned e) {
        throw e;
      } catch (IOException e) {
        // Not the file being read: the pack being written (a full disk, most likely).
        throw new StagingWriteFailure(lane.directory(), e);
      }
      frameLength = 0;
      frameChunks.clear();
    }

    /** Writes the last frame and finishes the worker's last pack. */
    void finish() throws IOException {
      flushFrame();
      try {
        lane.finish();
      } catch (PackSink.Abandoned e) {
        throw e;
      } catch (IOException e) {
        throw new StagingWriteFailure(lane.directory(), e);
      }
    }

    @Override
    public void close() {
      compressor.close();
    }
  }

  /** A failure to write a pack to the staging directory, told apart from a failure to read the file being chunked. */
  static final class StagingWriteFailure extends IOException {
    StagingWriteFailure(Path staging, IOException cause) {
      super("writing a pack to the staging directory " + staging + ": " + cause.getMessage()
          + "; free space on that file system (the store's, or for a registry $XDG_CACHE_HOME's)", cause);
    }
  }
}
