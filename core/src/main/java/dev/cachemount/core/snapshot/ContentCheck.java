package dev.cachemount.core.snapshot;

import dev.cachemount.core.blob.Digest;
import dev.cachemount.core.chunk.ChunkReader;
import dev.cachemount.core.chunk.ChunkerParameters;
import dev.cachemount.core.chunk.FastCdcChunker;
import dev.cachemount.core.index.Entry;
import dev.cachemount.core.index.SnapshotIndex;
import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.util.List;

/**
 * Reads a few files and tells whether their content is what a stored snapshot holds: each is cut
 * with the snapshot's own chunker parameters and its chunk digests are compared, in order, with the
 * snapshot's. Nothing is compressed or written. Used for the racy files of an otherwise unchanged
 * tree, so that a push right after a build does not re-pack the whole tree to learn it is unchanged.
 */
public final class ContentCheck {
  private ContentCheck() {}

  /**
   * Whether every file at {@code positions} (in {@code scanned} and in the snapshot's entries alike)
   * has the snapshot's content and did not change while being read.
   */
  public static boolean sameContent(Path root, List<ScannedEntry> scanned, List<Integer> positions, SnapshotIndex parent,
      ChunkerParameters parentChunker) throws IOException {
    Reader reader = new Reader(parentChunker);
    for (int position : positions) {
      ScannedEntry s = scanned.get(position);
      Path file = root.resolve(s.path());
      if (!reader.matches(file, parent.entries().get(position), parent) || !s.stillMatches(file)) {
        return false;
      }
    }
    return true;
  }

  /** Compares files with entries of a snapshot, one at a time; not thread-safe. */
  public static final class Reader {
    private final ChunkReader reader;
    private final MessageDigest md = Digest.newMessageDigest();
    private final byte[] computed = new byte[Digest.LENGTH];

    public Reader(ChunkerParameters chunker) {
      this.reader = new ChunkReader(new FastCdcChunker(chunker), 1 << 20);
    }

    /** Whether {@code file} holds exactly the chunks of {@code e}; false when it cannot be read. */
    public boolean matches(Path file, Entry e, SnapshotIndex index) {
      int[] next = {0};
      boolean[] same = {true};
      try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ, LinkOption.NOFOLLOW_LINKS)) {
        long size = reader.read(ch, (data, offset, length) -> {
          if (!same[0]) {
            return;
          }
          md.update(data, offset, length);
          try {
            md.digest(computed, 0, Digest.LENGTH);
          } catch (java.security.DigestException impossible) {
            throw new IllegalStateException(impossible);
          }
          int n = next[0]++;
          same[0] = n < e.chunkCount() && index.chunkDigestEquals(e.chunk(n), computed, 0);
        });
        return same[0] && next[0] == e.chunkCount() && size == e.size();
      } catch (IOException vanishedOrUnreadable) {
        return false;
      }
    }
  }

}
