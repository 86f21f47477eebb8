package dev.cachemount.core;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.cachemount.core.blob.Digest;
import dev.cachemount.core.store.LayoutStore;
import dev.cachemount.core.testing.ConcurrencyGauge;
import dev.cachemount.core.testing.ForwardingStore;
import dev.cachemount.core.testing.TestTrees;
import dev.cachemount.core.testing.TreeListing;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A warm pull reads the spans of one pack in parallel, as many at once as the store asks for (a
 * registry: its parallel transfers), however few cores the restore has: a remote store's reads wait
 * on round trips.
 */
class ParallelRangeReadsTest {
  @TempDir Path dir;

  @Test
  void spansOfOnePackAreReadAtOnce() throws Exception {
    Path source = dir.resolve("source");
    TestTrees.randomJars(source, 40, 42);
    Path store = dir.resolve("store");
    ConcurrencyGauge four = new ConcurrencyGauge(4);
    AtomicBoolean watching = new AtomicBoolean();
    Cachemount client = Cachemount.builder().home(dir).env(Map.of()).workers(1)
        .stores((s, d, l) -> new ForwardingStore(new LayoutStore(store)) {
          @Override
          public int parallelReads() {
            return 4;
          }

          @Override
          public InputStream openBlob(Digest digest, long size) throws IOException {
            if (!watching.get() || size < 1_000_000) {
              return super.openBlob(digest, size);
            }
            four.pass(30);
            return super.openBlob(digest, size);
          }
        }).build();
    CacheSpec push = client.parseSpec("id=m2,dir=" + store + ",target=" + source);
    OperationResult pushed = client.push(push, OperationListener.NONE);
    assertEquals(3L, pushed.blobsUploaded(), "config, index and one pack");
    Path target = dir.resolve("target");
    CacheSpec pull = client.parseSpec("id=m2,dir=" + store + ",target=" + target);
    client.pull(pull, OperationListener.NONE);
    for (int i : new int[] {0, 10, 20, 30}) {
      Files.delete(target.resolve("g/f" + (100 + i) + ".jar"));
    }
    watching.set(true);
    OperationResult warm = client.pull(pull, OperationListener.NONE);
    assertEquals(36, warm.filesUnchanged());
    assertEquals(4, four.most(), "four spans of one pack, 640 KiB apart, were read at once");
    assertEquals(TreeListing.of(source), TreeListing.of(target));
  }
}
