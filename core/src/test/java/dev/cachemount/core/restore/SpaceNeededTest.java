package dev.cachemount.core.restore;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.Test;

/** A pull's free-space check counts the space of the files it replaces as freed by each rename. */
class SpaceNeededTest {
  @Test
  void newFilesNeedTheirWholeSize() {
    assertEquals(15_000_000, Restorer.spaceNeeded(new long[] {5_000_000, 10_000_000}, new long[] {0, 0}));
  }

  @Test
  void filesReplacingOthersNeedWhatTheyAddAndRoomForTheLargestWhileItIsWritten() {
    // Five 3 MB files over five 3 MB files (a warm cache where everything changed): one file's headroom.
    long[] three = {3_000_000, 3_000_000, 3_000_000, 3_000_000, 3_000_000};
    assertEquals(3_000_000, Restorer.spaceNeeded(three, three));
    // Growing files add their growth; a shrinking one adds nothing; a new one its size.
    assertEquals(1_000 + 0 + 7_000 + 4_000, Restorer.spaceNeeded(new long[] {5_000, 2_000, 7_000}, new long[] {4_000, 3_000, 0}));
  }
}
