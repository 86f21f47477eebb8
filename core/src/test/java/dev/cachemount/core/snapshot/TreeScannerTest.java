package dev.cachemount.core.snapshot;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.cachemount.core.OperationListener;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFileAttributes;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** What a scan leaves out, and what it tells the user about it. */
class TreeScannerTest {
  @TempDir Path dir;

  @Test
  void aPullsLeftoversAreSkippedAndOnlyItsTemporaryFilesAreCalledSafeToDelete() throws IOException {
    Files.writeString(dir.resolve("kept"), "k");
    Files.writeString(dir.resolve(".cachemount-tmp-5f2a"), "half a file");
    Files.writeString(dir.resolve(".cachemount-tmp-aside-77"), "the user's file, moved aside");
    List<String> warnings = new ArrayList<>();
    List<ScannedEntry> scanned = new TreeScanner(collecting(warnings)).scan(dir, Set.of(), Long.MAX_VALUE);
    assertEquals(List.of("kept"), scanned.stream().map(ScannedEntry::path).toList());
    assertTrue(warnings.stream().anyMatch(w -> w.startsWith(".cachemount-tmp-5f2a is a temporary file") && w.contains("safe to delete")), warnings.toString());
    assertTrue(warnings.stream().anyMatch(w -> w.startsWith(".cachemount-tmp-aside-77 is what an earlier pull moved aside")
        && !w.contains("safe to delete")), warnings.toString());
  }

  /**
   * A directory of 3,000 files that a tool deleted during the scan gave 3,000 warnings: more than 5
   * entries of one directory skipped for one reason are told in one line, with the first names.
   */
  @Test
  void manyEntriesOfADirectorySkippedForOneReasonAreToldInOneLine() throws IOException {
    Files.createDirectories(dir.resolve("many"));
    for (int i = 0; i < 8; i++) {
      Files.writeString(dir.resolve("many/.cachemount-tmp-" + i), "left");
    }
    Files.createDirectories(dir.resolve("few"));
    Files.writeString(dir.resolve("few/.cachemount-tmp-b"), "left");
    Files.writeString(dir.resolve("few/.cachemount-tmp-a"), "left");
    List<String> warnings = new ArrayList<>();
    new TreeScanner(collecting(warnings)).scan(dir, Set.of(), Long.MAX_VALUE);
    assertEquals(List.of(
        "few/.cachemount-tmp-a is a temporary file of an interrupted pull; skipped (it is safe to delete)",
        "few/.cachemount-tmp-b is a temporary file of an interrupted pull; skipped (it is safe to delete)",
        "8 temporary files of interrupted pulls in many; skipped (they are safe to delete: .cachemount-tmp-0, .cachemount-tmp-1,"
            + " .cachemount-tmp-2, ...)"), warnings);
  }

