package dev.cachemount.core.blob;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

class DigestTest {
  private static final String EMPTY = "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

  @Test
  void digestOfBytesMatchesTheKnownValue() {
    assertEquals(EMPTY, Digest.of(new byte[0]).toString());
    assertEquals("sha256:2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824",
        Digest.of("hello".getBytes(StandardCharsets.UTF_8)).toString());
  }

  @Test
  void parseRoundTripsAndComparesByValue() {
    Digest d = Digest.parse(EMPTY);
    assertEquals(EMPTY, d.toString());
    assertEquals(Digest.of(new byte[0]), d);
    assertEquals(d.hashCode(), Digest.ofRaw(d.toRaw()).hashCode());
    assertNotEquals(Digest.of(new byte[1]), d);
    assertTrue(d.matches(d.toRaw(), 0));
  }

  @Test
  void parseRefusesMalformedText() {
    assertThrows(IllegalArgumentException.class, () -> Digest.parse("e3b0c442"));
    assertThrows(IllegalArgumentException.class, () -> Digest.parse("sha512:" + "a".repeat(128)));
    assertThrows(IllegalArgumentException.class, () -> Digest.parse("sha256:" + "A".repeat(64)));
    assertThrows(IllegalArgumentException.class, () -> Digest.parse("sha256:" + "a".repeat(63)));
    assertThrows(IllegalArgumentException.class, () -> Digest.parse("sha256:" + "g".repeat(64)));
    assertThrows(IllegalArgumentException.class, () -> Digest.parse(null));
  }

  @Test
  void ordersByUnsignedBytes() {
    Digest low = Digest.parse("sha256:" + "0".repeat(64));
    Digest high = Digest.parse("sha256:" + "f".repeat(64));
    assertTrue(low.compareTo(high) < 0);
    assertTrue(high.compareTo(low) > 0);
  }

  @Test
  void sortOrdersLikeCompareToIncludingDigestsThatShareTheirFirstBytes() {
    java.util.Random random = new java.util.Random(3);
    java.util.List<Digest> list = new java.util.ArrayList<>();
    byte[] raw = new byte[32];
    for (int i = 0; i < 50_000; i++) {
      random.nextBytes(raw);
      list.add(Digest.ofRaw(raw));
    }
    // Runs that tie on their first 8 bytes, and on all but the last byte: sorted by the full digest.
    for (int i = 0; i < 300; i++) {
      random.nextBytes(raw);
      raw[0] = (byte) (i % 3);
      for (int b = 1; b < 8; b++) {
        raw[b] = 0;
      }
      list.add(Digest.ofRaw(raw));
      raw[31] ^= 1;
      list.add(Digest.ofRaw(raw));
    }
    java.util.Collections.shuffle(list, random);
    Digest[] sorted = list.toArray(new Digest[0]);
    Digest.sort(sorted);
    Digest[] expected = list.toArray(new Digest[0]);
    java.util.Arrays.sort(expected);
    org.junit.jupiter.api.Assertions.assertArrayEquals(expected, sorted);
    Digest[] one = {list.get(0)};
    Digest.sort(one);
    org.junit.jupiter.api.Assertions.assertSame(list.get(0), one[0]);
  }
}
