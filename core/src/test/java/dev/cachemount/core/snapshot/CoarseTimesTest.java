package dev.cachemount.core.snapshot;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.cachemount.core.CacheSpec;
import dev.cachemount.core.Cachemount;
import dev.cachemount.core.OperationListener;
import dev.cachemount.core.OperationResult;
import dev.cachemount.core.Outcome;
import dev.cachemount.core.testing.TreeListing;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.io.TempDir;

/**
 * A target on a file system that keeps coarser times than the snapshot (ext4 with 128-byte inodes:
 * seconds; FAT: two seconds): the times a pull sets come back cut. Every warm pull wrote every file
 * again, and every push read every file and stored a new snapshot. Such a file system is simulated
 * here by cutting every time of the pulled tree as it would, and answering its measurement for it.
 */
class CoarseTimesTest {
  @TempDir Path dir;

  Path source;
  Path store;
  Cachemount client;

  /** Pushes 20 files of times with nanoseconds (in four directories, or none) and pulls them into "target". */
  private Path pushedAndPulled(boolean inDirectories) throws IOException {
    source = Files.createDirectories(dir.resolve("source"));
    for (int i = 0; i < 20; i++) {
      Path file = Files.writeString(Files.createDirectories(inDirectories ? source.resolve("d" + i % 4) : source).resolve("f" + i),
          "content " + i + "\n");
      Files.setLastModifiedTime(file, FileTime.from(Instant.ofEpochSecond(1_700_000_001L + i * 7, 123_456_789L + i)));
    }
    store = dir.resolve("store");
    client = Cachemount.builder().home(dir).env(Map.of()).build();
    client.push(CacheSpec.local("c", store, source), OperationListener.NONE);
    Path target = dir.resolve("target");
    client.pull(CacheSpec.local("c", store, target), OperationListener.NONE);
    return target;
  }

  @AfterEach
  void measureAgain() {
    CoarseTimes.fileSystemOverride = null;
  }

  @ParameterizedTest
  @ValueSource(ints = {1, 2})
  void aTreeWhoseTimesTheFileSystemCutIsAlreadyInPlaceAndUnchanged(int secondsKept) throws IOException {
    CoarseTimes.fileSystemOverride = d -> secondsKept * 1_000_000_000L;
    Path target = pushedAndPulled(true);
    cutTimes(target, secondsKept);

    OperationResult warm = client.pull(CacheSpec.local("c", store, target), OperationListener.NONE);
    assertEquals(20L, warm.filesUnchanged(), "every file is already in place, at the file system's precision");
    OperationResult verified = client.pull(client.parseSpec("id=c,verify=content,dir=" + store + ",target=" + target), OperationListener.NONE);
    assertEquals(20L, verified.filesUnchanged(), "also where each file is looked at on its own, its content compared");

    cutTimes(target, secondsKept); // the directories' times the pull set, as the file system keeps them
    OperationResult pushed = client.push(CacheSpec.local("c", store, target), OperationListener.NONE);
    assertEquals(Outcome.UNCHANGED, pushed.result(), "the same tree at a coarser precision is no change");
    Path fine = dir.resolve("fine");
    client.pull(CacheSpec.local("c", store, fine), OperationListener.NONE);
    assertEquals(TreeListing.of(source), TreeListing.of(fine), "the snapshot keeps its finer times");
  }

  @ParameterizedTest
  @ValueSource(ints = {1, 2})
  void aFileChangedOnSuchAFileSystemIsStillChanged(int secondsKept) throws IOException {
    CoarseTimes.fileSystemOverride = d -> secondsKept * 1_000_000_000L;
    Path target = pushedAndPulled(false);
    Files.writeString(target.resolve("f3"), "content X\n"); // same size, a time of now
    Files.writeString(target.resolve("f4"), "changed, longer\n");
    Files.setLastModifiedTime(target.resolve("f4"), FileTime.from(Instant.ofEpochSecond(1_700_000_001L + 4 * 7)));
    cutTimes(target, secondsKept);

    OperationResult warm = client.pull(CacheSpec.local("c", store, target), OperationListener.NONE);
    assertEquals(18L, warm.filesUnchanged());
    assertEquals("content 3\n", Files.readString(target.resolve("f3")));
    assertEquals("content 4\n", Files.readString(target.resolve("f4")));
  }

  /**
   * On a file system of nanoseconds (this test's), a tree whose times are all whole seconds (unpacked
   * from a tar archive) is compared exactly: a file rewritten with its old size and the whole second
   * of the snapshot's time is a change, for push and pull alike.
   */
  @Test
  void onAFileSystemOfNanosecondsATreeOfWholeSecondsIsComparedExactly() throws IOException {
    Path target = pushedAndPulled(false);
    cutTimes(target, 1);
    Files.writeString(target.resolve("f3"), "CHANGED 3\n"); // same size
    Files.setLastModifiedTime(target.resolve("f3"), FileTime.from(Instant.ofEpochSecond(1_700_000_001L + 3 * 7)));
    Files.setLastModifiedTime(target, FileTime.from(Instant.ofEpochSecond(1_700_000_000L)));

    assertEquals(Outcome.PUSHED, client.push(CacheSpec.local("c", store, target), OperationListener.NONE).result());
    Path fresh = dir.resolve("fresh");
    client.pull(CacheSpec.local("c", store, fresh), OperationListener.NONE);
    assertEquals("CHANGED 3\n", Files.readString(fresh.resolve("f3")), "the change is in the snapshot");
  }

  /** Cuts every time under {@code root} to {@code seconds} whole seconds, as such a file system keeps them. */
  private static void cutTimes(Path root, int seconds) throws IOException {
    List<Path> all;
    try (Stream<Path> walk = Files.walk(root)) {
      all = walk.sorted(java.util.Comparator.reverseOrder()).toList(); // children before their directories
    }
    for (Path p : all) {
      long s = Files.getLastModifiedTime(p).toInstant().getEpochSecond();
      Files.setLastModifiedTime(p, FileTime.from(Instant.ofEpochSecond(s - Math.floorMod(s, seconds))));
    }
    assertTrue(all.size() >= 16);
  }
}
