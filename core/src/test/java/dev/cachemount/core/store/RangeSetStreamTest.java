package dev.cachemount.core.store;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;
import java.util.Random;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/** Several ranges of a blob as one stream, from whatever parts a source got back, and range by range where they fall short. */
class RangeSetStreamTest {
  private static final byte[] BLOB = new byte[100_000];

  static {
    new Random(5).nextBytes(BLOB);
  }

  private static final List<BlobRange> RANGES = List.of(new BlobRange(100, 900), new BlobRange(5_000, 1), new BlobRange(5_001, 4_000),
      new BlobRange(40_000, 20_000), new BlobRange(99_000, 1_000));

  private static byte[] expected(List<BlobRange> ranges) {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    for (BlobRange r : ranges) {
      out.write(BLOB, (int) r.offset(), (int) r.length());
    }
    return out.toByteArray();
  }

  /** Parts that serve the given runs of {@link #BLOB}, failing with an IOException after {@code failAfter} bytes in all. */
  private static final class FakeParts implements RangeSetStream.Parts {
    private final Deque<BlobRange> runs;
    private final long failAfter;
    private long served;
    private BlobRange current;
    private long at;
    boolean closed;

    private final IOException failure;

    FakeParts(List<BlobRange> runs, long failAfter) {
      this(runs, failAfter, new IOException("connection reset"));
    }

    FakeParts(List<BlobRange> runs, long failAfter, IOException failure) {
      this.runs = new ArrayDeque<>(runs);
      this.failAfter = failAfter;
      this.failure = failure;
    }

    @Override
    public BlobRange next() {
      current = runs.poll();
      at = current == null ? 0 : current.offset();
      return current;
    }

    @Override
    public int read(byte[] b, int off, int len) throws IOException {
      if (current == null || at >= current.end()) {
        return -1;
      }
      if (served >= failAfter) {
        throw failure;
      }
      int n = (int) Math.min(Math.min(len, current.end() - at), Math.min(777, failAfter - served));
      System.arraycopy(BLOB, (int) at, b, off, n);
      at += n;
      served += n;
      return n;
    }

    @Override
    public void close() {
      closed = true;
    }
  }

  /** Opens single ranges of {@link #BLOB}, recording each. */
  private static final class Singles implements RangeSetStream.RangeOpener {
    final List<BlobRange> opened = new ArrayList<>();

    @Override
    public InputStream open(long offset, long length) {
      opened.add(new BlobRange(offset, length));
      return new ByteArrayInputStream(BLOB, (int) offset, (int) length);
    }
  }

  private static byte[] readInSmallPieces(InputStream in) throws IOException {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    byte[] b = new byte[313];
    int n;
    while ((n = in.read(b, 0, b.length)) >= 0) {
      out.write(b, 0, n);
    }
    return out.toByteArray();
  }

  @Test
  void partsThatAreTheRangesServeThemAll() throws IOException {
    FakeParts parts = new FakeParts(RANGES, Long.MAX_VALUE);
    Singles singles = new Singles();
    AtomicInteger fallbacks = new AtomicInteger();
    try (RangeSetStream in = new RangeSetStream(RANGES, parts, singles, how -> fallbacks.incrementAndGet())) {
      assertArrayEquals(expected(RANGES), readInSmallPieces(in));
    }
    assertEquals(List.of(), singles.opened);
    assertEquals(0, fallbacks.get());
    assertEquals(true, parts.closed);
  }

  @Test
  void aPartThatJoinsRangesOrIsTheWholeBlobHasItsGapsSkipped() throws IOException {
    for (List<BlobRange> runs : List.of(List.of(new BlobRange(0, BLOB.length)),
        List.of(new BlobRange(100, 8_901), new BlobRange(30_000, 30_000), new BlobRange(98_000, 2_000)))) {
      Singles singles = new Singles();
      try (RangeSetStream in = new RangeSetStream(RANGES, new FakeParts(runs, Long.MAX_VALUE), singles, how -> {})) {
        assertArrayEquals(expected(RANGES), in.readAllBytes(), runs.toString());
      }
      assertEquals(List.of(), singles.opened, runs.toString());
    }
  }

  @Test
  void whatThePartsLackIsReadRangeByRange() throws IOException {
    // Only the first range came back (a server that serves one range per request).
    FakeParts parts = new FakeParts(List.of(RANGES.get(0)), Long.MAX_VALUE);
    Singles singles = new Singles();
    List<String> reported = new ArrayList<>();
    try (RangeSetStream in = new RangeSetStream(RANGES, parts, singles, reported::add)) {
      assertArrayEquals(expected(RANGES), readInSmallPieces(in));
    }
    assertEquals(RANGES.subList(1, RANGES.size()), singles.opened);
    assertEquals(List.of("its answer for 5 ranges lacked byte " + RANGES.get(1).offset() + " of them"), reported);
    assertEquals(true, parts.closed);
  }

  @Test
  void aPartThatStartsPastTheNeededByteIsNotUsed() throws IOException {
    // The second range is missing from the answer: the part that follows must not stand in for it.
    FakeParts parts = new FakeParts(List.of(RANGES.get(0), RANGES.get(3), RANGES.get(4)), Long.MAX_VALUE);
    Singles singles = new Singles();
    try (RangeSetStream in = new RangeSetStream(RANGES, parts, singles, how -> {})) {
      assertArrayEquals(expected(RANGES), in.readAllBytes());
    }
    assertEquals(RANGES.subList(1, RANGES.size()), singles.opened);
  }

