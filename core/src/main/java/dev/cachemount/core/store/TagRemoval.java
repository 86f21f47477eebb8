package dev.cachemount.core.store;

import java.util.Map;
import java.util.Optional;

/**
 * What {@link ManifestSink#removeTags} did: what became of each tag it was asked to remove, and, in a
 * store that collects its own garbage, what was collected.
 *
 * @param results each tag asked for, and what became of it
 * @param collected the store's garbage collection that followed; empty where the store leaves that to
 *     others (a registry: its own garbage collection frees the blobs no manifest names any more)
 */
public record TagRemoval(Map<String, Result> results, Optional<Collected> collected) {
  public TagRemoval {
    results = Map.copyOf(results);
  }

  /** What became of one tag. */
  public enum Result {
    /** The tag is gone. */
    REMOVED,
    /** Left alone: it names another manifest than the one given, as a push moved it meanwhile. */
    MOVED,
    /** There was no such tag any more. */
    GONE,
    /**
     * Left alone: another tag names the same manifest, and the store can remove a tag only by
     * removing its manifest, which would take the other tag with it.
     */
    SHARED
  }

  /**
   * A garbage collection of a store on this machine: blobs no tag reaches deleted, and those left for
   * now because they were written or used within the store's grace period (a push in progress may be
   * about to name them; a later push or prune collects them).
   */
  public record Collected(long blobsDeleted, long bytesDeleted, long blobsKeptForGrace, long bytesKeptForGrace) {}
}
