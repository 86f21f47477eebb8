package dev.cachemount.core.registry;

import com.google.cloud.tools.jib.api.ImageReference;
import dev.cachemount.core.CachemountException;
import dev.cachemount.core.blob.Digest;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.Locale;
import java.util.Objects;
import java.util.Optional;

/**
 * Where a cache lives in a registry: {@code HOST[:PORT]/REPOSITORY[:TAG|@sha256:HEX]}, validated once
 * by {@link #parse}. As with {@code docker}, a first component without a dot or a colon (and not
 * {@code localhost}) means Docker Hub, and a Docker Hub repository without a slash is in
 * {@code library/}. An IPv6 host is written in brackets, as in {@code [::1]:5000/acme/cache}.
 *
 * @param registry the host and port requests go to ({@code registry-1.docker.io} for Docker Hub,
 *     {@code [::1]:5000} for an IPv6 host, brackets included)
 * @param repository the repository inside it
 * @param tag the tag, when the ref names one
 * @param digest the manifest digest, when the ref pins one
 */
public record RegistryRef(String registry, String repository, Optional<String> tag, Optional<Digest> digest) {
  static final String DOCKER_HUB = "registry-1.docker.io";

  public RegistryRef {
    Objects.requireNonNull(registry, "registry");
    Objects.requireNonNull(repository, "repository");
    Objects.requireNonNull(tag, "tag");
    Objects.requireNonNull(digest, "digest");
  }

  /**
   * Parses a ref.
   *
   * @throws CachemountException of kind USAGE naming the part that is wrong
   */
  public static RegistryRef parse(String text) {
    String problem = "ref '" + text + "'";
    if (text.isBlank() || text.contains("://")) {
      throw CachemountException.usage(problem + " is not valid: write HOST[:PORT]/REPOSITORY[:TAG], without a scheme (for example ref=ghcr.io/acme/cache:m2)");
    }
    String rest = text;
    Optional<Digest> digest = Optional.empty();
    int at = rest.indexOf('@');
    if (at >= 0) {
      String d = rest.substring(at + 1);
      try {
        digest = Optional.of(Digest.parse(d));
      } catch (IllegalArgumentException e) {
        throw CachemountException.usage(problem + ": '" + d + "' is not a sha256 digest (sha256: and 64 lowercase hex digits)");
      }
      rest = rest.substring(0, at);
    }
    // An IPv6 host has colons of its own: take it off before looking for the tag's colon.
    String ipv6Host = null;
    int hostEnd = rest.indexOf('/');
    String host = hostEnd < 0 ? rest : rest.substring(0, hostEnd);
    if (host.startsWith("[") || (hostEnd > 0 && host.indexOf(':') != host.lastIndexOf(':'))) {
      ipv6Host = bracketedHost(problem, host);
      rest = hostEnd < 0 ? "" : rest.substring(hostEnd + 1);
    }
    Optional<String> tag = Optional.empty();
    int colon = rest.lastIndexOf(':');
    if (colon > rest.lastIndexOf('/')) {
      String t = rest.substring(colon + 1);
      if (!ImageReference.isValidTag(t)) {
        throw CachemountException.usage(problem + ": tag '" + t + "' is not valid: use 1 to 128 letters, digits, '_', '.' or '-', not starting with '.' or '-'");
      }
      tag = Optional.of(t);
      rest = rest.substring(0, colon);
    }
    String registry;
    String repository;
    int slash = rest.indexOf('/');
    String first = slash < 0 ? "" : rest.substring(0, slash);
    if (ipv6Host != null) {
      registry = ipv6Host;
      repository = rest;
    } else if (slash > 0 && (first.contains(".") || first.contains(":") || first.equals("localhost"))) {
      registry = first.toLowerCase(Locale.ROOT);
      repository = rest.substring(slash + 1);
      if (registry.equals("docker.io") || registry.equals("index.docker.io")) {
        registry = DOCKER_HUB;
      }
    } else {
      if (slash < 0 && tag.isPresent() && tag.get().matches("[0-9]{1,5}") && (rest.contains(".") || rest.equals("localhost"))) {
        // As Docker reads it, Docker Hub's library/HOST with the tag PORT: surely a registry without a repository.
        throw CachemountException.usage(problem + " names no repository, so it would be Docker Hub's library/" + rest + " with the tag "
            + tag.get() + "; to use the registry at " + rest + ":" + tag.get() + ", add a repository: ref=" + rest + ":" + tag.get() + "/NAME");
      }
      registry = DOCKER_HUB;
      repository = rest;
    }
    if (registry.equals(DOCKER_HUB) && !repository.contains("/")) {
      repository = "library/" + repository;
    }
    if (ipv6Host == null && !ImageReference.isValidRegistry(registry)) {
      throw CachemountException.usage(problem + ": registry host '" + registry + "' is not valid");
    }
    if (ipv6Host == null && registry.contains(":")) {
      checkPort(problem, registry, registry.substring(registry.indexOf(':') + 1));
    }
    if (repository.isEmpty() || !ImageReference.isValidRepository(repository)) {
      throw CachemountException.usage(problem + ": repository '" + repository
          + "' is not valid: use lowercase letters, digits and separators ('.', '_', '__', '-', '/'), as in acme/build-cache");
    }
    return new RegistryRef(registry, repository, tag, digest);
  }