  @Test
  void aSymlinkThatVanishesBetweenItsStatAndTheReadOfItsTargetIsSkippedWithAWarning() throws IOException {
    Path link = Files.createSymbolicLink(dir.resolve("l"), Path.of("target"));
    PosixFileAttributes seen = Files.readAttributes(link, PosixFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
    Files.delete(link);
    List<String> warnings = new ArrayList<>();
    assertNull(new TreeScanner(collecting(warnings)).entry(link, "sub/l", "l", seen));
    assertEquals(List.of("sub/l vanished during the scan; skipped"), warnings);
  }

  /** A symlink that a directory replaces between its stat and the read of its target (a build swapping them): a warning, not a failed push. */
  @Test
  void aSymlinkReplacedBetweenItsStatAndTheReadOfItsTargetIsSkippedWithAWarning() throws IOException {
    Path link = Files.createSymbolicLink(dir.resolve("l"), Path.of("target"));
    PosixFileAttributes seen = Files.readAttributes(link, PosixFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
    Files.delete(link);
    Files.createDirectory(link);
    List<String> warnings = new ArrayList<>();
    assertNull(new TreeScanner(collecting(warnings)).entry(link, "sub/l", "l", seen));
    assertEquals(List.of("sub/l was replaced during the scan; skipped"), warnings);
  }

  @Test
  void aNameTheFormatRefusesIsSkippedBelowItsParentAndTheLongestNameIsKept() throws IOException {
    Path nested = Files.createDirectories(dir.resolve("a/b/c"));
    Files.writeString(nested.resolve("x".repeat(255)), "longest name");
    Files.writeString(nested.resolve("back\\slash"), "refused");
    List<String> warnings = new ArrayList<>();
    List<ScannedEntry> scanned = new TreeScanner(collecting(warnings)).scan(dir);
    assertEquals(List.of("a", "a/b", "a/b/c", "a/b/c/" + "x".repeat(255)), scanned.stream().map(ScannedEntry::path).toList());
    assertEquals(List.of("a/b/c/back\\slash cannot be stored (the path contains a backslash); skipped"), warnings);
  }

  /**
   * A directory that a symlink replaces between its stat and its listing (a build swapping a
   * directory for a link while the push scans): the scan does not follow the link out of the target.
   * The limit, asked after each entry's stat, makes the swap land in that window.
   */
  @Test
  void aDirectoryReplacedByASymlinkDuringTheScanIsNotFollowedOutOfTheTarget() throws IOException {
    Path target = Files.createDirectories(dir.resolve("target/d")).getParent();
    Files.writeString(target.resolve("d/inner"), "in");
    Path outside = Files.createDirectories(dir.resolve("outside"));
    Files.writeString(outside.resolve("secret"), "not the target's");
    List<String> warnings = new ArrayList<>();
    List<ScannedEntry> scanned = new TreeScanner(collecting(warnings)).scan(target, Set.of(), swapOnce(() -> {
      Files.delete(target.resolve("d/inner"));
      Files.delete(target.resolve("d"));
      Files.createSymbolicLink(target.resolve("d"), outside);
    }));
    assertEquals(List.of("d"), scanned.stream().map(ScannedEntry::path).toList());
    assertEquals(List.of("directory d was replaced during the scan; skipped"), warnings);
  }

  /** A directory that a file replaces between its stat and its listing is skipped with a warning, not a failed push. */
  @Test
  void aDirectoryReplacedByAFileDuringTheScanIsSkippedWithAWarning() throws IOException {
    Path target = Files.createDirectories(dir.resolve("target/d")).getParent();
    List<String> warnings = new ArrayList<>();
    List<ScannedEntry> scanned = new TreeScanner(collecting(warnings)).scan(target, Set.of(), swapOnce(() -> {
      Files.delete(target.resolve("d"));
      Files.writeString(target.resolve("d"), "now a file");
    }));
    assertEquals(List.of("d"), scanned.stream().map(ScannedEntry::path).toList());
    assertEquals(List.of("directory d was replaced during the scan; skipped"), warnings);
  }

  /** A FIFO in its place would block the scan's open of the directory for ever (it waits for a writer). */
  @Test
  @org.junit.jupiter.api.Timeout(value = 60, threadMode = org.junit.jupiter.api.Timeout.ThreadMode.SEPARATE_THREAD)
  void aDirectoryReplacedByAFifoDuringTheScanIsSkippedWithAWarning() throws IOException {
    Path target = Files.createDirectories(dir.resolve("target/d")).getParent();
    List<String> warnings = new ArrayList<>();
    List<ScannedEntry> scanned = new TreeScanner(collecting(warnings)).scan(target, Set.of(), swapOnce(() -> {
      Files.delete(target.resolve("d"));
      try {
        if (new ProcessBuilder("mkfifo", target.resolve("d").toString()).start().waitFor() != 0) {
          throw new IOException("mkfifo failed");
        }
      } catch (InterruptedException e) {
        throw new java.io.InterruptedIOException();
      }
    }));
    assertEquals(List.of("d"), scanned.stream().map(ScannedEntry::path).toList());
    assertEquals(List.of("directory d was replaced during the scan; skipped"), warnings);
  }

  /**
   * The scan lists directories on several threads (where the machine has more than one processor), and
   * what it finds and says is the same whichever thread found it: every entry, in the snapshot's order,
   * and the warnings in the order of their directories' paths, after the scan, on the caller's thread.
   */
  @Test
  void aScanOnSeveralThreadsFindsEveryEntryAndTellsInTheOrderOfTheTree() throws IOException {
    Path root = Files.createDirectories(dir.resolve("tree"));
    List<String> expected = new ArrayList<>();
    List<String> expectedWarnings = new ArrayList<>();
    for (int a = 0; a < 12; a++) {
      for (int b = 0; b < 12; b++) {
        String sub = String.format("d%02d/e%02d", a, b);
        Files.createDirectories(root.resolve(sub));
        Files.writeString(root.resolve(sub + "/f"), sub);
        Files.writeString(root.resolve(sub + "/.cachemount-tmp-" + a + b), "left by a pull");
        expected.addAll(List.of(sub, sub + "/f"));
        expectedWarnings.add(sub + "/.cachemount-tmp-" + a + b + " is a temporary file of an interrupted pull; skipped (it is safe to delete)");
      }
      expected.add(String.format("d%02d", a));
    }
    expected.sort(dev.cachemount.core.index.EntryPaths.ORDER);
    expectedWarnings.sort(java.util.Comparator.naturalOrder());
    Set<String> listers = java.util.concurrent.ConcurrentHashMap.newKeySet();
    List<String> warnings = new ArrayList<>();
    Thread caller = Thread.currentThread();
    List<ScannedEntry> scanned = new TreeScanner(new OperationListener() {
      @Override
      public void warning(String message) {
        assertEquals(caller, Thread.currentThread(), "told on the caller's thread");
        warnings.add(message);
      }
    }, leftover -> {
      listers.add(Thread.currentThread().getName());
      try {
        Thread.sleep(2); // each directory takes a while, so that every thread gets some
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
      return TreeScanner.Leftover.LEFT;
    }).scan(root);
    assertEquals(expected, scanned.stream().map(ScannedEntry::path).toList());
    assertEquals(expectedWarnings, warnings);
    assertEquals(Math.min(TreeScanner.threads(), 4), listers.size(), "directories listed on " + listers);
    assertTrue(Runtime.getRuntime().availableProcessors() == 1 || listers.size() > 1, "several threads list: " + listers);
  }

  /**
   * Two threads that each find one entry more when the tree holds one entry less than the limit: only
   * one of them may keep it, and the scan of a tree that holds more than its limit gives up (null), as
   * it does on one thread. The limit holds the first asker until the second asks too.
   */
  @Test
  @org.junit.jupiter.api.Timeout(value = 60, threadMode = org.junit.jupiter.api.Timeout.ThreadMode.SEPARATE_THREAD)
  void twoThreadsThatFindTheEntryPastTheLimitAtOnceDoNotBothKeepIt() throws IOException {
    Path root = Files.createDirectories(dir.resolve("tree"));
    for (String d : List.of("a", "b")) {
      Files.createDirectories(root.resolve(d));
      Files.writeString(root.resolve(d + "/f"), d);
    }
    java.util.concurrent.atomic.AtomicInteger asked = new java.util.concurrent.atomic.AtomicInteger();
    java.util.concurrent.CyclicBarrier both = new java.util.concurrent.CyclicBarrier(2);
    List<ScannedEntry> scanned = new TreeScanner(collecting(new ArrayList<>())).scan(root, Set.of(), () -> {
      if (asked.incrementAndGet() > 2) { // a/f and b/f, found on two threads where there are two
        try {
          both.await(2, java.util.concurrent.TimeUnit.SECONDS);
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
        } catch (java.util.concurrent.BrokenBarrierException | java.util.concurrent.TimeoutException e) {
          // one thread: the scan asks again on the same thread
        }
      }
      return 3;
    });
    assertNull(scanned, () -> "4 entries, a limit of 3: " + scanned.stream().map(ScannedEntry::path).toList());
  }

  interface Swap {
    void run() throws IOException;
  }

  /** A limit that never stops the scan and runs {@code swap} the first time it is asked (after the first entry's stat). */
  private static java.util.function.LongSupplier swapOnce(Swap swap) {
    boolean[] done = {false};
    return () -> {
      if (!done[0]) {
        done[0] = true;
        try {
          swap.run();
        } catch (IOException e) {
          throw new java.io.UncheckedIOException(e);
        }
      }
      return Long.MAX_VALUE;
    };
  }

  /** A listener that keeps the warnings. */
  static OperationListener collecting(List<String> warnings) {
    return new OperationListener() {
      @Override
      public void warning(String message) {
        warnings.add(message);
      }
    };
  }

  /** Runs {@code script} in a shell inside {@code dir} (no path-based call reaches what lies past the limit). */
  static void inside(Path dir, String script) throws IOException, InterruptedException {
    assertEquals(0, new ProcessBuilder("sh", "-c", "cd \"$1\" && " + script, "sh", dir.toString()).inheritIO().start().waitFor(), script);
  }

  @Test
  void anEntryIsKeptOnlyWithRoomForAPullsTemporaryNameBesideItWithinTheSystemsLimit() throws IOException, InterruptedException {
    int room = TreeScanner.PULL_NAME_BYTES;
    // A directory whose children of names of up to `room` bytes, or one more, end exactly at the limit or one past it.
    Path last = dev.cachemount.core.testing.TestTrees.directoryOfPathLength(dir, TreeScanner.MAX_OPEN_PATH_BYTES - 1 - (room + 2));
    String kept = "é".repeat((room + 2) / 2); // room + 2 bytes, fewer chars: bytes are what count
    String lost = kept + "x";
    Files.writeString(last.resolve(kept), "at the limit");
    Files.writeString(last.resolve("short"), "a short name needs the room of a temporary name only");
    inside(last, "mkdir " + lost + " && echo x > " + lost + "/below");
    Files.writeString(dir.resolve("top"), "t");
    List<String> warnings = new ArrayList<>();
    List<ScannedEntry> scanned;
    try {
      scanned = new TreeScanner(collecting(warnings)).scan(dir);
    } finally {
      inside(last, "rm -rf " + lost); // JUnit cannot delete it
    }
    List<String> paths = scanned.stream().map(ScannedEntry::path).toList();
    String parent = dir.relativize(last).toString();
    assertTrue(paths.contains("top"), "the rest of the tree is scanned");
    assertTrue(paths.contains(parent + "/" + kept), "a path of exactly 4095 bytes is kept");
    assertTrue(paths.contains(parent + "/short"), paths.size() + " entries");
    assertTrue(paths.stream().noneMatch(p -> p.contains(lost)), "one byte more is not, nor anything below it");
    assertEquals(1, warnings.size(), warnings.toString());
    assertTrue(warnings.get(0).contains("too long to restore") && warnings.get(0).contains("characters)…") && warnings.get(0).length() < 500,
        warnings.get(0));
  }

  @Test
  void aShortNameAtTheEndOfALongPathIsKeptOnlyWithRoomForATemporaryName() {
    int max = TreeScanner.MAX_OPEN_PATH_BYTES;
    int room = TreeScanner.PULL_NAME_BYTES;
    String parent = "p".repeat(100);
    // root (10 bytes) + "/" + parent + "/" + name: the temporary name needs `room` bytes where "f" needs 1.
    int rootBytes = max - 1 - parent.length() - 1 - room;
    assertTrue(TreeScanner.restorable(rootBytes, parent + "/f", "f"));
    assertTrue(!TreeScanner.restorable(rootBytes + 1, parent + "/f", "f"));
    assertTrue(TreeScanner.restorable(rootBytes + 1, "f", "f"), "a top-level entry has no parent segment");
  }
}
