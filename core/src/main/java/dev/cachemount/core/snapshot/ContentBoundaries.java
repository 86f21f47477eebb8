package dev.cachemount.core.snapshot;

import dev.cachemount.core.blob.Digest;

/**
 * Where frames and packs end. Both are content-defined: a frame may end after a chunk, and a pack
 * after a frame, when a digest says so (with a probability that grows with the bytes it adds), once
 * a minimum is reached, and must end at a maximum. Two trees that share a run of files therefore cut
 * that run's frames and packs at the same places, whatever came before it: a file added, removed or
 * changed early in one of them changes a pack or two around it, not every pack after it, so a push of
 * a nearly identical tree (another branch, another project) without a parent or {@code from=} finds
 * most of its packs already stored. Boundaries at fixed sizes would shift all later packs by what
 * was inserted.
 *
 * <p>The sizes keep the targets' averages: a frame that ends by this rule holds at least three
 * quarters of the frame target, about one target on average and at most two; a pack (its frames,
 * without the trailer) at least half the pack target, about one target on average and at most two.
 * Frames and packs that end with a large file or with the tree may be smaller. Frames use the last
 * chunk's digest (word 2), packs the first chunk of their last frame (word 3), so the two decisions
 * do not correlate.
 */
final class ContentBoundaries {
  private ContentBoundaries() {}

  /**
   * Whether the frame ends after its latest chunk.
   *
   * @param frameLength the frame's raw bytes, the chunk included
   * @param chunk the digest of the chunk just added
   * @param chunkLength its length
   */
  static boolean endsFrame(long frameLength, Digest chunk, int chunkLength, int frameTarget) {
    return frameLength >= 2L * frameTarget
        || frameLength >= frameTarget * 3L / 4 && chunk.fraction(2) * (frameTarget * 3.0 / 8) < chunkLength;
  }

  /**
   * Whether the pack ends after its latest frame.
   *
   * @param packSize the pack's bytes so far, the frame included
   * @param firstChunk the digest of the frame's first chunk
   * @param frameStored the frame's stored bytes
   */
  static boolean endsPack(long packSize, Digest firstChunk, int frameStored, long packTarget) {
    return packSize >= 2 * packTarget
        || packSize >= packTarget / 2 && firstChunk.fraction(3) * (packTarget / 2.0) < frameStored;
  }

  /** The most raw bytes a frame can hold: just under twice the target, which {@link #endsFrame} allows, plus one chunk. */
  static long frameCapacity(int frameTarget, int maxChunk) {
    return 2L * frameTarget - 1 + maxChunk;
  }
}
