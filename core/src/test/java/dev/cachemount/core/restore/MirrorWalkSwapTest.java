package dev.cachemount.core.restore;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.cachemount.core.CacheSpec;
import dev.cachemount.core.Cachemount;
import dev.cachemount.core.OperationListener;
import dev.cachemount.core.chunk.ChunkerParameters;
import dev.cachemount.core.snapshot.LoadedSnapshot;
import dev.cachemount.core.snapshot.SnapshotReader;
import dev.cachemount.core.store.LayoutStore;
import dev.cachemount.core.testing.RecordingListener;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code mode=mirror} walked the target by paths: another process that swapped a directory of the
 * snapshot ({@code lib}) for a link to a directory elsewhere, after the walk had looked at it and
 * while it listed it, led the walk there: what lib held and the snapshot lacks was removed by its
 * path, through the link, so the user's files and directories elsewhere of the same names went.
 */
class MirrorWalkSwapTest {
  @TempDir Path dir;

  @Test
  void aDirectorySwappedForALinkDuringTheMirrorWalkDoesNotLeadItOut() throws IOException {
    Path source = Files.createDirectories(dir.resolve("source"));
    Files.writeString(Files.createDirectories(source.resolve("lib")).resolve("a.jar"), "the snapshot's\n");
    Path store = dir.resolve("store");
    Cachemount.builder().home(dir).env(Map.of()).build().push(CacheSpec.local("c", store, source), OperationListener.NONE);

    Path target = Files.createDirectories(dir.resolve("target"));
    // Extras of the target's lib, by the names of the user's files elsewhere.
    Files.writeString(Files.createDirectories(target.resolve("lib")).resolve("precious.txt"), "not in the snapshot\n");
    Files.writeString(Files.createDirectories(target.resolve("lib/sub")).resolve("deep.txt"), "not in the snapshot\n");
    Path elsewhere = Files.createDirectories(dir.resolve("elsewhere"));
    Files.writeString(elsewhere.resolve("precious.txt"), "the user's\n");
    Files.writeString(elsewhere.resolve("a.jar"), "the user's jar\n");
    Files.writeString(Files.createDirectories(elsewhere.resolve("sub")).resolve("deep.txt"), "the user's too\n");

    RecordingListener listener = new RecordingListener();
    try (LayoutStore layout = new LayoutStore(store)) {
      LoadedSnapshot snapshot = new SnapshotReader(layout, layout).load("c", "c").orElseThrow();
      Restorer restorer = new Restorer(layout, listener, 1, new Restorer.Options(false, true, ChunkerParameters.DEFAULT));
      Path lib = target.toRealPath().resolve("lib");
      restorer.beforeListing = listed -> {
        if (listed.equals(lib)) { // another process, now
          try {
            Files.move(lib, target.resolve("lib-moved"));
            Files.createSymbolicLink(lib, elsewhere);
          } catch (IOException e) {
            throw new UncheckedIOException(e);
          }
        }
      };
      restorer.restore(snapshot.index(), target, "c");
    }

    assertEquals("the user's\n", Files.readString(elsewhere.resolve("precious.txt")), "mode=mirror removed a file outside the target");
    assertEquals("the user's too\n", Files.readString(elsewhere.resolve("sub/deep.txt")), "mode=mirror removed a directory outside the target");
    assertTrue(listener.warned("lib was replaced during the pull"), listener.warnings().toString());
  }
}
