package dev.cachemount.core.snapshot;

import dev.cachemount.core.blob.Digest;
import dev.cachemount.core.index.Entry;
import dev.cachemount.core.index.SnapshotIndex;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicIntegerArray;
import java.util.concurrent.atomic.AtomicReferenceArray;

/**
 * What a push takes from earlier snapshots instead of packing again. Workers ask {@link #find} for
 * each chunk no worker has seen yet: a chunk an earlier snapshot holds is noted, with where in this
 * tree it was found, and not packed. After the workers, {@link #plan} decides per earlier pack: kept
 * whole when enough of it is used (at least the compaction threshold of its bytes), otherwise its used
 * chunks are packed anew (read again from the tree), so that stored garbage stays bounded however many
 * pushes follow.
 *
 * <p>The parent also vouches for unchanged files: one whose size and modification time equal the
 * parent's entry, and whose time is older than the parent's scan by more than {@link #RACY_SECONDS}
 * (as git's index does), takes the parent's chunk list without being read.
 */
final class ChunkReuse {
  /** Files modified this close to the parent's scan may have changed within the same tick: read them. */
  static final long RACY_SECONDS = 2;
  /**
   * Packs smaller than this are kept whatever their use: their trailer alone can be half of them (a
   * large file of zeros packs into one tiny frame), so packing their chunks anew would make the
   * same pack again, and their garbage is a few KiB at most.
   */
  static final long SMALL_PACK = 64 << 10;

  /**
   * A chunk of an earlier snapshot, and the first place in this tree where it occurs: the file's number,
   * or {@link #notOnDisk} of it when that file is taken from the parent and is not on disk to read
   * again (the directory lacks it, or could not read it whole).
   */
  record Found(int source, int chunk, int file, long offset, int length) {
    boolean readable() {
      return file >= 0;
    }

    /** The number of the file where this tree has the chunk first, on disk or not. */
    int fileNumber() {
      return file >= 0 ? file : -file - 1;
    }
  }

  /** How {@link #foundInParent} is told that file {@code number} is the parent's, not on disk to read again. */
  static int notOnDisk(int number) {
    return -number - 1;
  }

  private final List<ReuseSource> sources;
  private final Map<String, Entry> parentFiles;
  private final Instant parentTrustedBefore;
  private final java.util.Set<String> forced;
  private final boolean union;
  /** Chunks found in sources other than the parent, by digest. */
  private final ConcurrentHashMap<Digest, Found> found = new ConcurrentHashMap<>();
  /**
   * The parent's chunks this tree uses, by their number in the parent: the file where the tree has it
   * first (-1: a file taken from the parent), or {@link #UNUSED}; and the offset in that file. Arrays,
   * not objects per chunk: a 10 GB cache has millions of chunks, nearly all of them the parent's.
   */
  private final AtomicIntegerArray parentFile;
  /** For each source, what showed that its index lies, or null. */
  private final AtomicReferenceArray<String> damage;
  private final long[] parentOffset;
  private static final int UNUSED = Integer.MIN_VALUE;

  /**
   * @param sources the parent first, when there is one ({@code parentFirst}), then the others
   * @param forced files to take from the parent whatever their time (a merge's files the directory lacks)
   */
  ChunkReuse(List<ReuseSource> sources, boolean parentFirst, java.util.Set<String> forced) {
    this(sources, parentFirst, forced, false);
  }

  /** @param union a merge's: the parent's version stands in for a file of the directory that cannot be read ({@link #standIn}) */
  ChunkReuse(List<ReuseSource> sources, boolean parentFirst, java.util.Set<String> forced, boolean union) {
    this.union = union;
    this.sources = List.copyOf(sources);
    this.damage = new AtomicReferenceArray<>(sources.size());
    this.forced = java.util.Set.copyOf(forced);
    if (!forced.isEmpty() && !parentFirst) {
      throw new IllegalArgumentException("files can be taken from the parent only when there is one");
    }
    Map<String, Entry> files = new HashMap<>();
    Instant trusted = Instant.MIN;
    if (parentFirst && !sources.isEmpty()) {
      LoadedSnapshot parent = sources.get(0).snapshot();
      for (Entry e : parent.index().entries()) {
        if (e.type() == dev.cachemount.core.index.EntryType.FILE) {
          files.put(e.path(), e);
        }
      }
      trusted = Instant.parse(parent.config().created()).minusSeconds(RACY_SECONDS);
      int chunks = parent.index().chunkCount();
      this.parentFile = new AtomicIntegerArray(chunks);
      for (int c = 0; c < chunks; c++) {
        parentFile.lazySet(c, UNUSED);
      }
      this.parentOffset = new long[chunks];
    } else {
      this.parentFile = null;
      this.parentOffset = null;
    }
    this.parentFiles = files;
    this.parentTrustedBefore = trusted;
  }

