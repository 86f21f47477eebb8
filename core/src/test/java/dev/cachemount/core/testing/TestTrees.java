package dev.cachemount.core.testing;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Instant;
import java.util.Random;

/**
 * Deterministic test trees from a seeded generator: what a build cache holds (many small text
 * files, some large binary ones, repeated content), plus the awkward cases a restore must reproduce:
 * empty files and directories, executables, relative symlinks (also dangling), and modification
 * times with nanoseconds, far in the past and in the future.
 */
public final class TestTrees {
  private TestTrees() {}

  /** Writes the standard mixed tree under {@code root} (created if needed). */
  public static void mixed(Path root, long seed) throws IOException {
    Random random = new Random(seed);
    Files.createDirectories(root);
    byte[] shared = randomBytes(random, 200_000);
    for (int g = 0; g < 6; g++) {
      Path group = root.resolve("org/example/group" + g);
      for (int v = 0; v < 4; v++) {
        Path version = group.resolve("1." + v);
        Files.createDirectories(version);
        write(version.resolve("artifact-1." + v + ".pom"), pom(g, v).getBytes());
        byte[] jar = new byte[20_000 + random.nextInt(150_000)];
        random.nextBytes(jar);
        System.arraycopy(shared, 0, jar, 0, Math.min(jar.length, 30_000));
        write(version.resolve("artifact-1." + v + ".jar"), jar);
        write(version.resolve("artifact-1." + v + ".jar.sha1"), Integer.toHexString(random.nextInt()).getBytes());
      }
    }
    write(root.resolve("big.bin"), randomBytes(random, 3_000_000));
    write(root.resolve("copy-of-big.bin"), Files.readAllBytes(root.resolve("big.bin")));
    write(root.resolve("zeros.bin"), new byte[1_000_000]);
    write(root.resolve("empty-file"), new byte[0]);
    Files.createDirectories(root.resolve("empty-dir"));
    Files.createDirectories(root.resolve("deep/a/b/c/d/e"));
    write(root.resolve("deep/a/b/c/d/e/leaf.txt"), "leaf\n".getBytes());
    Path tool = root.resolve("bin/tool.sh");
    Files.createDirectories(tool.getParent());
    write(tool, "#!/bin/sh\necho hello\n".getBytes());
    Files.setPosixFilePermissions(tool, PosixFilePermissions.fromString("rwxr-xr-x"));
    Files.createSymbolicLink(root.resolve("bin/tool"), Path.of("tool.sh"));
    Files.createSymbolicLink(root.resolve("link-to-dir"), Path.of("org/example"));
    Files.createSymbolicLink(root.resolve("dangling"), Path.of("does/not/exist"));
    write(root.resolve("unicode-ñame-日本.txt"), "unicode\n".getBytes());
    write(root.resolve("with space, and comma.txt"), "x".getBytes());
    setTimes(root, random);
  }

  /** Creates directories under {@code base} until the last one's absolute path is exactly {@code bytes} bytes (ASCII). */
  public static Path directoryOfPathLength(Path base, int bytes) throws IOException {
    Path deep = base;
    while (bytes - deep.toString().length() - 1 > 255) {
      deep = Files.createDirectories(deep.resolve("d".repeat(Math.min(200, bytes - deep.toString().length() - 1 - 50))));
    }
    deep = Files.createDirectories(deep.resolve("e".repeat(bytes - deep.toString().length() - 1)));
    if (deep.toString().length() != bytes) {
      throw new IllegalStateException(deep.toString().length() + " bytes, not " + bytes);
    }
    return deep;
  }

  /** A tree of {@code count} small, compressible files. */
  public static void smallFiles(Path root, int count, long seed) throws IOException {
    Random random = new Random(seed);
    for (int i = 0; i < count; i++) {
      Path p = root.resolve(String.format("%02x/%06d-%08x", i % 64, i, random.nextInt()));
      Files.createDirectories(p.getParent());
      write(p, ("entry " + i + " " + "x".repeat(random.nextInt(2000))).getBytes());
    }
  }

  /** {@code count} incompressible files of 64 KiB, {@code g/f100.jar} and on: one pack's spans, or many small packs. */
  public static void randomJars(Path root, int count, long seed) throws IOException {
    Random random = new Random(seed);
    Files.createDirectories(root.resolve("g"));
    for (int i = 0; i < count; i++) {
      write(root.resolve("g/f" + (100 + i) + ".jar"), randomBytes(random, 64 << 10));
    }
  }

  /** The size of each file of {@link #everySixthUsedLast}. */
  public static final int SHARED_FILE_BYTES = 40_000;

  /**
   * A cache that projects share: {@code files} random files of {@link #SHARED_FILE_BYTES} bytes,
   * {@code lib/a000.jar} and on, of which every sixth was used last (a later modification time): what
   * a budget of a sixth of it keeps, spread over every pack. Returns the paths of those.
   */
  public static java.util.List<String> everySixthUsedLast(Path root, int files, long seed) throws IOException {
    Random random = new Random(seed);
    java.util.List<String> newest = new java.util.ArrayList<>();
    for (int i = 0; i < files; i++) {
      String name = String.format("lib/a%03d.jar", i);
      Path file = root.resolve(name);
      Files.createDirectories(file.getParent());
      Files.write(file, randomBytes(random, SHARED_FILE_BYTES));
      Files.setLastModifiedTime(file, FileTime.fromMillis((i % 6 == 0 ? 1_700_000_000_000L : 1_600_000_000_000L) + i * 1000L));
      if (i % 6 == 0) {
        newest.add(name);
      }
    }
    return newest;
  }

  public static byte[] randomBytes(Random random, int n) {
    byte[] b = new byte[n];
    random.nextBytes(b);
    return b;
  }

  private static String pom(int g, int v) {
    return "<project>\n  <groupId>org.example.group" + g + "</groupId>\n  <artifactId>artifact</artifactId>\n  <version>1." + v
        + "</version>\n  <dependencies>\n" + "    <dependency><groupId>org.other</groupId><artifactId>lib</artifactId></dependency>\n".repeat(20)
        + "  </dependencies>\n</project>\n";
  }

  private static void write(Path p, byte[] content) throws IOException {
    Files.write(p, content);
  }

  /** Gives every entry a distinct time with nanoseconds; symlinks' own times are set too. */
  private static void setTimes(Path root, Random random) throws IOException {
    try (var walk = Files.walk(root)) {
      for (Path p : (Iterable<Path>) walk.sorted(java.util.Comparator.reverseOrder())::iterator) {
        long seconds = 1_500_000_000L + random.nextInt(200_000_000);
        if (p.getFileName().toString().startsWith("big")) {
          seconds = 4_000_000_000L; // after 2038
        }
        FileTime t = FileTime.from(Instant.ofEpochSecond(seconds, 1 + random.nextInt(999_999_998)));
        Files.getFileAttributeView(p, java.nio.file.attribute.BasicFileAttributeView.class, java.nio.file.LinkOption.NOFOLLOW_LINKS)
            .setTimes(t, null, null);
      }
    }
  }
}
