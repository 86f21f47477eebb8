package dev.cachemount.core.blob;

/**
 * A set of digests that several threads add to: {@link DigestTable}s in 64 stripes, each locked on
 * its own, chosen by bits the tables' slots do not depend on. A push's workers add every chunk they
 * hash; a reference and an unused int per slot replace a concurrent map's entry object per chunk.
 */
public final class ConcurrentDigestSet {
  private static final int STRIPE_BITS = 6;
  private final DigestTable[] stripes = new DigestTable[1 << STRIPE_BITS];

  /** @param expected how many digests the set will probably hold (it grows past that) */
  public ConcurrentDigestSet(int expected) {
    for (int i = 0; i < stripes.length; i++) {
      stripes[i] = new DigestTable(expected >> STRIPE_BITS);
    }
  }

  /** Adds {@code digest}; true when the set did not hold it. Thread-safe. */
  public boolean add(Digest digest) {
    DigestTable stripe = stripes[(int) (digest.w3 >>> (64 - STRIPE_BITS))];
    synchronized (stripe) {
      return stripe.putIfAbsent(digest, 0) < 0;
    }
  }
}
