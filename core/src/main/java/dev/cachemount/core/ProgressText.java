package dev.cachemount.core;

import java.time.Duration;
import java.util.Locale;

/**
 * The line a front shows for an operation's {@link Progress}, the same in a terminal's progress bar
 * and in a log: presentation only. For example
 * {@code m2: push: reading files  45% [#########-----------] 210.1 of 467.0 MiB, 1,480 of 3,297 files; uploaded 180.2 MiB; 0:04, about 0:05 left}.
 */
public final class ProgressText {
  /** A step must have run this long and done this share of its bytes before its time left is guessed. */
  private static final Duration GUESS_AFTER = Duration.ofSeconds(3);
  private static final double GUESS_FROM = 0.02;

  private ProgressText() {}

  /**
   * One line for {@code now}.
   *
   * @param barWidth characters of the bar between its brackets; 0 for none (a log line)
   */
  public static String line(Progress.Now now, int barWidth) {
    StringBuilder line = new StringBuilder();
    line.append(now.id()).append(": ").append(now.operation()).append(": ").append(now.step().label());
    java.util.OptionalDouble fraction = now.fraction();
    if (fraction.isPresent()) {
      line.append(String.format(Locale.ROOT, " %3d%%", (int) Math.floor(fraction.getAsDouble() * 100)));
      if (barWidth > 0) {
        int filled = (int) Math.floor(fraction.getAsDouble() * barWidth);
        line.append(" [").append("#".repeat(filled)).append("-".repeat(barWidth - filled)).append(']');
      }
      line.append(' ').append(ofBytes(now.bytesDone(), now.bytesTotal()));
    }
    if (now.filesTotal() > 0) {
      line.append(fraction.isPresent() ? ", " : " ").append(String.format(Locale.ROOT, "%,d of %,d files", now.filesDone(), now.filesTotal()));
    } else if (now.step() == Progress.Step.SCANNING) {
      line.append(' ').append(ResultText.count(now.filesDone(), "entry", "entries"));
    }
    if (now.bytesTransferred() > 0) {
      line.append("; ").append("push".equals(now.operation()) ? "stored " : "fetched ").append(ResultText.bytes(now.bytesTransferred()));
    }
    line.append("; ").append(clock(now.elapsed()));
    left(now).filter(left -> left.getSeconds() >= 1).ifPresent(left -> line.append(", about ").append(clock(left)).append(" left"));
    return line.toString();
  }

  /**
   * How long the step will take yet, from the share of its bytes done so far, once it has run long
   * enough for a guess ({@link #GUESS_AFTER}); empty otherwise.
   */
  static java.util.Optional<Duration> left(Progress.Now now) {
    java.util.OptionalDouble fraction = now.fraction();
    if (fraction.isEmpty() || fraction.getAsDouble() < GUESS_FROM || fraction.getAsDouble() >= 1
        || now.stepElapsed().compareTo(GUESS_AFTER) < 0) {
      return java.util.Optional.empty();
    }
    double f = fraction.getAsDouble();
    return java.util.Optional.of(Duration.ofMillis((long) (now.stepElapsed().toMillis() * (1 - f) / f)));
  }

  /** {@code 210.1 of 467.0 MiB}: both in the total's unit. */
  static String ofBytes(long done, long total) {
    String[] units = {"B", "KiB", "MiB", "GiB", "TiB"};
    int u = 0;
    double scale = 1;
    while (u < units.length - 1 && total / scale >= 1024) {
      scale *= 1024;
      u++;
    }
    if (u == 0) {
      return String.format(Locale.ROOT, "%,d of %,d B", done, total);
    }
    return String.format(Locale.ROOT, "%.1f of %.1f %s", done / scale, total / scale, units[u]);
  }

  /** {@code 0:04}, {@code 12:30}, {@code 1:02:03}. */
  static String clock(Duration d) {
    long s = Math.max(0, d.getSeconds());
    return s >= 3600 ? String.format(Locale.ROOT, "%d:%02d:%02d", s / 3600, s / 60 % 60, s % 60)
        : String.format(Locale.ROOT, "%d:%02d", s / 60, s % 60);
  }
}
