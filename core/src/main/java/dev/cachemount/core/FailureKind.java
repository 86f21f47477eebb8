package dev.cachemount.core;

/**
 * What kind of failure ended an operation. Each kind has a process exit code that the fronts use;
 * the codes are stable (documented in the README).
 */
public enum FailureKind {
  /** I/O, store or network failure: worth retrying later. Exit 1. */
  OPERATIONAL(1),
  /** The request itself is wrong: a bad spec, flag or target. Exit 2. */
  USAGE(2),
  /** The store refused our credentials. Exit 3. */
  AUTH(3),
  /** Stored data is corrupt, inconsistent or unsafe: digest mismatch, bad index, hostile paths. Exit 4. */
  INTEGRITY(4);

  private final int exitCode;

  FailureKind(int exitCode) {
    this.exitCode = exitCode;
  }

  public int exitCode() {
    return exitCode;
  }
}
