package dev.cachemount.core;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.cachemount.core.testing.RecordingListener;
import dev.cachemount.core.blob.Digest;
import dev.cachemount.core.store.LayoutStore;
import dev.cachemount.core.testing.FailingOnceReplaced;
import dev.cachemount.core.testing.ForwardingStore;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A directory of the target where the snapshot has a file: the pull replaces it, but moves it aside
 * until it completes, so that a pull that fails (or is cancelled) puts it back whole. It was deleted
 * in place, file by file, before the snapshot's file was renamed there: a pull stopped meanwhile left
 * the user's directory half deleted, and one that failed later had deleted it all the same.
 */
class DirectoryReplacedByFileTest {
  @TempDir Path dir;
  Path source;
  Path store;
  Path target;
  Cachemount client;
  final RecordingListener listener = new RecordingListener();

  @BeforeEach
  void setUp() throws IOException {
    source = Files.createDirectories(dir.resolve("source"));
    store = dir.resolve("store");
    // "a-x" comes first in the snapshot's only pack; the large file after it takes most of the pack.
    Files.writeString(source.resolve("a-x"), "the snapshot's file\n");
    byte[] large = new byte[4 << 20];
    new Random(7).nextBytes(large);
    Files.write(source.resolve("z-large.bin"), large);
    client = Cachemount.builder().home(dir).env(Map.of()).workers(1).build();
    client.push(CacheSpec.local("c", store, source), listener);

    target = Files.createDirectories(dir.resolve("target"));
    Path userDirectory = Files.createDirectories(target.resolve("a-x/sub"));
    for (int i = 0; i < 50; i++) {
      Files.writeString(userDirectory.resolve("user-" + i), "the user's file " + i + "\n");
    }
    Files.writeString(target.resolve("a-x/top"), "the user's top file\n");
  }

  @Test
  void aPullThatFailsAfterReplacingTheDirectoryPutsItBackWhole() throws IOException {
    // The store fails the read once a-x (the first frame) is in place: the pull fails after the
    // replacement, whatever the order of its threads.
    Path placed = target.resolve("a-x");
    Cachemount failing = Cachemount.builder().home(dir).env(Map.of()).workers(1)
        .stores((s, d, l) -> new ForwardingStore(new LayoutStore(store)) {
          @Override
          public InputStream openBlob(Digest digest, long size) throws IOException {
            InputStream in = super.openBlob(digest, size);
            return size < (1 << 20) ? in : new FailingOnceReplaced(in, placed, 64 * 1024);
          }
        }).build();

    CachemountException e = assertThrows(CachemountException.class, () -> failing.pull(CacheSpec.local("c", store, target), listener));
    assertTrue(e.getMessage().contains("the store went away"), e.getMessage());
    assertTrue(listener.warned("replacing directory " + placed), "the pull got as far as replacing the directory: " + listener.warnings());
    assertTrue(Files.isDirectory(placed), "the user's directory is back");
    assertEquals("the user's top file\n", Files.readString(target.resolve("a-x/top")));
    for (int i = 0; i < 50; i++) {
      assertEquals("the user's file " + i + "\n", Files.readString(target.resolve("a-x/sub/user-" + i)));
    }
    assertEquals(List.of(), temporaryNames(target));
  }

  @Test
  void aPullThatCompletesReplacesTheDirectoryAndLeavesNothingAside() throws IOException {
    client.pull(CacheSpec.local("c", store, target), listener);
    assertEquals("the snapshot's file\n", Files.readString(target.resolve("a-x")));
    assertTrue(listener.warned("replacing directory " + target.resolve("a-x")), listener.warnings().toString());
    assertEquals(List.of(), temporaryNames(target));
  }

  @Test
  void aMirrorPullLeavesADirectoryThatAKilledPullMovedAsideAlone() throws IOException {
    Path aside = Files.createDirectories(target.resolve(".cachemount-tmp-aside-5eed/sub"));
    Files.writeString(aside.resolve("kept"), "the user's\n");
    client.pull(client.parseSpec("id=c,mode=mirror,dir=" + store + ",target=" + target), listener);
    assertEquals("the user's\n", Files.readString(aside.resolve("kept")));
    assertTrue(listener.warned("is what an earlier pull moved aside (the user's directory"), listener.warnings().toString());
    assertEquals("the snapshot's file\n", Files.readString(target.resolve("a-x")));
  }

  /**
   * SIGTERM just before a mode=mirror pull walks the target: the hook puts the user's directory back
   * where the snapshot has a file, and the walk, still run by the pull's thread, must not empty it
   * (it went into it, the snapshot listing the path, and deleted the files directly inside). The walk
   * now stops once the hook has run; should it not, it still never goes into a directory where the
   * snapshot has a file (the test fails only without both).
   */
  @Test
  void aMirrorWalkThatGoesOnAfterSigtermLeavesThePutBackDirectoryWhole() throws IOException {
    Files.createSymbolicLink(source.resolve("out"), Path.of("/etc/hostname")); // a warning just before the walk
    client.push(CacheSpec.local("c", store, source), listener);
    OperationListener sigterm = new OperationListener() {
      @Override
      public void warning(String message) {
        if (message.contains("points outside the target")) {
          dev.cachemount.core.internal.CleanupOnExit.runAllAsOnExit(); // the restore goes on meanwhile
        }
      }
    };
    try {
      client.pull(client.parseSpec("id=c,mode=mirror,dir=" + store + ",target=" + target), sigterm);
    } catch (CachemountException e) {
      // a cancelled pull may fail: the JVM exits after its hooks anyway
    }
    assertTrue(Files.isDirectory(target.resolve("a-x")), "the hook put the user's directory back");
    assertEquals("the user's top file\n", Files.readString(target.resolve("a-x/top")));
    for (int i = 0; i < 50; i++) {
      assertEquals("the user's file " + i + "\n", Files.readString(target.resolve("a-x/sub/user-" + i)));
    }
  }

  private Path largestBlob() throws IOException {
    try (Stream<Path> blobs = Files.list(store.resolve("blobs/sha256"))) {
      return blobs.max(Comparator.comparingLong(p -> p.toFile().length())).orElseThrow();
    }
  }

  private static List<String> temporaryNames(Path root) throws IOException {
    try (Stream<Path> all = Files.walk(root)) {
      return all.map(p -> p.getFileName().toString()).filter(n -> n.startsWith(".cachemount-tmp")).toList();
    }
  }
}
