package dev.cachemount.core.restore;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** What a cancelled or failed restore does with its temporary files and what it moved aside. */
class TempFilesTest {
  @TempDir Path dir;

  @Test
  void cancelDeletesTemporaryFilesPutsBackWhatWasMovedAsideAndRefusesNewOnes() throws IOException {
    TempFiles temps = new TempFiles();
    Path file = Files.writeString(dir.resolve("was-a-file"), "mine");
    temps.moveAside(file);
    Files.createDirectories(file.resolve("empty/dirs"));
    temps.createFile(dir).channel().close();

    temps.cancel();

    assertEquals("mine", Files.readString(file));
    assertEquals(List.of("was-a-file"), names());
    assertThrows(IOException.class, () -> temps.createFile(dir));
    assertThrows(IOException.class, () -> temps.moveAside(dir.resolve("was-a-file")));
  }

  @Test
  void aDirectoryWithRestoredFilesStaysAndWhatItReplacedGoesWithAWarning() throws IOException {
    TempFiles temps = new TempFiles();
    Path link = Files.createSymbolicLink(dir.resolve("link"), Path.of("/nowhere"));
    temps.moveAside(link);
    Files.createDirectories(link);
    Files.writeString(link.resolve("restored"), "from the snapshot");
    List<String> warnings = new ArrayList<>();

    temps.putBackAsides(warnings::add);

    assertTrue(Files.isDirectory(link), "the restored directory stays");
    assertEquals(List.of("link"), names());
    assertEquals(1, warnings.size(), warnings.toString());
    assertTrue(warnings.get(0).contains(link + " replaced"), warnings.get(0));
  }

  @Test
  void aDirectoryMovedAsideComesBackWholeInPlaceOfTheSnapshotsFile() throws IOException {
    TempFiles temps = new TempFiles();
    Path user = Files.createDirectories(dir.resolve("d/sub"));
    Files.writeString(user.resolve("mine"), "mine");
    temps.moveAside(dir.resolve("d"));
    Files.writeString(dir.resolve("d"), "the snapshot's file");
    List<String> warnings = new ArrayList<>();
    temps.putBackAsides(warnings::add);
    assertEquals(List.of(), warnings);
    assertEquals("mine", Files.readString(dir.resolve("d/sub/mine")));
    assertFalse(names().stream().anyMatch(n -> n.startsWith(TempFiles.PREFIX)), names().toString());
  }

  /**
   * A directory copied aside (its file system would not rename it) whose deletion SIGTERM stopped
   * half way: put back whole from the copy, over what was left of it, and the deletion, going on on
   * the pull's thread, does not follow into what was put back.
   */
  @Test
  void aDirectoryCopiedAsideWhoseDeletionStoppedHalfWayComesBackWhole() throws IOException {
    TempFiles temps = new TempFiles();
    Path user = Files.createDirectories(dir.resolve("d/sub"));
    Files.writeString(user.resolve("one"), "mine 1");
    Files.writeString(user.resolve("two"), "mine 2");
    Files.createSymbolicLink(dir.resolve("d/link"), Path.of("sub/one"));
    Files.setAttribute(dir.resolve("d/sub"), "unix:mode", 02775);

    // SIGTERM's hook runs once the first file is deleted (between two deletions, as the lock lets
    // it); then the pull's thread goes on deleting, as it would.
    temps.afterCopiedDeletion = deleted -> {
      if (deleted.getFileName().toString().equals("one")) {
        temps.cancel();
      }
    };
    assertThrows(IOException.class, () -> temps.copyAside(dir.resolve("d")), "the deletion stops once the hook has run");
    List<String> warnings = new ArrayList<>();
    temps.putBackAsides(warnings::add); // nothing left to do: the hook put it back

    assertEquals(List.of(), warnings);
    assertEquals("mine 1", Files.readString(dir.resolve("d/sub/one")));
    assertEquals("mine 2", Files.readString(dir.resolve("d/sub/two")));
    assertEquals("sub/one", Files.readSymbolicLink(dir.resolve("d/link")).toString());
    assertEquals(02775, ((Integer) Files.getAttribute(dir.resolve("d/sub"), "unix:mode")) & 07777, "setgid kept");
    assertEquals(List.of("d"), names());
  }

