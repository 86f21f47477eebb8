package dev.cachemount.core.registry;

import java.util.Objects;

/**
 * A user name and password (or token) for a registry, with where it came from. {@link #toString()}
 * never shows the secret, so a credential can't leak into a message or log by accident.
 *
 * @param source where it was found, for messages: "CACHEMOUNT_REGISTRY_USER/PASSWORD", "~/.docker/config.json", ...
 */
public record RegistryCredential(String username, String password, String source) {
  public RegistryCredential {
    Objects.requireNonNull(username, "username");
    Objects.requireNonNull(password, "password");
    Objects.requireNonNull(source, "source");
  }

  @Override
  public String toString() {
    return "credentials of '" + username + "' from " + source;
  }
}
