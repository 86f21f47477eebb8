package dev.cachemount.core.testing;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFileAttributes;
import java.nio.file.attribute.PosixFilePermission;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.stream.Stream;

/**
 * A listing of a tree, one line per entry below the root, sorted by path: type, owner-executable
 * bit, size, modification time to the nanosecond, link target, and the SHA-256 of file content. Two
 * trees that a restore should make identical have equal listings.
 */
public final class TreeListing {
  private TreeListing() {}

  /** The listing, with symlink modification times truncated to microseconds (what lutimes keeps). */
  public static List<String> of(Path root) throws IOException {
    return of(root, p -> false);
  }

  /** The listing without entries whose relative path {@code skip} accepts. */
  public static List<String> of(Path root, java.util.function.Predicate<String> skip) throws IOException {
    List<String> lines = new ArrayList<>();
    try (Stream<Path> walk = Files.walk(root)) {
      for (Path p : (Iterable<Path>) walk::iterator) {
        if (p.equals(root)) {
          continue;
        }
        String rel = root.relativize(p).toString();
        if (skip.test(rel)) {
          continue;
        }
        PosixFileAttributes a = Files.readAttributes(p, PosixFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
        String type = a.isSymbolicLink() ? "l" : a.isDirectory() ? "d" : a.isRegularFile() ? "f" : "?";
        boolean exec = a.permissions().contains(PosixFilePermission.OWNER_EXECUTE);
        java.time.Instant t = a.lastModifiedTime().toInstant();
        long nanos = a.isSymbolicLink() ? t.getNano() / 1000 * 1000 : t.getNano();
        String link = a.isSymbolicLink() ? Files.readSymbolicLink(p).toString() : "";
        String content = a.isRegularFile() ? sha256(p) : "";
        lines.add(String.join(" | ", rel, type, a.isDirectory() ? "-" : (exec ? "x" : "-"), a.isRegularFile() ? Long.toString(a.size()) : "0",
            t.getEpochSecond() + "." + String.format("%09d", nanos), link, content));
      }
    }
    lines.sort(null);
    return lines;
  }

  public static String sha256(Path file) throws IOException {
    try (InputStream in = Files.newInputStream(file)) {
      MessageDigest md = MessageDigest.getInstance("SHA-256");
      byte[] buffer = new byte[1 << 16];
      int n;
      while ((n = in.read(buffer)) > 0) {
        md.update(buffer, 0, n);
      }
      return HexFormat.of().formatHex(md.digest());
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }
}
