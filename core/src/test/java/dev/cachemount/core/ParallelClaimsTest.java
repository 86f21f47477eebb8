package dev.cachemount.core;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.cachemount.core.blob.Digest;
import dev.cachemount.core.store.BlobPut;
import dev.cachemount.core.store.LayoutStore;
import dev.cachemount.core.testing.ConcurrencyGauge;
import dev.cachemount.core.testing.ForwardingStore;
import dev.cachemount.core.testing.TestTrees;
import dev.cachemount.core.testing.TreeListing;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A push that references another snapshot's packs ({@code from=}) claims them in its store as many
 * at once as the store takes uploads: in a registry each claim is a mount (or, where the registry
 * does not mount, a copy), a round trip each, and a large cache reuses hundreds of packs. They went
 * one at a time.
 */
class ParallelClaimsTest {
  @TempDir Path dir;

  @Test
  void packsOfAFromSnapshotAreClaimedAsManyAtOnceAsTheStoreTakesUploads() throws IOException {
    Path a = dir.resolve("a");
    TestTrees.randomJars(a, 40, 7);
    Path b = dir.resolve("b");
    TestTrees.randomJars(b, 40, 7); // the same jars, written again: other times
    Path store = dir.resolve("store");
    Cachemount plain = Cachemount.builder().home(dir).env(Map.of()).packTarget(64 << 10).build();
    plain.push(plain.parseSpec("id=a,dir=" + store + ",target=" + a), OperationListener.NONE);

    AtomicInteger claims = new AtomicInteger();
    ConcurrencyGauge four = new ConcurrencyGauge(4);
    Cachemount claiming = Cachemount.builder().home(dir).env(Map.of()).packTarget(64 << 10)
        .stores((s, d, l) -> new ForwardingStore(new LayoutStore(store)) {
          @Override
          public int parallelPuts() {
            return 4;
          }

          @Override
          public BlobPut claimBlob(Digest digest, long size, Optional<String> fromRepository) throws IOException {
            claims.incrementAndGet();
            four.pass(30);
            return delegate.claimBlob(digest, size, fromRepository);
          }
        }).build();
    OperationResult pushed = claiming.push(claiming.parseSpec("id=b,dir=" + store + ",target=" + b + ",from=a"), OperationListener.NONE);
    assertEquals(Outcome.PUSHED, pushed.result());
    assertTrue(claims.get() > 8, claims.get() + " packs of a claimed: enough for four at once and more");
    assertEquals(4, four.most(), "four claims at once");

    Path restored = dir.resolve("restored");
    plain.pull(plain.parseSpec("id=b,dir=" + store + ",target=" + restored), OperationListener.NONE);
    assertEquals(TreeListing.of(b), TreeListing.of(restored));
  }
}
