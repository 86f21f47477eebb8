package dev.cachemount.core;

/**
 * A push's failure after its snapshot was stored and its tag moved (its image view failed): the
 * failed result still names the snapshot stored, so that a job can tell the cache itself is in place.
 */
public final class SnapshotStoredException extends CachemountException {
  private static final long serialVersionUID = 1L;
  private final transient OperationResult stored;

  SnapshotStoredException(CachemountException failure, Throwable cause, OperationResult stored) {
    super(failure.kind(), failure.getMessage(), cause);
    this.stored = stored;
  }

  /** The push's result as it was before the step that failed. */
  public OperationResult stored() {
    return stored;
  }
}
