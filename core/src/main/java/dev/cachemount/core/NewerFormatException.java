package dev.cachemount.core;

/**
 * A snapshot that carries a version marker of a later format (docs/format.md, "Compatibility
 * rules"): not damage, which a push would replace, but what this version must leave alone. Exit 1,
 * as a failure that an upgrade ends; a {@code from=} source of this kind is skipped, as an unreadable
 * one is.
 */
public final class NewerFormatException extends CachemountException {
  private static final long serialVersionUID = 1L;
  private final String marker;

  /**
   * @param where names the snapshot
   * @param marker what shows the later format ("index payload version 2")
   * @param readVersion the format version this cachemount reads
   */
  public NewerFormatException(String where, String marker, int readVersion) {
    super(FailureKind.OPERATIONAL, "snapshot " + where + " was written by a newer cachemount (" + marker + "; this one reads format version "
        + readVersion + "): upgrade cachemount to read it; a push of this version leaves it alone");
    this.marker = marker;
  }

  /** What shows the later format. */
  public String marker() {
    return marker;
  }
}
