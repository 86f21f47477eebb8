package dev.cachemount.core.restore;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.cachemount.core.CacheSpec;
import dev.cachemount.core.Cachemount;
import dev.cachemount.core.OperationListener;
import dev.cachemount.core.blob.Digest;
import dev.cachemount.core.chunk.ChunkerParameters;
import dev.cachemount.core.internal.CleanupOnExit;
import dev.cachemount.core.snapshot.LoadedSnapshot;
import dev.cachemount.core.snapshot.SnapshotReader;
import dev.cachemount.core.store.LayoutStore;
import dev.cachemount.core.testing.ForwardingStore;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A pull cancelled by SIGTERM while it writes a file: the exit hook deletes the temporary file under
 * the writer, whose rename then finds it gone. That is the signal, and the pull says so; it said "the
 * pull's temporary file ... vanished while the pull wrote it: another program deleted it".
 */
class CancelledRestoreTest {
  @TempDir Path dir;

  @Test
  void aFileWhoseTemporaryFileTheExitHookDeletedIsToldAsTheCancel() throws IOException {
    Path source = Files.createDirectories(dir.resolve("source"));
    byte[] bytes = new byte[1 << 20];
    new Random(7).nextBytes(bytes);
    Files.write(source.resolve("big.bin"), bytes); // in many packs of 64 KiB: written over several pack reads
    Path store = dir.resolve("store");
    Cachemount.builder().home(dir).env(Map.of()).packTarget(64 * 1024).build().push(CacheSpec.local("c", store, source), OperationListener.NONE);
    Path target = dir.resolve("target");
    AtomicInteger packs = new AtomicInteger();
    try (LayoutStore layout = new LayoutStore(store)) {
      LoadedSnapshot snapshot = new SnapshotReader(layout, layout).load("c", "c").orElseThrow();
      assertTrue(snapshot.index().packs().size() >= 4, "packs: " + snapshot.index().packs().size());
      ForwardingStore cancelling = new ForwardingStore(layout) {
        @Override
        public InputStream openBlob(Digest digest, long size) throws IOException {
          if (size > 32 * 1024 && packs.incrementAndGet() == 3) {
            CleanupOnExit.runAllAsOnExit(); // SIGTERM now, the file half written; the pull goes on until it notices
          }
          return super.openBlob(digest, size);
        }
      };
      Restorer restorer = new Restorer(cancelling, OperationListener.NONE, 1, Restorer.Options.defaults(ChunkerParameters.DEFAULT));
      IOException e = assertThrows(IOException.class, () -> restorer.restore(snapshot.index(), target, "c"));
      assertEquals("the restore was cancelled", e.getMessage(), e.toString());
    }
    assertTrue(packs.get() >= 3, "the hook ran");
    try (Stream<Path> left = Files.exists(target) ? Files.walk(target) : Stream.empty()) {
      assertEquals(0, left.filter(p -> p.getFileName().toString().startsWith(TempFiles.PREFIX)).count(), "no temporary file is left");
    }
  }
}
