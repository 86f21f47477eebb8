package dev.cachemount.core;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.cachemount.core.testing.Gate;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.Test;

/**
 * An operation's listener hears nothing once the operation returned, from a worker left behind
 * included: a host's logger may be closed by then.
 */
class ClosableListenerTest {
  @Test
  void nothingIsReportedOnceClosedAndClosingWaitsForAReportUnderWay() throws Exception {
    List<String> heard = Collections.synchronizedList(new ArrayList<>());
    Gate inReport = new Gate();
    ClosableListener listener = new ClosableListener(new OperationListener() {
      @Override
      public void info(String message) {
        if (message.equals("slow")) {
          inReport.pass();
        }
        heard.add(message);
      }

      @Override
      public void warning(String message) {
        heard.add(message);
      }
    });
    listener.info("first");
    Thread worker = new Thread(() -> listener.info("slow"), "reporting-worker");
    worker.start();
    assertTrue(inReport.awaitReached());
    Thread closer = new Thread(listener::close, "returning-operation");
    closer.start();
    // The close waits for the report under way: it parks, rather than ending.
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
    while (closer.getState() != Thread.State.TIMED_WAITING && closer.isAlive() && System.nanoTime() < deadline) {
      Thread.onSpinWait();
    }
    assertEquals(Thread.State.TIMED_WAITING, closer.getState(), "the close waits for the report under way");
    inReport.release();
    closer.join(20_000);
    worker.join(20_000);
    listener.info("late");
    listener.warning("late warning");
    assertEquals(List.of("first", "slow"), heard);
  }

  /**
   * A report that does not return (a host's listener waiting for the thread that is closing it) keeps
   * the close, and so the operation's return, waiting {@link ClosableListener#PATIENCE} at most; no
   * report starts after it (review: the close waited for ever).
   */
  @Test
  void aReportThatNeverReturnsKeepsTheCloseWaitingAWhileOnly() throws Exception {
    Gate inReport = new Gate();
    List<String> heard = Collections.synchronizedList(new ArrayList<>());
    ClosableListener listener = new ClosableListener(new OperationListener() {
      @Override
      public void info(String message) {
        if (message.equals("stuck")) {
          inReport.pass(); // released only at the end of the test
        }
        heard.add(message);
      }
    });
    Thread worker = new Thread(() -> listener.info("stuck"), "stuck-worker");
    worker.setDaemon(true);
    worker.start();
    assertTrue(inReport.awaitReached());
    long started = System.nanoTime();
    listener.close();
    long waited = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - started);
    assertTrue(waited >= ClosableListener.PATIENCE.toMillis() - 50 && waited < ClosableListener.PATIENCE.toMillis() + 5_000, waited + " ms");
    listener.info("late");
    inReport.release();
    worker.join(20_000);
    assertEquals(List.of("stuck"), heard);
  }

  /** An interrupted operation (the case the closing is for) closed its listener without waiting for a report under way (review of cd658be). */
  @Test
  void closeOnAnInterruptedThreadWaitsForAReportUnderWay() throws Exception {
    CountDownLatch inReport = new CountDownLatch(1);
    AtomicBoolean reportEnded = new AtomicBoolean();
    ClosableListener l = new ClosableListener(new OperationListener() {
      @Override public void info(String m) {
        inReport.countDown();
        long end = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(500);
        while (System.nanoTime() < end) { Thread.onSpinWait(); }
        reportEnded.set(true);
      }
      @Override public void warning(String m) {}
    });
    Thread worker = new Thread(() -> l.info("late"), "reporting-worker");
    worker.start();
    assertTrue(inReport.await(5, TimeUnit.SECONDS));
    Thread.currentThread().interrupt();
    long t0 = System.nanoTime();
    l.close();
    long ms = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0);
    boolean ended = reportEnded.get();
    Thread.interrupted();
    worker.join();
    assertTrue(ended, "close() returned after " + ms + " ms while a report was still reaching the host's listener");
  }

  /** A report queued behind the close's wait must not start once the close gave up (review of cd658be). */
  @Test
  void aReportQueuedBehindACloseThatGaveUpDoesNotStart() throws Exception {
    CountDownLatch inReport = new CountDownLatch(1);
    CountDownLatch release = new CountDownLatch(1);
    AtomicBoolean closedReturned = new AtomicBoolean();
    AtomicBoolean heardAfterClose = new AtomicBoolean();
    ClosableListener l = new ClosableListener(new OperationListener() {
      @Override public void info(String m) {
        if (m.equals("stuck")) {
          inReport.countDown();
          try { release.await(); } catch (InterruptedException e) { }
        } else if (closedReturned.get()) {
          heardAfterClose.set(true);
        }
      }
      @Override public void warning(String m) {}
    });
    Thread stuck = new Thread(() -> l.info("stuck"));
    stuck.setDaemon(true);
    stuck.start();
    assertTrue(inReport.await(5, TimeUnit.SECONDS));
    Thread closer = new Thread(() -> { l.close(); closedReturned.set(true); });
    closer.start();
    Thread.sleep(300); // closer now waits in tryLock; a new reader queues behind it
    Thread late = new Thread(() -> l.info("new report"));
    late.start();
    closer.join();
    late.join(5000);
    release.countDown();
    assertFalse(heardAfterClose.get(), "a new report reached the listener after close() returned");
  }
}