  /** {@code [ADDRESS]} or {@code [ADDRESS]:PORT}, lowercased, or a USAGE error naming what is wrong. */
  private static String bracketedHost(String problem, String host) {
    int end = host.indexOf(']');
    String wrong = null;
    if (!host.startsWith("[")) {
      wrong = "an IPv6 address must be in brackets";
    } else if (end < 0) {
      wrong = "the ']' closing the IPv6 address is missing";
    } else if (end == 1) {
      wrong = "the brackets are empty";
    } else if (!isIpv6Literal(host.substring(1, end))) {
      wrong = "'" + host.substring(1, end) + "' is not an IPv6 address";
    } else if (end + 1 < host.length() && host.charAt(end + 1) != ':') {
      wrong = "only :PORT may follow the ']'";
    }
    if (wrong != null) {
      throw CachemountException.usage(problem + ": registry host '" + host + "' is not valid: " + wrong
          + "; write [ADDRESS] or [ADDRESS]:PORT, as in ref=[::1]:5000/acme/cache");
    }
    if (end + 1 < host.length()) {
      checkPort(problem, host, host.substring(end + 2));
    }
    return "[" + canonicalIpv6(host.substring(1, end)) + "]" + host.substring(end + 1);
  }

  /**
   * {@code [ADDRESS]} or {@code [ADDRESS]:PORT} with the address in its canonical text (RFC 5952:
   * lowercase, no leading zeros, the longest run of zero groups as {@code ::}), so that
   * {@code [0:0:0:0:0:0:0:1]:5000} and {@code [::1]:5000} name one registry wherever hosts are
   * compared ({@code from=}, {@code --insecure-registry}, Docker's {@code config.json} keys). Anything
   * else comes back lowercased, as it was.
   */
  static String canonicalHost(String host) {
    String lower = host.toLowerCase(Locale.ROOT);
    int end = lower.indexOf(']');
    if (!lower.startsWith("[") || end < 0 || !isIpv6Literal(lower.substring(1, end))) {
      return lower;
    }
    return "[" + canonicalIpv6(lower.substring(1, end)) + "]" + lower.substring(end + 1);
  }

  /** RFC 5952 text of an IPv6 literal that {@link #isIpv6Literal} accepted. */
  private static String canonicalIpv6(String literal) {
    byte[] raw;
    try {
      raw = InetAddress.getByName("[" + literal + "]").getAddress(); // a literal: never a lookup
    } catch (UnknownHostException e) {
      throw new IllegalArgumentException("not an IPv6 literal: " + literal, e);
    }
    if (raw.length == 4) { // the JDK gives an IPv4-mapped address (::ffff:a.b.c.d) as IPv4
      return "::ffff:" + (raw[0] & 0xff) + "." + (raw[1] & 0xff) + "." + (raw[2] & 0xff) + "." + (raw[3] & 0xff);
    }
    int[] groups = new int[8];
    for (int i = 0; i < 8; i++) {
      groups[i] = ((raw[2 * i] & 0xff) << 8) | (raw[2 * i + 1] & 0xff);
    }
    int bestStart = -1;
    int bestLength = 1; // a single zero group is written out, not as ::
    for (int i = 0; i < 8; ) {
      int j = i;
      while (j < 8 && groups[j] == 0) {
        j++;
      }
      if (j - i > bestLength) {
        bestStart = i;
        bestLength = j - i;
      }
      i = j == i ? i + 1 : j;
    }
    StringBuilder text = new StringBuilder();
    for (int i = 0; i < 8; i++) {
      if (i == bestStart) {
        text.append("::");
        i += bestLength - 1;
        continue;
      }
      if (text.length() > 0 && text.charAt(text.length() - 1) != ':') {
        text.append(':');
      }
      text.append(Integer.toHexString(groups[i]));
    }
    return text.toString();
  }

