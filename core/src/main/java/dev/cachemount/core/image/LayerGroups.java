package dev.cachemount.core.image;

import dev.cachemount.core.blob.Digest;
import dev.cachemount.core.index.Entry;
import dev.cachemount.core.index.EntryPaths;
import dev.cachemount.core.index.EntryType;
import dev.cachemount.core.index.SnapshotIndex;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Cuts a snapshot's entries, in the index's order, into the groups that become the layers of its
 * image view. Where a group ends depends on the paths and sizes near the cut only, not on the whole
 * tree: after a file, once the group holds at least half the target size, a group ends with a
 * probability of the file's size over half the target, drawn from a hash of its path. Groups thus
 * average the target size whatever the files' sizes, and a change to a few files changes the groups
 * that hold them (and, at most, the next one or two, until the cuts fall in step again); every other
 * group, and so its layer, stays the same and is reused.
 *
 * <p>The target is a power of two, at least {@link #MIN_TARGET}, chosen so that a tree makes 8 to 16
 * groups on average; it changes only when the tree's size crosses a power of two. No tree makes more
 * than {@link #MAX_GROUPS}: an overlay file system mounts every layer, and some builders fail at a
 * few dozen.
 */
public final class LayerGroups {
  /** The smallest average group: below it, a small cache would be cut into needlessly many layers. */
  public static final long MIN_TARGET = 8L << 20;
  /** The most groups of one tree; the last takes whatever remains. */
  public static final int MAX_GROUPS = 40;

  /** One layer's entries, and what identifies them: the key is equal exactly when their tar is. */
  public record Group(List<Entry> entries, String key, long bytes) {
    public Group {
      entries = List.copyOf(entries);
    }
  }

  private LayerGroups() {}

  /** The average group size for a tree of {@code totalBytes}. */
  public static long target(long totalBytes) {
    long wanted = Math.max(MIN_TARGET, (totalBytes + 15) / 16);
    return Long.highestOneBit(wanted) == wanted ? wanted : Long.highestOneBit(wanted) << 1;
  }

  /**
   * The groups of the index's entries. A directory that an earlier group holds is named again by the
   * last group that makes an entry in it (see {@link #nameAgain}), so that, the layers extracted in
   * order, every directory has the mode and time the snapshot gives it.
   */
  public static List<Group> of(SnapshotIndex index) {
    return of(index, target(index.totalBytes()));
  }

  /** As {@link #of(SnapshotIndex)}, with groups of {@code target} bytes on average. */
  static List<Group> of(SnapshotIndex index, long target) {
    return of(index, target, LayerCompression.ZSTD);
  }

  /**
   * As {@link #of(SnapshotIndex, long)}, for layers compressed with {@code compression}: its name is
   * part of each group's key, so that a view written with another keeps none of its layers.
   */
  static List<Group> of(SnapshotIndex index, long target, LayerCompression compression) {
    List<Entry> entries = index.entries().stream().filter(e -> !whiteout(e.path())).toList();
    long half = target / 2;
    List<List<Entry>> cut = new ArrayList<>();
    List<Long> sizes = new ArrayList<>();
    List<Entry> current = new ArrayList<>();
    long bytes = 0;
    for (int i = 0; i < entries.size(); i++) {
      Entry e = entries.get(i);
      current.add(e);
      bytes += e.size();
      boolean last = i == entries.size() - 1;
      if (!last && cut.size() < MAX_GROUPS - 1 && e.type() == EntryType.FILE && bytes >= half && cuts(e, half)) {
        cut.add(current);
        sizes.add(bytes);
        current = new ArrayList<>();
        bytes = 0;
      }
    }
    if (!current.isEmpty()) {
      cut.add(current);
      sizes.add(bytes);
    }
    List<List<Entry>> named = nameAgain(cut);
    List<Group> groups = new ArrayList<>();
    for (int g = 0; g < named.size(); g++) {
      groups.add(group(named.get(g), index, sizes.get(g), compression));
    }
    return groups;
  }

  /**
   * The groups with, before an entry, the directory it is in, where an earlier group holds that
   * directory and this group is the last that makes an entry in it. Extracting an entry changes the
   * time of the directory it is in (and of no other: those further up exist already), so the last
   * layer that makes one there must set it back; the layers before it need not, and do not: a
   * directory near the root (Maven's {@code org}), named again by every group below it, would change
   * every layer when a new entry there (a new group id) changes its time. Named by the last group
   * only, a change to it rewrites that group and the one that holds the new entry. Before that
   * entry, not at the group's start: in index order a directory's entries need not follow it directly
   * ({@code a}, {@code a-b}, {@code a/c}: {@code a-b} sorts between).
   */
  private static List<List<Entry>> nameAgain(List<List<Entry>> cut) {
    Map<String, Entry> directories = new HashMap<>();
    Map<String, Integer> holder = new HashMap<>();
    Map<String, Integer> lastWriter = new HashMap<>();
    for (int g = 0; g < cut.size(); g++) {
      for (Entry e : cut.get(g)) {
        if (e.type() == EntryType.DIRECTORY) {
          directories.put(e.path(), e);
          holder.put(e.path(), g);
        }
        String parent = EntryPaths.parent(e.path());
        if (parent != null && !parent.isEmpty()) {
          lastWriter.put(parent, g);
        }
      }
    }
    List<List<Entry>> named = new ArrayList<>();
    for (int g = 0; g < cut.size(); g++) {
      List<Entry> with = new ArrayList<>();
      Set<String> again = new HashSet<>();
      for (Entry e : cut.get(g)) {
        String parent = EntryPaths.parent(e.path());
        Integer held = parent == null ? null : holder.get(parent);
        if (held != null && held != g && lastWriter.get(parent) == g && again.add(parent)) {
          with.add(directories.get(parent));
        }
        with.add(e);
      }
      named.add(with);
    }
    return named;
  }

  /**
   * The entries left out of every group: those with a name, or below a directory with a name, that
   * starts with {@code .wh.}, which image tools read as a deletion (a whiteout; {@code .wh..wh..opq}
   * hides a whole directory of the layers below), not as a file.
   */
  public static List<String> leftOut(SnapshotIndex index) {
    return index.entries().stream().map(Entry::path).filter(LayerGroups::whiteout).toList();
  }

  static boolean whiteout(String path) {
    return path.startsWith(WHITEOUT) || path.contains("/" + WHITEOUT);
  }

  private static final String WHITEOUT = ".wh.";

  /** Whether a group ends after this file: with probability size / half, from its path's hash. */
  private static boolean cuts(Entry file, long half) {
    if (file.size() >= half) {
      return true;
    }
    byte[] h = sha256(file.path().getBytes(StandardCharsets.UTF_8));
    double draw = (ByteBuffer.wrap(h).getLong() >>> 11) * 0x1.0p-53;
    return draw < (double) file.size() / half;
  }

  private static Group group(List<Entry> entries, SnapshotIndex index, long bytes, LayerCompression compression) {
    MessageDigest md = Digest.newMessageDigest();
    field(md, compression.format());
    ByteBuffer number = ByteBuffer.allocate(8);
    for (Entry e : entries) {
      field(md, e.type().name());
      field(md, e.path());
      field(md, Integer.toString(e.mode() & 07777));
      // The time as the tar holds it, cut to 100 ns (LayerTar): a tree seeded from the view has its times
      // so, and its next snapshot's groups must keep the view's layers, whose tars they equal.
      field(md, e.size() + "." + e.mtimeSeconds() + "." + (e.mtimeNanos() / 100 * 100));
      field(md, e.linkTarget() == null ? "" : e.linkTarget());
      number.clear();
      md.update(number.putLong(e.chunkCount()).flip());
      byte[] raw = new byte[Digest.LENGTH];
      for (int c = 0; c < e.chunkCount(); c++) {
        index.copyChunkDigest(e.chunk(c), raw, 0);
        md.update(raw);
      }
    }
    return new Group(entries, Digest.finish(md).toString(), bytes);
  }

  private static void field(MessageDigest md, String s) {
    byte[] b = s.getBytes(StandardCharsets.UTF_8);
    md.update(ByteBuffer.allocate(4).putInt(b.length).flip());
    md.update(b);
  }

  private static byte[] sha256(byte[] data) {
    MessageDigest md = Digest.newMessageDigest();
    return md.digest(data);
  }
}
