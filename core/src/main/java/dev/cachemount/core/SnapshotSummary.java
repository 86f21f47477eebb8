package dev.cachemount.core;

import dev.cachemount.core.oci.SnapshotConfig;
import java.util.List;

/**
 * What {@code inspect} shows of a stored snapshot.
 *
 * @param ref where it lives
 * @param digest its manifest digest
 * @param config its config, as stored
 * @param indexBytes size of the index blob
 * @param packs the pack blobs
 * @param fallback when the id's own tag holds no snapshot and a {@code fallback=} prefix chose this
 *     one (the one a pull would restore): its ref, as {@code ref}; else null
 */
@com.fasterxml.jackson.annotation.JsonInclude(com.fasterxml.jackson.annotation.JsonInclude.Include.NON_NULL)
public record SnapshotSummary(String ref, String digest, SnapshotConfig config, long indexBytes, List<Pack> packs, String fallback) {
  /** A pack blob. */
  public record Pack(String digest, long size) {}

  /** Bytes of all blobs: packs, index (the config and manifest are small and not counted). */
  public long storedBytes() {
    return indexBytes + packs.stream().mapToLong(Pack::size).sum();
  }
}
