package dev.cachemount.core;

import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** Parses sizes as users write them: {@code 2GiB}, {@code 500MB}, {@code 1.5G}, {@code 1048576}. */
final class ByteSizes {
  private static final Pattern SIZE = Pattern.compile("([0-9]+(?:\\.[0-9]+)?)\\s*([kmgt]?)(i?)(b?)");

  private ByteSizes() {}

  /**
   * {@code KiB}, {@code MiB}, ... and the bare {@code K}, {@code M}, {@code G}, {@code T} are powers
   * of 1024; {@code KB}, {@code MB}, ... powers of 1000; a bare number is bytes.
   *
   * @param what names the value in the error message
   * @throws CachemountException of kind USAGE naming what is accepted
   */
  static long parse(String text, String what) {
    Matcher m = SIZE.matcher(text.trim().toLowerCase(Locale.ROOT));
    if (!m.matches() || (m.group(2).isEmpty() && !m.group(3).isEmpty())) {
      throw CachemountException.usage(what + "='" + text + "' is not a size; write for example 2GiB, 500MB, 1.5G or 1048576");
    }
    String unit = m.group(2);
    if (unit.isEmpty() && m.group(1).contains(".")) {
      throw CachemountException.usage(what + "='" + text + "' is a fraction of a byte; a size without a unit is in bytes: add the unit"
          + " you meant, for example " + m.group(1) + "GiB");
    }
    boolean decimal = !unit.isEmpty() && m.group(3).isEmpty() && !m.group(4).isEmpty();
    int power = unit.isEmpty() ? 0 : "kmgt".indexOf(unit.charAt(0)) + 1;
    double value = Double.parseDouble(m.group(1)) * Math.pow(decimal ? 1000 : 1024, power);
    if (value < 1 || value > Long.MAX_VALUE / 2) {
      throw CachemountException.usage(what + "='" + text + "' is out of range: give at least 1 byte and at most 4 EiB, for example 2GiB, 500MB or 1.5G");
    }
    return (long) value;
  }
}
