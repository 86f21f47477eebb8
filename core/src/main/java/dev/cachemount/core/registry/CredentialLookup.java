package dev.cachemount.core.registry;

import java.util.Objects;
import java.util.Optional;

/**
 * What the search for a registry's credentials found: a credential, or none and, when a Docker
 * credential helper was asked and failed (or Docker's config.json could not be read), what went wrong. The operation then goes on without
 * credentials (a registry that allows anonymous access still works, as with Docker), and a refusal
 * names the helper's failure instead of only "no credentials".
 *
 * @param helperFailure the failing helper and its output, or the unreadable config.json, on one line; empty when nothing failed
 */
public record CredentialLookup(Optional<RegistryCredential> credential, Optional<String> helperFailure) {
  public static final CredentialLookup NONE = new CredentialLookup(Optional.empty(), Optional.empty());

  public CredentialLookup {
    Objects.requireNonNull(credential, "credential");
    Objects.requireNonNull(helperFailure, "helperFailure");
  }

  /** A lookup that found {@code credential}, or nothing with no helper failing. */
  public static CredentialLookup of(Optional<RegistryCredential> credential) {
    return new CredentialLookup(credential, Optional.empty());
  }
}
