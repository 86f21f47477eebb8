package dev.cachemount.core;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The ticker shows the operation under way at its pace, nothing after it ended, and clears what it showed. */
class ProgressTickerTest {
  /** Records what it was asked to show and to clear, in order. */
  static final class Recorded implements ProgressTicker.Display {
    final List<String> events = new ArrayList<>();

    @Override
    public synchronized void show(Progress.Now now) {
      events.add("show " + now.id() + " " + now.bytesDone());
      notifyAll();
    }

    @Override
    public synchronized void clear() {
      events.add("clear");
    }

    synchronized void awaitShows(int n) throws InterruptedException {
      long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
      while (events.stream().filter(e -> e.startsWith("show")).count() < n && System.nanoTime() < deadline) {
        wait(100);
      }
    }

    synchronized List<String> events() {
      return List.copyOf(events);
    }
  }

  @Test
  void showsTheProgressUnderWayUntilItIsStoppedThenClearsAndShowsNothingMore() throws InterruptedException {
    Recorded display = new Recorded();
    Progress progress = new Progress("a", "push", Progress.Step.READING);
    try (ProgressTicker ticker = new ProgressTicker(Duration.ZERO, Duration.ofMillis(10), display)) {
      OperationListener listener = ticker.showing(OperationListener.NONE);
      // Counted before it starts: the first show comes at once (firstAfter 0), before a count made after the start would be.
      progress.bytes(5);
      listener.started(progress);
      display.awaitShows(3);
      listener.ended(progress);
      List<String> atEnd = display.events();
      assertTrue(atEnd.size() >= 4 && atEnd.get(0).equals("show a 5"), atEnd.toString());
      assertEquals("clear", atEnd.get(atEnd.size() - 1));
      Thread.sleep(100);
      assertEquals(atEnd, display.events(), "nothing shown after the operation ended");
    }
  }

  @Test
  void anOperationShorterThanTheFirstShowShowsNothing() throws InterruptedException {
    Recorded display = new Recorded();
    Progress progress = new Progress("a", "pull", Progress.Step.FETCHING);
    try (ProgressTicker ticker = new ProgressTicker(Duration.ofSeconds(30), Duration.ofSeconds(30), display)) {
      ticker.start(progress);
      Thread.sleep(50);
      ticker.stop(progress);
    }
    assertEquals(List.of("clear"), display.events());
  }

  @Test
  void aSecondOperationTakesThePlaceOfTheFirstAndStoppingTheFirstThenDoesNothing() throws InterruptedException {
    Recorded display = new Recorded();
    Progress first = new Progress("a", "pull", Progress.Step.FETCHING);
    Progress second = new Progress("b", "push", Progress.Step.SCANNING);
    try (ProgressTicker ticker = new ProgressTicker(Duration.ZERO, Duration.ofMillis(10), display)) {
      ticker.start(first);
      ticker.start(second);
      int before = display.events().size();
      ticker.stop(first); // already replaced: nothing cleared
      display.awaitShows(before + 2);
      List<String> events = display.events();
      // Starting the second cleared the first; stopping the first then cleared nothing, and only the second is shown.
      assertTrue(events.subList(before, events.size()).stream().allMatch(e -> e.startsWith("show b")), events.toString());
      assertTrue(events.contains("show b 0"), events.toString());
      assertTrue(events.stream().noneMatch(e -> e.startsWith("show a")) || events.indexOf("clear") > events.lastIndexOf("show a 0"), events.toString());
    }
  }

  @Test
  void aClosedTickerShowsNothingMoreEvenForAnOperationStartedAfter() throws InterruptedException {
    Recorded display = new Recorded();
    ProgressTicker ticker = new ProgressTicker(Duration.ZERO, Duration.ofMillis(2), display);
    Progress first = new Progress("a", "push", Progress.Step.READING);
    ticker.start(first);
    display.awaitShows(1);
    ticker.close();
    List<String> atClose = display.events();
    assertEquals("clear", atClose.get(atClose.size() - 1), atClose.toString());
    ticker.start(new Progress("b", "push", Progress.Step.SCANNING));
    Thread.sleep(50);
    ticker.stop(first);
    assertEquals(atClose, display.events(), "nothing shown once closed");
  }

  @Test
  void theListenerPassesEverythingOn() {
    List<String> heard = new ArrayList<>();
    OperationListener next = new OperationListener() {
      @Override
      public void warning(String message) {
        heard.add("warning " + message);
      }

      @Override
      public void info(String message) {
        heard.add("info " + message);
      }

      @Override
      public void started(Progress progress) {
        heard.add("started " + progress.id());
      }

      @Override
      public void ended(Progress progress) {
        heard.add("ended " + progress.id());
      }
    };
    try (ProgressTicker ticker = new ProgressTicker(Duration.ofHours(1), Duration.ofHours(1), new Recorded())) {
      OperationListener l = ticker.showing(next);
      Progress p = new Progress("x", "verify", Progress.Step.FETCHING);
      l.started(p);
      l.warning("w");
      l.info("i");
      l.ended(p);
    }
    assertEquals(List.of("started x", "warning w", "info i", "ended x"), heard);
  }

  @Test
  void aDisplayThatFailsOnceIsShownAgainAtTheNextTick() throws InterruptedException {
    Recorded recorded = new Recorded();
    int[] calls = {0};
    ProgressTicker.Display failingFirst = now -> {
      if (calls[0]++ == 0) {
        throw new IllegalStateException("the stream is closed");
      }
      recorded.show(now);
    };
    Progress progress = new Progress("a", "push", Progress.Step.READING);
    try (ProgressTicker ticker = new ProgressTicker(Duration.ZERO, Duration.ofMillis(10), failingFirst)) {
      ticker.start(progress);
      recorded.awaitShows(2);
      ticker.stop(progress);
    }
    assertTrue(recorded.events().size() >= 2, "the ticks went on after the failure: " + recorded.events());
  }

  @Test
  void aListenerWhoseStartedThrowsLeavesNothingShown() throws InterruptedException {
    Recorded display = new Recorded();
    OperationListener throwing = new OperationListener() {
      @Override
      public void started(Progress progress) {
        throw new IllegalStateException("no");
      }
    };
    Progress progress = new Progress("a", "pull", Progress.Step.FETCHING);
    try (ProgressTicker ticker = new ProgressTicker(Duration.ofMillis(20), Duration.ofMillis(10), display)) {
      org.junit.jupiter.api.Assertions.assertThrows(IllegalStateException.class, () -> ticker.showing(throwing).started(progress));
      Thread.sleep(100);
    }
    assertEquals(List.of("clear"), display.events(), "stopped at once, never shown");
  }
}
