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
    ChunkReader reader = new ChunkReader(new FastCdcChunker(parentChunker), 1 << 20);
    MessageDigest md = Digest.newMessageDigest();
    byte[] computed = new byte[Digest.LENGTH];
    for (int position : positions) {
      ScannedEntry s = scanned.get(position);
      Entry e = parent.entries().get(position);
      Path file = root.resolve(s.path());
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
          same[0] = n < e.chunkCount() && parent.chunkDigestEquals(e.chunk(n), computed, 0);
        });
        if (!same[0] || next[0] != e.chunkCount() || size != e.size()) {
          return false;
        }
      } catch (IOException vanishedOrUnreadable) {
        return false;
      }
      if (!s.stillMatches(file)) {
        return false;
      }
    }
    return true;
  }

}
