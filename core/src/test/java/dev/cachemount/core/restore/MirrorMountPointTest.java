package dev.cachemount.core.restore;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
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
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code mode=mirror} and a file system mounted inside the target (a CI volume under the cache
 * directory): the walk emptied the mounted file system of everything the snapshot lacks, then failed
 * on the mount point (EBUSY), the mirror half done. It now leaves a mount point alone, as
 * {@code rm --one-file-system} does.
 */
class MirrorMountPointTest {
  @TempDir Path dir;

  @ParameterizedTest
  @ValueSource(booleans = {false, true})
  void aMountPointInsideTheTargetAndWhatItHoldsStay(boolean snapshotHasIt) throws IOException {
    Path source = Files.createDirectories(dir.resolve("source"));
    Files.writeString(source.resolve("a"), "the snapshot's\n");
    if (snapshotHasIt) {
      Files.writeString(Files.createDirectories(source.resolve("volume")).resolve("x"), "the snapshot's too\n");
    }
    Path store = dir.resolve("store");
    Cachemount.builder().home(dir).env(Map.of()).build().push(CacheSpec.local("c", store, source), OperationListener.NONE);
    Path target = Files.createDirectories(dir.resolve("target"));
    Files.writeString(target.resolve("extra"), "not in the snapshot\n");
    Path volume = Files.createDirectories(target.resolve("volume/deep"));
    Files.writeString(volume.resolve("data"), "another file system's\n");

    RecordingListener listener = new RecordingListener();
    try (LayoutStore layout = new LayoutStore(store)) {
      LoadedSnapshot snapshot = new SnapshotReader(layout, layout).load("c", "c").orElseThrow();
      Restorer restorer = new Restorer(layout, listener, 1, new Restorer.Options(false, true, ChunkerParameters.DEFAULT));
      restorer.devices = d -> d.startsWith(target.resolve("volume")) ? "mounted" : "the target's";
      restorer.restore(snapshot.index(), target, "c");
    }

    assertFalse(Files.exists(target.resolve("extra")), "mode=mirror removes what the snapshot lacks");
    assertEquals("another file system's\n", Files.readString(volume.resolve("data")));
    assertTrue(listener.warned("volume is a mount point"), listener.warnings().toString());
    assertEquals("the snapshot's\n", Files.readString(target.resolve("a")));
  }
}
