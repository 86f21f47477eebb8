package dev.cachemount.it;

import dev.cachemount.core.blob.Digest;
import dev.cachemount.core.oci.Descriptor;
import dev.cachemount.core.oci.ImageManifest;
import dev.cachemount.core.oci.Json;
import dev.cachemount.core.oci.MediaTypes;
import dev.cachemount.core.store.ManifestBytes;
import java.util.List;
import java.util.Map;

/** Manifests for tests that drive a store directly. */
final class StoreManifests {
  private StoreManifests() {}

  /** A snapshot-typed manifest whose config is {@code blob} (its content does not matter to a store). */
  static ManifestBytes naming(Digest blob, long size) {
    return ManifestBytes.of(MediaTypes.OCI_MANIFEST, Json.write(new ImageManifest(2, MediaTypes.OCI_MANIFEST, MediaTypes.SNAPSHOT_ARTIFACT,
        Descriptor.of(MediaTypes.SNAPSHOT_CONFIG, blob, size), List.of(), Map.of(MediaTypes.CREATED, "2026-01-01T00:00:00Z"))));
  }
}
