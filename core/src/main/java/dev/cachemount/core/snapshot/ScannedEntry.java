package dev.cachemount.core.snapshot;

import dev.cachemount.core.index.EntryType;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.time.Instant;

/**
 * What a scan saw of one entry, before its content is read.
 *
 * @param path relative path with {@code /} separators
 * @param mode permission bits, {@code 0..0777}
 * @param linkTarget the target of a symlink, else {@code null}
 */
public record ScannedEntry(String path, EntryType type, int mode, long size, long mtimeSeconds, int mtimeNanos, String linkTarget) {

  /**
   * This file as it is now: its size, time and mode read again; {@code null} when it is gone or no
   * longer a regular file.
   */
  ScannedEntry statNow(Path file) {
    try {
      java.nio.file.attribute.PosixFileAttributes now = Files.readAttributes(file, java.nio.file.attribute.PosixFileAttributes.class,
          LinkOption.NOFOLLOW_LINKS);
      if (!now.isRegularFile()) {
        return null;
      }
      Instant t = now.lastModifiedTime().toInstant();
      return new ScannedEntry(path, type, modeOf(now), now.size(), t.getEpochSecond(), t.getNano(), null);
    } catch (IOException e) {
      return null;
    }
  }

  /** The permission bits of {@code attrs}, {@code 0..0777}. */
  static int modeOf(java.nio.file.attribute.PosixFileAttributes attrs) {
    int mode = 0;
    for (java.nio.file.attribute.PosixFilePermission p : attrs.permissions()) {
      mode |= 1 << (8 - p.ordinal());
    }
    return mode;
  }

  /** Whether both saw the same size and modification time. */
  boolean sameSizeAndTime(ScannedEntry other) {
    return size == other.size && mtimeSeconds == other.mtimeSeconds && mtimeNanos == other.mtimeNanos;
  }

  /** Whether {@code file} still has the size and modification time the scan saw (false if it is gone). */
  boolean stillMatches(Path file) {
    try {
      BasicFileAttributes now = Files.readAttributes(file, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
      Instant t = now.lastModifiedTime().toInstant();
      return now.size() == size && t.getEpochSecond() == mtimeSeconds && t.getNano() == mtimeNanos;
    } catch (IOException e) {
      return false;
    }
  }
}
