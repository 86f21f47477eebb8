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
   * The groups of the index's entries. Each group holds, before an entry, the directories above it
   * that an earlier group holds, so that its tar names every directory it writes into with the mode
   * and time the snapshot gives it.
   */
  public static List<Group> of(SnapshotIndex index) {
    return of(index, target(index.totalBytes()));
  }

  /** As {@link #of(SnapshotIndex)}, with groups of {@code target} bytes on average. */
  static List<Group> of(SnapshotIndex index, long target) {
    List<Entry> entries = index.entries().stream().filter(e -> !whiteout(e.path())).toList();
    long half = target / 2;
    Map<String, Entry> directories = new HashMap<>();
    List<Group> groups = new ArrayList<>();
    List<Entry> current = new ArrayList<>();
    Set<String> inCurrent = new HashSet<>();
    long bytes = 0;
    for (int i = 0; i < entries.size(); i++) {
      Entry e = entries.get(i);
      addAncestors(e.path(), directories, inCurrent, current);
      current.add(e);
      if (e.type() == EntryType.DIRECTORY) {
        directories.put(e.path(), e);
        inCurrent.add(e.path());
      }
      bytes += e.size();
      boolean last = i == entries.size() - 1;
      if (!last && groups.size() < MAX_GROUPS - 1 && e.type() == EntryType.FILE && bytes >= half && cuts(e, half)) {
        groups.add(group(current, index, bytes));
        current = new ArrayList<>();
        inCurrent.clear();
        bytes = 0;
      }
    }
    if (!current.isEmpty()) {
      groups.add(group(current, index, bytes));
    }
    return groups;
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

  /**
   * Adds to the group the directories above {@code path} that an earlier group holds and this one
   * does not yet. Not only for a group's first entry: in index order a directory's entries need not
   * follow it directly ({@code a}, {@code a-b}, {@code a/c}: {@code a-b} sorts between), so a group
   * that starts at {@code a-b} goes on into {@code a}, which extracting it would otherwise create
   * entries in without resetting its time. A directory in the group has all of its own above it there
   * too, so the walk stops at the first one found.
   */
  private static void addAncestors(String path, Map<String, Entry> directories, Set<String> inGroup, List<Entry> into) {
    List<Entry> above = new ArrayList<>();
    for (String p = EntryPaths.parent(path); p != null && !p.isEmpty() && !inGroup.contains(p); p = EntryPaths.parent(p)) {
      Entry d = directories.get(p);
      if (d != null) {
        above.add(0, d);
      }
    }
    for (Entry d : above) {
      into.add(d);
      inGroup.add(d.path());
    }
  }

  private static Group group(List<Entry> entries, SnapshotIndex index, long bytes) {
    MessageDigest md = Digest.newMessageDigest();
    field(md, LayerTar.FORMAT);
    ByteBuffer number = ByteBuffer.allocate(8);
    for (Entry e : entries) {
      field(md, e.type().name());
      field(md, e.path());
      field(md, Integer.toString(e.mode() & 07777));
      field(md, e.size() + "." + e.mtimeSeconds() + "." + e.mtimeNanos());
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
