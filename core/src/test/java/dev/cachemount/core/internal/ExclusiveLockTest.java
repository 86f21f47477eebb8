package dev.cachemount.core.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ExclusiveLockTest {
  @TempDir Path dir;

  /** A holder may let the lock go early and close it again at the end of its try-with-resources. */
  @Test
  void closingAHeldLockTwiceReleasesItOnce() throws IOException {
    Path file = dir.resolve("target.lock");
    try (ExclusiveLock.Held held = ExclusiveLock.acquire(file)) {
      held.close(); // early: the in-process lock and the file lock are let go here
    } // and again: nothing, where it threw IllegalMonitorStateException
    java.util.Optional<ExclusiveLock.Held> again = ExclusiveLock.tryAcquire(file, Duration.ZERO);
    assertTrue(again.isPresent(), "free again at once");
    again.get().close();
  }

  /**
   * A long-running JVM that locks ever new files (pulls into temporary targets) keeps no entry for one
   * that nobody holds or waits for; one that a thread waits for stays until that thread is done.
   */
  @Test
  void theInProcessLockOfAFileGoesOnceNobodyHoldsOrWaitsForIt() throws Exception {
    List<Path> files = new ArrayList<>();
    for (int i = 0; i < 50; i++) {
      Path file = dir.resolve(i + ".lock");
      ExclusiveLock.acquire(file).close();
      files.add(file);
    }
    for (Path file : files) {
      assertFalse(ExclusiveLock.tracks(file), file.toString());
    }

    Path file = dir.resolve("busy.lock");
    ExecutorService waiter = Executors.newSingleThreadExecutor();
    try (ExclusiveLock.Held held = ExclusiveLock.acquire(file)) {
      // One that gives up, and one that waits.
      assertEquals(Optional.empty(), waiter.submit(() -> ExclusiveLock.tryAcquire(file, Duration.ofMillis(50))).get(20, TimeUnit.SECONDS));
      assertTrue(ExclusiveLock.tracks(file), "held");
      AtomicInteger gotIt = new AtomicInteger();
      Future<?> waiting = waiter.submit(() -> {
        ExclusiveLock.tryAcquire(file, Duration.ofSeconds(20)).orElseThrow().close();
        gotIt.incrementAndGet();
        return null;
      });
      held.close();
      waiting.get(20, TimeUnit.SECONDS);
      assertEquals(1, gotIt.get());
    } finally {
      waiter.shutdown();
    }
    assertFalse(ExclusiveLock.tracks(file));
  }

  /**
   * Threads that take, wait for, give up on and let go the locks of a few files all at once: one
   * holder per file at any time, every wait ends, and no entry is left.
   */
  @Test
  void entriesComeAndGoWithoutLettingTwoHoldersIn() throws Exception {
    List<Path> files = List.of(dir.resolve("a.lock"), dir.resolve("b.lock"), dir.resolve("c.lock"));
    List<AtomicInteger> inside = List.of(new AtomicInteger(), new AtomicInteger(), new AtomicInteger());
    AtomicInteger overlaps = new AtomicInteger();
    AtomicInteger taken = new AtomicInteger();
    ExecutorService threads = Executors.newFixedThreadPool(8);
    List<CompletableFuture<Void>> work = new ArrayList<>();
    try {
      for (int t = 0; t < 8; t++) {
        int seed = t;
        work.add(CompletableFuture.runAsync(() -> {
          try {
            for (int i = 0; i < 300; i++) {
              int f = (seed + i) % files.size();
              // Some wait for as long as it takes, some give up at once, some after a moment.
              Duration timeout = i % 3 == 0 ? null : i % 3 == 1 ? Duration.ZERO : Duration.ofMillis(5);
              Optional<ExclusiveLock.Held> held = ExclusiveLock.tryAcquire(files.get(f), timeout);
              if (held.isPresent()) {
                try (ExclusiveLock.Held h = held.get()) {
                  if (inside.get(f).incrementAndGet() != 1) {
                    overlaps.incrementAndGet();
                  }
                  taken.incrementAndGet();
                  Thread.yield();
                  inside.get(f).decrementAndGet();
                }
              }
            }
          } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
          }
        }, threads));
      }
      CompletableFuture.allOf(work.toArray(CompletableFuture[]::new)).get(60, TimeUnit.SECONDS);
    } finally {
      threads.shutdownNow();
    }
    assertEquals(0, overlaps.get(), "two holders at once");
    assertTrue(taken.get() >= 8 * 100, "every wait without a timeout ends with the lock: " + taken.get());
    for (Path file : files) {
      assertFalse(ExclusiveLock.tracks(file), file.toString());
    }
  }
}