  static ChunkReuse none() {
    return new ChunkReuse(List.of(), false, java.util.Set.of());
  }

  boolean isEmpty() {
    return sources.isEmpty();
  }

  /** Whether source 0 is the parent, whose chunks are tracked by number. */
  boolean hasParent() {
    return parentFile != null;
  }

  /** The parent's entry for a file it vouches for unread: same size and time, older than the racy window. */
  Optional<Entry> unchangedInParent(ScannedEntry file) {
    Entry e = parentFiles.get(file.path());
    if (e != null && isForced(file.path())) {
      return Optional.of(e);
    }
    if (e == null || e.size() != file.size() || e.mtimeSeconds() != file.mtimeSeconds() || e.mtimeNanos() != file.mtimeNanos()) {
      return Optional.empty();
    }
    Instant modified = Instant.ofEpochSecond(file.mtimeSeconds(), file.mtimeNanos());
    return modified.isBefore(parentTrustedBefore) ? Optional.of(e) : Optional.empty();
  }

  /**
   * A merge's stand-in for a file of the directory that could not be read whole (it vanished, or a tool
   * kept writing it): the parent's version, as for a file the directory lacks; empty otherwise.
   */
  Optional<Entry> standIn(String path) {
    return union ? Optional.ofNullable(parentFiles.get(path)) : Optional.empty();
  }

  /** Whether the file comes from the parent, not from the directory. */
  boolean isForced(String path) {
    return forced.contains(path);
  }

  SnapshotIndex parentIndex() {
    return sources.get(0).snapshot().index();
  }

  /**
   * Whether an earlier snapshot holds the chunk; if so notes it (once) with where this tree has it.
   * Called for chunks that no worker has seen before, so each digest at most once.
   */
  boolean find(Digest digest, int file, long offset, int length) {
    for (int s = 0; s < sources.size(); s++) {
      SnapshotIndex index = sources.get(s).snapshot().index();
      int chunk = index.findChunk(digest);
      if (chunk >= 0 && index.chunkLength(chunk) != length) {
        // The same SHA-256 with another length: the snapshot's index lies (it decoded, so it lies
        // consistently, its file sizes adjusted). Taken from it, the chunk would make the new
        // snapshot lie too; it is packed anew instead.
        damage.compareAndSet(s, null, "records chunk " + digest + " as " + index.chunkLength(chunk) + " bytes long, but the bytes"
            + " with that digest are " + length);
        continue;
      }
      if (chunk >= 0) {
        if (s == 0 && hasParent()) {
          foundInParent(chunk, file, offset);
        } else {
          found.put(digest, new Found(s, chunk, file, offset, length));
        }
        return true;
      }
    }
    return false;
  }

  /**
   * The earlier snapshots found to lie about a chunk's length, each with what showed it: their
   * chunks that did not match were packed anew, not taken from them.
   */
  Map<String, String> damaged() {
    Map<String, String> found = new LinkedHashMap<>();
    for (int s = 0; s < sources.size(); s++) {
      if (damage.get(s) != null) {
        found.put(sources.get(s).name(), damage.get(s));
      }
    }
    return found;
  }

  /**
   * Notes chunk {@code chunk} of the parent with where this tree has it, unless it was noted before
   * (the first place found stays). Thread-safe; no digest is needed.
   */
  void foundInParent(int chunk, int file, long offset) {
    if (parentFile.compareAndSet(chunk, UNUSED, file)) {
      parentOffset[chunk] = offset; // read after the workers are joined
    }
  }

  /**
   * Forgets the chunks found only in reads that were thrown away (a file that changed while it was
   * read, read again): kept, their packs would be referenced for chunks no file uses, or compaction
   * would read them at places that no longer hold them. {@code parentChunks}: the parent's chunks of
   * files it vouched for unread.
   */
  void retainUsed(java.util.Set<Digest> digests, java.util.BitSet parentChunks) {
    found.keySet().removeIf(d -> !digests.contains(d));
    if (parentFile != null) {
      SnapshotIndex index = parentIndex();
      for (int c = 0; c < parentFile.length(); c++) {
        if (parentFile.get(c) != UNUSED && !parentChunks.get(c) && !digests.contains(index.chunkDigest(c))) {
          parentFile.set(c, UNUSED);
        }
      }
    }
  }

