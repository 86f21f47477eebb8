package dev.cachemount.core.restore;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.cachemount.core.CacheSpec;
import dev.cachemount.core.Cachemount;
import dev.cachemount.core.CachemountException;
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
import java.util.Set;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * A file system mounted inside the target (a CI volume under the cache directory; a bind mount of
 * another directory): {@code mode=mirror} emptied it of everything the snapshot lacks, then failed on
 * the mount point (EBUSY), the mirror half done; a pull that replaced a directory holding one with a
 * file deleted what was mounted there once it completed. Mount points are told here as
 * {@code /proc/self/mountinfo} would tell them.
 */
class MirrorMountPointTest {
  @TempDir Path dir;
  Path source;
  Path store;
  Path target;
  final RecordingListener listener = new RecordingListener();

  @BeforeEach
  void setUp() throws IOException {
    source = Files.createDirectories(dir.resolve("source"));
    Files.writeString(source.resolve("a"), "the snapshot's\n");
    store = dir.resolve("store");
    target = Files.createDirectories(dir.resolve("target"));
    Files.writeString(target.resolve("extra"), "not in the snapshot\n");
  }

  @ParameterizedTest
  @ValueSource(strings = {"volume", "old/volume", "kept/volume"})
  void aMountPointInsideTheTargetAndWhatItHoldsStay(String mountPoint) throws IOException {
    Files.writeString(Files.createDirectories(source.resolve("kept")).resolve("x"), "the snapshot's too\n");
    Path volume = Files.createDirectories(target.resolve(mountPoint).resolve("deep"));
    Files.writeString(volume.resolve("data"), "another file system's\n");
    Files.writeString(Files.createDirectories(target.resolve("kept")).resolve("extra"), "not in the snapshot\n");

    restore(mountPoint, true);

    assertFalse(Files.exists(target.resolve("extra")), "mode=mirror removes what the snapshot lacks");
    assertFalse(Files.exists(target.resolve("kept/extra")), "also beside a mount point, in a directory of the snapshot");
    assertEquals("another file system's\n", Files.readString(volume.resolve("data")));
    assertTrue(listener.warned("mode=mirror leaves it and what it holds alone"), listener.warnings().toString());
    assertEquals("the snapshot's\n", Files.readString(target.resolve("a")));
  }

  @Test
  void aDirectoryHoldingAMountPointIsNotReplacedByTheSnapshotsFile() throws IOException {
    Files.writeString(source.resolve("lib"), "the snapshot's file\n");
    Path volume = Files.createDirectories(target.resolve("lib/volume"));
    Files.writeString(volume.resolve("data"), "another file system's\n");

    CachemountException e = assertThrows(CachemountException.class, () -> restore("lib/volume", false));

    assertTrue(e.getMessage().contains("is or holds a mount point (" + volume + ")") && e.getMessage().contains("unmount it"), e.getMessage());
    assertEquals("another file system's\n", Files.readString(volume.resolve("data")));
  }

  private void restore(String mountPoint, boolean mirror) throws IOException {
    Cachemount.builder().home(dir).env(Map.of()).build().push(CacheSpec.local("c", store, source), OperationListener.NONE);
    try (LayoutStore layout = new LayoutStore(store)) {
      LoadedSnapshot snapshot = new SnapshotReader(layout, layout).load("c", "c").orElseThrow();
      Restorer restorer = new Restorer(layout, listener, 1, new Restorer.Options(false, mirror, ChunkerParameters.DEFAULT));
      restorer.mountPoints = root -> Set.of(root.resolve(mountPoint));
      restorer.restore(snapshot.index(), target, "c");
    }
  }
}
