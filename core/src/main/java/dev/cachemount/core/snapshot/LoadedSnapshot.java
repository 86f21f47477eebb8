package dev.cachemount.core.snapshot;

import dev.cachemount.core.index.SnapshotIndex;
import dev.cachemount.core.oci.ImageManifest;
import dev.cachemount.core.oci.SnapshotConfig;
import dev.cachemount.core.store.ManifestBytes;

/**
 * A stored snapshot whose manifest, config and index were read and verified.
 *
 * @param bytesRead bytes fetched from the store to load it
 */
public record LoadedSnapshot(ManifestBytes manifestBytes, ImageManifest manifest, SnapshotConfig config, SnapshotIndex index, long bytesRead) {}
