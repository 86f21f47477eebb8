package dev.cachemount.core;

import java.util.concurrent.locks.ReadWriteLock;
import java.util.concurrent.locks.ReentrantReadWriteLock;

/**
 * The listener an operation reports to, closed when the operation returns: a worker still running
 * then (left behind blocked in a call that ignores interrupts, see {@code Workers.stop}) reports
 * nothing more. A library user's listener may be a host's logger (a build daemon's), closed once the
 * operation it was given to has returned. Closing waits for reports under way, so none reaches the
 * user's listener after the operation returned.
 */
final class ClosableListener implements OperationListener, AutoCloseable {
  private final OperationListener listener;
  private final ReadWriteLock reports = new ReentrantReadWriteLock();
  private volatile boolean closed;
  private final java.util.concurrent.atomic.AtomicLong warnings = new java.util.concurrent.atomic.AtomicLong();

  ClosableListener(OperationListener listener) {
    this.listener = listener;
  }

  @Override
  public void warning(String message) {
    warnings.incrementAndGet();
    report(() -> listener.warning(message));
  }

  /** How many warnings were given so far. */
  long warnings() {
    return warnings.get();
  }

  @Override
  public void info(String message) {
    report(() -> listener.info(message));
  }

  @Override
  public void started(Progress progress) {
    report(() -> listener.started(progress));
  }

  @Override
  public void ended(Progress progress) {
    report(() -> listener.ended(progress));
  }

  /** Passes a report on unless closed, {@link #close} waiting for it. */
  private void report(Runnable report) {
    reports.readLock().lock();
    try {
      if (!closed) {
        report.run();
      }
    } finally {
      reports.readLock().unlock();
    }
  }

  /**
   * Closes, waiting for reports under way at most {@link #PATIENCE}: a report that does not return (a
   * host's listener that waits for the very thread now closing it) must not keep the operation from
   * returning. Past that, such a report may end after the operation returned; no new one starts.
   */
  @Override
  public void close() {
    closed = true; // first: no report starts from now on, not even one queued behind this close
    // Then the wait for reports under way, an interrupt or not (an interrupted operation closes its
    // listener too, and tryLock throws at once on an interrupted thread): kept, and told again after.
    long deadline = System.nanoTime() + PATIENCE.toNanos();
    boolean interrupted = Thread.interrupted();
    boolean locked = false;
    while (!locked && System.nanoTime() < deadline) {
      try {
        locked = reports.writeLock().tryLock(deadline - System.nanoTime(), java.util.concurrent.TimeUnit.NANOSECONDS);
      } catch (InterruptedException e) {
        interrupted = true;
      }
    }
    if (locked) {
      reports.writeLock().unlock();
    }
    if (interrupted) {
      Thread.currentThread().interrupt();
    }
  }

  static final java.time.Duration PATIENCE = java.time.Duration.ofSeconds(2);
}
