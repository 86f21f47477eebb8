package dev.cachemount.core.snapshot;

import java.util.List;

/**
 * Warnings about entries skipped for one reason, many of them in one directory (a tool deleted the
 * directory while the push scanned or read it): told as one line per directory, with the first few
 * names, instead of a line per entry (a directory of 3,000 files gave 3,000 lines).
 */
final class SkipNotes {
  /** Up to this many entries of a directory skipped for one reason are told one by one. */
  static final int ONE_BY_ONE = 5;
  /** The names a line for many shows. */
  private static final int SHOWN = 3;

  private SkipNotes() {}

  /** A reason: the text after the entry's path, and the line for many entries of a directory. */
  record Kind(String suffix, String many) {
    /** The path at the start of {@code text}, a warning of this kind. */
    String path(String text) {
      return text.substring(0, text.length() - suffix.length());
    }

    /** The line for {@code paths}, entries of {@code dir} ("" for the top directory). */
    String many(String dir, List<String> paths) {
      StringBuilder names = new StringBuilder();
      for (int i = 0; i < Math.min(SHOWN, paths.size()); i++) {
        String p = paths.get(i);
        names.append(i > 0 ? ", " : "").append(p.substring(p.lastIndexOf('/') + 1));
      }
      if (paths.size() > SHOWN) {
        names.append(", ...");
      }
      return String.format(many, paths.size(), dir.isEmpty() ? "the top directory" : dir, names);
    }
  }

  static final Kind VANISHED_IN_SCAN = new Kind(" vanished during the scan; skipped", "%d entries of %s vanished during the scan; skipped (%s)");
  static final Kind LEFTOVER = new Kind(" is a temporary file of an interrupted pull; skipped (it is safe to delete)",
      "%d temporary files of interrupted pulls in %s; skipped (they are safe to delete: %s)");
  static final Kind PULL_RUNNING = new Kind(" is a temporary file of a pull that is still writing into this directory; skipped"
      + " (push once the pull is done, or the snapshot holds what the pull had written so far)",
      "%d temporary files of a pull that is still writing into %s; skipped (%s; push once the pull is done, or the snapshot holds"
      + " what the pull had written so far)");
  static final Kind VANISHED_BEFORE_READ = new Kind(" vanished before it was read; skipped", "%d files of %s vanished before they were read; skipped (%s)");

  private static final List<Kind> KINDS = List.of(VANISHED_IN_SCAN, LEFTOVER, PULL_RUNNING, VANISHED_BEFORE_READ);

  /**
   * Tells {@code listener} that the entries {@code paths} (relative paths, in any order) were skipped
   * for {@code kind}'s reason: in the tree's order, one line per entry, or one per directory with
   * more than {@link #ONE_BY_ONE} of them.
   */
  static void tell(dev.cachemount.core.OperationListener listener, Kind kind, java.util.Collection<String> paths) {
    java.util.Map<String, List<String>> byDirectory = new java.util.TreeMap<>(dev.cachemount.core.index.EntryPaths.ORDER);
    for (String p : paths) {
      int slash = p.lastIndexOf('/');
      byDirectory.computeIfAbsent(slash < 0 ? "" : p.substring(0, slash), d -> new java.util.ArrayList<>()).add(p);
    }
    for (java.util.Map.Entry<String, List<String>> d : byDirectory.entrySet()) {
      List<String> group = d.getValue();
      group.sort(dev.cachemount.core.index.EntryPaths.ORDER);
      if (group.size() > ONE_BY_ONE) {
        listener.warning(kind.many(d.getKey(), group));
      } else {
        group.forEach(p -> listener.warning(p + kind.suffix()));
      }
    }
  }

  /** The kind of a warning that starts with an entry's path, or null. */
  static Kind kindOf(String text) {
    for (Kind k : KINDS) {
      if (text.endsWith(k.suffix())) {
        return k;
      }
    }
    return null;
  }
}
