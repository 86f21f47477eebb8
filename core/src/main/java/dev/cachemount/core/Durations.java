package dev.cachemount.core;

import java.time.Duration;
import java.util.Locale;

/** Durations as messages tell them: a lock timeout of 300 ms was told as "0 s". */
final class Durations {
  private Durations() {}

  /** {@code 300 ms}, {@code 1.5 s}, {@code 45 s}, {@code 10 min}: whole units where they fit, else the nearest tenth of a second. */
  static String text(Duration duration) {
    long millis = duration.toMillis();
    if (millis < 1000) {
      return millis + " ms";
    }
    if (millis % 60_000 == 0) {
      return millis / 60_000 + " min";
    }
    if (millis % 1000 == 0) {
      return millis / 1000 + " s";
    }
    return String.format(Locale.ROOT, "%.1f s", millis / 1000.0);
  }
}
