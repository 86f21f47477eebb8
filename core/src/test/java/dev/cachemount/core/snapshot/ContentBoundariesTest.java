package dev.cachemount.core.snapshot;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.cachemount.core.blob.Digest;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** The sizes docs/format.md gives for content-defined frames and packs: minimum, maximum, average. */
class ContentBoundariesTest {
  private static Digest random(Random r) {
    byte[] b = new byte[32];
    r.nextBytes(b);
    return Digest.ofRaw(b);
  }

  @Test
  void framesHoldThreeQuartersOfTheTargetAtLeastTwiceAtMostAndAboutTheTargetOnAverage() {
    int target = 16 * 1024;
    Random r = new Random(3);
    long frames = 0;
    long bytes = 0;
    long length = 0;
    for (int i = 0; i < 200_000; i++) {
      int chunk = 1000 + r.nextInt(7000);
      length += chunk;
      boolean ends = ContentBoundaries.endsFrame(length, random(r), chunk, target);
      if (length < target * 3 / 4) {
        assertFalse(ends, "no frame ends under three quarters of the target: " + length);
      }
      if (length >= 2L * target) {
        assertTrue(ends, "every frame ends at twice the target: " + length);
      }
      if (ends) {
        frames++;
        bytes += length;
        length = 0;
      }
    }
    double mean = (double) bytes / frames;
    assertTrue(mean > 0.9 * target && mean < 1.25 * target, "mean frame " + mean);
  }

  @Test
  void packsHoldHalfTheTargetAtLeastTwiceAtMostAndAboutTheTargetOnAverage() {
    long target = 32L << 20;
    Random r = new Random(4);
    long packs = 0;
    long bytes = 0;
    long size = 0;
    for (int i = 0; i < 400_000; i++) {
      int stored = 4000 + r.nextInt(40_000);
      size += stored;
      boolean ends = ContentBoundaries.endsPack(size, random(r), stored, target);
      if (size < target / 2) {
        assertFalse(ends, "no pack ends under half the target: " + size);
      }
      if (size >= 2 * target) {
        assertTrue(ends, "every pack ends at twice the target: " + size);
      }
      if (ends) {
        packs++;
        bytes += size;
        size = 0;
      }
    }
    double mean = (double) bytes / packs;
    assertTrue(packs > 150, "packs: " + packs);
    assertTrue(mean > 0.85 * target && mean < 1.15 * target, "mean pack " + mean + " of a target of " + target);
  }
}
