package dev.cachemount.core.index;

import java.util.Arrays;
import java.util.Objects;

/**
 * One entry of a snapshot: a directory, a regular file or a symbolic link.
 *
 * @param path relative path, valid per {@link EntryPaths}
 * @param type what the entry is
 * @param mode the permission bits as scanned ({@code 0..0777}); a restore applies only the owner's
 *     executable bit, under the caller's umask
 * @param size file length in bytes; 0 for directories and symlinks
 * @param mtimeSeconds modification time, seconds since the epoch
 * @param mtimeNanos the nanoseconds within that second, {@code 0..999_999_999}
 * @param linkTarget the symlink's target as stored in the link; {@code null} for other types
 * @param chunks for a file, indexes into the snapshot's chunk table, in file order; empty otherwise
 */
public record Entry(
    String path,
    EntryType type,
    int mode,
    long size,
    long mtimeSeconds,
    int mtimeNanos,
    String linkTarget,
    int[] chunks) {

  private static final int[] NONE = new int[0];

  public Entry {
    Objects.requireNonNull(path, "path");
    Objects.requireNonNull(type, "type");
    chunks = chunks == null ? NONE : chunks;
    if ((type == EntryType.SYMLINK) != (linkTarget != null)) {
      throw new IllegalArgumentException("a link target belongs to symlinks only: " + path);
    }
  }

  public static Entry directory(String path, int mode, long mtimeSeconds, int mtimeNanos) {
    return new Entry(path, EntryType.DIRECTORY, mode, 0, mtimeSeconds, mtimeNanos, null, NONE);
  }

  public static Entry symlink(String path, int mode, long mtimeSeconds, int mtimeNanos, String target) {
    return new Entry(path, EntryType.SYMLINK, mode, 0, mtimeSeconds, mtimeNanos, target, NONE);
  }

  public static Entry file(String path, int mode, long size, long mtimeSeconds, int mtimeNanos, int[] chunks) {
    return new Entry(path, EntryType.FILE, mode, size, mtimeSeconds, mtimeNanos, null, chunks);
  }

  /** Whether the owner's executable bit is set: the one permission bit a restore reproduces. */
  public boolean executable() {
    return (mode & 0100) != 0;
  }

  /** A copy of the chunk references (the record keeps its own array). */
  @Override
  public int[] chunks() {
    return chunks.clone();
  }

  /** The number of chunks, without copying. */
  public int chunkCount() {
    return chunks.length;
  }

  /** The {@code i}-th chunk reference, without copying. */
  public int chunk(int i) {
    return chunks[i];
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof Entry e
        && path.equals(e.path)
        && type == e.type
        && mode == e.mode
        && size == e.size
        && mtimeSeconds == e.mtimeSeconds
        && mtimeNanos == e.mtimeNanos
        && Objects.equals(linkTarget, e.linkTarget)
        && Arrays.equals(chunks, e.chunks);
  }

  @Override
  public int hashCode() {
    return Objects.hash(path, type, mode, size, mtimeSeconds, mtimeNanos, linkTarget) * 31 + Arrays.hashCode(chunks);
  }

  @Override
  public String toString() {
    return type + " " + path + " mode=" + Integer.toOctalString(mode) + " size=" + size + " mtime=" + mtimeSeconds + "." + mtimeNanos
        + (linkTarget != null ? " -> " + linkTarget : "") + " chunks=" + chunks.length;
  }
}
