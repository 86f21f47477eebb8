package dev.cachemount.core.store;

import dev.cachemount.core.blob.Digest;
import java.io.IOException;
import java.nio.file.Path;

/**
 * Writes blobs to a store. A blob the store already holds is never written again. A blob becomes
 * part of a snapshot only when a manifest that names it is committed ({@link ManifestSink}).
 * Implementations are thread-safe.
 */
public interface BlobSink {
  /**
   * A new, empty directory for files that may become blobs, on the store's own file system where it
   * has one (so that {@link #putBlob(Digest, long, Path)} can rename instead of copy). The caller
   * deletes it when done.
   */
  Path newStagingDirectory() throws IOException;

  /** Whether the store holds the blob. */
  boolean hasBlob(Digest digest) throws IOException;

  /**
   * Whether the store holds the blob, {@code size} bytes long. A store that can tell cheaply (a file's
   * size on disk) answers false for a copy of another size: a blob cut short by a damaged disk or a
   * hand edit is not held. The bytes themselves are not hashed.
   */
  default boolean hasBlob(Digest digest, long size) throws IOException {
    return hasBlob(digest);
  }

  /**
   * Stores the blob whose bytes are {@code file}. The store may move the file; afterwards the caller
   * must not use it.
   *
   * @return whether the blob was written (and how many bytes), already there, or mounted
   */
  BlobPut putBlob(Digest digest, long size, Path file) throws IOException;

  /** Stores a small blob held in memory. */
  BlobPut putBlob(Digest digest, byte[] content) throws IOException;

  /**
   * Makes a blob that an earlier snapshot stored part of this store again, without its bytes: a pack
   * a new snapshot reuses. A registry mounts it from {@code fromRepository} when this repository lacks it.
   *
   * @param fromRepository the repository of the same registry that holds it; empty when this store should
   * @throws dev.cachemount.core.CachemountException of kind INTEGRITY when the blob is nowhere to be had
   */
  default BlobPut claimBlob(Digest digest, long size, java.util.Optional<String> fromRepository) throws IOException {
    if (hasBlob(digest, size)) {
      return BlobPut.PRESENT;
    }
    throw dev.cachemount.core.CachemountException.integrity("the store lacks blob " + digest
        + " of the snapshot this push builds on; push again with --force to store a complete snapshot");
  }

  /**
   * Whether a push claims ({@link #claimBlob}) even the packs of the snapshot it builds on that it saw
   * in the store already: a store that collects its own garbage must, since a prune may remove that
   * snapshot while the push runs, and collect its packs under it.
   */
  default boolean claimsKnownBlobs() {
    return false;
  }

  /** How many blobs a push may store at once: more than one where each put waits on a network. */
  default int parallelPuts() {
    return 1;
  }
}
