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
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A push asks the store whether the stored snapshot's blobs are all still there many at once: each
 * answer from a remote registry is a round trip, and a large cache has hundreds of packs. A push that
 * will need the stored snapshot's index reads it meanwhile.
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
              sixteen.pass(30);
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

  @Test
  void aPushAfterABuildReadsTheParentsIndexWhileItsBlobsAreChecked() throws Exception {
    Path source = dir.resolve("source");
    TestTrees.randomJars(source, 40, 7);
    Path store = dir.resolve("store");
    AtomicReference<Digest> index = new AtomicReference<>();
    CountDownLatch indexRead = new CountDownLatch(1);
    AtomicInteger checks = new AtomicInteger();
    AtomicInteger checksThatSawIt = new AtomicInteger();
    java.util.concurrent.atomic.AtomicLong checksDeadline = new java.util.concurrent.atomic.AtomicLong();
    Cachemount client = Cachemount.builder().home(dir).env(Map.of()).packTarget(64 << 10)
        .stores((s, d, l) -> new ForwardingStore(new LayoutStore(store)) {
          @Override
          public boolean hasBlob(Digest digest) throws IOException {
            if (index.get() != null) {
              // Held until the index is read: meanwhile, or, by a push that reads it only once every
              // check has answered, never (the checks then wait until thirty seconds after the first
              // one began, a deadline they share, so that a stalled thread cannot make a check give
              // up early and a push that never reads the index fails once, not once per check).
              checks.incrementAndGet();
              checksDeadline.compareAndSet(0, System.nanoTime() + TimeUnit.SECONDS.toNanos(30));
              try {
                if (indexRead.await(checksDeadline.get() - System.nanoTime(), TimeUnit.NANOSECONDS)) {
                  checksThatSawIt.incrementAndGet();
                }
              } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new java.io.InterruptedIOException();
              }
            }
            return super.hasBlob(digest);
          }

          @Override
          public java.io.InputStream openBlob(Digest digest, long size) throws IOException {
            if (digest.equals(index.get())) {
              indexRead.countDown();
            }
            return super.openBlob(digest, size);
          }
        }).build();
    CacheSpec spec = client.parseSpec("id=m2,dir=" + store + ",target=" + source);
    client.push(spec, OperationListener.NONE);
    try (LayoutStore layout = new LayoutStore(store)) {
      index.set(Digest.parse(dev.cachemount.core.oci.Json.readManifest(layout.fetchManifest("m2").orElseThrow().bytes(), "manifest")
          .layers().get(0).digest()));
    }
    // A build changes a file: modified after the stored snapshot's scan began, so the push needs the index.
    java.nio.file.Files.write(source.resolve("g/f100.jar"), TestTrees.randomBytes(new java.util.Random(8), 70_000));
    OperationResult pushed = client.push(spec, OperationListener.NONE);
    assertEquals(Outcome.PUSHED, pushed.result());
    assertEquals(0, indexRead.getCount(), "the index was read");
    assertTrue(checks.get() > 20, checks.get() + " checks");
    assertEquals(checks.get(), checksThatSawIt.get(), "no check had to answer before the index was read");
  }
}
