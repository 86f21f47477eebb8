package dev.cachemount.core;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import org.junit.jupiter.api.Test;

/** The progress line: the step, its share and bar where its bytes are known, its files, the bytes moved, the time and a guess of what is left. */
class ProgressTextTest {
  private static final long MIB = 1 << 20;

  private static Progress.Now now(String operation, Progress.Step step, long done, long total, long files, long filesTotal, long moved,
      int seconds, int stepSeconds) {
    return new Progress.Now("m2", operation, step, done, total, files, filesTotal, moved, Duration.ofSeconds(seconds),
        Duration.ofSeconds(stepSeconds));
  }

  @Test
  void aPushReadingFilesShowsItsShareBarFilesWhatItStoredAndWhatIsLeft() {
    Progress.Now now = now("push", Progress.Step.READING, 210 * MIB, 420 * MIB, 1480, 3297, 180 * MIB, 12, 10);
    assertEquals("m2: push: reading files  50% [##########----------] 210.0 of 420.0 MiB, 1,480 of 3,297 files; stored 180.0 MiB; 0:12,"
        + " about 0:10 left", ProgressText.line(now, 20));
    assertEquals("m2: push: reading files  50% 210.0 of 420.0 MiB, 1,480 of 3,297 files; stored 180.0 MiB; 0:12, about 0:10 left",
        ProgressText.line(now, 0));
  }

  @Test
  void aScanCountsEntriesAndStepsWithoutTotalsShowNoShare() {
    assertEquals("m2: push: scanning 12,345 entries; 0:01", ProgressText.line(now("push", Progress.Step.SCANNING, 0, 0, 12345, 0, 0, 1, 1), 20));
    assertEquals("m2: push: storing; stored 1.5 GiB; 1:02:03",
        ProgressText.line(now("push", Progress.Step.STORING, 0, 0, 0, 0, 3 * 512 * MIB, 3723, 5), 20));
    assertEquals("m2: pull: fetching the index; fetched 3.9 MiB; 0:00",
        ProgressText.line(now("pull", Progress.Step.FETCHING, 0, 0, 0, 0, (long) (3.9 * MIB), 0, 0), 20));
  }

  @Test
  void smallTotalsAreInBytesAndAFullBarIsFull() {
    assertEquals("m2: pull: restoring 100% [####] 777 of 777 B, 1 of 1 files; fetched 2.0 KiB; 0:00",
        ProgressText.line(now("pull", Progress.Step.RESTORING, 777, 777, 1, 1, 2048, 0, 0), 4));
  }

  @Test
  void theTimeLeftIsGuessedOnlyOnceTheStepHasRunAWhileAndDoneSomething() {
    assertTrue(ProgressText.left(now("pull", Progress.Step.RESTORING, 10, 100, 0, 0, 0, 2, 2)).isEmpty(), "too early");
    assertTrue(ProgressText.left(now("pull", Progress.Step.RESTORING, 1, 100, 0, 0, 0, 60, 60)).isEmpty(), "too little done");
    assertTrue(ProgressText.left(now("pull", Progress.Step.RESTORING, 100, 100, 0, 0, 0, 60, 60)).isEmpty(), "done");
    assertEquals(Duration.ofSeconds(30), ProgressText.left(now("pull", Progress.Step.RESTORING, 25, 100, 0, 0, 0, 20, 10)).orElseThrow());
  }

  @Test
  void clocksAndSizes() {
    assertEquals("0:00", ProgressText.clock(Duration.ofMillis(999)));
    assertEquals("12:30", ProgressText.clock(Duration.ofSeconds(750)));
    assertEquals("1:00:00", ProgressText.clock(Duration.ofHours(1)));
    assertEquals("0.5 of 1.0 KiB", ProgressText.ofBytes(512, 1024));
    assertEquals("1,023 of 1,023 B", ProgressText.ofBytes(1023, 1023));
  }
}
