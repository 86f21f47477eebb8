package dev.cachemount.core;

/**
 * Hears what an operation wants its user to know while it runs. Called from the operation's worker
 * threads: implementations are thread-safe. Once the operation has returned (or thrown), nothing
 * more is reported. The defaults ignore everything.
 */
public interface OperationListener {
  OperationListener NONE = new OperationListener() {};

  /** Something was skipped or is suspicious, and the operation goes on. */
  default void warning(String message) {}

  /** A step worth a line in a verbose log. */
  default void info(String message) {}

  /**
   * A push, pull or verify has started: {@code progress} counts what it does until it ends; read it
   * as often as you like (a progress bar polls it). Called on the caller's thread.
   */
  default void started(Progress progress) {}

  /**
   * The operation {@code progress} counts has ended, or failed: called on the caller's thread before
   * the operation returns or throws (a progress bar is taken down here, before the result is printed).
   */
  default void ended(Progress progress) {}
}
