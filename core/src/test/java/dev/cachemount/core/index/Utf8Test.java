package dev.cachemount.core.index;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

/** Strict UTF-8: ASCII, valid multi-byte text and malformed bytes, within a larger array. */
class Utf8Test {
  private static String decode(byte[] bytes) {
    byte[] padded = new byte[bytes.length + 4];
    padded[0] = 'x';
    padded[1] = (byte) 0xff;
    System.arraycopy(bytes, 0, padded, 2, bytes.length);
    padded[padded.length - 2] = (byte) 0xc3;
    padded[padded.length - 1] = 'y';
    return Utf8.decodeStrict(padded, 2, bytes.length);
  }

  @Test
  void validTextDecodesAsItIs() {
    for (String s : new String[] {"", "org/apache/maven/maven-core/3.9.9/maven-core-3.9.9.jar", "a\u0000b\u007f",
        "caf\u00e9/na\u00efve", "\u4e2d\u6587/\u65e5\u672c\u8a9e", "emoji-\ud83d\ude00.txt", "mixed/\u00e9-ascii-tail"}) {
      assertEquals(s, decode(s.getBytes(StandardCharsets.UTF_8)), s);
    }
  }

  @Test
  void malformedBytesAreRefused() {
    byte[][] bad = {
      {(byte) 0xc3},                                  // a lead byte without its continuation
      {'a', (byte) 0x80},                              // a continuation without a lead
      {(byte) 0xc0, (byte) 0xaf},                      // an overlong '/'
      {(byte) 0xed, (byte) 0xa0, (byte) 0x80},         // a surrogate
      {(byte) 0xf4, (byte) 0x90, (byte) 0x80, (byte) 0x80}, // past U+10FFFF
      {'o', 'k', (byte) 0xff},
    };
    for (byte[] b : bad) {
      assertNull(decode(b), java.util.Arrays.toString(b));
    }
  }
}
