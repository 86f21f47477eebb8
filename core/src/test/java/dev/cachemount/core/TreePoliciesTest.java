package dev.cachemount.core;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributeView;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.FileTime;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code mode=merge} and {@code max-size=} on push, through the library as a front calls it. */
class TreePoliciesTest {
  @TempDir Path dir;

  private Cachemount client() {
    return Cachemount.builder().home(dir).env(Map.of()).workers(2).build();
  }

  private static void write(Path file, String content, long epochSeconds) throws IOException {
    Files.createDirectories(file.getParent());
    Files.writeString(file, content);
    FileTime t = FileTime.fromMillis(epochSeconds * 1000);
    Files.getFileAttributeView(file, BasicFileAttributeView.class).setTimes(t, t, null);
  }

  @Test
  void mergeKeepsTheUnionAndTheNewerFileWins() throws IOException {
    Cachemount client = client();
    Path store = dir.resolve("store");
    Path projectA = dir.resolve("a");
    write(projectA.resolve("shared/lib.jar"), "lib v1", 1_600_000_000L);
    write(projectA.resolve("only-a/a.jar"), "a", 1_600_000_000L);
    client.push(client.parseSpec("id=m2,mode=merge,dir=" + store + ",target=" + projectA), OperationListener.NONE);

    Path projectB = dir.resolve("b");
    write(projectB.resolve("shared/lib.jar"), "lib v2", 1_600_000_100L);
    write(projectB.resolve("only-b/b.jar"), "b", 1_600_000_000L);
    OperationResult merged = client.push(client.parseSpec("id=m2,mode=merge,dir=" + store + ",target=" + projectB), OperationListener.NONE);
    assertEquals(Outcome.PUSHED, merged.result());
    assertEquals(3, merged.files());

    Path projectC = dir.resolve("c");
    write(projectC.resolve("shared/lib.jar"), "lib v0", 1_500_000_000L); // older than the stored one
    client.push(client.parseSpec("id=m2,mode=merge,dir=" + store + ",target=" + projectC), OperationListener.NONE);

    Path out = dir.resolve("out");
    client.pull(client.parseSpec("id=m2,dir=" + store + ",target=" + out), OperationListener.NONE);
    assertEquals("lib v2", Files.readString(out.resolve("shared/lib.jar")), "the newest file wins");
    assertEquals("a", Files.readString(out.resolve("only-a/a.jar")));
    assertEquals("b", Files.readString(out.resolve("only-b/b.jar")));

    OperationResult again = client.push(client.parseSpec("id=m2,mode=merge,dir=" + store + ",target=" + projectC), OperationListener.NONE);
    assertEquals(Outcome.UNCHANGED, again.result(), "a merge that adds nothing stores nothing");

    OperationResult mirror = client.push(client.parseSpec("id=m2,dir=" + store + ",target=" + projectC), OperationListener.NONE);
    assertEquals(1, mirror.files(), "without mode=merge the snapshot is the directory");
  }

  /**
   * Two projects that push one merged cache in turn, whose trees hold the same files but whose
   * directories were made at different times (every two machines' caches): once each has pushed, a
   * push adds nothing and stores nothing. The union kept the pushing directory's time for a
   * directory on both sides, so each push flipped those times and stored a new snapshot.
   */
  @Test
  void mergesInTurnOfTreesThatDifferOnlyInDirectoryTimesStoreNothingOnceBothPushed() throws IOException {
    Cachemount client = client();
    Path store = dir.resolve("store");
    Path projectA = dir.resolve("a");
    Path projectB = dir.resolve("b");
    for (Path project : new Path[] {projectA, projectB}) {
      write(project.resolve("shared/lib.jar"), "lib v1", 1_600_000_000L);
      write(project.resolve("shared/sub/x.pom"), "x", 1_600_000_000L);
    }
    setTime(projectA.resolve("shared"), 1_600_000_100L);
    setTime(projectA.resolve("shared/sub"), 1_600_000_300L);
    setTime(projectB.resolve("shared"), 1_600_000_200L);
    setTime(projectB.resolve("shared/sub"), 1_600_000_150L);
    String a = "id=m2,mode=merge,dir=" + store + ",target=" + projectA;
    String b = "id=m2,mode=merge,dir=" + store + ",target=" + projectB;
    assertEquals(Outcome.PUSHED, client.push(client.parseSpec(a), OperationListener.NONE).result());
    client.push(client.parseSpec(b), OperationListener.NONE);
    assertEquals(Outcome.UNCHANGED, client.push(client.parseSpec(a), OperationListener.NONE).result(), "A again, after B");
    assertEquals(Outcome.UNCHANGED, client.push(client.parseSpec(b), OperationListener.NONE).result(), "B again, after A");

    Path out = dir.resolve("out");
    client.pull(client.parseSpec("id=m2,dir=" + store + ",target=" + out), OperationListener.NONE);
    assertEquals(1_600_000_200_000L, Files.getLastModifiedTime(out.resolve("shared")).toMillis(), "the newer directory time");
    assertEquals(1_600_000_300_000L, Files.getLastModifiedTime(out.resolve("shared/sub")).toMillis(), "the newer directory time");
  }

