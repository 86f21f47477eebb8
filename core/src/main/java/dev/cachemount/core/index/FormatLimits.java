package dev.cachemount.core.index;

/**
 * Bounds that every reader enforces on stored data, so that a corrupt or hostile artifact can make a
 * restore fail but never make it allocate without limit.
 */
public final class FormatLimits {
  /** Largest chunk any writer may produce. */
  public static final int MAX_CHUNK = 16 << 20;
  /** Largest frame (uncompressed) any writer may produce. */
  public static final int MAX_FRAME = 16 << 20;
  /** zstd's window-log limit when decoding a frame: frames are at most {@link #MAX_FRAME} bytes. */
  public static final int MAX_WINDOW_LOG = 24;
  /** Largest manifest accepted from a store. */
  public static final int MAX_MANIFEST = 4 << 20;
  /** Largest config blob accepted from a store. */
  public static final int MAX_CONFIG = 1 << 20;
  /** Largest index blob, compressed or not, accepted from a store. */
  public static final int MAX_INDEX = Integer.MAX_VALUE - 64;

  private FormatLimits() {}
}
