package dev.cachemount.core.snapshot;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.cachemount.core.blob.Digest;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** The sizes docs/format.md gives for content-defined frames and packs: minimum, maximum, average. */
class ContentBoundariesTest {
  /** A rule under test: whether a frame or pack of {@code size} bytes ends after a piece of {@code piece} bytes with this digest. */
  private interface Rule {
    boolean ends(long size, Digest digest, int piece);
  }

  /** What {@link #cut} saw: how many frames or packs ended, and their mean size. */
  private record Cuts(long count, double mean) {}

  /**
   * Feeds {@code pieces} random pieces of {@code minPiece} to {@code minPiece + spread} bytes to the
   * rule, checking on the way that nothing ends under {@code min} and everything ends at {@code max}.
   */
  private static Cuts cut(long seed, int pieces, int minPiece, int spread, Rule rule, long min, long max) {
    Random r = new Random(seed);
    long count = 0;
    long bytes = 0;
    long size = 0;
    for (int i = 0; i < pieces; i++) {
      int piece = minPiece + r.nextInt(spread);
      size += piece;
      byte[] digest = new byte[32];
      r.nextBytes(digest);
      boolean ends = rule.ends(size, Digest.ofRaw(digest), piece);
      if (size < min) {
        assertFalse(ends, "nothing ends under " + min + " bytes: " + size);
      }
      if (size >= max) {
        assertTrue(ends, "everything ends at " + max + " bytes: " + size);
      }
      if (ends) {
        count++;
        bytes += size;
        size = 0;
      }
    }
    return new Cuts(count, (double) bytes / count);
  }

  @Test
  void framesHoldThreeQuartersOfTheTargetAtLeastTwiceAtMostAndAboutTheTargetOnAverage() {
    int target = 16 * 1024;
    Cuts frames = cut(3, 200_000, 1000, 7000, (size, digest, chunk) -> ContentBoundaries.endsFrame(size, digest, chunk, target),
        target * 3 / 4, 2L * target);
    assertTrue(frames.mean() > 0.9 * target && frames.mean() < 1.25 * target, "mean frame " + frames.mean());
  }

  @Test
  void packsHoldHalfTheTargetAtLeastTwiceAtMostAndAboutTheTargetOnAverage() {
    long target = 32L << 20;
    Cuts packs = cut(4, 400_000, 4000, 40_000, (size, digest, stored) -> ContentBoundaries.endsPack(size, digest, stored, target),
        target / 2, 2 * target);
    assertTrue(packs.count() > 150, "packs: " + packs.count());
    assertTrue(packs.mean() > 0.85 * target && packs.mean() < 1.15 * target, "mean pack " + packs.mean() + " of a target of " + target);
  }
}