  private static void setTime(Path path, long epochSeconds) throws IOException {
    FileTime t = FileTime.fromMillis(epochSeconds * 1000);
    Files.getFileAttributeView(path, BasicFileAttributeView.class).setTimes(t, t, null);
  }

  @Test
  void maxSizeKeepsTheMostRecentlyUsedFiles() throws IOException {
    Cachemount client = client();
    Path tree = dir.resolve("tree");
    for (int i = 0; i < 10; i++) {
      write(tree.resolve("f" + i + ".jar"), "x".repeat(1000), 1_600_000_000L + i * 1000L);
    }
    Path store = dir.resolve("store");
    OperationResult pushed = client.push(client.parseSpec("id=m2,max-size=4.5KiB,dir=" + store + ",target=" + tree), OperationListener.NONE);
    assertEquals(4, pushed.files());
    assertEquals(6L, pushed.evictedFiles());
    assertEquals(6000L, pushed.evictedBytes());
    Path out = dir.resolve("out");
    client.pull(client.parseSpec("id=m2,dir=" + store + ",target=" + out), OperationListener.NONE);
    for (int i = 0; i < 10; i++) {
      assertEquals(i >= 6, Files.exists(out.resolve("f" + i + ".jar")), "f" + i);
    }
    OperationResult roomy = client.push(client.parseSpec("id=m2,max-size=1GB,dir=" + store + ",target=" + tree), OperationListener.NONE);
    assertNull(roomy.evictedFiles(), "nothing evicted, nothing reported");
    assertEquals(10, roomy.files());
  }

  /**
   * A recently used file that does not fit the rest of the budget is evicted with every file used
   * before it: older, smaller files do not take its place. The push kept 3-day-old small files and
   * evicted yesterday's large one, and in Go's cache an action entry without its output.
   */
  @Test
  void maxSizeEvictsTheLeastRecentlyUsedFirstAndKeepsNoOlderFileInPlaceOfANewerOne() throws IOException {
    Cachemount client = client();
    Path tree = dir.resolve("tree");
    write(tree.resolve("newest.jar"), "x".repeat(1000), 1_600_003_000L);
    write(tree.resolve("large.jar"), "x".repeat(3000), 1_600_002_000L);
    write(tree.resolve("old-small-1.pom"), "x".repeat(500), 1_600_001_000L);
    write(tree.resolve("old-small-2.pom"), "x".repeat(500), 1_600_000_000L);
    Path store = dir.resolve("store");
    OperationResult pushed = client.push(client.parseSpec("id=m2,max-size=3000B,dir=" + store + ",target=" + tree), OperationListener.NONE);
    assertEquals(1, pushed.files(), "only the newest: the large file does not fit, and the older ones were used before it");
    assertEquals(3L, pushed.evictedFiles());
    assertEquals(4000L, pushed.evictedBytes());
    Path out = dir.resolve("out");
    client.pull(client.parseSpec("id=m2,dir=" + store + ",target=" + out), OperationListener.NONE);
    assertTrue(Files.exists(out.resolve("newest.jar")));
    assertFalse(Files.exists(out.resolve("old-small-1.pom")), "not kept in place of the newer large file");
  }

  /** f0.jar to f9.jar, 1000 bytes each, modified a thousand seconds apart: f9 the newest. */
  private Path tenJarsNewestLast() throws IOException {
    Path tree = dir.resolve("tree");
    for (int i = 0; i < 10; i++) {
      write(tree.resolve("f" + i + ".jar"), "x".repeat(1000), 1_600_000_000L + i * 1000L);
    }
    return tree;
  }

  /** The names a pull of id {@code id} from {@code store} puts in {@code out}. */
  private static java.util.Set<String> namesPulled(Cachemount client, String id, Path store, Path out) throws IOException {
    OperationResult pulled = client.pull(client.parseSpec("id=" + id + ",dir=" + store + ",target=" + out), OperationListener.NONE);
    try (var names = Files.list(out)) {
      assertEquals(Outcome.RESTORED, pulled.result());
      return names.map(p -> p.getFileName().toString()).collect(java.util.stream.Collectors.toSet());
    }
  }

