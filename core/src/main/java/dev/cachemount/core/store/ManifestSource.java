package dev.cachemount.core.store;

import java.io.IOException;
import java.util.Optional;

/** Reads manifests by tag or digest. Implementations are thread-safe. */
public interface ManifestSource {
  /**
   * The manifest that {@code reference} names: a tag, or a digest {@code sha256:...}.
   *
   * @return empty when the store has no such tag or manifest (a cache miss)
   * @throws dev.cachemount.core.CachemountException of kind INTEGRITY when the stored manifest does
   *     not match its digest
   */
  Optional<ManifestBytes> fetchManifest(String reference) throws IOException;
}
