package dev.cachemount.core.store;

import java.io.IOException;
import java.util.List;
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

  /**
   * Every tag the store holds (in a registry: of its repository), in no particular order; empty when
   * there is none, or no repository yet. What {@code fallback=} chooses among.
   */
  List<String> listTags() throws IOException;
}