  /**
   * A pulled tree that nobody read since (or on a file system that keeps no access times: noatime, a
   * lower layer of overlayfs): its files count by their modification times. The pull gave every file
   * the access time of its creation, which made them all equal, and the order of paths decided.
   */
  @Test
  void maxSizeRanksAPulledTreeThatNobodyReadByModificationTime() throws IOException {
    Cachemount client = client();
    Path tree = tenJarsNewestLast();
    Path store = dir.resolve("store");
    client.push(client.parseSpec("id=all,dir=" + store + ",target=" + tree), OperationListener.NONE);
    Path pulled = dir.resolve("pulled");
    java.time.Instant pullStarted = java.time.Instant.now().minusSeconds(1);
    client.pull(client.parseSpec("id=all,dir=" + store + ",target=" + pulled), OperationListener.NONE);
    FileTime accessed = Files.readAttributes(pulled.resolve("f0.jar"), BasicFileAttributes.class).lastAccessTime();
    assertTrue(accessed.toInstant().isAfter(pullStarted),
        "a pull leaves the access time alone (cleaners of old files go by it): " + accessed + ", pull started " + pullStarted);

    OperationResult budget = client.push(client.parseSpec("id=small,max-size=2500B,dir=" + store + ",target=" + pulled), OperationListener.NONE);
    assertEquals(2, budget.files());
    Path out = dir.resolve("out");
    assertEquals(java.util.Set.of("f8.jar", "f9.jar"), namesPulled(client, "small", store, out));
  }

  /** A file read since it was last written (its access time later than its change time) counts by that read. */
  @Test
  void maxSizeKeepsAFileReadSinceItWasWrittenOverNewerOnes() throws IOException {
    Cachemount client = client();
    Path tree = tenJarsNewestLast();
    // As a read an hour from now would leave it: later than the change time this call itself sets.
    FileTime read = FileTime.from(java.time.Instant.now().plusSeconds(3600));
    Files.getFileAttributeView(tree.resolve("f0.jar"), BasicFileAttributeView.class).setTimes(null, read, null);
    Path store = dir.resolve("store");
    client.push(client.parseSpec("id=m2,max-size=2500B,dir=" + store + ",target=" + tree), OperationListener.NONE);
    Path out = dir.resolve("out");
    assertEquals(java.util.Set.of("f0.jar", "f9.jar"), namesPulled(client, "m2", store, out));
  }

  /** A newest file larger than the whole budget is left out on its own: it does not empty the snapshot. */
  @Test
  void maxSizeLeavesOutAFileLargerThanTheWholeBudgetOnItsOwn() throws IOException {
    Cachemount client = client();
    Path tree = dir.resolve("tree");
    write(tree.resolve("huge.bin"), "x".repeat(5000), 1_600_100_000L);
    for (int i = 0; i < 10; i++) {
      write(tree.resolve("f" + i + ".pom"), "x".repeat(100), 1_600_000_000L + i * 1000L);
    }
    OperationResult pushed = client.push(client.parseSpec("id=m2,max-size=3000B,dir=" + dir.resolve("store") + ",target=" + tree),
        OperationListener.NONE);
    assertEquals(10, pushed.files());
    assertEquals(1L, pushed.evictedFiles());
    assertEquals(5000L, pushed.evictedBytes());
  }

  @Test
  void sizesAreReadAsUsersWriteThem() {
    assertEquals(2L << 30, ByteSizes.parse("2GiB", "max-size"));
    assertEquals(2L << 30, ByteSizes.parse("2g", "max-size"));
    assertEquals(500_000_000L, ByteSizes.parse("500MB", "max-size"));
    assertEquals(1536L << 20, ByteSizes.parse("1.5G", "max-size"));
    assertEquals(1_048_576L, ByteSizes.parse("1048576", "max-size"));
    assertEquals(1_048_576L, ByteSizes.parse(" 1 MiB ", "max-size"));
    for (String bad : new String[] {"", "big", "-1G", "2 GiBs", "0", "5i"}) {
      CachemountException e = assertThrows(CachemountException.class, () -> ByteSizes.parse(bad, "max-size"), bad);
      assertEquals(FailureKind.USAGE, e.kind());
    }
    // A bare 1.5 was once 1 byte, a budget that evicts everything: a fraction needs its unit.
    assertTrue(assertThrows(CachemountException.class, () -> ByteSizes.parse("1.5", "max-size")).getMessage()
        .contains("max-size='1.5' is a fraction of a byte; a size without a unit is in bytes: add the unit you meant, for example 1.5GiB"));
    assertTrue(assertThrows(CachemountException.class, () -> client().parseSpec("id=m2,mode=both"))
        .getMessage().contains("not mirror or merge"));
    assertFalse(client().parseSpec("id=m2,max-size=1G").mode().isPresent());
  }

  @Test
  void aSizeOutOfRangeSaysWhatIsAccepted() {
    // max-size=0 (a budget that would keep nothing) once said only "is out of range".
    for (String bad : new String[] {"0", "0.0001KiB", "4194305T", "99999999T"}) {
      CachemountException e = assertThrows(CachemountException.class, () -> client().parseSpec("id=m2,max-size=" + bad), bad);
      assertEquals(FailureKind.USAGE, e.kind());
      assertTrue(e.getMessage().contains("max-size='" + bad + "' is out of range: give at least 1 byte and at most 4 EiB, for example 2GiB, 500MB or 1.5G"),
          e.getMessage());
    }
    assertEquals(1L, ByteSizes.parse("1", "max-size"));
    assertEquals(1L << 62, ByteSizes.parse("4194304T", "max-size"));
  }
}
