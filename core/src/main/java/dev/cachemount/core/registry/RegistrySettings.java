package dev.cachemount.core.registry;

import java.nio.file.Path;
import java.time.Duration;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.stream.Collectors;

/**
 * How this client talks to registries, beyond what one spec says: the fronts fill it from their flags
 * ({@code --ca-file}, {@code --insecure-registry}, {@code --password-stdin}).
 *
 * @param insecureRegistries hosts ({@code HOST} or {@code HOST:PORT}) where plain HTTP and unverified TLS are allowed
 * @param caFile PEM certificates trusted in addition to the JDK's, for registries with a private CA
 * @param credential credentials given explicitly, ahead of the environment and Docker's config
 * @param parallelTransfers blobs a push uploads at once, and byte ranges a pull reads at once
 * @param retry how requests are retried
 * @param timeout connect and read timeout of one request
 */
public record RegistrySettings(
    Set<String> insecureRegistries, Optional<Path> caFile, Optional<RegistryCredential> credential,
    int parallelTransfers, RetryPolicy retry, Duration timeout) {
  public static final int DEFAULT_PARALLEL_UPLOADS = 4;
  public static final RegistrySettings DEFAULT = new RegistrySettings(
      Set.of(), Optional.empty(), Optional.empty(), DEFAULT_PARALLEL_UPLOADS, RetryPolicy.DEFAULT, Duration.ofSeconds(60));

  public RegistrySettings {
    for (String host : insecureRegistries) {
      // "http://host:5000" or "host:5000/v2" matched no registry, silently: the user's registry stayed refused.
      if (host.isBlank() || host.contains("/") || host.contains("@") || host.chars().anyMatch(Character::isWhitespace)) {
        throw dev.cachemount.core.CachemountException.usage("--insecure-registry '" + host + "' is not a registry host: give HOST or HOST:PORT, without"
            + " a scheme or a path, as the ref names it (for ref=registry.local:5000/cache, --insecure-registry registry.local:5000)");
      }
    }
    insecureRegistries = insecureRegistries.stream().map(RegistryRef::canonicalHost).collect(Collectors.toUnmodifiableSet());
    Objects.requireNonNull(caFile, "caFile");
    Objects.requireNonNull(credential, "credential");
    Objects.requireNonNull(retry, "retry");
    Objects.requireNonNull(timeout, "timeout");
    if (parallelTransfers < 1 || parallelTransfers > 64) {
      throw new IllegalArgumentException("parallel transfers must be 1 to 64, not " + parallelTransfers);
    }
  }

  public RegistrySettings withInsecureRegistries(Set<String> hosts) {
    return new RegistrySettings(hosts, caFile, credential, parallelTransfers, retry, timeout);
  }

  public RegistrySettings withCaFile(Path pem) {
    return new RegistrySettings(insecureRegistries, Optional.ofNullable(pem), credential, parallelTransfers, retry, timeout);
  }

  public RegistrySettings withCredential(RegistryCredential c) {
    return new RegistrySettings(insecureRegistries, caFile, Optional.ofNullable(c), parallelTransfers, retry, timeout);
  }

  /**
   * Whether plain HTTP and TLS without verification are allowed for {@code ref}'s registry: when the
   * spec says {@code insecure=true} or {@code --insecure-registry} names it. (A loopback registry may
   * use plain HTTP without either, but its TLS is verified.)
   */
  boolean allowsUnverifiedTls(RegistryRef ref, boolean specInsecure) {
    return specInsecure || insecureRegistries.contains(ref.registry()) || insecureRegistries.contains(ref.hostName());
  }
}
