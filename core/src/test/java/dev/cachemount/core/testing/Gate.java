package dev.cachemount.core.testing;

import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

/**
 * A point in the code under test (a store's read or write) where its thread stops until the test
 * lets it go on; the test learns when the point is reached. Waits are bounded (20 s), so that a test
 * that goes wrong fails instead of hanging.
 */
public final class Gate {
  private final CountDownLatch reached = new CountDownLatch(1);
  private final CountDownLatch released = new CountDownLatch(1);

  /** Called by the code under test: marks the gate reached, then waits until it is released. */
  public void pass() {
    reached.countDown();
    try {
      released.await(20, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  /** Waits for a thread to reach the gate; false when none did within 20 s. */
  public boolean awaitReached() throws InterruptedException {
    return reached.await(20, TimeUnit.SECONDS);
  }

  /** Lets every thread at the gate, and all that come later, go on. */
  public void release() {
    released.countDown();
  }
}
