package dev.cachemount.core.snapshot;

import dev.cachemount.core.CachemountException;
import dev.cachemount.core.FailureKind;

/**
 * A tag holds something other than a cachemount snapshot (a container image, another tool's
 * artifact): never overwritten, never restored. {@link #what()} says where and what it is, without
 * the remedy, which depends on whether the tag was the push's target or a {@code from=}.
 */
public final class NotASnapshotException extends CachemountException {
  private static final long serialVersionUID = 1L;
  private final String what;

  NotASnapshotException(String what) {
    super(FailureKind.OPERATIONAL, what + "; choose another id, or another store (dir= or ref=)"
        // A registry deletes a tag through its API or its web console; cachemount has no command that deletes one in a layout directory.
        + (what.startsWith("docker://") ? ", or delete that tag in the registry" : ""));
    this.what = what;
  }

  /** Where, and what the tag holds instead. */
  public String what() {
    return what;
  }
}
