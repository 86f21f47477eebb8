package dev.cachemount.core.registry;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.cachemount.core.store.BlobRange;
import dev.cachemount.core.store.RangeSetStream;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Optional;
import java.util.Random;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.Test;

/** Reading a multipart/byteranges answer, as Go's http.ServeContent (and so distribution) writes it, and refusing broken ones. */
class MultipartByteRangesTest {
  private static final byte[] BLOB = new byte[10_000];
  private static final String BOUNDARY = "17c18aa057309e102abe4ea5ddd869aff1ddfe805170c839a580664b9d77";

  static {
    new Random(9).nextBytes(BLOB);
  }

  /** An answer in Go's layout: no preamble, CRLF line breaks, a Content-Type and a Content-Range per part. */
  private static byte[] answer(String lineBreak, String preamble, List<BlobRange> parts) {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    out.writeBytes(preamble.getBytes(StandardCharsets.US_ASCII));
    for (int i = 0; i < parts.size(); i++) {
      BlobRange r = parts.get(i);
      String head = (i == 0 ? "" : lineBreak) + "--" + BOUNDARY + lineBreak + "Content-Range: bytes " + r.offset() + "-" + (r.end() - 1) + "/" + BLOB.length
          + lineBreak + "Content-Type: application/octet-stream" + lineBreak + lineBreak;
      out.writeBytes(head.getBytes(StandardCharsets.US_ASCII));
      out.write(BLOB, (int) r.offset(), (int) r.length());
    }
    out.writeBytes((lineBreak + "--" + BOUNDARY + "--" + lineBreak).getBytes(StandardCharsets.US_ASCII));
    return out.toByteArray();
  }

  private static MultipartByteRanges parts(byte[] answer, AtomicBoolean closed) {
    return new MultipartByteRanges(new ByteArrayInputStream(answer), BOUNDARY, BLOB.length, () -> closed.set(true), true);
  }

  private static byte[] body(MultipartByteRanges parts) throws IOException {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    byte[] b = new byte[100];
    int n;
    while ((n = parts.read(b, 0, b.length)) >= 0) {
      out.write(b, 0, n);
    }
    return out.toByteArray();
  }

  private static final List<BlobRange> RANGES = List.of(new BlobRange(0, 10), new BlobRange(100, 1_000), new BlobRange(9_999, 1));

  @Test
  void eachPartIsItsRangeAndItsBytes() throws IOException {
    for (String lineBreak : List.of("\r\n", "\n")) {
      for (String preamble : List.of("", lineBreak, "This is a preamble." + lineBreak)) {
        AtomicBoolean closed = new AtomicBoolean();
        try (MultipartByteRanges parts = parts(answer(lineBreak, preamble, RANGES), closed)) {
          for (BlobRange r : RANGES) {
            assertEquals(r, parts.next());
            assertArrayEquals(java.util.Arrays.copyOfRange(BLOB, (int) r.offset(), (int) r.end()), body(parts));
          }
          assertNull(parts.next());
          assertNull(parts.next());
        }
        assertTrue(closed.get());
      }
    }
  }

  @Test
  void aPartNotReadToItsEndIsSkipped() throws IOException {
    try (MultipartByteRanges parts = parts(answer("\r\n", "", RANGES), new AtomicBoolean())) {
      assertEquals(RANGES.get(0), parts.next());
      assertEquals(RANGES.get(1), parts.next());
      byte[] three = new byte[3];
      assertEquals(3, parts.read(three, 0, 3));
      assertEquals(RANGES.get(2), parts.next());
      assertArrayEquals(new byte[] {BLOB[9_999]}, body(parts));
      assertNull(parts.next());
    }
  }

  @Test
  void brokenAnswersAreErrorsThatNameTheProblem() {
    byte[] good = answer("\r\n", "", RANGES);
    String text = new String(good, StandardCharsets.ISO_8859_1);
    String noRange = text.replaceFirst("Content-Range: bytes 0-9/10000\r\n", "");
    String outside = text.replace("bytes 9999-9999/10000", "bytes 9999-10000/10000");
    String otherSize = text.replace("bytes 0-9/10000", "bytes 0-9/20000");
    String garbage = text.replace("\r\n--" + BOUNDARY + "\r\nContent-Range: bytes 100-", "\r\nXX" + BOUNDARY + "\r\nContent-Range: bytes 100-");
    String longLine = text.replace("Content-Type: application/octet-stream", "X-Padding: " + "x".repeat(2000));
    String cut = text.substring(0, text.indexOf("Content-Range: bytes 100-") + 100);
    for (String[] c : new String[][] {
        {noRange, "a part of the multipart answer has no Content-Range"},
        {outside, "a part of the multipart answer names a range outside the blob of 10000 bytes: ' bytes 9999-10000/10000'"},
        {otherSize, "a part of the multipart answer names a range outside the blob of 10000 bytes: ' bytes 0-9/20000'"},
        {garbage, "the multipart answer has 'XX" + BOUNDARY + "' where a delimiter belongs"},
        {longLine, "the multipart answer has a line longer than 1024 bytes"},
        {cut, "the multipart answer ended inside a part"}}) {
      IOException e = assertThrows(RangeSetStream.MalformedAnswer.class, () -> {
        try (MultipartByteRanges parts = parts(c[0].getBytes(StandardCharsets.ISO_8859_1), new AtomicBoolean())) {
          while (parts.next() != null) {
            body(parts);
          }
        }
      }, c[1]);
      assertTrue(e.getMessage().startsWith(c[1]), e.getMessage() + " should start with " + c[1]);
    }
  }

