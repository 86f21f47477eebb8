package dev.cachemount.core;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.cachemount.core.testing.StallingRegistry;
import dev.cachemount.core.testing.TestTrees;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A registry operation its caller interrupts (a host such as a build daemon cancelling a task) stops
 * at once, even while the registry does not answer, says that it was interrupted, keeps the thread's
 * interrupt, and leaves nothing behind that retries or talks to the listener after it returned: the
 * host's logger may be closed by then. Socket reads of the HTTP client are not interruptible, and
 * a registry that stalls holds them until the read timeout (a minute).
 */
class InterruptedRegistryOperationTest {
  /** How long an interrupted operation may take to return. */
  private static final long PROMPTLY_MS = 5_000;

  @TempDir Path dir;

  @Test
  void aPullInterruptedWhileTheRegistryDoesNotAnswerStops() throws Exception {
    try (StallingRegistry registry = StallingRegistry.silent()) {
      Cachemount client = client();
      CacheSpec spec = client.parseSpec("id=x,type=registry,ref=" + registry.address() + "/hang,target=" + dir.resolve("target"));
      interruptWhenStalled(registry, listener -> client.pull(spec, listener));
    }
  }

  /** The stored snapshot is loaded on a thread of the push's own, which was left waiting for the registry. */
  @Test
  void aPushInterruptedWhileTheRegistryStopsAnsweringStops() throws Exception {
    TestTrees.smallFiles(dir.resolve("source"), 20, 3);
    try (StallingRegistry registry = StallingRegistry.afterFirstAnswer()) {
      Cachemount client = client();
      CacheSpec spec = client.parseSpec("id=x,type=registry,ref=" + registry.address() + "/hang,target=" + dir.resolve("source"));
      interruptWhenStalled(registry, listener -> client.push(spec, listener));
    }
  }

  /** The host's report: a push interrupted during an upload went on to say it would try the upload again. */
  @Test
  void aPushInterruptedDuringAnUploadStopsItsUploads() throws Exception {
    TestTrees.smallFiles(dir.resolve("source"), 20, 3);
    try (StallingRegistry registry = StallingRegistry.stallingUploads()) {
      Cachemount client = client();
      CacheSpec spec = client.parseSpec("id=x,type=registry,ref=" + registry.address() + "/cache,target=" + dir.resolve("source"));
      interruptWhenStalled(registry, listener -> client.push(spec, listener));
    }
  }

  private Cachemount client() {
    return Cachemount.builder().home(dir).env(Map.of("XDG_CACHE_HOME", dir.resolve("xdg").toString())).build();
  }

  /** The operation a test interrupts, given the listener to report to. */
  private interface Operation {
    void run(OperationListener listener);
  }

  /**
   * A listener that keeps what it hears once the caller was interrupted from threads other than the
   * caller's (the operation's workers, which were all waiting for the registry then), and what it
   * hears from any thread once the operation returned.
   */
  private static final class LateCalls implements OperationListener {
    final AtomicBoolean interrupted = new AtomicBoolean();
    final AtomicBoolean returned = new AtomicBoolean();
    volatile Thread caller;
    final List<String> late = Collections.synchronizedList(new ArrayList<>());

    @Override
    public void info(String message) {
      heard(message);
    }

    @Override
    public void warning(String message) {
      heard(message);
    }

    private void heard(String message) {
      if (returned.get() || (interrupted.get() && Thread.currentThread() != caller)) {
        late.add(Thread.currentThread().getName() + ": " + message);
      }
    }
  }

  /**
   * Runs {@code operation} on a thread of its own, interrupts that thread once a request stalls, and
   * checks what follows. Then the registry answers every stalled request and goes away, so that
   * whatever is still running gets an answer, a failure to retry, at once, and shows what it does
   * with it; every thread the operation started must end, without a word to the listener.
   */
  private static void interruptWhenStalled(StallingRegistry registry, Operation operation) throws Exception {
    Set<Thread> before = Thread.getAllStackTraces().keySet();
    LateCalls listener = new LateCalls();
    AtomicReference<Throwable> thrown = new AtomicReference<>();
    AtomicBoolean interruptKept = new AtomicBoolean();
    Thread caller = new Thread(() -> {
      try {
        operation.run(listener);
      } catch (Throwable t) {
        thrown.set(t);
        interruptKept.set(Thread.currentThread().isInterrupted());
      } finally {
        listener.returned.set(true);
      }
    }, "interrupted-caller");
    caller.setDaemon(true);
    listener.caller = caller;
    caller.start();
    assertTrue(registry.awaitStall(), "a request reached the registry and stalled");

    long interrupted = System.nanoTime();
    listener.interrupted.set(true);
    caller.interrupt();
    caller.join(PROMPTLY_MS);
    long tookMs = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - interrupted);
    assertFalse(caller.isAlive(), "the operation still runs " + tookMs + " ms after its thread was interrupted");

    Throwable t = thrown.get();
    CachemountException failure = assertInstanceOf(CachemountException.class, t, "the interrupted operation throws");
    assertEquals(FailureKind.OPERATIONAL, failure.kind(), failure.getMessage());
    assertTrue(failure.getMessage().contains("interrupted"), failure.getMessage());
    assertTrue(interruptKept.get(), "the caller's thread is still interrupted: " + failure.getMessage());

    registry.close();
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
    List<String> running = new ArrayList<>();
    for (Thread started : Thread.getAllStackTraces().keySet()) {
      if (!before.contains(started) && started.getName().startsWith("cachemount-")) {
        started.join(Math.max(1, TimeUnit.NANOSECONDS.toMillis(deadline - System.nanoTime())));
        if (started.isAlive()) {
          running.add(started.getName());
        }
      }
    }
    assertEquals(List.of(), running, "threads of the operation still running 20 s after the registry went away");
    assertEquals(List.of(), listener.late, "what the listener heard from the operation's workers after the interrupt, or at all after the operation returned");
  }
}
