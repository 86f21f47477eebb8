package dev.cachemount.core.snapshot;

import dev.cachemount.core.CachemountException;
import dev.cachemount.core.blob.Digest;
import dev.cachemount.core.index.SnapshotIndex;
import dev.cachemount.core.pack.FrameDecoder;
import dev.cachemount.core.pack.StoredFrames;
import dev.cachemount.core.store.BlobSource;
import java.io.IOException;
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

  private final BlobSource blobs;
  private final SnapshotIndex index;

  StoredChunks(BlobSource blobs, SnapshotIndex index) {
    this.blobs = blobs;
    this.index = index;
  }

  /**
   * Hands {@code chunks} (the parent's, by number in its index) to {@code sink} pack by pack, each
   * pack's in the order of its frames and chunks (the order in which they were packed, the tree's of
   * then); the packs in the order of the first file of this tree that each holds a chunk of, so that
   * the chunks come close to this tree's order where each file lies in one pack.
   */
  Result read(List<Map.Entry<Digest, ChunkReuse.Found>> chunks, Sink sink) throws IOException {
    // pack -> frame offset -> the frame's chunks
    TreeMap<Integer, TreeMap<Long, List<Map.Entry<Digest, ChunkReuse.Found>>>> byPack = new TreeMap<>();
    for (Map.Entry<Digest, ChunkReuse.Found> c : chunks) {
      SnapshotIndex.Frame frame = index.frames().get(index.chunkFrame(c.getValue().chunk()));
      byPack.computeIfAbsent(frame.pack(), p -> new TreeMap<>()).computeIfAbsent(frame.offset(), o -> new ArrayList<>()).add(c);
    }
    Map<Integer, Integer> firstFile = new java.util.HashMap<>();
    for (Map.Entry<Integer, TreeMap<Long, List<Map.Entry<Digest, ChunkReuse.Found>>>> pack : byPack.entrySet()) {
      int first = Integer.MAX_VALUE;
      for (List<Map.Entry<Digest, ChunkReuse.Found>> inFrame : pack.getValue().values()) {
        inFrame.sort(Comparator.comparingInt(c -> index.chunkOffset(c.getValue().chunk())));
        for (Map.Entry<Digest, ChunkReuse.Found> c : inFrame) {
          first = Math.min(first, c.getValue().fileNumber());
        }
      }
      firstFile.put(pack.getKey(), first);
    }
    List<Map.Entry<Integer, TreeMap<Long, List<Map.Entry<Digest, ChunkReuse.Found>>>>> packs = new ArrayList<>(byPack.entrySet());
    packs.sort(Comparator.comparingInt((Map.Entry<Integer, TreeMap<Long, List<Map.Entry<Digest, ChunkReuse.Found>>>> p) -> firstFile.get(p.getKey()))
        .thenComparingInt(Map.Entry::getKey));
    long bytesRead = 0;
    List<Unread> unread = new ArrayList<>();
    MessageDigest md = Digest.newMessageDigest();
    try (FrameDecoder decoder = new FrameDecoder()) {
      for (Map.Entry<Integer, TreeMap<Long, List<Map.Entry<Digest, ChunkReuse.Found>>>> pack : packs) {
        SnapshotIndex.PackRef ref = index.packs().get(pack.getKey());
        List<SnapshotIndex.Frame> frames = new ArrayList<>();
        List<Map.Entry<Digest, ChunkReuse.Found>> all = new ArrayList<>();
        for (List<Map.Entry<Digest, ChunkReuse.Found>> inFrame : pack.getValue().values()) {
          frames.add(frameOf(inFrame.get(0)));
          all.addAll(inFrame);
        }
        int done = 0; // chunks of this pack handed on or found damaged
        String why = null;
        List<Map.Entry<Digest, ChunkReuse.Found>> damaged = new ArrayList<>();
        StoredFrames read = null;
        try {
          read = new StoredFrames(blobs, ref.digest(), ref.size(), frames, decoder);
          for (List<Map.Entry<Digest, ChunkReuse.Found>> inFrame : pack.getValue().values()) {
            SnapshotIndex.Frame frame = frameOf(inFrame.get(0));
            byte[] raw;
            try {
              raw = read.next(frame);
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
          unread.add(new Unread(ref.digest(), all.subList(done, all.size()), String.valueOf(e.getMessage())));
        } finally {
          if (read != null) {
            bytesRead += read.bytesRead();
            read.close();
          }
        }
        if (!damaged.isEmpty()) {
          unread.add(new Unread(ref.digest(), damaged, "it is damaged: " + why));
        }
      }
    }
    return new Result(bytesRead, byPack.size(), unread);
  }

  private SnapshotIndex.Frame frameOf(Map.Entry<Digest, ChunkReuse.Found> chunk) {
    return index.frames().get(index.chunkFrame(chunk.getValue().chunk()));
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
}
