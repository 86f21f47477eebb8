package dev.cachemount.core;

/**
 * Every failure the library reports to its callers. The message names the problem and, where there
 * is one, what to do about it; {@link #kind()} classifies it once, here, so that the fronts map it to
 * an exit code without inspecting messages.
 */
public class CachemountException extends RuntimeException {
  private static final long serialVersionUID = 1L;
  private final FailureKind kind;

  public CachemountException(FailureKind kind, String message) {
    super(message);
    this.kind = kind;
  }

  public CachemountException(FailureKind kind, String message, Throwable cause) {
    super(message, cause);
    this.kind = kind;
  }

  public FailureKind kind() {
    return kind;
  }

  public static CachemountException usage(String message) {
    return new CachemountException(FailureKind.USAGE, message);
  }

  public static CachemountException operational(String message, Throwable cause) {
    return new CachemountException(FailureKind.OPERATIONAL, message, cause);
  }

  public static CachemountException auth(String message, Throwable cause) {
    return new CachemountException(FailureKind.AUTH, message, cause);
  }

  public static CachemountException integrity(String message) {
    return new CachemountException(FailureKind.INTEGRITY, message);
  }

  public static CachemountException integrity(String message, Throwable cause) {
    return new CachemountException(FailureKind.INTEGRITY, message, cause);
  }
}
