package dev.cachemount.core.index;

/** How a frame's bytes are stored in its pack, with their codes in the index and pack formats. */
public enum FrameEncoding {
  /** Stored as is: compression did not make the frame smaller. */
  RAW(0),
  /** One zstd frame (RFC 8878) holding the frame's bytes. */
  ZSTD(1);

  private final int code;

  FrameEncoding(int code) {
    this.code = code;
  }

  public int code() {
    return code;
  }

  /** The encoding for a code, or {@code null} for an unknown code. */
  public static FrameEncoding ofCode(int code) {
    return code == 0 ? RAW : code == 1 ? ZSTD : null;
  }
}
