package dev.cachemount.core;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.cachemount.core.testing.TreeListing;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.io.TempDir;

/**
 * A target on a file system that keeps coarser times than the snapshot (ext4 with 128-byte inodes:
 * seconds; FAT: two seconds): the times a pull sets come back cut. Every warm pull wrote every file
 * again, and every push read every file and stored a new snapshot. Such a file system is simulated
 * here by cutting every time of the pulled tree as it would.
 */
class CoarseTimesTest {
  @TempDir Path dir;

  @ParameterizedTest
  @ValueSource(ints = {1, 2})
  void aTreeWhoseTimesTheFileSystemCutIsAlreadyInPlaceAndUnchanged(int secondsKept) throws IOException {
    Path source = Files.createDirectories(dir.resolve("source"));
    for (int i = 0; i < 20; i++) {
      Path file = Files.writeString(Files.createDirectories(source.resolve("d" + i % 4)).resolve("f" + i), "content " + i + "\n");
      Files.setLastModifiedTime(file, FileTime.from(Instant.ofEpochSecond(1_700_000_001L + i * 7, 123_456_789L + i)));
    }
    Path store = dir.resolve("store");
    Cachemount client = Cachemount.builder().home(dir).env(Map.of()).build();
    client.push(CacheSpec.local("c", store, source), OperationListener.NONE);
    Path target = dir.resolve("target");
    client.pull(CacheSpec.local("c", store, target), OperationListener.NONE);
    cutTimes(target, secondsKept);

    OperationResult warm = client.pull(CacheSpec.local("c", store, target), OperationListener.NONE);
    assertEquals(20L, warm.filesUnchanged(), "every file is already in place, at the file system's precision");

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
    Path source = Files.createDirectories(dir.resolve("source"));
    for (int i = 0; i < 20; i++) {
      Path file = Files.writeString(source.resolve("f" + i), "content " + i + "\n");
      Files.setLastModifiedTime(file, FileTime.from(Instant.ofEpochSecond(1_700_000_001L + i * 7, 123_456_789L)));
    }
    Path store = dir.resolve("store");
    Cachemount client = Cachemount.builder().home(dir).env(Map.of()).build();
    client.push(CacheSpec.local("c", store, source), OperationListener.NONE);
    Path target = dir.resolve("target");
    client.pull(CacheSpec.local("c", store, target), OperationListener.NONE);
    Files.writeString(target.resolve("f3"), "content X\n"); // same size, a time of now
    Files.writeString(target.resolve("f4"), "changed, longer\n");
    Files.setLastModifiedTime(target.resolve("f4"), FileTime.from(Instant.ofEpochSecond(1_700_000_001L + 4 * 7)));
    cutTimes(target, secondsKept);

    OperationResult warm = client.pull(CacheSpec.local("c", store, target), OperationListener.NONE);
    assertEquals(18L, warm.filesUnchanged());
    assertEquals("content 3\n", Files.readString(target.resolve("f3")));
    assertEquals("content 4\n", Files.readString(target.resolve("f4")));
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
