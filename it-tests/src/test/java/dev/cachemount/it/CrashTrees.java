package dev.cachemount.it;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.time.Instant;
import java.util.HashMap;
import java.util.Map;
import java.util.Random;

/**
 * Two seeded trees A and B of incompressible "jars" that share some files (same bytes, same time),
 * differ in others (B rewrites a run of A's bytes, sometimes grows it, and has a later time), and each
 * hold files and directories the other lacks; a few symlinks, one of which points elsewhere in B. One
 * file in a hundred is large (up to 1 MiB), each one that B changes, so that a pull's kill lands
 * inside one now and then.
 */
record CrashTrees(Path a, Path b, Map<String, Version> versionsA, Map<String, Version> versionsB, long bytesA, long bytesB) {
  /** What a tree holds at a path: a file (its bytes live in the tree) or a symlink to {@code link}. */
  record Version(Path file, String link) {}

  private static final Instant TIME_A = Instant.parse("2024-03-01T10:00:00.123456789Z");
  private static final Instant TIME_B = Instant.parse("2025-03-01T10:00:00.987654321Z");

  static CrashTrees write(Path root, long seed, int files) throws IOException {
    Path a = root.resolve("A");
    Path b = root.resolve("B");
    Map<String, Version> va = new HashMap<>();
    Map<String, Version> vb = new HashMap<>();
    long[] bytes = new long[2];
    Random random = new Random(seed);
    for (int i = 0; i < files; i++) {
      int kind = i % 5; // 0, 1 shared; 2 differs; 3 only in A; 4 only in B
      String dir = switch (kind) {
        case 3 -> "only-a" + (i % 7);
        case 4 -> "only-b" + (i % 7);
        default -> "g" + (i % 40);
      };
      String rel = dir + "/f" + i + ".jar";
      byte[] content = new byte[i % 100 == 7 ? (256 << 10) + random.nextInt(768 << 10) : 512 + random.nextInt(20_000)];
      random.nextBytes(content);
      FileTime time = FileTime.from(TIME_A.plusSeconds(i));
      if (kind != 4) {
        bytes[0] += put(a, rel, content, time, va);
      }
      if (kind == 2) {
        int offset = random.nextInt(content.length);
        byte[] run = new byte[Math.min(4096, content.length - offset)];
        random.nextBytes(run);
        byte[] changed = java.util.Arrays.copyOf(content, content.length + (random.nextBoolean() ? random.nextInt(8192) : 0));
        System.arraycopy(run, 0, changed, offset, run.length);
        for (int k = content.length; k < changed.length; k++) {
          changed[k] = (byte) random.nextInt();
        }
        bytes[1] += put(b, rel, changed, FileTime.from(TIME_B.plusSeconds(i)), vb);
      } else if (kind != 3) {
        bytes[1] += put(b, rel, content, time, vb);
      }
    }
    link(a, "links/same", "../g0/f0.jar", va);
    link(b, "links/same", "../g0/f0.jar", vb);
    link(a, "links/moved", "../g1/f1.jar", va);
    link(b, "links/moved", "../g5/f5.jar", vb);
    Files.createDirectories(b.resolve("empty-in-b"));
    return new CrashTrees(a, b, Map.copyOf(va), Map.copyOf(vb), bytes[0], bytes[1]);
  }

  private static long put(Path root, String rel, byte[] content, FileTime time, Map<String, Version> versions) throws IOException {
    Path file = root.resolve(rel);
    Files.createDirectories(file.getParent());
    Files.write(file, content);
    Files.setLastModifiedTime(file, time);
    versions.put(rel, new Version(file, null));
    return content.length;
  }

  private static void link(Path root, String rel, String target, Map<String, Version> versions) throws IOException {
    Path link = root.resolve(rel);
    Files.createDirectories(link.getParent());
    Files.createSymbolicLink(link, Path.of(target));
    versions.put(rel, new Version(null, target));
  }

  /** Whether {@code entry} (a file or symlink, never followed) is exactly {@code version}: same bytes and time, or same link. */
  static boolean matches(Path entry, Version version) throws IOException {
    if (version == null) {
      return false;
    }
    if (version.link() != null) {
      return Files.isSymbolicLink(entry) && Files.readSymbolicLink(entry).toString().equals(version.link());
    }
    return Files.isRegularFile(entry, LinkOption.NOFOLLOW_LINKS) && Files.mismatch(entry, version.file()) == -1;
  }

  /** Whether {@code file} has the time of {@code version}'s file, to the microsecond. */
  static boolean sameTime(Path file, Version version) throws IOException {
    long t = Files.getLastModifiedTime(file, LinkOption.NOFOLLOW_LINKS).to(java.util.concurrent.TimeUnit.MICROSECONDS);
    return t == Files.getLastModifiedTime(version.file(), LinkOption.NOFOLLOW_LINKS).to(java.util.concurrent.TimeUnit.MICROSECONDS);
  }
}
