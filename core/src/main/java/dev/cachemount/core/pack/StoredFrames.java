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
 * Frames of one stored pack, read front to back through one request ({@link BlobSource#openRanges}):
 * neighbouring frames (gaps of at most {@link #MERGE_GAP}) as one range, the gap read and dropped.
 * Each frame is decoded when its turn comes, into a buffer reused for the next. Not thread-safe.
 */
public final class StoredFrames implements Closeable {
  /** Frames whose gap is at most this are fetched as one range. */
  public static final long MERGE_GAP = 32 << 10;

  private final Digest pack;
  private final List<BlobRange> ranges;
  /** Where each range starts in the stream of all of them. */
  private final long[] rangeStarts;
  private final InputStream in;
  private final FrameDecoder decoder;
  private long consumed;
  private long lastOffset = -1;
  private long bytesRead;
  private byte[] stored = new byte[0];
  private byte[] raw = new byte[0];

  /**
   * Opens the frames {@code frames} of the pack {@code pack} ({@code size} bytes), which are then read
   * with {@link #next} in ascending order of offset, each at most once; any of them may be passed over.
   */
  public StoredFrames(BlobSource blobs, Digest pack, long size, List<SnapshotIndex.Frame> frames, FrameDecoder decoder) throws IOException {
    this.pack = pack;
    this.decoder = decoder;
    this.ranges = ranges(frames);
    this.rangeStarts = new long[ranges.size()];
    long start = 0;
    for (int i = 0; i < ranges.size(); i++) {
      rangeStarts[i] = start;
      start += ranges.get(i).length();
    }
    this.in = blobs.openRanges(pack, size, ranges);
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
    long at = rangeStarts[r] + frame.offset() - ranges.get(r).offset();
    in.skipNBytes(at - consumed);
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

  /** The stored bytes of the frames read so far. */
  public long bytesRead() {
    return bytesRead;
  }

  @Override
  public void close() throws IOException {
    in.close();
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
