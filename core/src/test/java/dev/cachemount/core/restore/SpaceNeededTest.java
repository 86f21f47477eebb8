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

  @Test
  void eachFileTakesWholeBlocks() {
    // 461 small files of 5.5 MiB took 7 MiB of a tmpfs: a check by sizes let the pull fill the disk.
    long[] small = new long[1_000];
    java.util.Arrays.fill(small, 100);
    assertEquals(4_096_000, Restorer.spaceNeeded(small, new long[1_000], 4_096));
    // Empty files take no block; a file of exactly one block takes one.
    assertEquals(4_096 + 8_192, Restorer.spaceNeeded(new long[] {0, 4_096, 4_097}, new long[3], 4_096));
    // A file replacing one of the same blocks adds nothing but the room to write it beside the old one.
    assertEquals(4_096, Restorer.spaceNeeded(new long[] {100, 5_000}, new long[] {200, 0}, 4_096) - 8_192);
    // Where the block size is unknown, sizes count as they are.
    assertEquals(1_100, Restorer.spaceNeeded(new long[] {100, 1_000}, new long[2], 1));
  }
}
