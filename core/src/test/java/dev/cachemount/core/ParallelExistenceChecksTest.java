package dev.cachemount.core;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.cachemount.core.blob.Digest;
import dev.cachemount.core.store.LayoutStore;
import dev.cachemount.core.testing.ConcurrencyGauge;
import dev.cachemount.core.testing.ForwardingStore;
import dev.cachemount.core.testing.TestTrees;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A push asks the store whether the stored snapshot's blobs are all still there many at once: each
 * answer from a remote registry is a round trip, and a large cache has hundreds of packs.
 */
class ParallelExistenceChecksTest {
  @TempDir Path dir;

  @Test
  void theParentsBlobsAreCheckedSixteenAtOnce() throws Exception {
    Path source = dir.resolve("source");
    TestTrees.randomJars(source, 40, 7);
    Path store = dir.resolve("store");
    AtomicInteger asked = new AtomicInteger();
    ConcurrencyGauge sixteen = new ConcurrencyGauge(16);
    AtomicBoolean watching = new AtomicBoolean();
    Cachemount client = Cachemount.builder().home(dir).env(Map.of()).packTarget(64 << 10)
        .stores((s, d, l) -> new ForwardingStore(new LayoutStore(store)) {
          @Override
          public boolean hasBlob(Digest digest) throws IOException {
            if (watching.get()) {
              asked.incrementAndGet();
              sixteen.pass(2);
            }
            return super.hasBlob(digest);
          }
        }).build();
    CacheSpec spec = client.parseSpec("id=m2,dir=" + store + ",target=" + source);
    OperationResult first = client.push(spec, OperationListener.NONE);
    assertTrue(first.blobsUploaded() > 20, first.blobsUploaded() + " blobs: enough packs for sixteen checks and more");
    watching.set(true);
    OperationResult unchanged = client.push(spec, OperationListener.NONE);
    assertEquals(Outcome.UNCHANGED, unchanged.result());
    assertEquals(first.blobsUploaded() - 1, asked.get(), "the index and every pack, once each");
    assertEquals(16, sixteen.most(), "sixteen checks at once");
  }
}
