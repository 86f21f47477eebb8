package dev.cachemount.core.snapshot;

import dev.cachemount.core.index.Entry;
import dev.cachemount.core.index.EntryPaths;
import dev.cachemount.core.index.EntryType;
import dev.cachemount.core.index.SnapshotIndex;
import java.nio.file.Files;
import java.nio.file.attribute.FileTime;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * What a push stores besides "exactly the directory": {@code mode=merge}, the union of the directory
 * and the stored snapshot, the newer file winning (one cache that several projects push to), and
 * {@code max-size=}, the most recently used files within a byte budget.
 */
public final class TreePolicies {
  private TreePolicies() {}

  /**
   * A tree to snapshot.
   *
   * @param entries in {@link EntryPaths#ORDER}
   * @param fromParent paths of files taken from the stored snapshot, not from the directory
   * @param union a merge's: a file of the directory that cannot be read whole (it vanished, or a tool
   *     kept writing it) keeps the stored snapshot's version, as one the directory lacks does
   */
  public record Tree(List<ScannedEntry> entries, Set<String> fromParent, boolean union) {
    public static Tree of(List<ScannedEntry> scanned) {
      return new Tree(scanned, Set.of(), false);
    }
  }

  /** What {@link #budget} left out. */
  public record Eviction(Tree kept, long files, long bytes) {}

  /**
   * The union of {@code scanned} and {@code parent}. A path in both keeps the directory's entry,
   * unless both are files and the stored one is newer; where both are directories, it takes the
   * newer of their modification times. A stored entry whose parent directory the
   * directory replaced (by a file or a link) is left out, so the union is a tree.
   */
  public static Tree merge(List<ScannedEntry> scanned, SnapshotIndex parent) {
    Map<String, ScannedEntry> local = new HashMap<>();
    for (ScannedEntry e : scanned) {
      local.put(e.path(), e);
    }
    Set<String> directories = new HashSet<>();
    for (ScannedEntry e : scanned) {
      if (e.type() == EntryType.DIRECTORY) {
        directories.add(e.path());
      }
    }
    Set<String> fromParent = new HashSet<>();
    Map<String, ScannedEntry> merged = new HashMap<>(local);
    for (Entry p : parent.entries()) {
      ScannedEntry mine = local.get(p.path());
      if (mine != null) {
        if (mine.type() == EntryType.FILE && p.type() == EntryType.FILE && newer(p, mine)) {
          merged.put(p.path(), asScanned(p));
          fromParent.add(p.path());
        } else if (mine.type() == EntryType.DIRECTORY && p.type() == EntryType.DIRECTORY && newer(p, mine)) {
          // A directory on both sides keeps the newer time, as a file does: with the pushing
          // directory's time, merges of two trees in turn would flip it and never be unchanged.
          merged.put(p.path(), new ScannedEntry(mine.path(), mine.type(), mine.mode(), mine.size(), p.mtimeSeconds(), p.mtimeNanos(), mine.linkTarget()));
        }
        continue;
      }
      String up = EntryPaths.parent(p.path());
      if (!up.isEmpty() && !directories.contains(up)) {
        continue;
      }
      merged.put(p.path(), asScanned(p));
      if (p.type() == EntryType.DIRECTORY) {
        directories.add(p.path());
      } else if (p.type() == EntryType.FILE) {
        fromParent.add(p.path());
      }
    }
    List<ScannedEntry> entries = new ArrayList<>(merged.values());
    entries.sort(Comparator.comparing(ScannedEntry::path, EntryPaths.ORDER));
    return new Tree(entries, fromParent, true);
  }

  private static boolean newer(Entry stored, ScannedEntry mine) {
    return stored.mtimeSeconds() > mine.mtimeSeconds()
        || (stored.mtimeSeconds() == mine.mtimeSeconds() && stored.mtimeNanos() > mine.mtimeNanos());
  }

  private static ScannedEntry asScanned(Entry e) {
    return new ScannedEntry(e.path(), e.type(), e.mode(), e.size(), e.mtimeSeconds(), e.mtimeNanos(), e.linkTarget());
  }

  /**
   * The most recently used files of {@code tree} whose sizes add up to at most {@code maxBytes}: the
   * files in order of last use, newest first, up to the first that does not fit (a file larger than
   * the whole budget is left out on its own); directories and links stay. A file's last use is its access time where that
   * is later than its change time (it was read since it was last written) and than its modification
   * time, else its modification time; files from the stored snapshot count by their modification time.
   */
  public static Eviction budget(Path root, Tree tree, long maxBytes) {
    long total = 0;
    List<long[]> files = new ArrayList<>(); // {position, lastUseSeconds, size}
    for (int i = 0; i < tree.entries().size(); i++) {
      ScannedEntry e = tree.entries().get(i);
      if (e.type() == EntryType.FILE) {
        total += e.size();
        files.add(new long[] {i, lastUse(root, e, tree.fromParent().contains(e.path())), e.size()});
      }
    }
    if (total <= maxBytes) {
      return new Eviction(tree, 0, 0);
    }
    files.sort(Comparator.<long[]>comparingLong(f -> -f[1]).thenComparingLong(f -> f[0]));
    Set<Integer> evicted = new HashSet<>();
    long kept = 0;
    long evictedBytes = 0;
    // Least recently used first out, as a cache evicts: once a file does not fit, it and every file
    // used before it go, even where a smaller, older one would fit the rest of the budget. What is kept
    // is then every file used since some moment, not a mix of new files and old small ones. A file
    // larger than the whole budget could never be kept: it goes on its own, and ends nothing.
    boolean full = false;
    for (long[] f : files) {
      if (!full && kept + f[2] <= maxBytes) {
        kept += f[2];
      } else {
        full |= f[2] <= maxBytes;
        evicted.add((int) f[0]);
        evictedBytes += f[2];
      }
    }
    List<ScannedEntry> entries = new ArrayList<>();
    Set<String> fromParent = new HashSet<>(tree.fromParent());
    for (int i = 0; i < tree.entries().size(); i++) {
      if (evicted.contains(i)) {
        fromParent.remove(tree.entries().get(i).path());
      } else {
        entries.add(tree.entries().get(i));
      }
    }
    return new Eviction(new Tree(entries, fromParent, tree.union()), evicted.size(), evictedBytes);
  }

  private static long lastUse(Path root, ScannedEntry e, boolean stored) {
    if (!stored) {
      try {
        // An access time counts only when it is later than the change time: the file was read since
        // it was last written, renamed or given its time. A pulled file nobody read since (the pull's
        // writes made every such file equal), and every file where reads leave no access time
        // (noatime, a lower layer of overlayfs), then counts by its modification time.
        Map<String, Object> a = Files.readAttributes(root.resolve(e.path()), "unix:lastAccessTime,ctime", LinkOption.NOFOLLOW_LINKS);
        FileTime accessed = (FileTime) a.get("lastAccessTime");
        return accessed.compareTo((FileTime) a.get("ctime")) > 0 ? Math.max(accessed.toInstant().getEpochSecond(), e.mtimeSeconds())
            : e.mtimeSeconds();
      } catch (java.io.IOException gone) {
        // Vanished since the scan: its read will say so; rank it by its time.
      }
    }
    return e.mtimeSeconds();
  }
}
