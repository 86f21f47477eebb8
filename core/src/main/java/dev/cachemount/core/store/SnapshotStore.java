package dev.cachemount.core.store;

import java.io.IOException;

/**
 * Everything a snapshot needs from where it is kept: an OCI image-layout directory or (later) an OCI
 * registry. Consumers that only read or only write take the narrower interfaces. Thread-safe.
 */
public interface SnapshotStore extends BlobSource, BlobSink, ManifestSource, ManifestSink, AutoCloseable {
  /** How to name a tag of this store in messages and results, in the syntax skopeo accepts. */
  String describe(String tag);

  /**
   * Where this machine keeps the indexes it read from or wrote to this store, so as not to fetch them
   * again: none for a store on this machine.
   */
  default IndexCache indexCache() {
    return IndexCache.NONE;
  }

  /**
   * Cuts off, from another thread, what the store's user is blocked in (a registry's socket read, which
   * an interrupt does not reach): called once the operation's thread was interrupted. The operation
   * then fails; the store is of no further use. Nothing to cut off in a store on this machine.
   *
   * @return whether anything was cut off (false: the operation fails, if it does, for a reason of its own)
   */
  default boolean abort() {
    return false;
  }

  @Override
  void close() throws IOException;
}
