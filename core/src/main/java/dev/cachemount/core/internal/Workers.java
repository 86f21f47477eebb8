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
    return Executors.newFixedThreadPool(threads, r -> {
      Thread t = new Thread(r, name);
      t.setDaemon(true);
      return t;
    });
  }

  /**
   * Interrupts the pool's workers and waits (up to 30 seconds: a worker blocked in an
   * uninterruptible call is left behind, as a daemon) until they have stopped, so that none touches
   * what the caller cleans up next.
   */
  public static void stop(ExecutorService pool) {
    stop(pool, java.time.Duration.ofSeconds(30));
  }

  /** As {@link #stop(ExecutorService)}, waiting at most {@code patience}; whether they all stopped. */
  public static boolean stop(ExecutorService pool, java.time.Duration patience) {
    pool.shutdownNow();
    try {
      return pool.awaitTermination(patience.toNanos(), java.util.concurrent.TimeUnit.NANOSECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return false;
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
