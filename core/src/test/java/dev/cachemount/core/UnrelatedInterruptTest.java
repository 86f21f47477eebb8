package dev.cachemount.core;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.cachemount.core.testing.TestTrees;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A host's interrupt for a reason of its own, during a dir= push that fails for a reason of its own:
 * the failure is told as it is, not as an interrupt that closed registry connections (review of 04a35b2).
 */
class UnrelatedInterruptTest {
  @TempDir Path dir;

  @AfterEach
  void clear() {
    Thread.interrupted();
  }

  @Test
  void aUsageErrorOfALayoutPushStaysAUsageError() throws Exception {
    TestTrees.smallFiles(dir.resolve("source"), 5, 1);
    Cachemount client = Cachemount.builder().home(dir).env(Map.of("XDG_CACHE_HOME", dir.resolve("xdg").toString())).build();
    client.push(client.parseSpec("id=base,dir=" + dir.resolve("layout") + ",target=" + dir.resolve("source")), OperationListener.NONE);
    CacheSpec spec = client.parseSpec("id=x,dir=" + dir.resolve("layout") + ",from=absent,target=" + dir.resolve("no-such-target"));
    OperationListener interruptingHost = new OperationListener() {
      @Override public void info(String m) { hear(); }
      @Override public void warning(String m) { hear(); }
      private void hear() {
        Thread.currentThread().interrupt(); // the host's cancel of something else, arriving now
        long end = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(150);
        while (System.nanoTime() < end) { Thread.onSpinWait(); }
      }
    };
    CachemountException e = assertThrows(CachemountException.class, () -> client.push(spec, interruptingHost));
    assertEquals(FailureKind.USAGE, e.kind(), e.getMessage());
  }
}
