package dev.cachemount.it.registry;

/**
 * How a {@link TestRegistry} is reached: each mode is one way real registries are deployed, so a
 * client is tested against the transport and the authentication scheme it will meet, as the registry
 * itself implements them.
 */
public enum RegistryMode {
  /** Plain HTTP, anonymous: every request is allowed. */
  PLAIN,
  /** HTTPS with a server certificate signed by a test CA; the client trusts {@link TestRegistry#caFile()}. */
  TLS,
  /** Plain HTTP with htpasswd basic authentication: {@link TestRegistry#username()}/{@link TestRegistry#password()}. */
  BASIC,
  /** Plain HTTP with bearer tokens from {@link TestRegistry#issuer()}, which takes the same credentials as BASIC. */
  TOKEN
}
