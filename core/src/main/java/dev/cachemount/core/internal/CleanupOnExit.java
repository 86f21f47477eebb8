package dev.cachemount.core.internal;

/**
 * Runs a clean-up if the JVM exits (SIGTERM, SIGINT, System.exit) while an operation is under way;
 * closing it removes the hook. A CI system that cancels a job sends SIGTERM: the temporary files of
 * a pull, or the staging files of a push, are removed instead of left behind. (SIGKILL and power loss
 * cannot be caught; what they leave is handled by the next run.)
 */
public final class CleanupOnExit implements AutoCloseable {
  /** The hooks registered and not yet closed. */
  private static final java.util.Set<Thread> LIVE = java.util.concurrent.ConcurrentHashMap.newKeySet();

  private final Thread hook;
  private final boolean registered;

  private CleanupOnExit(Thread hook, boolean registered) {
    this.hook = hook;
    this.registered = registered;
  }

  /** Whether the clean-up was registered: false when the JVM was exiting already, and it will not run. */
  public boolean registered() {
    return registered;
  }

  /** Registers {@code cleanup}; it must be safe to run concurrently with the operation it cleans up after. */
  public static CleanupOnExit register(String name, Runnable cleanup) {
    Thread hook = new Thread(cleanup, name);
    try {
      Runtime.getRuntime().addShutdownHook(hook);
      LIVE.add(hook);
      return new CleanupOnExit(hook, true);
    } catch (IllegalStateException e) {
      // The JVM is shutting down already: nothing to register.
      return new CleanupOnExit(hook, false);
    }
  }

  /**
   * Runs the clean-up of every operation under way, one after another on the calling thread, as the
   * JVM's exit would run them while the operations go on: how a test sends SIGTERM at the moment it
   * chooses.
   */
  public static void runAllAsOnExit() {
    for (Thread hook : java.util.List.copyOf(LIVE)) {
      hook.run();
    }
  }

  @Override
  public void close() {
    LIVE.remove(hook);
    try {
      Runtime.getRuntime().removeShutdownHook(hook);
    } catch (IllegalStateException e) {
      // Shutting down: the hook runs or has run.
    }
  }
}
