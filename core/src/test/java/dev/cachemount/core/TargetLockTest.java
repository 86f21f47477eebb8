package dev.cachemount.core;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.cachemount.core.internal.ExclusiveLock;
import dev.cachemount.core.testing.LockHoldingProcess;
import dev.cachemount.core.testing.RecordingListener;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * What a pull or push waiting for a target's lock is told: who holds it (another operation of a
 * program that embeds cachemount, or another process) and how long it waits, in units that show a
 * sub-second wait.
 */
class TargetLockTest {
  @TempDir Path dir;

  @Test
  void anotherOperationOfThisProcessIsNotCalledAnotherProcess() throws Exception {
    Path target = Files.createDirectories(dir.resolve("target")).toRealPath();
    TargetLock lock = new TargetLock(dir.resolve("locks"), target);
    // The holder is another thread, as a build daemon's other pull would be (the lock is released by the thread that took it).
    ExecutorService other = Executors.newSingleThreadExecutor();
    try {
      ExclusiveLock.Held held = other.submit(() -> take(lock, Duration.ZERO, new RecordingListener())).get(20, TimeUnit.SECONDS);
      try {
        RecordingListener listener = new RecordingListener();
        CachemountException e = assertThrows(CachemountException.class, () -> take(lock, Duration.ofMillis(300), listener));
        assertEquals(FailureKind.OPERATIONAL, e.kind());
        assertTrue(e.getMessage().startsWith("another cachemount operation of this process kept restoring into or pushing " + target
            + " for 300 ms"), e.getMessage());
        assertTrue(e.getMessage().contains("Cachemount.Builder.targetLockTimeout"), e.getMessage());
        assertEquals(1, listener.warnings().size(), listener.warnings().toString());
        assertTrue(listener.warned("another cachemount operation of this process is restoring into or pushing " + target
            + "; this pull waits for it (at most 300 ms)"), listener.warnings().toString());
      } finally {
        other.submit(() -> {
          held.close();
          return null;
        }).get(20, TimeUnit.SECONDS);
      }
    } finally {
      other.shutdown();
    }
    take(lock, Duration.ZERO, new RecordingListener()).close();
  }

  @Test
  void anotherProcessIsCalledAnotherProcess() throws Exception {
    Path target = Files.createDirectories(dir.resolve("target")).toRealPath();
    TargetLock lock = new TargetLock(Files.createDirectories(dir.resolve("locks")), target);
    try (LockHoldingProcess holder = LockHoldingProcess.holding(lock.file())) {
      RecordingListener listener = new RecordingListener();
      CachemountException e = assertThrows(CachemountException.class, () -> take(lock, Duration.ofMillis(1500), listener));
      assertTrue(e.getMessage().startsWith("another cachemount process kept restoring into or pushing " + target + " for 1.5 s"),
          e.getMessage());
      assertTrue(listener.warned("another cachemount process is restoring into or pushing " + target
          + "; this pull waits for it (at most 1.5 s)"), listener.warnings().toString());
    }
    take(lock, Duration.ofSeconds(20), new RecordingListener()).close(); // the process let it go
  }

  @Test
  void durationsShowTheirUnit() {
    assertEquals("0 ms", Durations.text(Duration.ZERO));
    assertEquals("300 ms", Durations.text(Duration.ofMillis(300)));
    assertEquals("1.5 s", Durations.text(Duration.ofMillis(1500)));
    assertEquals("45 s", Durations.text(Duration.ofSeconds(45)));
    assertEquals("90 s", Durations.text(Duration.ofSeconds(90)));
    assertEquals("10 min", Durations.text(Duration.ofMinutes(10)));
  }

  /** A wait for the lock is a step of its own in the progress line: it said "scanning 0 entries" (push) or "fetching the index" (pull). */
  @Test
  void aWaitIsShownAsItsOwnStep() throws Exception {
    Path target = Files.createDirectories(dir.resolve("target")).toRealPath();
    TargetLock lock = new TargetLock(Files.createDirectories(dir.resolve("locks")), target);
    Progress progress = new Progress("m2", "push", Progress.Step.SCANNING);
    try (LockHoldingProcess holder = LockHoldingProcess.holding(lock.file())) {
      assertThrows(CachemountException.class, () -> lock.take(Duration.ofMillis(300), new RecordingListener(), progress, "push", e -> {
        throw new AssertionError("the lock file cannot be made", e);
      }));
    }
    assertEquals(Progress.Step.WAITING, progress.now().step());
    assertTrue(ProgressText.line(progress.now(), 0).startsWith("m2: push: waiting for another cachemount; 0:0"), ProgressText.line(progress.now(), 0));
    Progress free = new Progress("m2", "push", Progress.Step.SCANNING);
    lock.take(Duration.ZERO, new RecordingListener(), free, "push", e -> {
      throw new AssertionError(e);
    }).orElseThrow().close();
    assertEquals(Progress.Step.SCANNING, free.now().step(), "no wait, no step");
  }

  private static ExclusiveLock.Held take(TargetLock lock, Duration timeout, RecordingListener listener) throws IOException {
    return lock.take(timeout, listener, "pull", e -> {
      throw new AssertionError("the lock file cannot be made", e);
    }).orElseThrow();
  }
}
