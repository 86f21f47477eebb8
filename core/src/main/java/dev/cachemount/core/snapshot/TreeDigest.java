package dev.cachemount.core.snapshot;

import dev.cachemount.core.blob.Digest;
import dev.cachemount.core.index.Entry;
import dev.cachemount.core.index.EntryType;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.List;

/**
 * The SHA-256 of what a restore reproduces of a tree, apart from file content: each entry's type,
 * path, owner-executable bit and modification time, a file's size, a link's target. The same fields
 * a push compares to call a tree unchanged ({@link UnchangedCheck}), except that a link's time counts
 * to the microsecond: the JDK sets a link's time with {@code lutimes}. A snapshot's config records it ({@code treeDigest}, docs/format.md), so that a pull
 * into a directory that already holds the snapshot, and a push of a tree that has not changed, can
 * tell so from a scan, without fetching and decoding the index. Content is not part of it: like the
 * index's own comparisons, it trusts sizes and times (a push re-reads files modified too close to its
 * parent's scan; {@code verify=content} pulls never take this path).
 */
public final class TreeDigest {
  private TreeDigest() {}

  /** The digest of a snapshot's entries, in index order. */
  public static String ofIndex(List<Entry> entries) {
    Encoder encoder = new Encoder();
    for (Entry e : entries) {
      encoder.add(e.type(), e.path(), e.size(), e.mtimeSeconds(), e.mtimeNanos(), e.executable(), e.linkTarget());
    }
    return encoder.digest();
  }

  /** The digest of a scanned tree, in index order (as {@link TreeScanner} returns it). */
  public static String ofScan(List<ScannedEntry> entries) {
    Encoder encoder = new Encoder();
    for (ScannedEntry e : entries) {
      encoder.add(e.type(), e.path(), e.size(), e.mtimeSeconds(), e.mtimeNanos(), (e.mode() & 0100) != 0, e.linkTarget());
    }
    return encoder.digest();
  }

  /**
   * Writes the entries' bytes into a buffer that goes to the digest whenever it fills, byte by byte
   * rather than through a string per entry: a push and a pull digest every entry of the tree in a JVM
   * that has just started, mostly interpreted (6,162 entries: 85–136 ms with strings, 56–87 ms
   * without; most of the rest is SHA-256 itself, before the JIT has compiled it).
   */
  private static final class Encoder {
    private static final int BUFFER = 64 * 1024;
    /**
     * Room for the most {@link #add} writes between two calls of {@link #room}: 36 bytes (after the
     * path: NUL, the bit, a space, 20 for the seconds, a space, 11 for the nanoseconds, a space).
     */
    private static final int SLACK = 64;

    private final MessageDigest md = Digest.newMessageDigest();
    private final byte[] buffer = new byte[BUFFER];
    private int length;

    /**
     * One entry, in UTF-8: a type letter ({@code d}, {@code f}, {@code l}), NUL, the path, NUL,
     * {@code x} or {@code -} (the owner-executable bit), a space, the modification time as
     * {@code SECONDS NANOS} ({@code SECONDS MICROS} for a link), then for a file a space and its size,
     * for a link NUL and its target; and NUL. Paths and link targets hold no NUL.
     */
    void add(EntryType type, String path, long size, long seconds, int nanos, boolean executable, String target) {
      room();
      buffer[length++] = switch (type) {
        case FILE -> 'f';
        case DIRECTORY -> 'd';
        case SYMLINK -> 'l';
      };
      buffer[length++] = 0;
      text(path);
      room();
      buffer[length++] = 0;
      buffer[length++] = (byte) (executable ? 'x' : '-');
      buffer[length++] = ' ';
      number(seconds);
      buffer[length++] = ' ';
      switch (type) {
        case FILE -> {
          number(nanos);
          buffer[length++] = ' ';
          room();
          number(size);
        }
        case DIRECTORY -> number(nanos);
        case SYMLINK -> {
          number(nanos / 1000);
          buffer[length++] = 0;
          text(target);
          room();
        }
      }
      buffer[length++] = 0;
    }

    String digest() {
      md.update(buffer, 0, length);
      length = 0;
      return Digest.ofRaw(md.digest()).toString();
    }

    /** Flushes the buffer unless {@link #SLACK} bytes fit. */
    private void room() {
      if (length > BUFFER - SLACK) {
        md.update(buffer, 0, length);
        length = 0;
      }
    }

    /** A decimal number without leading zeros, as {@link Long#toString(long)} writes it (at most 20 bytes). */
    private void number(long value) {
      if (value < 0) {
        ascii(Long.toString(value));
        return;
      }
      int end = length + digits(value);
      int at = end;
      do {
        buffer[--at] = (byte) ('0' + (int) (value % 10));
        value /= 10;
      } while (value != 0);
      length = end;
    }

    private static int digits(long value) {
      int n = 1;
      for (long limit = 10; n < 19 && value >= limit; limit *= 10) {
        n++;
      }
      return n;
    }

    /** A string in UTF-8: ASCII byte by byte, anything else as {@link String#getBytes} encodes it. */
    private void text(String s) {
      for (int i = 0, n = s.length(); i < n; i++) {
        char c = s.charAt(i);
        if (c >= 0x80) {
          bytes(s.substring(i).getBytes(StandardCharsets.UTF_8));
          return;
        }
        if (length == BUFFER) {
          md.update(buffer, 0, length);
          length = 0;
        }
        buffer[length++] = (byte) c;
      }
    }

    private void ascii(String s) {
      for (int i = 0; i < s.length(); i++) {
        buffer[length++] = (byte) s.charAt(i);
      }
    }

    private void bytes(byte[] b) {
      md.update(buffer, 0, length);
      length = 0;
      md.update(b);
    }
  }
}