  @Test
  void anAnswerThatBreaksMidPartIsResumedAtTheExactByte() throws IOException {
    // 900 bytes of the first range, then 1_234 of the joined second and third: the break is inside the third.
    // A broken connection is not the source's fault; a broken format is, and is reported.
    for (IOException failure : List.of(new IOException("connection reset"), new RangeSetStream.MalformedAnswer("no delimiter"))) {
      FakeParts parts = new FakeParts(RANGES, 900 + 1 + 1_233, failure);
      Singles singles = new Singles();
      List<String> reported = new ArrayList<>();
      try (RangeSetStream in = new RangeSetStream(RANGES, parts, singles, reported::add)) {
        assertArrayEquals(expected(RANGES), readInSmallPieces(in));
      }
      assertEquals(List.of(new BlobRange(5_001 + 1_233, 4_000 - 1_233), RANGES.get(3), RANGES.get(4)), singles.opened);
      assertEquals(failure instanceof RangeSetStream.MalformedAnswer ? List.of("no delimiter") : List.of(), reported, failure.toString());
    }
  }

  /** Parts whose first read fails with {@code failure}. */
  private static RangeSetStream.Parts failingWith(IOException failure) {
    return new RangeSetStream.Parts() {
      private boolean given;

      @Override
      public BlobRange next() {
        if (given) {
          return null;
        }
        given = true;
        return new BlobRange(0, BLOB.length);
      }

      @Override
      public int read(byte[] b, int off, int len) throws IOException {
        throw failure;
      }

      @Override
      public void close() {}
    };
  }

  @Test
  void aResetOrAReadTimeoutFallsBackToSingleRanges() throws IOException {
    // A read timeout is an InterruptedIOException too, but no interrupt: the answer stalled.
    for (IOException failure : List.of(new IOException("Connection reset"), new java.net.SocketTimeoutException("Read timed out"))) {
      Singles singles = new Singles();
      AtomicInteger fallbacks = new AtomicInteger();
      try (RangeSetStream in = new RangeSetStream(RANGES, failingWith(failure), singles, how -> fallbacks.incrementAndGet())) {
        assertArrayEquals(expected(RANGES), in.readAllBytes(), failure.toString());
      }
      assertEquals(RANGES, singles.opened, failure.toString());
      assertEquals(0, fallbacks.get(), "a broken connection says nothing of what the source serves: " + failure);
    }
  }

  @Test
  void partsThatRepeatGoBackOrOutnumberTheRangesAreNotFollowed() throws IOException {
    List<List<BlobRange>> answers = List.of(
        // the first range again, and again: an answer that never ends must not be read forever
        List.of(RANGES.get(0), RANGES.get(0), RANGES.get(0), RANGES.get(0), RANGES.get(0), RANGES.get(0), RANGES.get(0)),
        // a part that goes back over the one before it
        List.of(new BlobRange(100, 5_000), new BlobRange(4_000, 60_000)),
        // a part that ends before the byte needed next
        List.of(RANGES.get(0), new BlobRange(1_000, 10)),
        // more parts than ranges, however they are cut
        List.of(new BlobRange(100, 450), new BlobRange(550, 450), new BlobRange(5_000, 4_001), new BlobRange(40_000, 10_000),
            new BlobRange(50_000, 10_000), new BlobRange(99_000, 1_000)));
    for (List<BlobRange> answer : answers) {
      Singles singles = new Singles();
      AtomicInteger fallbacks = new AtomicInteger();
      try (RangeSetStream in = new RangeSetStream(RANGES, new FakeParts(answer, Long.MAX_VALUE), singles, how -> fallbacks.incrementAndGet())) {
        assertArrayEquals(expected(RANGES), in.readAllBytes(), answer.toString());
      }
      assertEquals(1, fallbacks.get(), answer.toString());
      assertTrue(!singles.opened.isEmpty(), answer.toString());
    }
  }

  @Test
  void oneByOneOpensEachRangeWhenTheReaderGetsThere() throws IOException {
    Singles singles = new Singles();
    try (RangeSetStream in = RangeSetStream.oneByOne(RANGES, singles)) {
      assertEquals(List.of(), singles.opened);
      in.readNBytes(900);
      assertEquals(List.of(RANGES.get(0)), singles.opened);
      assertArrayEquals(expected(RANGES.subList(1, RANGES.size())), in.readAllBytes());
    }
    assertEquals(RANGES, singles.opened);
  }

  @Test
  void aSingleRangeThatEndsEarlyIsAnError() {
    RangeSetStream.RangeOpener shortOnes = (offset, length) -> new ByteArrayInputStream(BLOB, (int) offset, (int) length - 1);
    IOException e = assertThrows(IOException.class, () -> {
      try (RangeSetStream in = RangeSetStream.oneByOne(RANGES, shortOnes)) {
        in.readAllBytes();
      }
    });
    assertEquals("the store's blob ended at byte 999, inside a range that ends at 1000 (was it replaced or cut short while this pull"
        + " read it?); run the pull again", e.getMessage());
  }

  @Test
  void aSetOfRangesIsCheckedAndWrittenAsOneRangeHeader() {
    assertEquals("bytes=100-999,5000-5000,5001-9000,40000-59999,99000-99999", BlobRange.httpHeader(RANGES));
    BlobRange.checkSet(RANGES, BLOB.length);
    assertThrows(IllegalArgumentException.class, () -> BlobRange.checkSet(RANGES, 99_999));
    assertThrows(IllegalArgumentException.class, () -> BlobRange.checkSet(List.of(new BlobRange(10, 10), new BlobRange(19, 5)), 100));
    assertThrows(IllegalArgumentException.class, () -> BlobRange.checkSet(List.of(), 100));
    assertThrows(IllegalArgumentException.class, () -> new BlobRange(5, 0));
    assertThrows(IllegalArgumentException.class, () -> new BlobRange(-1, 3));
  }
}
