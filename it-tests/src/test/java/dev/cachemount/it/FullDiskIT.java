package dev.cachemount.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A small file system (a 20 MiB tmpfs, mounted by the test, which needs root as CI runs it): a push
 * whose packs do not fit names the staging directory, not a source file; a warm pull over files of
 * the same size is not refused up front, because each replaces one already there; a pull that does
 * not fit writes no file.
 */
class FullDiskIT {
  @TempDir Path dir;
  Path small;

  @BeforeEach
  void mount() throws Exception {
    small = Files.createDirectories(dir.resolve("small"));
    Processes.Result mounted = Processes.run(List.of("mount", "-t", "tmpfs", "-o", "size=20m", "tmpfs", small.toString()));
    org.junit.jupiter.api.Assumptions.assumeTrue(mounted.exitCode() == 0, "needs root to mount a tmpfs: " + mounted);
  }

  @AfterEach
  void unmount() throws Exception {
    Processes.run(List.of("umount", small.toString()));
  }

  private static void randomFiles(Path root, int count, int size, long seed) throws Exception {
    Files.createDirectories(root);
    Random random = new Random(seed);
    byte[] bytes = new byte[size];
    for (int i = 0; i < count; i++) {
      random.nextBytes(bytes);
      Files.write(root.resolve("f" + i), bytes);
    }
  }

  @Test
  void aPushThatFillsTheStoresDiskNamesIt() throws Exception {
    Path tree = dir.resolve("tree");
    randomFiles(tree, 8, 3_000_000, 1);
    Cli.Result push = Cli.run(Map.of("XDG_CACHE_HOME", dir.resolve("xdg").toString()), new byte[0],
        "push", "--cache-id", "id=d,dir=" + small.resolve("store") + ",target=" + tree);
    assertEquals(1, push.exitCode(), push.toString());
    assertTrue(push.err().contains("writing a pack to the staging directory " + small.resolve("store")) && push.err().contains("free space"),
        push.err());
    assertTrue(!push.err().contains("reading " + tree), "the source files were read fine: " + push.err());
  }

  @Test
  void aPullThatDoesNotFitWritesNoFile() throws Exception {
    Path tree = dir.resolve("tree");
    randomFiles(tree.resolve("big"), 8, 3_000_000, 4);
    Files.createDirectories(tree.resolve("empty"));
    for (int i = 0; i < 5; i++) {
      Files.write(tree.resolve("empty/e" + i), new byte[0]);
    }
    Map<String, String> env = Map.of("XDG_CACHE_HOME", dir.resolve("xdg").toString());
    String store = "dir=" + dir.resolve("store");
    assertEquals(0, Cli.run(env, new byte[0], "push", "--cache-id", "id=d," + store + ",target=" + tree).exitCode());
    Path target = small.resolve("target");
    Cli.Result pull = Cli.run(env, new byte[0], "pull", "--cache-id", "id=d," + store + ",target=" + target);
    assertEquals(1, pull.exitCode(), pull.toString());
    assertTrue(pull.err().contains("restoring needs") && pull.err().contains("free space or pull elsewhere"), pull.toString());
    // Checked before any file is written, empty ones too; the directories it made, the target
    // among them (it did not exist), went again.
    assertTrue(Files.notExists(target), "the target the failed pull made is gone");
    assertTrue(Files.isDirectory(small), small.toString());
    Path existing = Files.createDirectories(small.resolve("existing"));
    Cli.Result into = Cli.run(env, new byte[0], "pull", "--cache-id", "id=d," + store + ",target=" + existing);
    assertEquals(1, into.exitCode(), into.toString());
    try (var walk = Files.walk(existing)) {
      assertEquals(List.of(existing), walk.toList(), "a target that was there stays, without what the pull made in it");
    }
  }

  /**
   * A warm pull over files of the same size on a nearly full disk is not refused up front: each
   * file frees the old one's space when it is renamed over it. Whether it then completes depends on
   * how many files are half-written at once (their chunks arrive in any order), so the test accepts
   * either outcome the docs promise: a complete restore, or a full disk met while writing, with every
   * file whole (old or new) and no temporary file left.
   */
  @Test
  void aWarmPullOverFilesOfTheSameSizeIsNotRefusedOnANearlyFullDisk() throws Exception {
    Path tree = dir.resolve("tree");
    randomFiles(tree, 5, 3_000_000, 2);
    Map<String, String> env = Map.of("XDG_CACHE_HOME", dir.resolve("xdg").toString());
    String store = "dir=" + dir.resolve("store");
    assertEquals(0, Cli.run(env, new byte[0], "push", "--cache-id", "id=d," + store + ",target=" + tree).exitCode());
    Path target = small.resolve("target");
    Path old = dir.resolve("old");
    randomFiles(old, 5, 3_000_000, 3); // 15 MB of other bytes where the snapshot's 15 MB go: about 5 MB free
    randomFiles(target, 5, 3_000_000, 3);
    Cli.Result pull = Cli.run(env, new byte[0], "pull", "--cache-id", "id=d," + store + ",target=" + target);
    assertFalse(pull.err().contains("restoring needs"), "the free-space check does not refuse it: " + pull);
    if (pull.exitCode() == 0) {
      TreeCompare.assertSameTree(tree, target);
      return;
    }
    assertEquals(1, pull.exitCode(), pull.toString());
    assertTrue(pull.err().contains("No space left on device"), pull.toString());
    try (var files = Files.list(target)) {
      for (Path f : (Iterable<Path>) files::iterator) {
        String name = f.getFileName().toString();
        assertFalse(name.startsWith(".cachemount-tmp-"), "no temporary file is left: " + name);
        byte[] bytes = Files.readAllBytes(f);
        assertTrue(java.util.Arrays.equals(bytes, Files.readAllBytes(tree.resolve(name)))
            || java.util.Arrays.equals(bytes, Files.readAllBytes(old.resolve(name))), name + " is whole, old or new");
      }
    }
  }
}
