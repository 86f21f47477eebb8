package dev.cachemount.core.chunk;

/**
 * The parameters of the content-defined chunker. They are recorded in every snapshot's config: two
 * snapshots deduplicate against each other only when their parameters are equal, so the defaults may
 * change between versions only together with a new {@link #algorithm} name or by recording them.
 *
 * @param algorithm the cut-point algorithm and its gear table, {@value #FASTCDC_2020}
 * @param minSize no chunk is shorter, except the last one of a file
 * @param avgSize the expected chunk length (a power of two)
 * @param maxSize no chunk is longer
 * @param normalization FastCDC's normalization level: the masks have {@code log2(avgSize) +
 *     normalization} bits before the expected length and {@code log2(avgSize) - normalization} after
 * @param gearSeed the SplitMix64 seed from which the 256-entry gear table is derived
 */
public record ChunkerParameters(
    String algorithm, int minSize, int avgSize, int maxSize, int normalization, long gearSeed) {

  /** FastCDC as published in 2020 (Xia et al.), one byte per step, masks as in {@link FastCdcChunker}. */
  public static final String FASTCDC_2020 = "fastcdc-2020";

  /** The seed of the gear table: the ASCII bytes of "cachemnt". */
  public static final long DEFAULT_GEAR_SEED = 0x63616368656d6e74L;

  /** Largest chunk the format accepts from any writer. */
  public static final int FORMAT_MAX_CHUNK = 16 << 20;

  /** The defaults of format version 1. */
  public static final ChunkerParameters DEFAULT =
      new ChunkerParameters(FASTCDC_2020, 1024, 4096, 32 * 1024, 2, DEFAULT_GEAR_SEED);

  public ChunkerParameters {
    if (!FASTCDC_2020.equals(algorithm)) {
      throw new IllegalArgumentException("unknown chunker algorithm '" + algorithm + "' (this version knows " + FASTCDC_2020 + ")");
    }
    if (Integer.bitCount(avgSize) != 1) {
      throw new IllegalArgumentException("chunker avgSize must be a power of two, got " + avgSize);
    }
    if (minSize < 64 || minSize > avgSize || avgSize > maxSize || maxSize > FORMAT_MAX_CHUNK) {
      throw new IllegalArgumentException(
          "chunker sizes must satisfy 64 <= min <= avg <= max <= " + FORMAT_MAX_CHUNK + ", got " + minSize + "/" + avgSize + "/" + maxSize);
    }
    int bits = Integer.numberOfTrailingZeros(avgSize);
    if (normalization < 0 || normalization > 3 || bits - normalization < 1 || bits + normalization > 24) {
      throw new IllegalArgumentException("chunker normalization must be 0..3 and fit the average size, got " + normalization);
    }
  }
}
