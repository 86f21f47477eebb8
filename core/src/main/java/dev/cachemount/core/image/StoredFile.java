package dev.cachemount.core.image;

import dev.cachemount.core.CachemountException;
import dev.cachemount.core.blob.Digest;
import dev.cachemount.core.index.Entry;
import dev.cachemount.core.index.SnapshotIndex;
import dev.cachemount.core.pack.FrameDecoder;
import dev.cachemount.core.pack.StoredFrames;
import dev.cachemount.core.store.BlobSource;
import java.io.IOException;
import java.io.OutputStream;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.List;

/**
 * Reads a file of a stored snapshot from its packs, for the image view of a file the directory no
 * longer holds as the snapshot does (a build wrote it after the push read it). The file's chunks are
 * read in order, in runs that go forward through one pack, each run one request of its frames
 * ({@link StoredFrames}); each frame is decoded once and each chunk checked against its SHA-256.
 * Memory: one frame, stored and decoded. Not thread-safe: one per layer writer.
 */
final class StoredFile implements AutoCloseable {
  private final BlobSource blobs;
  private final SnapshotIndex index;
  private final FrameDecoder decoder = new FrameDecoder();
  private final MessageDigest md = Digest.newMessageDigest();

  StoredFile(BlobSource blobs, SnapshotIndex index) {
    this.blobs = blobs;
    this.index = index;
  }

  /**
   * Writes the content of {@code file}, an entry of the snapshot, to {@code out}.
   *
   * @throws CachemountException of kind INTEGRITY when a pack does not hold what the index says
   */
  void copy(Entry file, OutputStream out) throws IOException {
    copy(file, 0, out);
  }

  /** Writes the content of {@code file} from its chunk {@code from} on (the chunks before it are written already). */
  void copy(Entry file, int from, OutputStream out) throws IOException {
    int chunks = file.chunkCount();
    long written = 0;
    for (int c = 0; c < from; c++) {
      written += index.chunkLength(file.chunk(c));
    }
    int run = from;
    while (run < chunks) {
      // A run: chunks whose frames lie in one pack, each at or after the one before.
      SnapshotIndex.Frame first = frameOf(file.chunk(run));
      List<SnapshotIndex.Frame> frames = new ArrayList<>(List.of(first));
      int end = run + 1;
      for (; end < chunks; end++) {
        SnapshotIndex.Frame f = frameOf(file.chunk(end));
        SnapshotIndex.Frame last = frames.get(frames.size() - 1);
        if (f.pack() != first.pack() || f.offset() < last.offset()) {
          break;
        }
        if (f.offset() > last.offset()) {
          frames.add(f);
        }
      }
      SnapshotIndex.PackRef pack = index.packs().get(first.pack());
      try (StoredFrames read = new StoredFrames(blobs, pack.digest(), pack.size(), frames, decoder)) {
        long decodedAt = -1;
        byte[] raw = null;
        for (int c = run; c < end; c++) {
          int chunk = file.chunk(c);
          SnapshotIndex.Frame f = frameOf(chunk);
          if (f.offset() != decodedAt) {
            raw = read.next(f);
            decodedAt = f.offset();
          }
          int offset = index.chunkOffset(chunk);
          int length = index.chunkLength(chunk);
          if (offset + (long) length > f.rawLength()) {
            throw CachemountException.integrity(file.path() + ": chunk " + index.chunkDigest(chunk) + " lies beyond its frame in pack " + pack.digest());
          }
          md.update(raw, offset, length);
          if (!Digest.finish(md).equals(index.chunkDigest(chunk))) {
            throw CachemountException.integrity(file.path() + ": the bytes of chunk " + index.chunkDigest(chunk) + " in pack " + pack.digest()
                + " do not match its digest");
          }
          out.write(raw, offset, length);
          written += length;
        }
      }
      run = end;
    }
    if (written != file.size()) {
      throw CachemountException.integrity(file.path() + ": its chunks hold " + written + " bytes, the index says " + file.size());
    }
  }

  private SnapshotIndex.Frame frameOf(int chunk) {
    return index.frames().get(index.chunkFrame(chunk));
  }

  @Override
  public void close() {
    decoder.close();
  }
}
