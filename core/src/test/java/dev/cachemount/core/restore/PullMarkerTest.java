package dev.cachemount.core.restore;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.cachemount.core.testing.LockHoldingProcess;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class PullMarkerTest {
  @TempDir Path root;

  @Test
  void aRestoresMarkerNamesItsFilesAndSaysWhetherTheirWriterRuns() throws IOException {
    PullMarker marker = PullMarker.make(root).orElseThrow();
    Path sub = Files.createDirectories(root.resolve("a/b"));
    Path temp = sub.resolve(marker.tempName());
    assertTrue(temp.getFileName().toString().matches("\\.cachemount-tmp-[0-9a-f]{8}-[0-9a-f]{7}"), temp.toString());
    List<String> inRoot;
    try (Stream<Path> files = Files.list(root)) {
      inRoot = files.map(p -> p.getFileName().toString()).filter(n -> n.startsWith(".cachemount-tmp-")).toList();
    }
    assertEquals(1, inRoot.size(), inRoot.toString());
    assertTrue(inRoot.get(0).matches("\\.cachemount-tmp-[0-9a-f]{8}\\.pull"), "renamed once locked: " + inRoot);
    assertEquals(PullMarker.Owner.THIS_PROCESS, PullMarker.ownerOf(temp));
    assertEquals(PullMarker.Owner.THIS_PROCESS, PullMarker.ownerOf(root.resolve(inRoot.get(0))));
    marker.close();
    assertFalse(Files.exists(root.resolve(inRoot.get(0))), "the marker goes when the restore ends");
    assertEquals(PullMarker.Owner.UNKNOWN, PullMarker.ownerOf(temp), "no marker above it: its age decides");
    assertEquals(PullMarker.Owner.UNKNOWN, PullMarker.ownerOf(sub.resolve(".cachemount-tmp-5f2a3b")), "an earlier version's name");
    assertEquals(PullMarker.Owner.UNKNOWN, PullMarker.ownerOf(sub.resolve(".cachemount-tmp-aside-0123abcd-1234567")));
  }

  /** Where a lock may stay on one machine (NFS, say), no marker is made: the files' age decides, as without one. */
  @Test
  void markersAreMadeOnLocalFileSystemsOnly() throws IOException {
    assertTrue(PullMarker.locksSeenByAll(root), "the test's temporary directory is local: " + Files.getFileStore(root).type());
    assertFalse(PullMarker.locksSeenByAll(root.resolve("does-not-exist")), "what cannot be told is not trusted");
  }

  @Test
  void aMarkerIsJudgedByItsLockWhereverItIsFoundAbove() throws IOException {
    Path marker = Files.writeString(root.resolve(".cachemount-tmp-c0ffee00.pull"), "");
    Path temp = Files.createDirectories(root.resolve("x/y")).resolve(".cachemount-tmp-c0ffee00-0000001");
    assertEquals(PullMarker.Owner.GONE, PullMarker.ownerOf(temp), "a marker no process holds: SIGKILL left it");
    try (LockHoldingProcess running = LockHoldingProcess.holding(marker)) {
      assertEquals(PullMarker.Owner.ALIVE, PullMarker.ownerOf(temp));
      assertEquals(PullMarker.Owner.ALIVE, PullMarker.ownerOf(marker));
      Path unlocked = Files.writeString(root.resolve(".cachemount-tmp-c0ffee01.pull-new"), "");
      assertEquals(PullMarker.Owner.GONE, PullMarker.ownerOf(unlocked), "a marker in the making that its maker never locked");
      // The same directory reached through a link (or a bind mount, a container's volume): the marker
      // above it is not on that path, and the file of a running pull must not be taken for a leftover.
      Path through = Files.createSymbolicLink(root.resolveSibling(root.getFileName() + "-link"), root.resolve("x"));
      try {
        assertEquals(PullMarker.Owner.UNKNOWN, PullMarker.ownerOf(through.resolve("y/.cachemount-tmp-c0ffee00-0000001")));
      } finally {
        Files.delete(through);
      }
    }
  }
}
