package dev.cachemount.core.store;

import dev.cachemount.core.CachemountException;
import dev.cachemount.core.FailureKind;
import dev.cachemount.core.blob.Digest;

/**
 * A store lacks a blob that a manifest names. An integrity failure of the snapshot, unless the tag
 * moved meanwhile and the blob was collected as garbage; callers that can tell the two apart (a
 * pull re-resolves the tag) reclassify it.
 */
public final class BlobNotFoundException extends CachemountException {
  private static final long serialVersionUID = 1L;
  private final transient Digest digest;

  public BlobNotFoundException(Digest digest, String message) {
    super(FailureKind.INTEGRITY, message);
    this.digest = digest;
  }

  public Digest digest() {
    return digest;
  }
}
