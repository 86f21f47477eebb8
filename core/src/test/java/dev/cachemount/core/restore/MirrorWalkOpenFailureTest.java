package dev.cachemount.core.restore;

import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.cachemount.core.CacheSpec;
import dev.cachemount.core.Cachemount;
import dev.cachemount.core.OperationListener;
import dev.cachemount.core.chunk.ChunkerParameters;
import dev.cachemount.core.snapshot.LoadedSnapshot;
import dev.cachemount.core.snapshot.SnapshotReader;
import dev.cachemount.core.store.LayoutStore;
import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A directory of the snapshot that {@code mode=mirror}'s walk cannot open for a reason other than a
 * swap (here: the process is out of file descriptors, EMFILE; EIO would do the same) is a failure of
 * the pull, as it was before 306a52b: not "replaced during the pull", left un-mirrored with a warning
 * while the pull reports success.
 */
class MirrorWalkOpenFailureTest {
  @TempDir Path dir;

  @Test
  void aDirectoryTheWalkCannotOpenForWantOfDescriptorsFailsThePull() throws IOException {
    Path source = Files.createDirectories(dir.resolve("source"));
    Files.writeString(Files.createDirectories(source.resolve("lib")).resolve("a.jar"), "the snapshot's\n");
    Path store = dir.resolve("store");
    Cachemount.builder().home(dir).env(Map.of()).build().push(CacheSpec.local("c", store, source), OperationListener.NONE);

    Path target = Files.createDirectories(dir.resolve("target"));
    Files.writeString(Files.createDirectories(target.resolve("lib")).resolve("extra.txt"), "not in the snapshot\n");
    Path filler = Files.writeString(dir.resolve("filler"), "");

    List<FileChannel> hoard = new ArrayList<>();
    List<String> warnings = java.util.Collections.synchronizedList(new ArrayList<>());
    OperationListener listener = new OperationListener() {
      @Override
      public void warning(String message) {
        release(hoard); // the walk goes on: give the descriptors back
        warnings.add(message);
      }
    };
    try (LayoutStore layout = new LayoutStore(store)) {
      LoadedSnapshot snapshot = new SnapshotReader(layout, layout).load("c", "c").orElseThrow();
      Restorer restorer = new Restorer(layout, listener, 1, new Restorer.Options(false, true, ChunkerParameters.DEFAULT));
      Path lib = target.toRealPath().resolve("lib");
      restorer.beforeListing = listed -> {
        if (listed.equals(lib)) { // every descriptor taken, just before the walk opens lib
          try {
            for (int i = 0; i < 200_000; i++) {
              hoard.add(FileChannel.open(filler));
            }
          } catch (IOException full) {
            return; // EMFILE: the open of lib fails for want of a descriptor
          }
          release(hoard);
          Assumptions.abort("could not exhaust the file descriptors");
        }
      };
      try {
        assertThrows(IOException.class, () -> restorer.restore(snapshot.index(), target, "c"),
            () -> "the pull succeeded with lib not mirrored; warnings: " + warnings);
      } finally {
        release(hoard);
      }
    }
    assertTrue(warnings.stream().noneMatch(w -> w.contains("was replaced during the pull")), warnings.toString());
  }

  private static void release(List<FileChannel> hoard) {
    for (FileChannel c : hoard) {
      try {
        c.close();
      } catch (IOException e) {
        // closing
      }
    }
    hoard.clear();
  }
}