  /** Hex digits, colons and dots (an IPv4-mapped tail) that the JDK reads as an IPv6 address, without a DNS lookup. */
  private static boolean isIpv6Literal(String address) {
    if (!address.matches("[0-9A-Fa-f:.]+") || !address.contains(":")) {
      return false;
    }
    try {
      InetAddress.getByName("[" + address + "]"); // brackets: a literal or an error, never a lookup
      return true;
    } catch (UnknownHostException e) {
      return false;
    }
  }

  private static void checkPort(String problem, String host, String port) {
    if (!port.matches("[0-9]{1,5}") || Integer.parseInt(port) < 1 || Integer.parseInt(port) > 65535) {
      throw CachemountException.usage(problem + ": registry host '" + host + "' is not valid: port '" + port
          + "' is not a number from 1 to 65535, as in localhost:5000");
    }
  }

  /** The same place with {@code tag} when the ref names neither a tag nor a digest. */
  public RegistryRef withDefaultTag(String defaultTag) {
    return tag.isPresent() || digest.isPresent() ? this : new RegistryRef(registry, repository, Optional.of(defaultTag), digest);
  }

  /** The tag or digest a manifest request names. */
  public String reference() {
    return digest.map(Digest::toString).orElseGet(() -> tag.orElseThrow(() -> new IllegalStateException("no tag: call withDefaultTag first")));
  }

  /** Whether the registry is on this machine, where plain HTTP is allowed (as Docker does). */
  public boolean isLoopback() {
    String host = hostName();
    if (host.startsWith("[")) {
      try {
        return InetAddress.getByName(host).isLoopbackAddress(); // [::1], [0:0:0:0:0:0:0:1]; never a lookup
      } catch (UnknownHostException e) {
        return false;
      }
    }
    // an IPv4 literal in 127.0.0.0/8, not any name that starts with "127." (127.example.com is not loopback)
    return host.equals("localhost") || LOOPBACK_IPV4.matcher(host).matches();
  }

  private static final java.util.regex.Pattern LOOPBACK_IPV4 =
      java.util.regex.Pattern.compile("127(\\.(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])){3}");

  /** The registry's host without the port. */
  public String hostName() {
    if (registry.startsWith("[")) {
      int end = registry.indexOf(']');
      return registry.substring(0, end + 1);
    }
    int c = registry.indexOf(':');
    return c < 0 ? registry : registry.substring(0, c);
  }

  /** The port the ref names, or -1 when it names none (HTTPS's 443 then). */
  public int port() {
    String rest = registry.substring(hostName().length());
    return rest.startsWith(":") ? Integer.parseInt(rest.substring(1)) : -1;
  }

  /**
   * The names a login for this registry may be filed under, most specific first: {@code HOST:PORT}
   * as the ref gives it, then {@code HOST} alone; for Docker Hub, {@code docker.io},
   * {@code index.docker.io} and {@code registry-1.docker.io}. (The Maven plugin looks up a
   * settings.xml {@code <server>} by these ids.)
   */
  public java.util.List<String> loginNames() {
    if (registry.equals(DOCKER_HUB)) {
      return java.util.List.of("docker.io", "index.docker.io", DOCKER_HUB);
    }
    return port() < 0 ? java.util.List.of(registry) : java.util.List.of(registry, hostName());
  }

  /** {@code HOST/REPO}, for messages. */
  public String repositoryName() {
    return registry + "/" + repository;
  }

  @Override
  public String toString() {
    return repositoryName() + digest.map(d -> "@" + d).orElseGet(() -> tag.map(t -> ":" + t).orElse(""));
  }
}
