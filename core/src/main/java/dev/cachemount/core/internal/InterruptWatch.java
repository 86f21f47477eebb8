package dev.cachemount.core.internal;

import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * Runs an abort once a thread is interrupted, while the thread is blocked where an interrupt does not
 * reach: a socket read of a registry's answer (jib-core's and google-http-client's sockets ignore
 * interrupts). The abort closes what the thread reads from, and the read fails at once instead of at
 * its timeout (a minute). A thread polled every {@link #POLL_MILLIS} ms while watched; the one
 * watching thread ends when nothing has been watched for a few seconds.
 */
public final class InterruptWatch implements AutoCloseable {
  static final long POLL_MILLIS = 50;
  private static final ScheduledThreadPoolExecutor WATCHER = watcher();

  private final ScheduledFuture<?> poll;
  private final AtomicBoolean fired = new AtomicBoolean();

  private final AtomicBoolean tried = new AtomicBoolean();

  private InterruptWatch(Thread thread, java.util.function.BooleanSupplier abort) {
    poll = WATCHER.scheduleWithFixedDelay(() -> {
      if (thread.isInterrupted() && tried.compareAndSet(false, true)) {
        try {
          fired.set(abort.getAsBoolean());
        } catch (RuntimeException e) {
          // the abort is best effort: the thread then fails at its read's timeout, as before
        }
      }
    }, POLL_MILLIS, POLL_MILLIS, TimeUnit.MILLISECONDS);
  }

  /**
   * Watches the calling thread until closed: {@code abort} runs once, on another thread, if it is
   * interrupted meanwhile, and says whether it cut anything off.
   */
  public static InterruptWatch ofCurrentThread(java.util.function.BooleanSupplier abort) {
    return new InterruptWatch(Thread.currentThread(), abort);
  }

  /** Whether the abort ran and cut something off. */
  public boolean fired() {
    return fired.get();
  }

  /** Stops watching; an abort under way finishes on its own thread. */
  @Override
  public void close() {
    poll.cancel(false);
  }

  private static ScheduledThreadPoolExecutor watcher() {
    ScheduledThreadPoolExecutor executor = new ScheduledThreadPoolExecutor(1, r -> {
      Thread t = new Thread(r, "cachemount-interrupt-watch");
      t.setDaemon(true);
      return t;
    });
    executor.setRemoveOnCancelPolicy(true);
    executor.setKeepAliveTime(3, TimeUnit.SECONDS);
    executor.allowCoreThreadTimeOut(true);
    return executor;
  }
}
