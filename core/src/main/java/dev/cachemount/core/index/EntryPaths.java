package dev.cachemount.core.index;

import java.nio.charset.StandardCharsets;
import java.util.Comparator;

/**
 * The rules for an entry's path: relative to the snapshot root, segments separated by {@code /}.
 * A path is refused when it is empty (the root itself), absolute, has an empty, {@code .} or
 * {@code ..} segment, or contains NUL or a backslash; or when it or a segment is too long. These are
 * checked when a tree is scanned (such names are skipped with a warning) and again when an index is
 * read (a snapshot holding one is refused as unsafe).
 */
public final class EntryPaths {
  /** Longest path, in UTF-8 bytes (Linux PATH_MAX). */
  public static final int MAX_PATH_BYTES = 4096;
  /** Longest segment, in UTF-8 bytes (Linux NAME_MAX). */
  public static final int MAX_SEGMENT_BYTES = 255;
  /** Longest symbolic-link target, in UTF-8 bytes. */
  public static final int MAX_LINK_TARGET_BYTES = 4096;

  /**
   * Index order: the unsigned byte order of the UTF-8 encoding. A parent sorts before its children.
   * UTF-8 byte order is code point order, so the strings are compared as they are, without encoding
   * either (a sort of 40,000 paths compared encoded copies a million times): UTF-16 order is code point
   * order except that surrogates (D800–DFFF, the halves of code points above FFFF) sort below E000–FFFF,
   * which the comparison moves above them.
   */
  public static final Comparator<String> ORDER = EntryPaths::compareUtf8;

  private static int compareUtf8(String a, String b) {
    int n = Math.min(a.length(), b.length());
    for (int i = 0; i < n; i++) {
      char x = a.charAt(i);
      char y = b.charAt(i);
      if (x != y) {
        if (x >= 0xD800 && y >= 0xD800) {
          return codePointRank(x) - codePointRank(y);
        }
        return x - y;
      }
    }
    return a.length() - b.length();
  }

  /** E000–FFFF down to D800–F7FF, surrogates up to F800–FFFF: code point order among chars from D800. */
  private static int codePointRank(char c) {
    return c >= 0xE000 ? c - 0x800 : c + 0x2000;
  }

  private EntryPaths() {}

  /** Why {@code path} is not a valid entry path, or {@code null} when it is. */
  public static String problem(String path) {
    if (path.isEmpty()) {
      return "the path is empty (an entry for the root itself)";
    }
    if (3L * path.length() > MAX_PATH_BYTES && path.getBytes(StandardCharsets.UTF_8).length > MAX_PATH_BYTES) {
      return "the path is longer than " + MAX_PATH_BYTES + " bytes";
    }
    if (path.indexOf('\0') >= 0) {
      return "the path contains NUL";
    }
    if (path.indexOf('\\') >= 0) {
      return "the path contains a backslash";
    }
    if (path.startsWith("/")) {
      return "the path is absolute";
    }
    int start = 0;
    while (true) {
      int slash = path.indexOf('/', start);
      String segmentProblem = segmentProblem(slash < 0 ? path.substring(start) : path.substring(start, slash));
      if (segmentProblem != null || slash < 0) {
        return segmentProblem;
      }
      start = slash + 1;
    }
  }

  /**
   * {@link #problem} of a path below a parent that passed it already (its first {@code parentLength}
   * chars): the same answer, from the last segment and the whole length alone, without splitting
   * the parent again (an index checks tens of thousands of paths, most of them deep).
   */
  public static String problemBelow(String path, int parentLength) {
    if (3L * path.length() > MAX_PATH_BYTES && path.getBytes(StandardCharsets.UTF_8).length > MAX_PATH_BYTES) {
      return "the path is longer than " + MAX_PATH_BYTES + " bytes";
    }
    return segmentProblem(path.substring(parentLength + 1));
  }

  /**
   * Why {@code segment} cannot be one segment of an entry path, or {@code null} when it can: a scan
   * checks each name it lists, below a parent already checked, and the path's length on its own.
   */
  public static String segmentProblem(String segment) {
    if (segment.isEmpty()) {
      return "the path has an empty segment";
    }
    if (segment.equals(".") || segment.equals("..")) {
      return "the path has a '" + segment + "' segment";
    }
    if (segment.indexOf('\0') >= 0) {
      return "the path contains NUL";
    }
    if (segment.indexOf('\\') >= 0) {
      return "the path contains a backslash";
    }
    // Up to 3 bytes a char: encoded only when it could be too long.
    if (3L * segment.length() > MAX_SEGMENT_BYTES && segment.getBytes(StandardCharsets.UTF_8).length > MAX_SEGMENT_BYTES) {
      return "a segment is longer than " + MAX_SEGMENT_BYTES + " bytes";
    }
    return null;
  }

  /** The parent path, or {@code ""} for a top-level entry. */
  public static String parent(String path) {
    int slash = path.lastIndexOf('/');
    return slash < 0 ? "" : path.substring(0, slash);
  }
}
