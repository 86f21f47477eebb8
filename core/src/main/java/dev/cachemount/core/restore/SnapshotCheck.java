package dev.cachemount.core.restore;

import dev.cachemount.core.CachemountException;
import dev.cachemount.core.FailureKind;
import dev.cachemount.core.blob.Digest;
import dev.cachemount.core.index.Entry;
import dev.cachemount.core.index.EntryType;
import dev.cachemount.core.index.SnapshotIndex;
import dev.cachemount.core.internal.Workers;
import dev.cachemount.core.store.BlobSource;
import java.io.IOException;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Reads every frame of every pack of a snapshot, as a cold pull would, and checks every chunk of the
 * index against its SHA-256, writing nothing: what a pull of the snapshot would find damaged or
 * missing, found ahead of it. Each pack is read on its own, several at once, so that one damaged
 * pack is reported with the files that need it and does not stop the check of the others.
 *
 * <p>What is checked is what a pull uses: the frames that hold the index's chunks (a pack's trailer,
 * which no pull reads, is not).
 */
public final class SnapshotCheck {
  /** A pack the check could not read, or whose bytes do not match the index. */
  public record DamagedPack(Digest digest, long size, String problem, long files, List<String> examples) {
    public DamagedPack {
      examples = List.copyOf(examples);
    }
  }

  /** What the check read: packs, frames and chunks checked, bytes read, and the packs it found damaged. */
  public record Report(int packs, long frames, long chunks, long bytesRead, List<DamagedPack> damaged) {
    public Report {
      damaged = List.copyOf(damaged);
    }
  }

  /** How many paths of the files that need a damaged pack a report names. */
  static final int EXAMPLES = 5;

  private final BlobSource blobs;
  private final SnapshotIndex index;
  private final int threads;
  /** For each frame, the chunks the index keeps in it (null: none). */
  private final int[][] chunksOfFrame;
  /** For each pack, its frames that hold chunks, in index order (null: none). */
  private final List<List<Integer>> framesOfPack;
  private java.util.function.LongConsumer onRead = n -> { };

  public SnapshotCheck(BlobSource blobs, SnapshotIndex index, int threads) {
    this.blobs = blobs;
    this.index = index;
    this.threads = Math.max(1, threads);
    int[] counts = new int[index.frames().size()];
    for (int c = 0; c < index.chunkCount(); c++) {
      counts[index.chunkFrame(c)]++;
    }
    chunksOfFrame = new int[counts.length][];
    for (int c = 0; c < index.chunkCount(); c++) {
      int f = index.chunkFrame(c);
      if (chunksOfFrame[f] == null) {
        chunksOfFrame[f] = new int[counts[f]];
        counts[f] = 0;
      }
      chunksOfFrame[f][counts[f]++] = c;
    }
    framesOfPack = new ArrayList<>(Collections.nCopies(index.packs().size(), null));
    for (int f = 0; f < chunksOfFrame.length; f++) {
      if (chunksOfFrame[f] != null) {
        int p = index.frames().get(f).pack();
        if (framesOfPack.get(p) == null) {
          framesOfPack.set(p, new ArrayList<>());
        }
        framesOfPack.get(p).add(f);
      }
    }
  }

  /** The bytes {@link #check} reads from the store: the spans of the packs' frames, as a cold pull reads them. */
  public long bytesToRead() {
    long bytes = 0;
    for (int p = 0; p < framesOfPack.size(); p++) {
      List<Integer> frames = framesOfPack.get(p);
      if (frames != null) {
        List<Integer> sorted = new ArrayList<>(frames);
        sorted.sort(java.util.Comparator.comparingLong(f -> index.frames().get(f).offset()));
        for (FrameReader.Span span : FrameReader.plan(index, sorted, index.packs().get(p).size())) {
          bytes += span.end() - span.start();
        }
      }
    }
    return bytes;
  }

  /** Tells {@code onRead} of the bytes read from the store as they come in, from the reading threads. */
  public SnapshotCheck reportingTo(java.util.function.LongConsumer onRead) {
    this.onRead = onRead;
    return this;
  }

  /**
   * Reads and checks every pack. A pack that is missing, cut short, does not decode or holds a chunk
   * that does not match is in the report's {@code damaged}; anything else (the store unreachable, an
   * interrupt) fails the check, since it says nothing of the snapshot.
   *
   * @param where names the snapshot in messages
   */
  public Report check(String where) throws IOException {
    AtomicLong bytesRead = new AtomicLong();
    AtomicLong frames = new AtomicLong();
    AtomicLong chunks = new AtomicLong();
    List<DamagedPack> damaged = Collections.synchronizedList(new ArrayList<>());
    ExecutorService pool = Workers.pool("cachemount-verify", Math.min(threads, Math.max(1, index.packs().size())));
    try {
      List<Future<?>> reads = new ArrayList<>();
      for (int p = 0; p < index.packs().size(); p++) {
        int pack = p;
        if (framesOfPack.get(pack) != null) {
          reads.add(pool.submit(() -> {
            checkPack(pack, where, bytesRead, frames, chunks).ifPresent(damaged::add);
            return null;
          }));
        }
      }
      for (Future<?> read : reads) {
        Workers.await(read, "checking the snapshot's packs");
      }
    } finally {
      Workers.stop(pool);
    }
    List<DamagedPack> sorted = new ArrayList<>(damaged);
    sorted.sort((a, b) -> a.digest().toString().compareTo(b.digest().toString()));
    return new Report(index.packs().size(), frames.get(), chunks.get(), bytesRead.get(), sorted);
  }

  private java.util.Optional<DamagedPack> checkPack(int pack, String where, AtomicLong bytesRead, AtomicLong frames, AtomicLong chunks)
      throws IOException {
    List<Integer> needed = framesOfPack.get(pack);
    FrameReader.Needs needs = new FrameReader.Needs() {
      @Override
      public List<Integer> frames(int p) {
        return p == pack ? needed : null;
      }

      @Override
      public int[] chunks(int frame) {
        return chunksOfFrame[frame];
      }
    };
    try {
      bytesRead.addAndGet(new FrameReader(blobs, index, 1, onRead).read(needs, decoded -> {
        frames.incrementAndGet();
        chunks.addAndGet(chunksOfFrame[decoded.frame()].length);
      }, where));
      return java.util.Optional.empty();
    } catch (CachemountException e) {
      if (e.kind() != FailureKind.INTEGRITY) {
        throw e;
      }
      return java.util.Optional.of(damaged(pack, e.getMessage()));
    }
  }

  /** The damaged pack {@code pack}, with how many files need a chunk of it and the first few of their paths. */
  private DamagedPack damaged(int pack, String problem) {
    long files = 0;
    List<String> examples = new ArrayList<>();
    for (Entry e : index.entries()) {
      if (e.type() != EntryType.FILE) {
        continue;
      }
      for (int c = 0; c < e.chunkCount(); c++) {
        if (index.frames().get(index.chunkFrame(e.chunk(c))).pack() == pack) {
          files++;
          if (examples.size() < EXAMPLES) {
            examples.add(SnapshotIndex.printable(e.path()));
          }
          break;
        }
      }
    }
    SnapshotIndex.PackRef ref = index.packs().get(pack);
    return new DamagedPack(ref.digest(), ref.size(), problem, files, examples);
  }
}
