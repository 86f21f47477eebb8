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
}
