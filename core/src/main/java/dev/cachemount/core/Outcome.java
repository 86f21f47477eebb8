package dev.cachemount.core;

import com.fasterxml.jackson.annotation.JsonValue;

/** How a push or pull ended, as printed in results. */
public enum Outcome {
  /** A push stored a new snapshot. */
  PUSHED,
  /** A push found the tree equal to the stored snapshot and wrote nothing (but for what a merge's earlier tries stored). */
  UNCHANGED,
  /** A pull wrote the snapshot into the target. */
  RESTORED,
  /** A pull found no snapshot for the id: nothing was written. */
  MISS,
  /** The operation failed; the result carries the error. */
  FAILED;

  @JsonValue
  public String key() {
    return name().toLowerCase(java.util.Locale.ROOT);
  }
}
