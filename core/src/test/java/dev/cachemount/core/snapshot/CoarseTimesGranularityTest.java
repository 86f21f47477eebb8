package dev.cachemount.core.snapshot;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.cachemount.core.index.EntryType;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The granularity of a file system's times, told from the times a scan saw. */
class CoarseTimesGranularityTest {
  private static List<ScannedEntry> times(int count, long firstSecond, long secondStep, int nanos) {
    List<ScannedEntry> scanned = new ArrayList<>();
    for (int i = 0; i < count; i++) {
      scanned.add(new ScannedEntry("f" + i, EntryType.FILE, 0644, 1, firstSecond + i * secondStep, nanos, null));
    }
    return scanned;
  }

  @Test
  void theCoarsestGranularityThatEveryTimeIsAMultipleOf() {
    assertEquals(1, CoarseTimes.granularity(times(20, 1_700_000_000L, 1, 123_456_789)), "nanoseconds");
    assertEquals(1_000, CoarseTimes.granularity(times(20, 1_700_000_000L, 1, 123_456_000)), "microseconds");
    assertEquals(100, CoarseTimes.granularity(times(20, 1_700_000_000L, 1, 123_456_700)), "as NTFS: 100 ns");
    assertEquals(1_000_000_000L, CoarseTimes.granularity(times(20, 1_700_000_001L, 1, 0)), "seconds");
    assertEquals(2_000_000_000L, CoarseTimes.granularity(times(20, 1_700_000_000L, 2, 0)), "as FAT: two seconds");
  }

  @Test
  void oneFineTimeMakesItExactAndSoDoTooFewEntries() {
    List<ScannedEntry> scanned = times(20, 1_700_000_001L, 1, 0);
    scanned.add(new ScannedEntry("fine", EntryType.DIRECTORY, 0755, 0, 1_700_000_000L, 1, null));
    assertEquals(1, CoarseTimes.granularity(scanned));
    assertEquals(1, CoarseTimes.granularity(times(CoarseTimes.MIN_ENTRIES - 1, 1_700_000_001L, 1, 0)));
  }
}
