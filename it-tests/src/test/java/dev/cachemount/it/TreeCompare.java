package dev.cachemount.it;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.file.Path;
import java.util.List;

/** Compares two trees as a user would: {@code diff -r}, and a {@code find} listing of metadata. */
final class TreeCompare {
  private TreeCompare() {}

  /** {@code diff -r} and the metadata listing agree. */
  static void assertSameTree(Path expected, Path actual) throws Exception {
    Processes.Result diff = Processes.run(List.of("diff", "-r", "--no-dereference", expected.toString(), actual.toString()));
    assertEquals(0, diff.exitCode(), "diff -r found differences:\n" + diff);
    assertSameListing(findListing(expected), findListing(actual));
  }

  /** Fails with the lines that differ, not with two whole listings. */
  static void assertSameListing(List<String> expected, List<String> actual) {
    java.util.Set<String> missing = new java.util.TreeSet<>(expected);
    actual.forEach(missing::remove);
    java.util.Set<String> unexpected = new java.util.TreeSet<>(actual);
    expected.forEach(unexpected::remove);
    if (!missing.isEmpty() || !unexpected.isEmpty()) {
      throw new AssertionError("listings differ\n  only in the source:\n    " + String.join("\n    ", missing.stream().limit(20).toList())
          + "\n  only in the restored tree:\n    " + String.join("\n    ", unexpected.stream().limit(20).toList()));
    }
  }

  /**
   * {@code find -printf}: path, type, owner-executable bit, size, link target and modification time
   * of every entry (a restore reproduces the executable bit; the other permission bits follow the
   * caller's umask).
   */
  static List<String> findListing(Path root) throws Exception {
    Processes.Result find = Processes.run(List.of("find", root.toString(), "-mindepth", "1", "-printf", "%P %y %M %s %l %T@\\n"));
    assertEquals(0, find.exitCode(), find.toString());
    return find.out().lines().map(TreeCompare::withoutSymlinkSize).sorted().toList();
  }

  /**
   * Keeps the owner's execute bit of the permissions; drops directory and symlink sizes (a
   * directory's depends on the file system's history); cuts symlink times to microseconds (lutimes).
   */
  private static String withoutSymlinkSize(String line) {
    String[] f = line.split(" ");
    f[2] = f[1].equals("f") ? "x=" + f[2].charAt(3) : "-";
    if (f.length >= 5 && (f[1].equals("l") || f[1].equals("d"))) {
      f[3] = "-";
      if (f[1].equals("l")) {
        String t = f[f.length - 1];
        f[f.length - 1] = t.length() > 4 ? t.substring(0, t.length() - 4) : t;
      }
    }
    return String.join(" ", f);
  }
}
