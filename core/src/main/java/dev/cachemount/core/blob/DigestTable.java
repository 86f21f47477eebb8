package dev.cachemount.core.blob;

import java.util.concurrent.ThreadLocalRandom;

/**
 * Digests to non-negative ints, by open addressing: a reference and an int per slot, at most half
 * the slots full, instead of a map entry (and a boxed or array value) per digest. For the chunk
 * tables of a push, which hold one digest per new chunk: millions for a large cache, and each map
 * entry was one more object for every collection to copy. Not thread-safe.
 *
 * <p>Slots come from all 256 bits of a digest mixed with a seed chosen per table, so digests made to
 * share their first bits (an index can list any digests it likes) do not pile up in one run of slots.
 */
public final class DigestTable {
  private final long seed = ThreadLocalRandom.current().nextLong();
  private Digest[] keys;
  private int[] values;
  private int size;

  /** @param expected how many digests the table will probably hold (it grows past that) */
  public DigestTable(int expected) {
    int capacity = Integer.highestOneBit(Math.max(8, expected) * 2 - 1) << 1;
    keys = new Digest[capacity];
    values = new int[capacity];
  }

  /** The value of {@code digest}, or -1 when the table does not hold it. */
  public int get(Digest digest) {
    int mask = keys.length - 1;
    for (int i = slot(digest, mask); ; i = (i + 1) & mask) {
      Digest k = keys[i];
      if (k == null) {
        return -1;
      }
      if (k.equals(digest)) {
        return values[i];
      }
    }
  }

  /**
   * Adds {@code digest} with {@code value} (at least 0) unless the table holds it.
   *
   * @return the value it already had, or -1 when it was added
   */
  public int putIfAbsent(Digest digest, int value) {
    if (value < 0) {
      throw new IllegalArgumentException("values are non-negative: " + value);
    }
    int mask = keys.length - 1;
    int i = slot(digest, mask);
    for (; keys[i] != null; i = (i + 1) & mask) {
      if (keys[i].equals(digest)) {
        return values[i];
      }
    }
    keys[i] = digest;
    values[i] = value;
    if (++size * 2 > keys.length) {
      grow();
    }
    return -1;
  }

  public int size() {
    return size;
  }

  private void grow() {
    Digest[] oldKeys = keys;
    int[] oldValues = values;
    keys = new Digest[oldKeys.length * 2];
    values = new int[oldKeys.length * 2];
    int mask = keys.length - 1;
    for (int j = 0; j < oldKeys.length; j++) {
      Digest k = oldKeys[j];
      if (k != null) {
        int i = slot(k, mask);
        while (keys[i] != null) {
          i = (i + 1) & mask;
        }
        keys[i] = k;
        values[i] = oldValues[j];
      }
    }
  }

  private int slot(Digest d, int mask) {
    long h = seed;
    h = mix(h ^ d.w0);
    h = mix(h ^ d.w1);
    h = mix(h ^ d.w2);
    h = mix(h ^ d.w3);
    return (int) (h ^ (h >>> 32)) & mask;
  }

  /** The finalizer of SplitMix64: every input bit reaches every output bit. */
  private static long mix(long z) {
    z = (z ^ (z >>> 30)) * 0xbf58476d1ce4e5b9L;
    z = (z ^ (z >>> 27)) * 0x94d049bb133111ebL;
    return z ^ (z >>> 31);
  }
}
