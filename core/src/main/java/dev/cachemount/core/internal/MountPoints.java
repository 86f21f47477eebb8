package dev.cachemount.core.internal;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * Where other file systems are mounted (bind mounts of the same file system too, which share its
 * device number), read from {@code /proc/self/mountinfo}, and the devices that tell a mount point
 * where that table is not to be had: a pull that deletes or copies a directory tree must not reach
 * into them, as {@code rm --one-file-system} does not.
 */
public final class MountPoints {
  private static final Path MOUNTINFO = Path.of("/proc/self/mountinfo");

  private MountPoints() {}

  /**
   * The mount points strictly inside {@code root} (a real path); none where the table cannot be read
   * (not Linux, no /proc): callers compare devices too.
   */
  public static Set<Path> inside(Path root) {
    try {
      // Decoded leniently: a mount point elsewhere whose name is not UTF-8 must not lose the others.
      return inside(List.of(new String(Files.readAllBytes(MOUNTINFO), StandardCharsets.UTF_8).split("\n")), root);
    } catch (IOException | RuntimeException unreadable) {
      return Set.of();
    }
  }

  /** The mount points of {@code mountinfo}'s lines strictly inside {@code root}; a line this JVM cannot name is skipped. */
  static Set<Path> inside(List<String> mountinfo, Path root) {
    Set<Path> found = new HashSet<>();
    for (String line : mountinfo) {
      String[] fields = line.split(" ");
      if (fields.length > 4) {
        try {
          Path point = Path.of(unescape(fields[4]));
          if (point.startsWith(root) && !point.equals(root)) {
            found.add(point);
          }
        } catch (java.nio.file.InvalidPathException unnameable) {
          // a name this JVM's file name encoding cannot write (not UTF-8): not one it walks into either
        }
      }
    }
    return found;
  }

  /** The device {@code path} is on ({@code stat}'s), or null when it cannot be looked at. */
  public static Object device(Path path) {
    try {
      return Files.getAttribute(path, "unix:dev", java.nio.file.LinkOption.NOFOLLOW_LINKS);
    } catch (IOException | RuntimeException e) {
      return null;
    }
  }

  /** A mount point as the kernel writes it: space, tab, newline and backslash as octal escapes ({@code \040}). */
  static String unescape(String field) {
    if (field.indexOf('\\') < 0) {
      return field;
    }
    java.io.ByteArrayOutputStream bytes = new java.io.ByteArrayOutputStream();
    byte[] raw = field.getBytes(StandardCharsets.UTF_8);
    for (int i = 0; i < raw.length; i++) {
      if (raw[i] == '\\' && i + 3 < raw.length && isOctal(raw[i + 1]) && isOctal(raw[i + 2]) && isOctal(raw[i + 3])) {
        bytes.write((raw[i + 1] - '0') * 64 + (raw[i + 2] - '0') * 8 + (raw[i + 3] - '0'));
        i += 3;
      } else {
        bytes.write(raw[i]);
      }
    }
    return bytes.toString(StandardCharsets.UTF_8);
  }

  private static boolean isOctal(byte b) {
    return b >= '0' && b <= '7';
  }

  /** A mount point of {@code mounts} that is {@code dir} or lies below it, if any. */
  public static java.util.Optional<Path> atOrBelow(Path dir, Set<Path> mounts) {
    for (Path m : mounts) {
      if (m.startsWith(dir)) {
        return java.util.Optional.of(m);
      }
    }
    return java.util.Optional.empty();
  }
}
