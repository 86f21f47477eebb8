package dev.cachemount.core.index;

import dev.cachemount.core.CachemountException;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;

/**
 * Unsigned LEB128 varints and the small binary vocabulary of the index and pack trailer formats
 * (docs/format.md). {@link Writer} appends to a growable array; {@link Reader} reads a bounded array
 * and reports every overrun or malformed value as an integrity failure naming {@code what} it was
 * reading.
 */
public final class VarInts {
  private VarInts() {}

  /** Appends values to a growable byte array. Not thread-safe. */
  public static final class Writer {
    private final ByteArrayOutputStream out;

    public Writer(int initialCapacity) {
      this.out = new ByteArrayOutputStream(initialCapacity);
    }

    public Writer u8(int value) {
      out.write(value);
      return this;
    }

    public Writer varint(long value) {
      if (value < 0) {
        throw new IllegalArgumentException("varint must not be negative: " + value);
      }
      while ((value & ~0x7FL) != 0) {
        out.write((int) ((value & 0x7F) | 0x80));
        value >>>= 7;
      }
      out.write((int) value);
      return this;
    }

    /** A signed value, zig-zag encoded. */
    public Writer zigzag(long value) {
      long z = (value << 1) ^ (value >> 63);
      while ((z & ~0x7FL) != 0) {
        out.write((int) ((z & 0x7F) | 0x80));
        z >>>= 7;
      }
      out.write((int) z);
      return this;
    }

    public Writer bytes(byte[] value) {
      out.write(value, 0, value.length);
      return this;
    }

    public Writer bytes(byte[] value, int offset, int length) {
      out.write(value, offset, length);
      return this;
    }

    /** A length-prefixed UTF-8 string. */
    public Writer string(String value) {
      byte[] b = value.getBytes(StandardCharsets.UTF_8);
      varint(b.length);
      return bytes(b);
    }

    public int size() {
      return out.size();
    }

    public byte[] toByteArray() {
      return out.toByteArray();
    }
  }

  /** Reads values from a byte array, never past its end. Not thread-safe. */
  public static final class Reader {
    private final byte[] data;
    private final int end;
    private final String what;
    private int pos;

    public Reader(byte[] data, int offset, int length, String what) {
      this.data = data;
      this.pos = offset;
      this.end = offset + length;
      this.what = what;
    }

    public int position() {
      return pos;
    }

    public int remaining() {
      return end - pos;
    }

    public int u8() {
      need(1);
      return data[pos++] & 0xFF;
    }

    public long varint() {
      long result = 0;
      for (int shift = 0; shift < 64; shift += 7) {
        need(1);
        int b = data[pos++] & 0xFF;
        if (shift == 63 && b > 1) {
          break;
        }
        result |= (long) (b & 0x7F) << shift;
        if ((b & 0x80) == 0) {
          return result;
        }
      }
      throw corrupt("a varint longer than 64 bits");
    }

    /** A varint that must lie in {@code [min, max]}. */
    public long varint(long min, long max, String field) {
      long v = varint();
      if (v < min || v > max) {
        throw corrupt(field + " " + v + " outside [" + min + ", " + max + "]");
      }
      return v;
    }

    /** An int varint in {@code [min, max]}. */
    public int varintInt(int min, int max, String field) {
      return (int) varint(min, max, field);
    }

    public long zigzag() {
      long z = varint();
      return (z >>> 1) ^ -(z & 1);
    }

    /** Copies {@code length} bytes into {@code target} at {@code offset}. */
    public void bytes(byte[] target, int offset, int length) {
      need(length);
      System.arraycopy(data, pos, target, offset, length);
      pos += length;
    }

    /** Returns {@code length} bytes as a new array. */
    public byte[] bytes(int length) {
      byte[] b = new byte[length];
      bytes(b, 0, length);
      return b;
    }

    /** The array being read, for zero-copy comparisons at {@link #position()}. */
    byte[] array() {
      return data;
    }

    void skip(int length) {
      need(length);
      pos += length;
    }

    /** A length-prefixed UTF-8 string of at most {@code maxBytes}, which must decode cleanly. */
    public String string(int maxBytes, String field) {
      int length = varintInt(0, maxBytes, field + " length");
      need(length);
      String s = Utf8.decodeStrict(data, pos, length);
      if (s == null) {
        throw corrupt(field + " is not valid UTF-8");
      }
      pos += length;
      return s;
    }

    public void expectEnd() {
      if (pos != end) {
        throw corrupt((end - pos) + " unexpected bytes after the end");
      }
    }

    private void need(int n) {
      if (n < 0 || end - pos < n) {
        throw corrupt("truncated");
      }
    }

    public CachemountException corrupt(String detail) {
      return CachemountException.integrity(what + " is corrupt at byte " + pos + ": " + detail);
    }
  }
}
