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
 * The frame decoded last is kept, so that small files that share a frame fetch it once.
 * Memory: one frame, stored and decoded, and a copy of the last decoded. Not thread-safe: one per layer writer.
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
      int firstFrame = index.chunkFrame(file.chunk(run));
      SnapshotIndex.Frame first = index.frames().get(firstFrame);
      List<SnapshotIndex.Frame> frames = new ArrayList<>();
      long lastOffset = -1;
      int end = run;
      for (; end < chunks; end++) {
        int fi = index.chunkFrame(file.chunk(end));
        SnapshotIndex.Frame f = index.frames().get(fi);
        if (f.pack() != first.pack() || f.offset() < lastOffset) {
          break;
        }
        if (f.offset() > lastOffset) {
          lastOffset = f.offset();
          if (fi != cachedFrame) {
            frames.add(f); // the frame decoded last (the file before's, often) is not fetched again
          }
        }
      }
      SnapshotIndex.PackRef pack = index.packs().get(first.pack());
      StoredFrames read = frames.isEmpty() ? null : new StoredFrames(blobs, pack.digest(), pack.size(), frames, decoder);
      try {
        int keep = cachedFrame;
        int decoded = -1;
        byte[] raw = null;
        for (int c = run; c < end; c++) {
          int chunk = file.chunk(c);
          int fi = index.chunkFrame(chunk);
          SnapshotIndex.Frame f = index.frames().get(fi);
          byte[] bytes;
          if (fi == keep) {
            bytes = cached;
          } else {
            if (fi != decoded) {
              try {
                raw = read.next(f);
              } catch (CachemountException undecodable) {
                throw damaged(file.path() + ": " + undecodable.getMessage());
              }
              decoded = fi;
            }
            bytes = raw;
          }
          int offset = index.chunkOffset(chunk);
          int length = index.chunkLength(chunk);
          if (offset + (long) length > f.rawLength()) {
            throw damaged(file.path() + ": chunk " + index.chunkDigest(chunk) + " lies beyond its frame in pack " + pack.digest());
          }
          md.update(bytes, offset, length);
          if (!Digest.finish(md).equals(index.chunkDigest(chunk))) {
            throw damaged(file.path() + ": the bytes of chunk " + index.chunkDigest(chunk) + " in pack " + pack.digest()
                + " do not match its digest");
          }
          out.write(bytes, offset, length);
          written += length;
        }
        if (decoded >= 0) {
          // The last frame read is kept for the next file: a small file after it often lies in it.
          int length = index.frames().get(decoded).rawLength();
          if (cached.length < length) {
            cached = new byte[length];
          }
          System.arraycopy(raw, 0, cached, 0, length);
          cachedFrame = decoded;
        }
      } catch (IOException | RuntimeException e) {
        cachedFrame = -1; // a frame half read, or that did not decode, is not kept
        throw e;
      } finally {
        if (read != null) {
          read.close();
        }
      }
      run = end;
    }
    if (written != file.size()) {
      throw damaged(file.path() + ": its chunks hold " + written + " bytes, the index says " + file.size());
    }
  }

  /** The frame decoded last (its number in the index; -1 for none) and its bytes: files of a layer lie side by side in the packs. */
  private int cachedFrame = -1;
  private byte[] cached = new byte[0];

  /** A stored snapshot that does not hold what its index says, with what to do. */
  private static CachemountException damaged(String what) {
    return CachemountException.integrity("the stored snapshot is damaged: " + what + "; `cachemount verify` names every damaged pack and the files"
        + " that need it, and a push with --force stores the directory anew");
  }

  @Override
  public void close() {
    decoder.close();
  }
}
