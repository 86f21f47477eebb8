package dev.cachemount.core.registry;

import dev.cachemount.core.store.BlobRange;
import dev.cachemount.core.store.RangeSetStream.MalformedAnswer;
import java.io.Closeable;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.Locale;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The parts of a {@code multipart/byteranges} answer (RFC 9110, section 14.6): each a
 * {@code Content-Range} header and that many bytes of the blob, between delimiter lines made of the
 * boundary the answer's {@code Content-Type} names. Lines and headers are bounded; a part whose range
 * lies outside the blob, or an answer that breaks the format, is an {@link IOException}, after which
 * {@link RangeSetStream} reads the rest range by range.
 */
final class MultipartByteRanges extends PartReader {
  private static final int MAX_LINE = 1024;
  private static final int MAX_HEADERS = 16;
  /** Lines before the first delimiter, or blank lines between a part and the next delimiter. */
  private static final int MAX_PADDING_LINES = 4;
  private static final Pattern BOUNDARY = Pattern.compile("(?i)^\\s*multipart/byteranges\\s*;(?:.*;)?\\s*boundary\\s*=\\s*(\"([^\"]{1,200})\"|([^\\s;\"]{1,200}))");
  private static final Pattern CONTENT_RANGE = Pattern.compile("(?i)^\\s*bytes\\s+(\\d{1,18})-(\\d{1,18})/(\\d{1,18}|\\*)\\s*$");

  private final String delimiter;
  private final long size;
  private boolean ended;

  /**
   * @param in the answer's body
   * @param boundary from {@link #boundaryOf}
   * @param size the blob's size: every part must lie within it
   * @param answer closes the answer
   * @param delimited whether the answer said where its body ends (see {@link PartReader})
   */
  MultipartByteRanges(InputStream in, String boundary, long size, Closeable answer, boolean delimited) {
    super(in, answer, delimited);
    this.delimiter = "--" + boundary;
    this.size = size;
  }

  @Override
  String endedEarly() {
    return "the multipart answer ended inside a part";
  }

  /** The boundary of a {@code multipart/byteranges} content type; empty for any other type. */
  static Optional<String> boundaryOf(String contentType) {
    if (contentType == null) {
      return Optional.empty();
    }
    Matcher m = BOUNDARY.matcher(contentType);
    if (!m.find()) {
      return Optional.empty();
    }
    return Optional.of(m.group(2) != null ? m.group(2) : m.group(3));
  }

  /**
   * The complete length a well-formed {@code Content-Range} gives for the blob ({@code bytes a-b/N}),
   * empty where it names none ({@code /*}) or is malformed.
   */
  static java.util.OptionalLong completeLength(String value) {
    Matcher m = value == null ? null : CONTENT_RANGE.matcher(value);
    if (m == null || !m.matches() || m.group(3).equals("*")) {
      return java.util.OptionalLong.empty();
    }
    return java.util.OptionalLong.of(Long.parseLong(m.group(3)));
  }

  /** The run of a blob of {@code size} bytes a {@code Content-Range} value names; empty when it names none. */
  static Optional<BlobRange> contentRange(String value, long size) {
    if (value == null) {
      return Optional.empty();
    }
    Matcher m = CONTENT_RANGE.matcher(value);
    if (!m.matches()) {
      return Optional.empty();
    }
    long first = Long.parseLong(m.group(1));
    long last = Long.parseLong(m.group(2));
    if (first > last || last >= size || (!m.group(3).equals("*") && Long.parseLong(m.group(3)) != size)) {
      return Optional.empty();
    }
    return Optional.of(new BlobRange(first, last - first + 1));
  }

  @Override
  public BlobRange next() throws IOException {
    if (ended) {
      return null;
    }
    if (left > 0) {
      try {
        in.skipNBytes(left);
      } catch (EOFException e) {
        throw earlyEnd("the multipart answer ended inside a part, " + left + " bytes short");
      }
    }
    boolean first = left < 0;
    left = 0;
    String line = readLine();
    for (int padding = 0; !line.startsWith(delimiter); padding++) {
      // Before the first delimiter: an optional preamble. After a part: the line break that ends its bytes.
      if (padding >= MAX_PADDING_LINES || (!first && !line.isEmpty())) {
        throw new MalformedAnswer("the multipart answer has '" + clip(line) + "' where a delimiter belongs");
      }
      line = readLine();
    }
    String rest = line.substring(delimiter.length()).stripTrailing();
    if (rest.equals("--")) {
      ended = true;
      return null;
    }
    if (!rest.isEmpty()) {
      throw new MalformedAnswer("the multipart answer has a line that starts with its delimiter but is not one: '" + clip(line) + "'");
    }
    BlobRange range = null;
    for (int headers = 0; ; headers++) {
      String header = readLine();
      if (header.isEmpty()) {
        break;
      }
      if (headers >= MAX_HEADERS) {
        throw new MalformedAnswer("a part of the multipart answer has more than " + MAX_HEADERS + " header lines");
      }
      int colon = header.indexOf(':');
      if (colon > 0 && header.substring(0, colon).trim().toLowerCase(Locale.ROOT).equals("content-range")) {
        String value = header.substring(colon + 1);
        range = contentRange(value, size)
            .orElseThrow(() -> new MalformedAnswer("a part of the multipart answer names a range outside the blob of " + size + " bytes: '" + clip(value) + "'"));
      }
    }
    if (range == null) {
      throw new MalformedAnswer("a part of the multipart answer has no Content-Range");
    }
    left = range.length();
    return range;
  }

  /** A line without its line break (CRLF, or LF alone), at most {@link #MAX_LINE} bytes. */
  private String readLine() throws IOException {
    byte[] line = new byte[MAX_LINE];
    int n = 0;
    while (true) {
      int c = in.read();
      if (c < 0) {
        throw earlyEnd("the multipart answer ended in the middle of its headers");
      }
      if (c == '\n') {
        break;
      }
      if (n == MAX_LINE) {
        throw new MalformedAnswer("the multipart answer has a line longer than " + MAX_LINE + " bytes");
      }
      line[n++] = (byte) c;
    }
    if (n > 0 && line[n - 1] == '\r') {
      n--;
    }
    return new String(line, 0, n, StandardCharsets.ISO_8859_1);
  }

  private static String clip(String s) {
    return s.length() <= 80 ? s : s.substring(0, 80) + "…";
  }
}
