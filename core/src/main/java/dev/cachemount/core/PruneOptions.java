package dev.cachemount.core;

import java.time.Duration;
import java.util.Locale;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * What {@code prune} keeps of the older keys a spec's {@code fallback=} prefixes match: the newest
 * {@code keepLast} of them, those made within {@code keepWithin}, or both (a snapshot either rule
 * keeps is kept), as restic's {@code forget --keep-last/--keep-within}. The spec's own tag is always kept.
 *
 * @param keepLast how many of the newest to keep (0: none by count)
 * @param keepWithin keep those whose push began within this long before now
 * @param dryRun say what would be removed, and remove nothing
 */
public record PruneOptions(OptionalInt keepLast, Optional<Duration> keepWithin, boolean dryRun) {
  private static final Pattern AGE = Pattern.compile("([0-9]{1,6})([hdw])");

  public PruneOptions {
    if (keepLast.isEmpty() && keepWithin.isEmpty()) {
      throw CachemountException.usage("prune needs to be told what to keep of the older keys: --keep-last N (the newest N),"
          + " --keep-within AGE (those made within AGE, as 14d), or both");
    }
    if (keepLast.isPresent() && keepLast.getAsInt() < 0) {
      throw CachemountException.usage("--keep-last " + keepLast.getAsInt() + " is negative: give how many of the newest older keys to keep, 0 or more");
    }
    if (keepWithin.isPresent() && (keepWithin.get().isNegative() || keepWithin.get().isZero())) {
      throw CachemountException.usage("--keep-within must be a positive age, as 14d");
    }
  }

  /** An age as {@code --keep-within} takes it: a whole number of hours, days or weeks ({@code 36h}, {@code 14d}, {@code 2w}). */
  public static Duration parseAge(String text) {
    Matcher m = AGE.matcher(text == null ? "" : text.trim().toLowerCase(Locale.ROOT));
    if (!m.matches() || Long.parseLong(m.group(1)) == 0) {
      throw CachemountException.usage("--keep-within " + text + " is not an age: give a whole number of hours, days or weeks above 0,"
          + " as 36h, 14d or 2w");
    }
    long n = Long.parseLong(m.group(1));
    return switch (m.group(2)) {
      case "h" -> Duration.ofHours(n);
      case "d" -> Duration.ofDays(n);
      default -> Duration.ofDays(7 * n);
    };
  }
}
