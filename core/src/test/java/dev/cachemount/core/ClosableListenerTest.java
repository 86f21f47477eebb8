package dev.cachemount.core;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.cachemount.core.testing.Gate;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.TimeUnit;
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
}
