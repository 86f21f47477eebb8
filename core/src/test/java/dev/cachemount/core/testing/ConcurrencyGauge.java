package dev.cachemount.core.testing;

import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Measures how many threads are inside a call at once: each caller waits until {@code expected}
 * callers have arrived, so that calls the code under test makes at once meet here. The wait is
 * bounded by one deadline, counted from the first arrival and shared by every caller (not a
 * timeout of each caller's own), so that however long a loaded machine stalls a thread between two
 * arrivals, callers that are inside at once meet; and code that calls one at a time fails once,
 * after that one bound, not after one bound per call. A passing run never waits for it: the gate
 * opens when the last caller arrives.
 */
public final class ConcurrencyGauge {
  private static final long UNSET = Long.MIN_VALUE;

  private final AtomicInteger inFlight = new AtomicInteger();
  private final AtomicInteger most = new AtomicInteger();
  private final AtomicLong deadline = new AtomicLong(UNSET);
  private final CountDownLatch arrived;

  public ConcurrencyGauge(int expected) {
    this.arrived = new CountDownLatch(expected);
  }

  /** Called inside the measured call: waits for the others, until {@code seconds} after the first caller arrived. */
  public void pass(long seconds) {
    most.accumulateAndGet(inFlight.incrementAndGet(), Math::max);
    deadline.compareAndSet(UNSET, System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds));
    arrived.countDown();
    try {
      arrived.await(deadline.get() - System.nanoTime(), TimeUnit.NANOSECONDS);
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
