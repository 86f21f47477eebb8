package dev.cachemount.core;

import java.util.Locale;

/** The line a front prints for each result, the same in the CLI and the Maven plugin: presentation only. */
public final class ResultText {
  private ResultText() {}

  /** One line saying what happened to {@code spec}'s cache, e.g. {@code m2: pushed sha256:… to … (3,495 files, 441.4 MiB; wrote …)}. */
  public static String describe(OperationResult r, CacheSpec spec) {
    String tree = count(r.files(), "file", "files") + ", " + bytes(r.bytes());
    String time = seconds(r.durationMs());
    return switch (r.result()) {
      case PUSHED -> r.id() + ": pushed " + r.digest() + " to " + r.ref() + (r.fallback() == null ? "" : ", built on " + r.fallback())
          + " (" + tree + "; wrote " + bytes(r.bytesTransferred()) + " in " + time + ")" + image(r);
      // A merge whose later try found the tag already holding its tree stored blobs in its earlier tries.
      case UNCHANGED -> r.id() + ": unchanged, " + r.ref() + " already holds this tree (" + tree + "; "
          + (r.bytesTransferred() > 0 ? "wrote " + bytes(r.bytesTransferred()) + " in earlier tries" : "wrote nothing") + ", " + time + ")" + image(r);
      case RESTORED -> r.id() + ": restored " + r.digest() + (r.fallback() == null ? "" : " from fallback " + r.fallback()) + " into " + spec.target().map(Object::toString).orElse("?") + " (" + tree
          + inPlace(r) + removed(r) + "; read " + bytes(r.bytesTransferred()) + " in " + time + ")";
      case MISS -> r.id() + ": miss, nothing stored at " + r.ref() + "; the target was left as it was";
      case FAILED -> r.id() + ": failed: " + r.error();
    };
  }

  /** What a push did to its image view ({@code image=}), if it has one. */
  private static String image(OperationResult r) {
    var v = r.image();
    if (v == null) {
      return "";
    }
    if (v.unchanged()) {
      return "; image view " + v.ref() + " already shows it";
    }
    return "; image view " + v.ref() + ": " + count(v.layers(), "layer", "layers") + ", " + v.layersReused() + " reused, wrote " + bytes(v.bytesWritten());
  }

  /** How many of a pull's files were already in place, when any were: a pull into an up-to-date directory writes nothing. */
  private static String inPlace(OperationResult r) {
    Long there = r.filesUnchanged();
    if (there == null || there == 0 || r.files() == 0) {
      return "";
    }
    return there == r.files() ? ", all already in place" : String.format(Locale.ROOT, ", %,d already in place", there);
  }

  /** What a {@code mode=mirror} pull removed, when it removed anything: a deletion is not made in silence. */
  private static String removed(OperationResult r) {
    Long removed = r.removed();
    return removed == null || removed == 0 ? "" : ", removed " + count(removed, "entry", "entries") + " the snapshot lacks";
  }

  /** {@code n} and the noun that goes with it: {@code 1 file}, {@code 3,495 files}. */
  public static String count(long n, String one, String many) {
    return String.format(Locale.ROOT, "%,d %s", n, n == 1 ? one : many);
  }

  /** {@code n} bytes in binary units with one decimal: {@code 512 B}, {@code 441.4 MiB}. */
  public static String bytes(long n) {
    if (n < 1024) {
      return n + " B";
    }
    String[] units = {"KiB", "MiB", "GiB", "TiB"};
    double v = n;
    int u = -1;
    while (v >= 1024 && u < units.length - 1) {
      v /= 1024;
      u++;
    }
    return String.format(Locale.ROOT, "%.1f %s", v, units[u]);
  }

  /** Milliseconds as seconds with one decimal: {@code 2.7 s}. */
  public static String seconds(long millis) {
    return String.format(Locale.ROOT, "%.1f s", millis / 1000.0);
  }
}
