package dev.cachemount.core.store;

import dev.cachemount.core.blob.Digest;
import java.util.Objects;

/**
 * A manifest exactly as stored: its bytes (digests are computed over them, so they are never
 * re-serialised), its media type and its digest.
 */
public record ManifestBytes(String mediaType, byte[] bytes, Digest digest) {
  public ManifestBytes {
    Objects.requireNonNull(mediaType, "mediaType");
    Objects.requireNonNull(bytes, "bytes");
    Objects.requireNonNull(digest, "digest");
  }

  public static ManifestBytes of(String mediaType, byte[] bytes) {
    return new ManifestBytes(mediaType, bytes, Digest.of(bytes));
  }
}
