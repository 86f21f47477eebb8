package dev.cachemount.core.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@link FileTrees#deleteTree} (mode=mirror's removal of a directory the snapshot lacks, the deletion
 * of what a pull moved aside) checked that each directory was one, then reached what it holds by
 * paths: another process that swapped a directory of the tree for a link to a directory elsewhere,
 * once the deletion had opened it, led the deletion of everything below it by their paths through
 * the link, and the user's files elsewhere went.
 */
class DeleteTreeSwapTest {
  @TempDir Path dir;

  @AfterEach
  void noHook() {
    FileTrees.opened = opened -> { };
  }

  @Test
  void aDirectorySwappedForALinkWhileItIsDeletedDoesNotLeadTheDeletionOut() throws IOException {
    Path victim = dir.resolve("victim");
    Files.writeString(Files.createDirectories(victim.resolve("a/b")).resolve("f"), "going\n");
    Path elsewhere = Files.createDirectories(dir.resolve("elsewhere"));
    Files.writeString(Files.createDirectories(elsewhere.resolve("b")).resolve("f"), "the user's, elsewhere\n");
    FileTrees.opened = opened -> {
      if (opened.equals(victim.resolve("a"))) { // another process, now
        try {
          Files.move(opened, victim.resolve("a-moved"));
          Files.createSymbolicLink(opened, elsewhere);
        } catch (IOException e) {
          throw new UncheckedIOException(e);
        }
      }
    };

    assertThrows(IOException.class, () -> FileTrees.deleteTree(victim)); // the link in its place is no directory to remove

    assertEquals("the user's, elsewhere\n", Files.readString(elsewhere.resolve("b/f")), "the deletion went through the link");
    assertFalse(Files.exists(victim.resolve("a-moved/b")), "what the directory held goes, wherever it was moved");
  }
}
