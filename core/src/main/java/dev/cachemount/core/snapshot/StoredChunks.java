package dev.cachemount.core.snapshot;

import dev.cachemount.core.CachemountException;
import dev.cachemount.core.blob.Digest;
import dev.cachemount.core.index.SnapshotIndex;
import dev.cachemount.core.pack.FrameDecoder;
import dev.cachemount.core.store.BlobRange;
import dev.cachemount.core.store.BlobSource;
import java.io.IOException;
import java.io.InputStream;
import java.io.InterruptedIOException;
import java.nio.channels.ClosedByInterruptException;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * Reads chunks of the parent's packs back from the store, for compaction of chunks that are not on
 * disk to read again (files a {@code mode=merge} push took from the stored snapshot, files changed
 * or gone since the workers took them from the parent unread). Each pack is read once, front to
 * back, in one request for the frames needed (neighbouring frames as one range); each frame is
 * decoded once and each chunk checked against its SHA-256 before it is handed on. Memory: one frame,
 * stored and decoded.
 *
 * <p>A chunk that cannot be read so (the pack is missing or damaged, the store fails) is returned
 * with why, for the caller to keep in its pack: compaction is never a reason to fail a push.
 */
final class StoredChunks {
  /** Receives each verified chunk: {@code data[offset, offset + length)}, valid until it returns. */
  interface Sink {
    void accept(Map.Entry<Digest, ChunkReuse.Found> chunk, byte[] data, int offset) throws IOException;
  }

  /** Chunks not read, by the pack that holds them, and why. */
  record Unread(Digest pack, List<Map.Entry<Digest, ChunkReuse.Found>> chunks, String why) {}

  /** What a read did: bytes fetched from the store, packs read, chunks it could not read. */
  record Result(long bytesRead, int packs, List<Unread> unread) {}

  /** Frames whose gap is at most this are fetched as one range, the gap read and dropped. */
  static final long MERGE_GAP = 32 << 10;

  private final BlobSource blobs;
  private final SnapshotIndex index;

  StoredChunks(BlobSource blobs, SnapshotIndex index) {
    this.blobs = blobs;
    this.index = index;
  }

