package dev.cachemount.core.snapshot;

import dev.cachemount.core.blob.Digest;
import dev.cachemount.core.index.Entry;
import dev.cachemount.core.index.EntryType;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.List;

/**
 * The SHA-256 of what a restore reproduces of a tree, apart from file content: each entry's type,
 * path, owner-executable bit and modification time, a file's size, a link's target. The same fields
 * a push compares to call a tree unchanged ({@link UnchangedCheck}), except that a link's time counts
 * to the microsecond: the JDK sets a link's time with {@code lutimes}. A snapshot's config records it ({@code treeDigest}, docs/format.md), so that a pull
 * into a directory that already holds the snapshot, and a push of a tree that has not changed, can
 * tell so from a scan, without fetching and decoding the index. Content is not part of it: like the
 * index's own comparisons, it trusts sizes and times (a push re-reads files modified too close to its
 * parent's scan; {@code verify=content} pulls never take this path).
 */
public final class TreeDigest {
  private TreeDigest() {}

  /** The digest of a snapshot's entries, in index order. */
  public static String ofIndex(List<Entry> entries) {
    MessageDigest md = Digest.newMessageDigest();
    for (Entry e : entries) {
      add(md, e.type(), e.path(), e.size(), e.mtimeSeconds(), e.mtimeNanos(), e.executable(), e.linkTarget());
    }
    return digest(md);
  }

  /** The digest of a scanned tree, in index order (as {@link TreeScanner} returns it). */
  public static String ofScan(List<ScannedEntry> entries) {
    MessageDigest md = Digest.newMessageDigest();
    for (ScannedEntry e : entries) {
      add(md, e.type(), e.path(), e.size(), e.mtimeSeconds(), e.mtimeNanos(), (e.mode() & 0100) != 0, e.linkTarget());
    }
    return digest(md);
  }

  /**
   * One entry, in UTF-8: a type letter ({@code d}, {@code f}, {@code l}), NUL, the path, NUL,
   * {@code x} or {@code -} (the owner-executable bit), a space, the modification time as
   * {@code SECONDS NANOS} ({@code SECONDS MICROS} for a link), then for a file a space and its size,
   * for a link NUL and its target; and NUL. Paths and link targets hold no NUL.
   */
  private static void add(MessageDigest md, EntryType type, String path, long size, long seconds, int nanos, boolean executable, String target) {
    String common = path + "\0" + (executable ? "x " : "- ") + seconds + " ";
    String fields = switch (type) {
      case FILE -> "f\0" + common + nanos + " " + size;
      case DIRECTORY -> "d\0" + common + nanos;
      case SYMLINK -> "l\0" + common + (nanos / 1000) + "\0" + target;
    };
    md.update((fields + "\0").getBytes(StandardCharsets.UTF_8));
  }

  private static String digest(MessageDigest md) {
    return Digest.ofRaw(md.digest()).toString();
  }
}
