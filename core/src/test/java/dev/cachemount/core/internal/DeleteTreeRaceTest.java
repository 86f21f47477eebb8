package dev.cachemount.core.internal;

import static org.junit.jupiter.api.Assertions.assertFalse;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Two deletions of one tree at once (a SIGTERM hook's and the pull's own, TempFiles#copyAside): a
 * directory the other removed while this one emptied it is gone, as wanted, not a failure. Before
 * e4a0f4c the directory went with deleteIfExists.
 */
class DeleteTreeRaceTest {
  @TempDir Path dir;

  @AfterEach
  void noHook() {
    FileTrees.opened = opened -> { };
  }

  @Test
  void aDirectoryAnotherDeletionRemovedMeanwhileIsNoFailure() throws IOException {
    Path tree = dir.resolve("tree");
    Files.writeString(Files.createDirectories(tree.resolve("a/b")).resolve("f"), "going\n");
    FileTrees.opened = opened -> {
      if (opened.equals(tree.resolve("a"))) { // the other deletion, now
        FileTrees.opened = o -> { };
        try {
          FileTrees.deleteTree(opened);
        } catch (IOException e) {
          throw new UncheckedIOException(e);
        }
      }
    };
    FileTrees.deleteTree(tree);
    assertFalse(Files.exists(tree));
  }
}
