package dev.cachemount.core.testing;

import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Measures how many threads are inside a call at once: each caller waits (up to a bound) until
 * {@code expected} callers have arrived, so that calls the code under test makes at once meet here.
 */
public final class ConcurrencyGauge {
  private final AtomicInteger inFlight = new AtomicInteger();
  private final AtomicInteger most = new AtomicInteger();
  private final CountDownLatch arrived;

  public ConcurrencyGauge(int expected) {
    this.arrived = new CountDownLatch(expected);
  }

  /** Called inside the measured call: waits for the others, at most {@code seconds}. */
  public void pass(long seconds) {
    most.accumulateAndGet(inFlight.incrementAndGet(), Math::max);
    arrived.countDown();
    try {
      arrived.await(seconds, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    } finally {
      inFlight.decrementAndGet();
    }
  }

  /** The most callers that were inside at once. */
  public int most() {
    return most.get();
  }
}
