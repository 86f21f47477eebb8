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
   * A chunk of an earlier snapshot, and the first place in this tree where it occurs; {@code file}
   * is -1 when that place is a file taken from the parent, which is not on disk to read again.
   */
  record Found(int source, int chunk, int file, long offset, int length) {
    boolean readable() {
      return file >= 0;
    }
  }

  private final List<ReuseSource> sources;
  private final Map<String, Entry> parentFiles;
  private final Instant parentTrustedBefore;
  private final java.util.Set<String> forced;
  private final ConcurrentHashMap<Digest, Found> found = new ConcurrentHashMap<>();

  /**
   * @param sources the parent first, when there is one ({@code parentFirst}), then the others
   * @param forced files to take from the parent whatever their time (a merge's files the directory lacks)
   */
  ChunkReuse(List<ReuseSource> sources, boolean parentFirst, java.util.Set<String> forced) {
    this.sources = List.copyOf(sources);
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
      int chunk = sources.get(s).snapshot().index().findChunk(digest);
      if (chunk >= 0) {
        found.put(digest, new Found(s, chunk, file, offset, length));
        return true;
      }
    }
    return false;
  }

  /**
   * Notes chunk {@code chunk} of the parent, which a file taken from the parent uses, with where this
   * tree has it: {@link #find} without the search, for a chunk whose number in the parent is known.
   */
  void foundInParent(Digest digest, int chunk, int file, long offset, int length) {
    found.put(digest, new Found(0, chunk, file, offset, length));
  }

  /** What {@link #plan} decided: packs kept, and chunks to pack anew from the tree. */
  record Plan(List<KeptPack> kept, List<Map.Entry<Digest, Found>> repack) {}

  /** An earlier pack kept, with the chunks of it this snapshot uses. */
  record KeptPack(ReusedPack pack, int source, List<Map.Entry<Digest, Found>> chunks) {}

  /**
   * Groups the found chunks by earlier pack and keeps a pack when its used frames hold at least
   * {@code keepAtLeast} of its bytes.
   */
  Plan plan(double keepAtLeast) {
    List<KeptPack> kept = new ArrayList<>();
    List<Map.Entry<Digest, Found>> repack = new ArrayList<>();
    java.util.Set<Digest> keptDigests = new java.util.HashSet<>();
    for (List<Map.Entry<Digest, Found>> chunks : byPack(found.entrySet())) {
      KeptPack candidate = asKept(chunks);
      ReusedPack pack = candidate.pack();
      // The same pack may be reached through two sources (a parent that reused a from= pack): keep it once.
      // Chunks of files taken from the parent exist only there: their packs are kept whatever their use.
      boolean unreadable = chunks.stream().anyMatch(c -> !c.getValue().readable());
      if (unreadable || pack.liveBytes() >= keepAtLeast * pack.size() || keptDigests.contains(pack.digest())) {
        keptDigests.add(pack.digest());
        kept.add(candidate);
      } else {
        repack.addAll(chunks);
      }
    }
    return new Plan(kept, repack);
  }

  /** Keeps the earlier packs of {@code chunks}, however little of them is used. */
  List<KeptPack> keepAll(List<Map.Entry<Digest, Found>> chunks) {
    List<KeptPack> kept = new ArrayList<>();
    for (List<Map.Entry<Digest, Found>> group : byPack(chunks)) {
      kept.add(asKept(group));
    }
    return kept;
  }

  /** Found chunks grouped by the earlier pack that holds them. */
  private java.util.Collection<List<Map.Entry<Digest, Found>>> byPack(java.util.Collection<Map.Entry<Digest, Found>> chunks) {
    Map<Long, List<Map.Entry<Digest, Found>>> byPack = new LinkedHashMap<>();
    for (Map.Entry<Digest, Found> f : chunks) {
      SnapshotIndex index = sources.get(f.getValue().source()).snapshot().index();
      int pack = index.frames().get(index.chunkFrame(f.getValue().chunk())).pack();
      byPack.computeIfAbsent(((long) f.getValue().source() << 32) | pack, k -> new ArrayList<>()).add(f);
    }
    return byPack.values();
  }

  /** One pack's found chunks as a kept pack, with the stored bytes of the frames they use. */
  private KeptPack asKept(List<Map.Entry<Digest, Found>> group) {
    int source = group.get(0).getValue().source();
    SnapshotIndex index = sources.get(source).snapshot().index();
    java.util.BitSet frames = new java.util.BitSet();
    long live = 0;
    for (Map.Entry<Digest, Found> c : group) {
      int frame = index.chunkFrame(c.getValue().chunk());
      if (!frames.get(frame)) {
        frames.set(frame);
        live += index.frames().get(frame).storedLength();
      }
    }
    SnapshotIndex.PackRef ref = index.packs().get(index.frames().get(index.chunkFrame(group.get(0).getValue().chunk())).pack());
    ReuseSource from = sources.get(source);
    return new KeptPack(new ReusedPack(ref.digest(), ref.size(), from.repository(), live, from.packsPresent()), source, group);
  }

  ReuseSource source(int i) {
    return sources.get(i);
  }
}
