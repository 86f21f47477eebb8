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
    while (closer.getState() != Thread.State.WAITING && closer.isAlive() && System.nanoTime() < deadline) {
      Thread.onSpinWait();
    }
    assertEquals(Thread.State.WAITING, closer.getState(), "the close waits for the report under way");
    inReport.release();
    closer.join(20_000);
    worker.join(20_000);
    listener.info("late");
    listener.warning("late warning");
    assertEquals(List.of("first", "slow"), heard);
  }
}
