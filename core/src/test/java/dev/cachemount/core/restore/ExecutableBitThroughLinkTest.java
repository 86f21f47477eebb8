package dev.cachemount.core.restore;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

import dev.cachemount.core.CacheSpec;
import dev.cachemount.core.Cachemount;
import dev.cachemount.core.OperationListener;
import dev.cachemount.core.chunk.ChunkerParameters;
import dev.cachemount.core.index.Entry;
import dev.cachemount.core.index.EntryType;
import dev.cachemount.core.snapshot.LoadedSnapshot;
import dev.cachemount.core.snapshot.ScannedEntry;
import dev.cachemount.core.snapshot.SnapshotReader;
import dev.cachemount.core.store.LayoutStore;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The pull's scan saw {@code tool} as an executable file with the snapshot's size and time; before
 * the restore looked at it, another process replaced it with a symlink to a file outside the target.
 * The restore took the executable bit for the only difference and fixed it, and its time, by the
 * path: through the link, the user's private file outside the target became {@code rw-rw-rw-}
 * (world-writable) and took the snapshot's modification time.
 */
class ExecutableBitThroughLinkTest {
  @TempDir Path dir;

  @Test
  void aFileSwappedForALinkSinceTheScanIsNotChmoddedThroughIt() throws IOException {
    Path source = Files.createDirectories(dir.resolve("source"));
    Files.writeString(source.resolve("tool"), "the snapshot's tool\n"); // not executable in the snapshot
    Path store = dir.resolve("store");
    Cachemount.builder().home(dir).env(Map.of()).build().push(CacheSpec.local("c", store, source), OperationListener.NONE);

    Path secret = Files.writeString(Files.createDirectories(dir.resolve("elsewhere")).resolve("secret"), "the user's key\n");
    Files.setPosixFilePermissions(secret, PosixFilePermissions.fromString("rw-------"));
    FileTime secretTime = FileTime.fromMillis(1_000_000_000_000L);
    Files.setLastModifiedTime(secret, secretTime);
    Path target = Files.createDirectories(dir.resolve("target"));
    Files.createSymbolicLink(target.resolve("tool"), secret); // since the scan

    try (LayoutStore layout = new LayoutStore(store)) {
      LoadedSnapshot snapshot = new SnapshotReader(layout, layout).load("c", "c").orElseThrow();
      Entry tool = snapshot.index().entries().stream().filter(e -> e.path().equals("tool")).findFirst().orElseThrow();
      // What the scan saw: the snapshot's file, but executable.
      Map<String, ScannedEntry> seen = Map.of("tool",
          new ScannedEntry("tool", EntryType.FILE, 0100755, tool.size(), tool.mtimeSeconds(), tool.mtimeNanos(), null));
      Restorer restorer = new Restorer(layout, OperationListener.NONE, 1, new Restorer.Options(false, false, ChunkerParameters.DEFAULT, seen));
      restorer.restore(snapshot.index(), target, "c");
    }

    assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(secret)), "the user's file outside the target was chmodded");
    assertEquals(secretTime, Files.getLastModifiedTime(secret), "the user's file outside the target got the snapshot's time");
    assertFalse(Files.isSymbolicLink(target.resolve("tool")), "the snapshot's file is not in place");
    assertEquals("the snapshot's tool\n", Files.readString(target.resolve("tool")));
  }
}
