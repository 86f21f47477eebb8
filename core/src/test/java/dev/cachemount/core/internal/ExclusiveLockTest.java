package dev.cachemount.core.internal;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
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
}
