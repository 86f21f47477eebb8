package dev.cachemount.core.index;

import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;

/** Strict UTF-8 decoding: malformed input is an error, never silently replaced. */
final class Utf8 {
  private Utf8() {}

  /** The decoded string, or {@code null} when the bytes are not valid UTF-8. */
  static String decodeStrict(byte[] data, int offset, int length) {
    // Most paths are ASCII, which is valid UTF-8 as it is: no decoder needed (an index holds one
    // path per entry, tens of thousands of them).
    int end = offset + length;
    int i = offset;
    while (i < end && data[i] >= 0) {
      i++;
    }
    if (i == end) {
      return new String(data, offset, length, StandardCharsets.ISO_8859_1);
    }
    try {
      return StandardCharsets.UTF_8
          .newDecoder()
          .onMalformedInput(CodingErrorAction.REPORT)
          .onUnmappableCharacter(CodingErrorAction.REPORT)
          .decode(ByteBuffer.wrap(data, offset, length))
          .toString();
    } catch (CharacterCodingException e) {
      return null;
    }
  }
}
