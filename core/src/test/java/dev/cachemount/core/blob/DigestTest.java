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
}
