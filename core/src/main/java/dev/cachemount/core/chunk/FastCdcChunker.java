package dev.cachemount.core.chunk;

/**
 * FastCDC content-defined chunking (Xia et al., "The Design of Fast and Lightweight Resemblance
 * Detection and Content-Defined Chunking", 2020), with normalized chunking.
 *
 * <p>The gear hash is {@code fp = (fp << 1) + GEAR[b]} over 64-bit values; bit {@code p} of
 * {@code fp} depends only on the last {@code p + 1} bytes, so a cut point depends only on the bytes
 * just before it and chunk boundaries re-synchronise shortly after an insertion or deletion. Hashing
 * starts {@code minSize} bytes into a chunk; up to {@code avgSize} a cut needs the stricter mask
 * {@code maskS}, after it the looser {@code maskL}; at {@code maxSize} a cut is forced. A chunk ends
 * after the byte whose hash matched.
 *
 * <p>The gear table is 256 successive outputs of SplitMix64 from {@link ChunkerParameters#gearSeed}.
 * A mask with {@code k} bits sets bit {@code 63 - floor(j * 48 / k)} for {@code j = 0..k-1}: bits
 * spread over the upper 48, each depending on at least 16 bytes of input.
 *
 * <p>Immutable and thread-safe: {@link #cut} keeps no state between calls.
 */
public final class FastCdcChunker {
  private final ChunkerParameters parameters;
  private final long[] gear;
  private final long maskS;
  private final long maskL;
  private final int minSize;
  private final int avgSize;
  private final int maxSize;

  public FastCdcChunker(ChunkerParameters parameters) {
    this.parameters = parameters;
    this.gear = gearTable(parameters.gearSeed());
    int bits = Integer.numberOfTrailingZeros(parameters.avgSize());
    this.maskS = mask(bits + parameters.normalization());
    this.maskL = mask(bits - parameters.normalization());
    this.minSize = parameters.minSize();
    this.avgSize = parameters.avgSize();
    this.maxSize = parameters.maxSize();
  }

  public ChunkerParameters parameters() {
    return parameters;
  }

  /** The longest chunk this chunker returns; a caller must offer at least this much unless at the end. */
  public int maxSize() {
    return maxSize;
  }

  /**
   * Returns the length of the chunk that starts at {@code data[offset]}.
   *
   * @param length the bytes available from {@code offset}; unless they are the last bytes of the
   *     stream, at least {@link #maxSize()}, or the cut point would depend on how the stream was read
   * @return a length in {@code [1, min(length, maxSize)]}; {@code length} itself when it is at most
   *     {@code minSize}
   */
  public int cut(byte[] data, int offset, int length) {
    if (length <= minSize) {
      return length;
    }
    int n = Math.min(length, maxSize);
    int normal = Math.min(n, avgSize);
    long fp = 0;
    long[] g = gear;
    long ms = maskS;
    int i = offset + minSize;
    int end = offset + normal;
    for (; i < end; i++) {
      fp = (fp << 1) + g[data[i] & 0xff];
      if ((fp & ms) == 0) {
        return i - offset + 1;
      }
    }
    long ml = maskL;
    end = offset + n;
    for (; i < end; i++) {
      fp = (fp << 1) + g[data[i] & 0xff];
      if ((fp & ml) == 0) {
        return i - offset + 1;
      }
    }
    return n;
  }

  static long[] gearTable(long seed) {
    long[] table = new long[256];
    long state = seed;
    for (int i = 0; i < 256; i++) {
      state += 0x9E3779B97F4A7C15L;
      long z = state;
      z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
      z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
      table[i] = z ^ (z >>> 31);
    }
    return table;
  }

  static long mask(int bits) {
    long m = 0;
    for (int j = 0; j < bits; j++) {
      m |= 1L << (63 - (j * 48) / bits);
    }
    return m;
  }
}