  @Test
  void anEarlyEndIsTheAnswersFaultOnlyWhenTheAnswerSaidWhereItEnds() {
    String text = new String(answer("\r\n", "", RANGES), StandardCharsets.ISO_8859_1);
    for (String cut : List.of(text.substring(0, text.indexOf("Content-Range: bytes 100-") + 100), text.substring(0, text.indexOf("Content-Range: bytes 100-") + 5))) {
      for (boolean delimited : List.of(true, false)) {
        IOException e = assertThrows(IOException.class, () -> {
          try (MultipartByteRanges parts = new MultipartByteRanges(new ByteArrayInputStream(cut.getBytes(StandardCharsets.ISO_8859_1)), BOUNDARY,
              BLOB.length, () -> {}, delimited)) {
            while (parts.next() != null) {
              body(parts);
            }
          }
        });
        // With a Content-Length (or chunked), Apache's client reports a broken connection as an error of
        // its own; an end it reports as an end is the answer's. Without, a broken connection looks like an end.
        assertEquals(delimited, e instanceof RangeSetStream.MalformedAnswer, delimited + ": " + e);
        assertTrue(e.getMessage().startsWith("the multipart answer ended"), e.getMessage());
      }
    }
  }

  @Test
  void anAnswerOfEndlessPartsIsNotReadForever() {
    // Valid parts of one byte, for ever: the reader takes one, sees it is no use, and reads the
    // ranges one by one instead.
    byte[] part = ("--" + BOUNDARY + "\r\nContent-Range: bytes 0-0/" + BLOB.length + "\r\n\r\n\0\r\n").getBytes(StandardCharsets.ISO_8859_1);
    java.io.InputStream endless = new java.io.InputStream() {
      private long at;

      @Override
      public int read() {
        return part[(int) (at++ % part.length)] & 0xff;
      }
    };
    List<BlobRange> wanted = List.of(new BlobRange(500, 10), new BlobRange(800, 10));
    RangeSetStream in = new RangeSetStream(wanted,
        new MultipartByteRanges(endless, BOUNDARY, BLOB.length, () -> {}, true),
        (offset, length) -> new ByteArrayInputStream(BLOB, (int) offset, (int) length), how -> {});
    byte[] expected = new byte[20];
    System.arraycopy(BLOB, 500, expected, 0, 10);
    System.arraycopy(BLOB, 800, expected, 10, 10);
    assertArrayEquals(expected, org.junit.jupiter.api.Assertions.assertTimeoutPreemptively(java.time.Duration.ofSeconds(10), in::readAllBytes));
  }

  @Test
  void theBoundaryAndContentRangeAreReadFromTheirHeaders() {
    assertEquals(Optional.of(BOUNDARY), MultipartByteRanges.boundaryOf("multipart/byteranges; boundary=" + BOUNDARY));
    assertEquals(Optional.of("a b;c"), MultipartByteRanges.boundaryOf("Multipart/ByteRanges; charset=x; boundary=\"a b;c\""));
    assertEquals(Optional.empty(), MultipartByteRanges.boundaryOf("application/octet-stream"));
    assertEquals(Optional.empty(), MultipartByteRanges.boundaryOf("multipart/mixed; boundary=x"));
    assertEquals(Optional.empty(), MultipartByteRanges.boundaryOf(null));
    assertEquals(Optional.of(new BlobRange(5, 10)), MultipartByteRanges.contentRange("bytes 5-14/100", 100));
    assertEquals(Optional.of(new BlobRange(5, 10)), MultipartByteRanges.contentRange("bytes 5-14/*", 100));
    assertEquals(Optional.empty(), MultipartByteRanges.contentRange("bytes 5-100/100", 100));
    assertEquals(Optional.empty(), MultipartByteRanges.contentRange("bytes 14-5/100", 100));
    assertEquals(Optional.empty(), MultipartByteRanges.contentRange("bytes */100", 100));
    assertEquals(Optional.empty(), MultipartByteRanges.contentRange("bytes 99999999999999999999-1/100", 100));
  }
}
