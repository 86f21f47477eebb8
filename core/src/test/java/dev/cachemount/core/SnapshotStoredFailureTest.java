package dev.cachemount.core;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.cachemount.core.internal.InterruptWatch;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * A push that failed after it stored its snapshot (its image view failed) reports failed, naming the
 * snapshot stored: also when the failure is relabelled as an interrupt.
 */
class SnapshotStoredFailureTest {
  private static final OperationResult STORED = new OperationResult("m2", "oci:/s:m2", "sha256:" + "a".repeat(64), Outcome.PUSHED, 3, 1, 0, 300,
      1000, 4L, 0L, 0L, null, null, null, null, 50, null, null);

  @Test
  void theFailedResultKeepsWhatWasStored() {
    SnapshotStoredException e = new SnapshotStoredException(CachemountException.usage("pushed ..., but its image view failed"), null, STORED);
    OperationResult failed = SpecRuns.each(List.of(CacheSpec.parse("id=m2", java.nio.file.Path.of("/tmp"))), spec -> { throw e; }, run -> { }).get(0).result();
    assertEquals(Outcome.FAILED, failed.result());
    assertEquals(STORED.digest(), failed.digest());
    assertEquals(STORED.ref(), failed.ref());
    assertEquals(3, failed.files());
    assertEquals(1000, failed.bytesTransferred());
    assertEquals(2, failed.exitCode());
    assertEquals("pushed ..., but its image view failed", failed.error());
  }

  @Test
  void anInterruptDuringTheImageViewKeepsWhatWasStored() throws InterruptedException {
    try (InterruptWatch watch = InterruptWatch.ofCurrentThread(() -> true)) {
      Thread.currentThread().interrupt();
      long deadline = System.nanoTime() + 10_000_000_000L;
      while (!watch.fired() && System.nanoTime() < deadline) {
        Thread.onSpinWait();
      }
      assertTrue(watch.fired(), "the watch saw the interrupt");
      SnapshotStoredException e = new SnapshotStoredException(CachemountException.operational("image view: connection closed", null), null, STORED);
      RuntimeException told = Cachemount.interrupted(e, watch, "push of cache 'm2'");
      assertTrue(told instanceof SnapshotStoredException, told.toString());
      assertSame(STORED, ((SnapshotStoredException) told).stored());
      assertEquals("push of cache 'm2' was interrupted after it stored " + STORED.digest() + " at oci:/s:m2; the registry connections it was"
          + " reading from were closed", told.getMessage());
    } finally {
      Thread.interrupted();
    }
  }
}
