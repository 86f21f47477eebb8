package dev.cachemount.core.blob;

import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Arrays;
import java.util.HexFormat;

/**
 * A SHA-256 content digest, the name of every chunk and blob. Validated once, at the boundary
 * ({@link #parse}); afterwards trusted. Immutable.
 *
 * <p>Only {@code sha256} is supported: it is what every OCI registry accepts and what the format
 * records. The string form is the OCI one, {@code sha256:<64 lower-case hex digits>}.
 */
public final class Digest implements Comparable<Digest> {
  public static final String ALGORITHM = "sha256";
  public static final int LENGTH = 32;
  private static final HexFormat HEX = HexFormat.of();

  private final byte[] bytes;
  private final int hash;

  private Digest(byte[] bytes) {
    this.bytes = bytes;
    this.hash = Arrays.hashCode(bytes);
  }

  /** Wraps 32 raw digest bytes (copied). */
  public static Digest ofRaw(byte[] raw) {
    return ofRaw(raw, 0);
  }

  /** Wraps 32 raw digest bytes starting at {@code offset} (copied). */
  public static Digest ofRaw(byte[] raw, int offset) {
    if (raw.length - offset < LENGTH) {
      throw new IllegalArgumentException("a sha256 digest has 32 bytes, got " + (raw.length - offset));
    }
    return new Digest(Arrays.copyOfRange(raw, offset, offset + LENGTH));
  }

  /**
   * Parses {@code sha256:<hex>}.
   *
   * @throws IllegalArgumentException naming what is wrong with the text
   */
  public static Digest parse(String text) {
    if (text == null) {
      throw new IllegalArgumentException("digest is missing");
    }
    int colon = text.indexOf(':');
    if (colon < 0) {
      throw new IllegalArgumentException("digest '" + text + "' has no algorithm: expected sha256:<64 hex digits>");
    }
    String algorithm = text.substring(0, colon);
    String hex = text.substring(colon + 1);
    if (!ALGORITHM.equals(algorithm)) {
      throw new IllegalArgumentException("digest '" + text + "' uses algorithm '" + algorithm + "': only sha256 is supported");
    }
    if (hex.length() != 2 * LENGTH || !hex.chars().allMatch(c -> (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) {
      throw new IllegalArgumentException("digest '" + text + "' is not sha256:<64 lower-case hex digits>");
    }
    return new Digest(HEX.parseHex(hex));
  }

  /** The digest of {@code data}. */
  public static Digest of(byte[] data) {
    return of(data, 0, data.length);
  }

  /** The digest of {@code data[offset, offset+length)}. */
  public static Digest of(byte[] data, int offset, int length) {
    MessageDigest md = newMessageDigest();
    md.update(data, offset, length);
    return new Digest(md.digest());
  }

  /** A new SHA-256 {@link MessageDigest}; every JDK has one. */
  public static MessageDigest newMessageDigest() {
    try {
      return MessageDigest.getInstance("SHA-256");
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("the JDK has no SHA-256", e);
    }
  }

  /** Wraps the result of {@code md.digest()} (which resets {@code md}). */
  public static Digest finish(MessageDigest md) {
    return new Digest(md.digest());
  }

  /** A copy of the 32 raw bytes. */
  public byte[] toRaw() {
    return bytes.clone();
  }

  /** Copies the 32 raw bytes into {@code target} at {@code offset}. */
  public void copyTo(byte[] target, int offset) {
    System.arraycopy(bytes, 0, target, offset, LENGTH);
  }

  /**
   * Sorts digests in their unsigned byte order, as {@link #compareTo} does, without comparing objects:
   * digests are uniformly distributed, so their first 64 bits (with the array position in the low
   * bits) order all but the rarest of them, and runs that tie on those bits are sorted by compareTo.
   * About ten times faster than {@code Arrays.sort} for the hundreds of thousands of chunks of a cache.
   */
  public static void sort(Digest[] a) {
    int n = a.length;
    if (n < 2) {
      return;
    }
    int positionBits = 32 - Integer.numberOfLeadingZeros(n - 1);
    long positionMask = (1L << positionBits) - 1;
    long[] keys = new long[n];
    for (int i = 0; i < n; i++) {
      keys[i] = ((a[i].prefix() ^ Long.MIN_VALUE) & ~positionMask) | i;
    }
    Arrays.sort(keys);
    Digest[] copy = a.clone();
    for (int j = 0; j < n; j++) {
      a[j] = copy[(int) (keys[j] & positionMask)];
    }
    for (int j = 1, run = 0; j <= n; j++) {
      if (j == n || (keys[j] & ~positionMask) != (keys[run] & ~positionMask)) {
        if (j - run > 1) {
          Arrays.sort(a, run, j);
        }
        run = j;
      }
    }
  }

  /** The first 8 bytes, big-endian. */
  long prefix() {
    long p = 0;
    for (int i = 0; i < 8; i++) {
      p = (p << 8) | (bytes[i] & 0xff);
    }
    return p;
  }

  /** Compares this digest with the 32 bytes of {@code other} at {@code offset}, as {@link #compareTo} does. */
  public int compareToRaw(byte[] other, int offset) {
    return Arrays.compareUnsigned(bytes, 0, LENGTH, other, offset, offset + LENGTH);
  }

  /** Whether this digest equals the 32 bytes of {@code other} at {@code offset}. */
  public boolean matches(byte[] other, int offset) {
    return Arrays.equals(bytes, 0, LENGTH, other, offset, offset + LENGTH);
  }

  /** The 64 hex digits, without the algorithm: the file name of a blob. */
  public String hex() {
    return HEX.formatHex(bytes);
  }

  /** A short form for messages: the algorithm and the first 12 hex digits. */
  public String shortForm() {
    return ALGORITHM + ":" + hex().substring(0, 12);
  }

  @Override
  public String toString() {
    return ALGORITHM + ":" + hex();
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof Digest d && Arrays.equals(bytes, d.bytes);
  }

  @Override
  public int hashCode() {
    return hash;
  }

  @Override
  public int compareTo(Digest o) {
    return Arrays.compareUnsigned(bytes, o.bytes);
  }
}
