package dev.cachemount.core.index;

/** The kinds of entries a snapshot holds, with their codes in the index format. */
public enum EntryType {
  DIRECTORY(1),
  FILE(2),
  SYMLINK(3);

  private final int code;

  EntryType(int code) {
    this.code = code;
  }

  public int code() {
    return code;
  }

  /** The type for an index code, or {@code null} for an unknown code. */
  public static EntryType ofCode(int code) {
    for (EntryType t : values()) {
      if (t.code == code) {
        return t;
      }
    }
    return null;
  }
}
