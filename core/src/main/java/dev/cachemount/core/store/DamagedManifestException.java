package dev.cachemount.core.store;

import dev.cachemount.core.CachemountException;
import dev.cachemount.core.FailureKind;

/**
 * A layout store's tag names a manifest whose blob is damaged on disk: its bytes are not the digest
 * (or the size) that {@code index.json} records for it. An integrity failure of that snapshot only,
 * which a push of its id replaces; what a registry sends that does not match is not this (a registry
 * checks a manifest's digest when it accepts it, so a mismatch there is the answer, not the store).
 */
public final class DamagedManifestException extends CachemountException {
  private static final long serialVersionUID = 1L;

  public DamagedManifestException(String message) {
    super(FailureKind.INTEGRITY, message);
  }
}