  /**
   * Hands {@code chunks} (the parent's, by number in its index) to {@code sink} in the order of the
   * parent's packs, frames and chunks: the order in which the parent had packed them, the tree's.
   */
  Result read(List<Map.Entry<Digest, ChunkReuse.Found>> chunks, Sink sink) throws IOException {
    // pack -> frame offset -> the frame's chunks
    TreeMap<Integer, TreeMap<Long, List<Map.Entry<Digest, ChunkReuse.Found>>>> byPack = new TreeMap<>();
    for (Map.Entry<Digest, ChunkReuse.Found> c : chunks) {
      SnapshotIndex.Frame frame = index.frames().get(index.chunkFrame(c.getValue().chunk()));
      byPack.computeIfAbsent(frame.pack(), p -> new TreeMap<>()).computeIfAbsent(frame.offset(), o -> new ArrayList<>()).add(c);
    }
    for (TreeMap<Long, List<Map.Entry<Digest, ChunkReuse.Found>>> frames : byPack.values()) {
      for (List<Map.Entry<Digest, ChunkReuse.Found>> inFrame : frames.values()) {
        inFrame.sort(Comparator.comparingInt(c -> index.chunkOffset(c.getValue().chunk())));
      }
    }
    long bytesRead = 0;
    List<Unread> unread = new ArrayList<>();
    MessageDigest md = Digest.newMessageDigest();
    byte[] stored = new byte[0];
    byte[] raw = new byte[0];
    try (FrameDecoder decoder = new FrameDecoder()) {
      for (Map.Entry<Integer, TreeMap<Long, List<Map.Entry<Digest, ChunkReuse.Found>>>> pack : byPack.entrySet()) {
        SnapshotIndex.PackRef ref = index.packs().get(pack.getKey());
        List<SnapshotIndex.Frame> frames = new ArrayList<>();
        for (List<Map.Entry<Digest, ChunkReuse.Found>> inFrame : pack.getValue().values()) {
          frames.add(index.frames().get(index.chunkFrame(inFrame.get(0).getValue().chunk())));
        }
        List<BlobRange> ranges = ranges(frames);
        List<Map.Entry<Digest, ChunkReuse.Found>> left = new ArrayList<>();
        pack.getValue().values().forEach(left::addAll);
        int done = 0; // chunks of this pack handed on or given up
        String why = null;
        List<Map.Entry<Digest, ChunkReuse.Found>> damaged = new ArrayList<>();
        try (InputStream in = blobs.openRanges(ref.digest(), ref.size(), ranges)) {
          long position = ranges.get(0).offset();
          int range = 0;
          for (List<Map.Entry<Digest, ChunkReuse.Found>> inFrame : pack.getValue().values()) {
            SnapshotIndex.Frame frame = index.frames().get(index.chunkFrame(inFrame.get(0).getValue().chunk()));
            while (ranges.get(range).end() <= frame.offset()) {
              range++;
              position = ranges.get(range).offset();
            }
            in.skipNBytes(frame.offset() - position);
            if (stored.length < frame.storedLength()) {
              stored = new byte[frame.storedLength()];
            }
            if (in.readNBytes(stored, 0, frame.storedLength()) < frame.storedLength()) {
              throw new java.io.EOFException("the store's answer ended before the frame at " + frame.offset() + " did");
            }
            position = frame.offset() + frame.storedLength();
            bytesRead += frame.storedLength();
            if (raw.length < frame.rawLength()) {
              raw = new byte[frame.rawLength()];
            }
            try {
              decoder.decode(frame.encoding(), stored, 0, frame.storedLength(), raw, frame.rawLength(),
                  () -> "frame at " + frame.offset() + " of pack " + ref.digest());
            } catch (CachemountException e) {
              damaged.addAll(inFrame);
              done += inFrame.size();
              why = e.getMessage();
              continue;
            }
            for (Map.Entry<Digest, ChunkReuse.Found> c : inFrame) {
              int chunk = c.getValue().chunk();
              int offset = index.chunkOffset(chunk);
              int length = index.chunkLength(chunk);
              if (offset + (long) length > frame.rawLength()) {
                damaged.add(c);
                why = "chunk " + c.getKey() + " lies beyond its frame's " + frame.rawLength() + " bytes";
              } else {
                md.update(raw, offset, length);
                if (Digest.finish(md).equals(c.getKey())) {
                  try {
                    sink.accept(c, raw, offset);
                  } catch (IOException e) {
                    throw new SinkFailed(e); // the new pack's failure, not the stored one's
                  }
                } else {
                  damaged.add(c);
                  why = "the bytes of chunk " + c.getKey() + " do not match its digest";
                }
              }
              done++;
            }
          }
        } catch (SinkFailed e) {
          throw e.getCause();
        } catch (InterruptedIOException | ClosedByInterruptException e) {
          throw e;
        } catch (IOException | CachemountException e) {
          if (Thread.currentThread().isInterrupted()) {
            throw e;
          }
          unread.add(new Unread(ref.digest(), left.subList(done, left.size()), String.valueOf(e.getMessage())));
        }
        if (!damaged.isEmpty()) {
          unread.add(new Unread(ref.digest(), damaged, "it is damaged: " + why));
        }
      }
    }
    return new Result(bytesRead, byPack.size(), unread);
  }

  /** A failure of the sink, carried past the handling of the store's failures. */
  private static final class SinkFailed extends RuntimeException {
    SinkFailed(IOException cause) {
      super(cause);
    }

    @Override
    public synchronized IOException getCause() {
      return (IOException) super.getCause();
    }
  }

  /** The frames' bytes as ascending ranges, neighbours (gaps up to {@link #MERGE_GAP}) as one. */
  static List<BlobRange> ranges(List<SnapshotIndex.Frame> frames) {
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