  /** What {@link #plan} decided: packs kept, and chunks to pack anew from the tree. */
  record Plan(List<KeptPack> kept, List<Map.Entry<Digest, Found>> repack) {}

  /** An earlier pack kept, with the chunks of it this snapshot uses: their numbers in the source's index. */
  record KeptPack(ReusedPack pack, int source, int[] chunks) {}

  /**
   * Groups the found chunks by earlier pack and keeps a pack when its used frames hold at least
   * {@code keepAtLeast} of its bytes. The parent's packs come first, in its order. With
   * {@code storedReadable} (the push can read the parent's packs) a pack holding chunks of files not
   * on disk is judged so too, those chunks to be read from it; without, it is kept whatever its use.
   *
   * <p>One pack may be reached through two sources: a parent that kept a {@code from=} snapshot's
   * pack, and that snapshot itself. It is judged once, on the frames used through any of them, and
   * either kept for all of them or packed anew for all of them: judged apart, a pack kept for one
   * source would also hold the chunks packed anew for the other (stored twice), and two shares each
   * under the threshold would have it packed anew though together they are over it.
   */
  Plan plan(double keepAtLeast, boolean storedReadable) {
    List<Group> groups = groups(parentChunks(), found.values());
    List<KeptPack> candidates = new ArrayList<>(groups.size());
    Map<Digest, Integer> reached = new HashMap<>();
    for (Group g : groups) {
      KeptPack candidate = asKept(g.source(), g.chunks());
      candidates.add(candidate);
      reached.merge(candidate.pack().digest(), 1, Integer::sum);
    }
    Map<Digest, Boolean> keep = new HashMap<>();
    Map<Digest, SharedUse> shared = new HashMap<>();
    for (int i = 0; i < groups.size(); i++) {
      Group g = groups.get(i);
      ReusedPack pack = candidates.get(i).pack();
      if (reached.get(pack.digest()) == 1) {
        keep.put(pack.digest(), keeps(g.unreadable() && !storedReadable, pack.size(), pack.liveBytes(), keepAtLeast));
      } else {
        shared.computeIfAbsent(pack.digest(), d -> new SharedUse(pack.size())).add(g, sources.get(g.source()).snapshot().index());
      }
    }
    shared.forEach((digest, use) -> keep.put(digest, keeps(use.unreadable && !storedReadable, use.size, use.live, keepAtLeast)));
    List<KeptPack> kept = new ArrayList<>();
    List<Map.Entry<Digest, Found>> repack = new ArrayList<>();
    for (int i = 0; i < groups.size(); i++) {
      Group g = groups.get(i);
      KeptPack candidate = candidates.get(i);
      if (keep.get(candidate.pack().digest())) {
        kept.add(candidate);
      } else {
        SnapshotIndex index = sources.get(g.source()).snapshot().index();
        for (int chunk : g.chunks()) {
          repack.add(Map.entry(index.chunkDigest(chunk), found(g.source(), chunk, index)));
        }
      }
    }
    return new Plan(kept, repack);
  }

  /**
   * Whether an earlier pack is referenced again: when one of its used chunks can be read neither from
   * the tree nor from the pack, when it is small, or when at least {@code keepAtLeast} of its bytes are used.
   */
  private static boolean keeps(boolean unreadable, long size, long live, double keepAtLeast) {
    return unreadable || size < SMALL_PACK || live >= keepAtLeast * size;
  }

  /** A pack reached through several sources: the frames used through any of them, by offset in the pack. */
  private static final class SharedUse {
    private final long size;
    private final java.util.Set<Long> frames = new java.util.HashSet<>();
    private long live;
    private boolean unreadable;

    SharedUse(long size) {
      this.size = size;
    }

    void add(Group g, SnapshotIndex index) {
      unreadable |= g.unreadable();
      for (int c : g.chunks()) {
        SnapshotIndex.Frame f = index.frames().get(index.chunkFrame(c));
        if (frames.add(f.offset())) {
          live += f.storedLength();
        }
      }
    }
  }

