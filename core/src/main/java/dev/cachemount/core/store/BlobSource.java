package dev.cachemount.core.store;

import dev.cachemount.core.blob.Digest;
import java.io.IOException;
import java.io.InputStream;

/** Reads blobs from a store. Implementations are thread-safe. */
public interface BlobSource {
  /**
   * Opens a blob for reading from its first byte. The caller closes the stream and checks what it
   * reads against the digest: a source does not promise verified bytes.
   *
   * @param size the size its descriptor declares; the stream never yields more
   * @throws dev.cachemount.core.CachemountException of kind INTEGRITY when the store lacks the blob
   */
  InputStream openBlob(Digest digest, long size) throws IOException;

  /**
   * Opens {@code length} bytes of a blob from {@code offset}: a few frames of a pack, when a restore
   * needs little of it. The default reads the blob from its start and skips; a registry asks for the
   * range only.
   *
   * @param size the size its descriptor declares
   */
  default InputStream openRange(Digest digest, long size, long offset, long length) throws IOException {
    if (offset < 0 || length < 0 || offset + length > size) {
      throw new IllegalArgumentException("range " + offset + "+" + length + " outside a blob of " + size + " bytes");
    }
    InputStream in = openBlob(digest, size);
    try {
      in.skipNBytes(offset);
    } catch (IOException | RuntimeException e) {
      in.close();
      throw e;
    }
    return new java.io.FilterInputStream(in) {
      private long left = length;

      @Override
      public int read() throws IOException {
        if (left <= 0) {
          return -1;
        }
        int b = super.read();
        if (b >= 0) {
          left--;
        }
        return b;
      }

      @Override
      public int read(byte[] b, int off, int len) throws IOException {
        if (left <= 0) {
          return -1;
        }
        int n = super.read(b, off, (int) Math.min(len, left));
        if (n > 0) {
          left -= n;
        }
        return n;
      }

      @Override
      public long skip(long n) throws IOException {
        long s = super.skip(Math.min(n, left));
        left -= s;
        return s;
      }
    };
  }

  /**
   * Opens several ranges of a blob as one stream: the bytes of each range in turn, nothing between
   * them. The default opens each range in turn ({@link #openRange}) when the reader reaches it; a
   * registry asks for all of them in one request where it can, saving the round trips.
   *
   * @param ranges ascending and not overlapping ({@link BlobRange#checkSet})
   */
  default InputStream openRanges(Digest digest, long size, java.util.List<BlobRange> ranges) throws IOException {
    BlobRange.checkSet(ranges, size);
    if (ranges.size() == 1) {
      return openRange(digest, size, ranges.get(0).offset(), ranges.get(0).length());
    }
    return RangeSetStream.oneByOne(ranges, (offset, length) -> openRange(digest, size, offset, length));
  }

  /**
   * How many reads of this source a restore runs at once at least: a remote source's reads wait on
   * round trips, not on this machine's cores. The default, 0, leaves it to the restore's workers.
   */
  default int parallelReads() {
    return 0;
  }
}
