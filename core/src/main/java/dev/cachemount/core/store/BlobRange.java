package dev.cachemount.core.store;

import java.util.List;

/** {@code length} bytes of a blob from {@code offset}; never empty. */
public record BlobRange(long offset, long length) {
  public BlobRange {
    if (offset < 0 || length <= 0 || offset + length < offset) {
      throw new IllegalArgumentException("a blob range needs an offset of 0 or more and a length of 1 or more, not " + offset + "+" + length);
    }
  }

  /** The offset just past the range. */
  public long end() {
    return offset + length;
  }

  /**
   * Checks that {@code ranges} is a list a source can serve in one stream: not empty, in ascending
   * order, not overlapping, and within a blob of {@code size} bytes.
   */
  public static void checkSet(List<BlobRange> ranges, long size) {
    if (ranges.isEmpty()) {
      throw new IllegalArgumentException("no range to read");
    }
    long previousEnd = 0;
    for (BlobRange r : ranges) {
      if (r.offset() < previousEnd) {
        throw new IllegalArgumentException("ranges overlap or are out of order at " + r.offset());
      }
      previousEnd = r.end();
    }
    if (previousEnd > size) {
      throw new IllegalArgumentException("range ends at " + previousEnd + ", past a blob of " + size + " bytes");
    }
  }

  /** {@code bytes=A-B,C-D,…}: the HTTP {@code Range} header value asking for all of {@code ranges}. */
  public static String httpHeader(List<BlobRange> ranges) {
    StringBuilder s = new StringBuilder("bytes=");
    for (int i = 0; i < ranges.size(); i++) {
      BlobRange r = ranges.get(i);
      s.append(i == 0 ? "" : ",").append(r.offset()).append('-').append(r.end() - 1);
    }
    return s.toString();
  }
}
