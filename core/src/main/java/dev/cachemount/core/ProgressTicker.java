package dev.cachemount.core;

import java.time.Duration;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;

/**
 * Shows the progress of the operation under way at a steady pace, from a thread of its own: a
 * terminal's progress bar (a few times a second) or a line in a CI log (every few seconds). A front
 * {@link #start starts} it from {@link OperationListener#started} and {@link #stop stops} it from
 * {@link OperationListener#ended}; an operation shorter than {@code firstAfter} shows nothing.
 * Thread-safe.
 */
public final class ProgressTicker implements AutoCloseable {
  /** Where the progress goes. Called on the ticker's thread, or on the thread that stops it. */
  public interface Display {
    /** Shows {@code now}, replacing what it showed before (a bar) or after it (a log). */
    void show(Progress.Now now);

    /** The operation has ended: takes down what {@link #show} put up, if anything. */
    default void clear() {}
  }

  private final Duration firstAfter;
  private final Duration interval;
  private final Display display;
  private ScheduledExecutorService thread;
  private ScheduledFuture<?> ticks;
  private Progress current;
  /** Closed: shows nothing more, whatever starts after (an operation still running while the JVM exits). */
  private boolean closed;

  /**
   * @param firstAfter how long an operation runs before it is shown first
   * @param interval how often it is shown again
   */
  public ProgressTicker(Duration firstAfter, Duration interval, Display display) {
    if (interval.isNegative() || interval.isZero()) {
      throw new IllegalArgumentException("interval must be positive: " + interval);
    }
    this.firstAfter = firstAfter;
    this.interval = interval;
    this.display = display;
  }

  /** Where it shows progress. */
  public Display display() {
    return display;
  }

  /** Starts showing {@code progress}, in place of any other; nothing once the ticker is closed. */
  public synchronized void start(Progress progress) {
    stop(current);
    if (closed) {
      return;
    }
    if (thread == null) {
      thread = Executors.newSingleThreadScheduledExecutor(r -> {
        Thread t = new Thread(r, "cachemount-progress");
        t.setDaemon(true); // never keeps the JVM up
        return t;
      });
    }
    current = progress;
    ticks = thread.scheduleAtFixedRate(() -> tick(progress), firstAfter.toNanos(), interval.toNanos(), TimeUnit.NANOSECONDS);
  }

  private synchronized void tick(Progress progress) {
    if (current == progress) {
      try {
        display.show(progress.now());
      } catch (RuntimeException e) {
        // A display that failed once (a closed stream) is tried again at the next tick: a failure
        // thrown from here would cancel every later tick without a word, and is no reason to fail the operation.
      }
    }
  }

  /**
   * Stops showing {@code progress} (nothing when another is shown): no show starts after this
   * returns, and the display is cleared. A show under way is waited for (the ticker's lock).
   */
  public synchronized void stop(Progress progress) {
    if (progress == null || current != progress) {
      return;
    }
    ticks.cancel(false);
    ticks = null;
    current = null;
    display.clear();
  }

  /**
   * Stops what it shows and its thread; it shows nothing more, even for an operation started after
   * (a front closes it when the JVM is stopped by a signal while the operation still runs).
   */
  @Override
  public synchronized void close() {
    closed = true;
    stop(current);
    if (thread != null) {
      thread.shutdownNow();
      thread = null;
    }
  }

  /** A listener that shows each operation's progress on this ticker, and passes the rest on to {@code next}. */
  public OperationListener showing(OperationListener next) {
    ProgressTicker ticker = this;
    return new OperationListener() {
      @Override
      public void warning(String message) {
        next.warning(message);
      }

      @Override
      public void info(String message) {
        next.info(message);
      }

      @Override
      public void started(Progress progress) {
        ticker.start(progress);
        try {
          next.started(progress);
        } catch (RuntimeException | Error e) {
          ticker.stop(progress); // the operation does not start, so nothing ends it
          throw e;
        }
      }

      @Override
      public void ended(Progress progress) {
        try {
          ticker.stop(progress);
        } finally {
          next.ended(progress);
        }
      }
    };
  }
}