  @Test
  void aCopyAsideAfterACancelTouchesNothing() throws IOException {
    TempFiles temps = new TempFiles();
    Path user = Files.createDirectories(dir.resolve("d"));
    for (int i = 0; i < 50; i++) {
      Files.writeString(user.resolve("f" + i), "mine " + i);
    }
    temps.cancel(); // as SIGTERM's hook
    assertThrows(IOException.class, () -> temps.copyAside(user));
    assertEquals(List.of("d"), names());
    try (Stream<Path> files = Files.list(user)) {
      assertEquals(50, files.count());
    }
  }

  @Test
  void aCompletedRestoreDeletesADirectoryItMovedAsideThroughTheDeletionItIsGiven() throws IOException {
    TempFiles temps = new TempFiles();
    Files.writeString(Files.createDirectories(dir.resolve("d/sub")).resolve("mine"), "mine");
    temps.moveAside(dir.resolve("d"));
    Files.writeString(dir.resolve("d"), "the snapshot's file");
    List<Path> deleted = new ArrayList<>();
    temps.dropAsides(directory -> {
      deleted.add(directory);
      dev.cachemount.core.internal.FileTrees.deleteTree(directory);
    }, message -> {
      throw new AssertionError(message);
    });
    assertEquals(1, deleted.size());
    assertEquals("the snapshot's file", Files.readString(dir.resolve("d")));
    assertFalse(names().stream().anyMatch(n -> n.startsWith(TempFiles.PREFIX)), names().toString());
  }

  /**
   * An aside that cannot be deleted stays aside, with a warning, and nothing is put back over the
   * restore: a failed deletion failed the pull, whose put-back then deleted the restored files and
   * moved the half-deleted directory back.
   */
  @Test
  void anAsideThatCannotBeDeletedStaysAsideAndNothingIsPutBackOverTheRestore() throws IOException {
    TempFiles temps = new TempFiles();
    Files.writeString(Files.createDirectories(dir.resolve("a")).resolve("mine"), "mine");
    Files.writeString(Files.createDirectories(dir.resolve("b")).resolve("mine"), "mine");
    temps.moveAside(dir.resolve("a"));
    temps.moveAside(dir.resolve("b"));
    Files.writeString(dir.resolve("a"), "restored a");
    Files.writeString(dir.resolve("b"), "restored b");
    List<String> warnings = new ArrayList<>();
    int[] calls = {0};
    temps.dropAsides(directory -> {
      if (calls[0]++ == 0) { // a's, moved aside first: a subdirectory the user may not delete, say
        throw new java.nio.file.AccessDeniedException(directory.resolve("mine").toString());
      }
      dev.cachemount.core.internal.FileTrees.deleteTree(directory);
    }, warnings::add);
    temps.putBackAsides(warnings::add); // what the restore's end runs whatever happened
    assertEquals(1, warnings.size(), warnings.toString());
    assertTrue(warnings.get(0).contains("could not delete") && warnings.get(0).contains("what stood at " + dir.resolve("a")), warnings.get(0));
    assertEquals("restored a", Files.readString(dir.resolve("a")), "not put back over the restore");
    assertEquals("restored b", Files.readString(dir.resolve("b")));
    assertEquals(1, names().stream().filter(n -> n.startsWith(TempFiles.PREFIX)).count(), "a's aside stays: " + names());
  }

  @Test
  void aCompletedRestoreDeletesWhatItMovedAside() throws IOException {
    TempFiles temps = new TempFiles();
    Path file = Files.writeString(dir.resolve("f"), "mine");
    temps.moveAside(file);
    Files.createDirectory(file);
    temps.dropAsides(directory -> {
      throw new AssertionError("no directory was moved aside");
    }, message -> {
      throw new AssertionError(message);
    });
    temps.putBackAsides(message -> {
      throw new AssertionError(message);
    });
    assertTrue(Files.isDirectory(file));
    assertFalse(names().stream().anyMatch(n -> n.startsWith(TempFiles.PREFIX)), names().toString());
  }

  private List<String> names() throws IOException {
    try (Stream<Path> list = Files.list(dir)) {
      return list.map(p -> p.getFileName().toString()).sorted().toList();
    }
  }
}
