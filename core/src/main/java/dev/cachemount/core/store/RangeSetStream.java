package dev.cachemount.core.store;

import java.io.Closeable;
import java.io.IOException;
import java.io.InputStream;
import java.util.List;
import java.util.function.Consumer;

/**
 * The bytes of several ranges of one blob, one range after the other, as {@link BlobSource#openRanges}
 * promises them. They come from the parts a source got back for all of them at once ({@link Parts}:
 * a multipart answer, or one run of the blob that covers several ranges, even the whole blob), and the
 * bytes between ranges are skipped. When the parts cannot serve a range, that range and the rest are
 * read one by one through {@code single}. If the parts misbehaved (they ended early, skipped a range,
 * or broke their format: {@link MalformedAnswer}), {@code onFallback} hears once what they did; if the
 * connection broke or stalled, it does not, as the source served what it was asked for as far as it
 * got.
 *
 * <p>Never yields a byte outside the ranges asked for, whatever the parts hold.
 */
public final class RangeSetStream extends InputStream {
  /** The parts are not what the source said they would be: their format, their order or their length. */
  public static final class MalformedAnswer extends IOException {
    public MalformedAnswer(String message) {
      super(message);
    }
  }

  /** Runs of a blob, in the order a source received them. */
  public interface Parts extends Closeable {
    /**
     * Moves past what is left of the current part to the next one.
     *
     * @return the next part's run of the blob, or null when there is no other
     */
    BlobRange next() throws IOException;

    /** Reads from the current part; -1 at its end. */
    int read(byte[] b, int off, int len) throws IOException;
  }

  /** Opens one range on its own. */
  public interface RangeOpener {
    InputStream open(long offset, long length) throws IOException;
  }

  private final List<BlobRange> ranges;
  private final RangeOpener single;
  private final Consumer<String> onFallback;
  private Parts parts;
  private BlobRange part;
  private long partPosition;
  private int partsSeen;
  private int range;
  private long position;
  private InputStream alone;
  private byte[] scratch;

  /**
   * @param ranges ascending, not overlapping ({@link BlobRange#checkSet})
   * @param parts what the source received for all of them, or null to read them one by one
   */
  public RangeSetStream(List<BlobRange> ranges, Parts parts, RangeOpener single, Consumer<String> onFallback) {
    this.ranges = List.copyOf(ranges);
    this.parts = parts;
    this.single = single;
    this.onFallback = onFallback;
    this.position = this.ranges.get(0).offset();
  }

  /** Reads each of {@code ranges} on its own, in turn, each opened when the reader reaches it. */
  public static RangeSetStream oneByOne(List<BlobRange> ranges, RangeOpener single) {
    return new RangeSetStream(ranges, null, single, how -> {});
  }

  @Override
  public int read() throws IOException {
    byte[] one = new byte[1];
    int n = read(one, 0, 1);
    return n < 0 ? -1 : one[0] & 0xff;
  }

  @Override
  public int read(byte[] b, int off, int len) throws IOException {
    java.util.Objects.checkFromIndexSize(off, len, b.length);
    if (len == 0) {
      return 0;
    }
    while (range < ranges.size()) {
      BlobRange r = ranges.get(range);
      if (position >= r.end()) {
        closeAlone();
        range++;
        if (range < ranges.size()) {
          position = ranges.get(range).offset();
        }
        continue;
      }
      int want = (int) Math.min(len, r.end() - position);
      if (parts != null) {
        int n;
        String misbehaviour = "its answer for " + ranges.size() + " ranges lacked byte " + position + " of them";
        try {
          n = readFromParts(b, off, want);
        } catch (MalformedAnswer e) {
          n = -1;
          misbehaviour = e.getMessage();
        } catch (IOException e) {
          if (Thread.currentThread().isInterrupted()) {
            throw e;
          }
          n = -1; // a reset or a read timeout: the rest range by range, the source not blamed
          misbehaviour = null;
        }
        if (n > 0) {
          position += n;
          return n;
        }
        abandonParts(misbehaviour);
      }
      if (alone == null) {
        alone = single.open(position, r.end() - position);
      }
      int n = alone.read(b, off, want);
      if (n < 0) {
        throw new IOException("the store's blob ended at byte " + position + ", inside a range that ends at " + r.end()
            + " (was it replaced or cut short while this pull read it?); run the pull again");
      }
      position += n;
      return n;
    }
    return -1;
  }

  /**
   * Reads from the part that holds {@link #position}; -1 when the parts cannot serve it. Parts must
   * come in ascending order without overlapping, each holding a byte not yet read, and no more of
   * them than ranges: a server may join ranges but not split or repeat them. However an answer
   * misbehaves, it is read at most once, front to back.
   */
  private int readFromParts(byte[] b, int off, int want) throws IOException {
    if (part == null || part.end() <= position) {
      long previousEnd = part == null ? 0 : part.end();
      part = parts.next();
      partsSeen++;
      if (part == null || partsSeen > ranges.size() || part.offset() < previousEnd || part.end() <= position) {
        return -1;
      }
      partPosition = part.offset();
    }
    if (part.offset() > position || partPosition > position) {
      return -1;
    }
    while (partPosition < position) {
      if (scratch == null) {
        scratch = new byte[16 * 1024];
      }
      int n = parts.read(scratch, 0, (int) Math.min(scratch.length, position - partPosition));
      if (n < 0) {
        return -1;
      }
      partPosition += n;
    }
    int n = parts.read(b, off, (int) Math.min(want, part.end() - position));
    if (n > 0) {
      partPosition += n;
    }
    return n;
  }

  /** @param misbehaviour what the parts did wrong, or null when their connection failed */
  private void abandonParts(String misbehaviour) {
    Parts p = parts;
    parts = null;
    part = null;
    if (misbehaviour != null) {
      onFallback.accept(misbehaviour);
    }
    try {
      p.close();
    } catch (IOException e) {
      // What is left of that answer is not needed: the ranges are read one by one from here.
    }
  }

  private void closeAlone() throws IOException {
    if (alone != null) {
      InputStream a = alone;
      alone = null;
      a.close();
    }
  }

  @Override
  public void close() throws IOException {
    try {
      closeAlone();
    } finally {
      if (parts != null) {
        Parts p = parts;
        parts = null;
        p.close();
      }
    }
  }
}
