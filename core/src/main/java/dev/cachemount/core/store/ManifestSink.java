package dev.cachemount.core.store;

import java.io.IOException;

/** Commits manifests. Implementations are thread-safe. */
public interface ManifestSink {
  /**
   * Stores the manifest and points {@code tag} at it: the commit point of a push. Every blob the
   * manifest names must already be stored. Readers see the previous manifest or this one, never a
   * mixture.
   *
   * @return the bytes written to the store (0 when the manifest was already stored)
   */
  long putManifest(String tag, ManifestBytes manifest) throws IOException;

  /**
   * Stores a manifest that an image index names, by its digest and without a tag: part of what a tag
   * names once an index that names it is committed ({@link #putManifest}).
   *
   * @return the bytes written to the store (0 when the manifest was already stored)
   */
  long putChildManifest(ManifestBytes manifest) throws IOException;
}
