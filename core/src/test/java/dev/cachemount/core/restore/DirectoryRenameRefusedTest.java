package dev.cachemount.core.restore;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.cachemount.core.CacheSpec;
import dev.cachemount.core.Cachemount;
import dev.cachemount.core.OperationListener;
import dev.cachemount.core.blob.Digest;
import dev.cachemount.core.chunk.ChunkerParameters;
import dev.cachemount.core.snapshot.LoadedSnapshot;
import dev.cachemount.core.snapshot.SnapshotReader;
import dev.cachemount.core.store.LayoutStore;
import dev.cachemount.core.testing.FailingOnceReplaced;
import dev.cachemount.core.testing.ForwardingStore;
import dev.cachemount.core.testing.RecordingListener;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A file system that will not rename a directory (overlayfs without {@code redirect_dir}, as Docker
 * mounts it, answers EXDEV for a directory of a lower layer), where the snapshot has a file in place
 * of the target's directory: every pull failed on it. The directory is now copied aside and deleted,
 * and comes back whole when the pull fails.
 */
class DirectoryRenameRefusedTest {
  @TempDir Path dir;
  Path store;
  Path target;
  final RecordingListener listener = new RecordingListener();
  /** As overlayfs without redirect_dir: no directory of a lower layer (all but those the restore made) is renamed. */
  final TempFiles.Renamer overlay = (from, to) -> {
    if (Files.isDirectory(from, LinkOption.NOFOLLOW_LINKS) && !from.getFileName().toString().startsWith(".cachemount-tmp-")) {
      throw new AtomicMoveNotSupportedException(from.toString(), to.toString(), "Invalid cross-device link");
    }
    TempFiles.Renamer.ATOMIC.rename(from, to);
  };

  @BeforeEach
  void setUp() throws IOException {
    Path source = Files.createDirectories(dir.resolve("source"));
    Files.writeString(source.resolve("a-x"), "the snapshot's file\n");
    byte[] large = new byte[4 << 20];
    new Random(7).nextBytes(large);
    Files.write(source.resolve("z-large.bin"), large);
    store = dir.resolve("store");
    Cachemount.builder().home(dir).env(Map.of()).workers(1).build().push(CacheSpec.local("c", store, source), OperationListener.NONE);

    target = Files.createDirectories(dir.resolve("target"));
    Path sub = Files.createDirectories(target.resolve("a-x/sub"));
    Files.writeString(sub.resolve("mine"), "the user's file\n");
    Files.createSymbolicLink(target.resolve("a-x/link"), Path.of("sub/mine"));
    Files.setLastModifiedTime(sub, FileTime.fromMillis(1_000_000_000_000L));
    Files.setPosixFilePermissions(sub, PosixFilePermissions.fromString("r-xr-xr-x"));
  }

  @Test
  void aDirectoryThatCannotBeRenamedIsCopiedAsideAndThePullCompletes() throws IOException {
    try (LayoutStore blobs = new LayoutStore(store)) {
      restore(blobs);
    }

    assertEquals("the snapshot's file\n", Files.readString(target.resolve("a-x")));
    assertTrue(listener.warned("replacing directory " + target.resolve("a-x")), listener.warnings().toString());
    assertEquals(List.of(), temporaryNames());
  }

  @Test
  void aPullThatFailsAfterCopyingTheDirectoryAsidePutsItBackWhole() throws IOException {
    // a-x's frame comes first in the only pack: the read fails once a-x is in place.
    ForwardingStore failing = new ForwardingStore(new LayoutStore(store)) {
      @Override
      public InputStream openBlob(Digest digest, long size) throws IOException {
        InputStream in = super.openBlob(digest, size);
        return size < (1 << 20) ? in : new FailingOnceReplaced(in, target.resolve("a-x"), 64 * 1024);
      }
    };
    assertThrows(IOException.class, () -> restore(failing));

    Path back = target.resolve("a-x");
    assertTrue(Files.isDirectory(back, LinkOption.NOFOLLOW_LINKS), "the user's directory is back");
    assertEquals("the user's file\n", Files.readString(back.resolve("sub/mine")));
    assertEquals("sub/mine", Files.readSymbolicLink(back.resolve("link")).toString());
    assertEquals(FileTime.fromMillis(1_000_000_000_000L), Files.getLastModifiedTime(back.resolve("sub")));
    assertEquals("r-xr-xr-x", PosixFilePermissions.toString(Files.getPosixFilePermissions(back.resolve("sub"))));
    assertEquals(List.of(), temporaryNames());
  }

  /** Restores the snapshot, its blobs read from {@code blobs}, on a file system that will not rename directories. */
  private void restore(dev.cachemount.core.store.BlobSource blobs) throws IOException {
    try (LayoutStore layout = new LayoutStore(store)) {
      LoadedSnapshot snapshot = new SnapshotReader(layout, layout).load("c", "c").orElseThrow();
      Restorer restorer = new Restorer(blobs, listener, 1, Restorer.Options.defaults(ChunkerParameters.DEFAULT));
      restorer.renamer = overlay;
      restorer.restore(snapshot.index(), target, "c");
    }
  }

  private List<String> temporaryNames() throws IOException {
    try (Stream<Path> all = Files.walk(target)) {
      return all.map(p -> p.getFileName().toString()).filter(n -> n.startsWith(".cachemount-tmp")).toList();
    }
  }
}
