package dev.cachemount.core.internal;

import java.io.IOException;
import java.io.InterruptedIOException;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

/** The worker pools of the library and how their failures reach the caller. */
public final class Workers {
  private Workers() {}

  /** A fixed pool of {@code threads} daemon threads named {@code name}; the caller shuts it down. */
  public static ExecutorService pool(String name, int threads) {
    return Executors.newFixedThreadPool(threads, daemons(name));
  }

  /**
   * Daemon threads named {@code name}, as many as there are tasks running, each ending after a minute
   * without one; the caller shuts the pool down.
   */
  public static ExecutorService elastic(String name) {
    return Executors.newCachedThreadPool(daemons(name));
  }

  private static java.util.concurrent.ThreadFactory daemons(String name) {
    return r -> {
      Thread t = new Thread(r, name);
      t.setDaemon(true);
      return t;
    };
  }

  /** How long a caller that was interrupted waits for its workers to stop. */
  static final java.time.Duration CANCELLED_PATIENCE = java.time.Duration.ofSeconds(2);

  /**
   * Interrupts the pool's workers and waits (up to 30 seconds: a worker blocked in an
   * uninterruptible call is left behind, as a daemon) until they have stopped, so that none touches
   * what the caller cleans up next, nor reports to its listener after the operation returned.
   */
  public static void stop(ExecutorService pool) {
    stop(pool, java.time.Duration.ofSeconds(30));
  }

  /**
   * As {@link #stop(ExecutorService)}, waiting at most {@code patience}; whether they all stopped.
   *
   * <p>A caller that was interrupted (most stops are of a cancelled operation) waits too, with its
   * interrupt kept: it returned at once, and workers went on into its clean-up, and reported a
   * retry of an upload that had been cancelled. It waits at most {@link #CANCELLED_PATIENCE}: its own
   * caller waits for it, and a worker still running then is blocked in a socket read that only the
   * store's closing of its connections ends, after this returns.
   */
  public static boolean stop(ExecutorService pool, java.time.Duration patience) {
    pool.shutdownNow();
    boolean interrupted = Thread.interrupted();
    java.time.Duration wait = interrupted && patience.compareTo(CANCELLED_PATIENCE) > 0 ? CANCELLED_PATIENCE : patience;
    long deadline = System.nanoTime() + wait.toNanos();
    try {
      while (true) {
        try {
          return pool.awaitTermination(Math.max(0, deadline - System.nanoTime()), java.util.concurrent.TimeUnit.NANOSECONDS);
        } catch (InterruptedException e) {
          interrupted = true; // interrupted again while waiting: the wait is bounded, and the interrupt kept
        }
      }
    } finally {
      if (interrupted) {
        Thread.currentThread().interrupt();
      }
    }
  }

  /**
   * Waits for a worker's result; its failure comes out as it was thrown ({@link #rethrow}), an
   * interrupt as an {@link InterruptedIOException} saying what was interrupted.
   *
   * @param activity what the caller was doing, for the interrupt's message: "storing blobs"
   */
  public static <T> T await(Future<T> result, String activity) throws IOException {
    try {
      return result.get();
    } catch (ExecutionException e) {
      throw rethrow(e.getCause());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new InterruptedIOException("interrupted while " + activity);
    }
  }

  /** Rethrows a worker's failure as what it was: an I/O exception, a runtime exception or an error. */
  public static IOException rethrow(Throwable t) throws IOException {
    if (t instanceof IOException io) {
      throw io;
    }
    if (t instanceof RuntimeException re) {
      throw re;
    }
    if (t instanceof Error e) {
      throw e;
    }
    throw new IOException(t);
  }
}
