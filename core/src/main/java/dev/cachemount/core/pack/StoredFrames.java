package dev.cachemount.core.pack;

import dev.cachemount.core.blob.Digest;
import dev.cachemount.core.index.SnapshotIndex;
import dev.cachemount.core.store.BlobRange;
import dev.cachemount.core.store.BlobSource;
import java.io.Closeable;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;

/**
 * Frames of one stored pack, read front to back through requests of several ranges each
 * ({@link BlobSource#openRanges}; at most {@link #MAX_RANGES_PER_REQUEST}, each opened when the
 * reader reaches it): neighbouring frames (gaps of at most {@link #MERGE_GAP}) as one range, the gap
 * read and dropped. Each frame is decoded when its turn comes, into a buffer reused for the next.
 * Not thread-safe.
 */
public final class StoredFrames implements Closeable {
  /** Frames whose gap is at most this are fetched as one range. */
  public static final long MERGE_GAP = 32 << 10;
  /**
   * The most ranges one request asks for, as a restore's reads do: a Range header of about a
   * kilobyte, which a registry, or a proxy before it (nginx: 8 KiB per header line), accepts.
   */
  public static final int MAX_RANGES_PER_REQUEST = 48;

  private final BlobSource blobs;
  private final Digest pack;
  private final long size;
  private final List<BlobRange> ranges;
  /** Where each range starts in the stream of its request. */
  private final long[] rangeStarts;
  private final FrameDecoder decoder;
  /** The request open, by number (range / {@link #MAX_RANGES_PER_REQUEST}); -1: none yet. */
  private int request = -1;
  private InputStream in;
  private long consumed;
  private long lastOffset = -1;
  private long bytesRead;
  private byte[] stored = new byte[0];
  private byte[] raw = new byte[0];

  /**
   * Opens the frames {@code frames} of the pack {@code pack} ({@code size} bytes), which are then read
   * with {@link #next} in ascending order of offset, each at most once; any of them may be passed over.
   */
  public StoredFrames(BlobSource blobs, Digest pack, long size, List<SnapshotIndex.Frame> frames, FrameDecoder decoder) {
    this.blobs = blobs;
    this.pack = pack;
    this.size = size;
    this.decoder = decoder;
    this.ranges = ranges(frames);
    this.rangeStarts = new long[ranges.size()];
    long start = 0;
    for (int i = 0; i < ranges.size(); i++) {
      if (i % MAX_RANGES_PER_REQUEST == 0) {
        start = 0;
      }
      rangeStarts[i] = start;
      start += ranges.get(i).length();
    }
  }

  /**
   * Reads and decodes {@code frame}, one of the frames given, after the last one read.
   *
   * @return a buffer whose first {@code frame.rawLength()} bytes are the frame's content, valid until the next call
   * @throws dev.cachemount.core.CachemountException of kind INTEGRITY when the frame does not decode
   *     to its length: the frames after it can still be read
   * @throws IOException when the store fails, or its answer ends early
   */
  public byte[] next(SnapshotIndex.Frame frame) throws IOException {
    if (frame.offset() <= lastOffset) {
      throw new IllegalArgumentException("frames are read in ascending order: " + frame.offset() + " after " + lastOffset);
    }
    int r = 0;
    while (r < ranges.size() && ranges.get(r).end() <= frame.offset()) {
      r++;
    }
    if (r == ranges.size() || frame.offset() < ranges.get(r).offset() || frame.offset() + frame.storedLength() > ranges.get(r).end()) {
      throw new IllegalArgumentException("the frame at " + frame.offset() + " is not among those opened");
    }
    lastOffset = frame.offset();
    if (r / MAX_RANGES_PER_REQUEST != request) {
      if (in != null) {
        in.close();
        in = null;
      }
      request = r / MAX_RANGES_PER_REQUEST;
      consumed = 0;
      int from = request * MAX_RANGES_PER_REQUEST;
      in = blobs.openRanges(pack, size, ranges.subList(from, Math.min(ranges.size(), from + MAX_RANGES_PER_REQUEST)));
    }
    long at = rangeStarts[r] + frame.offset() - ranges.get(r).offset();
    in.skipNBytes(at - consumed);
    bytesRead += at - consumed; // a gap within a range: fetched all the same
    if (stored.length < frame.storedLength()) {
      stored = new byte[frame.storedLength()];
    }
    int n = in.readNBytes(stored, 0, frame.storedLength());
    consumed = at + n;
    bytesRead += n;
    if (n < frame.storedLength()) {
      throw new EOFException("the store's answer for pack " + pack + " ended before the frame at " + frame.offset() + " did");
    }
    if (raw.length < frame.rawLength()) {
      raw = new byte[frame.rawLength()];
    }
    decoder.decode(frame.encoding(), stored, 0, frame.storedLength(), raw, frame.rawLength(), () -> "the frame at " + frame.offset() + " of pack " + pack);
    return raw;
  }

  /** The bytes fetched so far: the frames read, and the gaps between them within a range. */
  public long bytesRead() {
    return bytesRead;
  }

  @Override
  public void close() throws IOException {
    if (in != null) {
      in.close();
    }
  }

  /** The frames' bytes as ascending ranges, neighbours (gaps up to {@link #MERGE_GAP}) as one. */
  static List<BlobRange> ranges(List<SnapshotIndex.Frame> frames) {
    if (frames.isEmpty()) {
      throw new IllegalArgumentException("no frame to read");
    }
    List<SnapshotIndex.Frame> sorted = new ArrayList<>(frames);
    sorted.sort(Comparator.comparingLong(SnapshotIndex.Frame::offset));
    List<BlobRange> ranges = new ArrayList<>();
    long start = -1;
    long end = -1;
    for (SnapshotIndex.Frame f : sorted) {
      if (start >= 0 && f.offset() - end <= MERGE_GAP) {
        end = Math.max(end, f.offset() + f.storedLength());
        continue;
      }
      if (start >= 0) {
        ranges.add(new BlobRange(start, end - start));
      }
      start = f.offset();
      end = f.offset() + f.storedLength();
    }
    ranges.add(new BlobRange(start, end - start));
    return ranges;
  }
}