  /** Keeps the earlier packs of {@code chunks}, however little of them is used. */
  List<KeptPack> keepAll(List<Map.Entry<Digest, Found>> chunks) {
    List<Found> list = new ArrayList<>(chunks.size());
    for (Map.Entry<Digest, Found> c : chunks) {
      list.add(c.getValue());
    }
    List<KeptPack> kept = new ArrayList<>();
    for (Group g : groups(new int[0], list)) {
      kept.add(asKept(g.source(), g.chunks()));
    }
    return kept;
  }

  /** The parent's used chunks, in number order (so each pack's chunks in digest order). */
  private int[] parentChunks() {
    if (parentFile == null) {
      return new int[0];
    }
    int n = 0;
    for (int c = 0; c < parentFile.length(); c++) {
      if (parentFile.get(c) != UNUSED) {
        n++;
      }
    }
    int[] used = new int[n];
    for (int c = 0, i = 0; c < parentFile.length(); c++) {
      if (parentFile.get(c) != UNUSED) {
        used[i++] = c;
      }
    }
    return used;
  }

  /** The chunks of one earlier pack, by number in {@code source}'s index; {@code unreadable}: one is not on disk. */
  private record Group(int source, int pack, int[] chunks, boolean unreadable) {}

  /** Used chunks grouped by the earlier pack that holds them: the parent's packs first, then the others'. */
  private List<Group> groups(int[] parentChunks, java.util.Collection<Found> others) {
    List<Group> groups = new ArrayList<>();
    if (parentChunks.length > 0) {
      SnapshotIndex index = parentIndex();
      int packs = index.packs().size();
      int[] count = new int[packs];
      boolean[] unreadable = new boolean[packs];
      for (int c : parentChunks) {
        int pack = index.frames().get(index.chunkFrame(c)).pack();
        count[pack]++;
        unreadable[pack] |= parentFile.get(c) < 0;
      }
      int[][] byPack = new int[packs][];
      int[] filled = new int[packs];
      for (int p = 0; p < packs; p++) {
        byPack[p] = new int[count[p]];
      }
      for (int c : parentChunks) {
        int pack = index.frames().get(index.chunkFrame(c)).pack();
        byPack[pack][filled[pack]++] = c;
      }
      for (int p = 0; p < packs; p++) {
        if (count[p] > 0) {
          groups.add(new Group(0, p, byPack[p], unreadable[p]));
        }
      }
    }
    Map<Long, List<Found>> byPack = new LinkedHashMap<>();
    for (Found f : others) {
      SnapshotIndex index = sources.get(f.source()).snapshot().index();
      int pack = index.frames().get(index.chunkFrame(f.chunk())).pack();
      byPack.computeIfAbsent(((long) f.source() << 32) | pack, k -> new ArrayList<>()).add(f);
    }
    for (Map.Entry<Long, List<Found>> e : byPack.entrySet()) {
      List<Found> list = e.getValue();
      int[] chunks = new int[list.size()];
      boolean unreadable = false;
      for (int i = 0; i < chunks.length; i++) {
        chunks[i] = list.get(i).chunk();
        unreadable |= !list.get(i).readable();
      }
      groups.add(new Group((int) (e.getKey() >>> 32), (int) (long) e.getKey(), chunks, unreadable));
    }
    return groups;
  }

  /** Where this tree has chunk {@code chunk} of {@code source}. */
  private Found found(int source, int chunk, SnapshotIndex index) {
    if (source == 0 && hasParent()) {
      return new Found(0, chunk, parentFile.get(chunk), parentOffset[chunk], index.chunkLength(chunk));
    }
    return found.get(index.chunkDigest(chunk));
  }

  /** One pack's used chunks as a kept pack, with the stored bytes of the frames they use. */
  private KeptPack asKept(int source, int[] chunks) {
    SnapshotIndex index = sources.get(source).snapshot().index();
    java.util.BitSet frames = new java.util.BitSet();
    long live = 0;
    for (int c : chunks) {
      int frame = index.chunkFrame(c);
      if (!frames.get(frame)) {
        frames.set(frame);
        live += index.frames().get(frame).storedLength();
      }
    }
    SnapshotIndex.PackRef ref = index.packs().get(index.frames().get(index.chunkFrame(chunks[0])).pack());
    ReuseSource from = sources.get(source);
    return new KeptPack(new ReusedPack(ref.digest(), ref.size(), from.repository(), live, from.packsPresent()), source, chunks);
  }

  ReuseSource source(int i) {
    return sources.get(i);
  }
}
