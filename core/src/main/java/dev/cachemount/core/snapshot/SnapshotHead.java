package dev.cachemount.core.snapshot;

import dev.cachemount.core.oci.Descriptor;
import dev.cachemount.core.oci.ImageManifest;
import dev.cachemount.core.oci.SnapshotConfig;
import dev.cachemount.core.store.ManifestBytes;
import java.util.List;

/**
 * A stored snapshot's manifest and config, read and verified, before its index is fetched.
 *
 * @param bytesRead bytes fetched from the store to load it
 */
public record SnapshotHead(ManifestBytes manifestBytes, ImageManifest manifest, SnapshotConfig config, long bytesRead) {
  /** The pack layers the manifest lists (all layers after the index). */
  public List<Descriptor> packs() {
    List<Descriptor> layers = manifest.layers();
    return layers.subList(1, layers.size());
  }
}
