package dev.cachemount.core.store;

import dev.cachemount.core.blob.Digest;
import java.io.IOException;
import java.util.Map;

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

  /**
   * Removes each tag of {@code tags} that still names the manifest given for it. A tag that names
   * another manifest now (a push moved it since it was read) is left alone, and no tag outside
   * {@code tags} changes what it names. A store on this machine then collects the blobs no tag
   * reaches any more (those of its grace period excepted); a registry leaves them to its own garbage
   * collection.
   */
  TagRemoval removeTags(Map<String, Digest> tags) throws IOException;
}
