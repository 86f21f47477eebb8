package dev.cachemount.core.internal;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.locks.LockSupport;
import org.junit.jupiter.api.Test;

class WorkersTest {
  /**
   * Most stops are of an operation whose thread was interrupted: the stop waited for nothing then
   * (the interrupt ended its wait at once), and the workers went on into the clean-up that followed,
   * and reported to the listener after the operation returned.
   */
  @Test
  void aStopByAnInterruptedCallerWaitsForTheWorkersAndKeepsTheInterrupt() throws InterruptedException {
    ExecutorService pool = Workers.pool("workers-test", 2);
    CountDownLatch running = new CountDownLatch(2);
    AtomicBoolean[] finished = {new AtomicBoolean(), new AtomicBoolean()};
    for (AtomicBoolean done : finished) {
      pool.execute(() -> {
        running.countDown();
        while (!Thread.currentThread().isInterrupted()) {
          LockSupport.park(); // until the stop
        }
        // A worker takes a moment to stop, as one whose call ends only when its socket is closed.
        Thread.interrupted();
        long end = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(200);
        for (long left; (left = end - System.nanoTime()) > 0; ) {
          LockSupport.parkNanos(left);
        }
        done.set(true);
      });
    }
    assertTrue(running.await(20, TimeUnit.SECONDS));
    Thread.currentThread().interrupt();
    boolean stopped = Workers.stop(pool, java.time.Duration.ofSeconds(30));
    assertTrue(Thread.interrupted(), "the caller's interrupt is kept");
    assertTrue(stopped, "the workers stopped before the stop returned");
    assertTrue(finished[0].get() && finished[1].get(), "both workers had finished");
  }
}
