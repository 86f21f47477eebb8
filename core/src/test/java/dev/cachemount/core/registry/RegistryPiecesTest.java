package dev.cachemount.core.registry;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.cloud.tools.jib.blob.Blobs;
import com.google.cloud.tools.jib.hash.Digests;
import dev.cachemount.core.OperationListener;
import dev.cachemount.core.blob.Digest;
import dev.cachemount.core.store.ManifestBytes;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The registry store's small parts that need no registry. */
class RegistryPiecesTest {
  @TempDir Path dir;

  @Test
  void anEmptyPasswordOnStandardInputSaysHowToGiveOne(@org.junit.jupiter.api.io.TempDir Path home) {
    dev.cachemount.core.Cachemount client = dev.cachemount.core.Cachemount.builder().home(home)
        .env(Map.of(RegistryCredentials.USER_VARIABLE, "ci")).build();
    dev.cachemount.core.CachemountException e = org.junit.jupiter.api.Assertions.assertThrows(dev.cachemount.core.CachemountException.class,
        () -> client.passwordFromStdin(" \n"));
    assertEquals(dev.cachemount.core.FailureKind.USAGE, e.kind());
    assertTrue(e.getMessage().contains("pipe the password or token in") && e.getMessage().contains("is the variable that holds it set"), e.getMessage());
    assertEquals("s3cret", client.passwordFromStdin("s3cret\n").password());
  }

  /** "http://host:5000" matched no registry, silently: the registry stayed refused, and nothing said why. */
  @org.junit.jupiter.params.ParameterizedTest
  @org.junit.jupiter.params.provider.ValueSource(strings = {"http://registry.local:5000", "registry.local:5000/v2", "user@registry.local", " "})
  void anInsecureRegistryThatIsNotAHostIsAUsageError(String host) {
    dev.cachemount.core.CachemountException e = org.junit.jupiter.api.Assertions.assertThrows(dev.cachemount.core.CachemountException.class,
        () -> RegistrySettings.DEFAULT.withInsecureRegistries(java.util.Set.of(host)));
    assertEquals(dev.cachemount.core.FailureKind.USAGE, e.kind());
    assertTrue(e.getMessage().contains("give HOST or HOST:PORT, without a scheme or a path"), e.getMessage());
    assertTrue(RegistrySettings.DEFAULT.withInsecureRegistries(java.util.Set.of("Registry.Local:5000"))
        .allowsUnverifiedTls(RegistryRef.parse("registry.local:5000/cache"), false), "a host, in any case, is one");
  }

  @Test
  void jibPushesTheManifestBytesExactlyAsGiven() throws IOException {
    // Odd spacing and key order: jib must not re-serialise, or the digest the tag names would change.
    byte[] bytes = "{ \"schemaVersion\":2,\"z\":1,  \"mediaType\":\"application/vnd.oci.image.manifest.v1+json\",\"a\":[]}"
        .getBytes(StandardCharsets.UTF_8);
    ManifestBytes manifest = ManifestBytes.of("application/vnd.oci.image.manifest.v1+json", bytes);
    RawManifest raw = new RawManifest(manifest);
    assertEquals(new String(bytes, StandardCharsets.UTF_8), Blobs.writeToString(Blobs.from(raw)));
    assertEquals(manifest.digest().toString(), Digests.computeJsonDigest(raw).toString());
    assertEquals(manifest.mediaType(), raw.getManifestMediaType());
  }

  @Test
  void backOffGrowsWithJitterAndStaysUnderItsCap() {
    RetryPolicy p = new RetryPolicy(6, Duration.ofMillis(100), Duration.ofMillis(400), Duration.ofSeconds(2));
    for (int i = 0; i < 200; i++) {
      long first = p.delayAfter(1, null).toMillis();
      long third = p.delayAfter(3, null).toMillis();
      long tenth = p.delayAfter(10, null).toMillis();
      assertTrue(first >= 50 && first <= 100, "first " + first);
      assertTrue(third >= 200 && third <= 400, "third " + third);
      assertTrue(tenth >= 200 && tenth <= 400, "capped " + tenth);
    }
    assertEquals(Duration.ofSeconds(1), p.delayAfter(1, Duration.ofSeconds(1)), "Retry-After is honoured");
    assertEquals(Duration.ofSeconds(2), p.delayAfter(1, Duration.ofHours(1)), "and capped");
  }

  @Test
  void retryAfterIsReadInSecondsOrAsAnHttpDate() {
    assertEquals(Duration.ofSeconds(7), RegistryFailures.parseRetryAfter(" 7 "));
    // A date five minutes ahead (whole seconds, as HTTP dates are): the pause is that date less the
    // moment the parser read the clock, a moment between the two readings here, however long this
    // thread stalls in between; an ignored or misread date (another zone, another field) falls outside.
    java.time.Instant before = java.time.Instant.now();
    java.time.Instant date = before.truncatedTo(java.time.temporal.ChronoUnit.SECONDS).plusSeconds(300);
    Duration d = RegistryFailures.parseRetryAfter(DateTimeFormatter.RFC_1123_DATE_TIME.format(date.atZone(java.time.ZoneOffset.UTC)));
    java.time.Instant after = java.time.Instant.now();
    assertNotNull(d, "an HTTP date is read");
    Duration longest = Duration.between(before, date);
    Duration shortest = Duration.between(after, date).isNegative() ? Duration.ZERO : Duration.between(after, date);
    assertTrue(d.compareTo(shortest) >= 0 && d.compareTo(longest) <= 0, d + " lies between " + shortest + " and " + longest);
    assertEquals(Duration.ZERO, RegistryFailures.parseRetryAfter(DateTimeFormatter.RFC_1123_DATE_TIME.format(ZonedDateTime.now().minusDays(1))));
    assertNull(RegistryFailures.parseRetryAfter("soon"));
    assertNull(RegistryFailures.parseRetryAfter("-3"));
  }

  @Test
  void connectionErrorsAreRetriedButTlsAndUnknownHostsAreNot() {
    assertTrue(RegistryFailures.retryable(new java.net.ConnectException("refused")));
    assertTrue(RegistryFailures.retryable(new java.net.SocketTimeoutException("slow")));
    assertEquals(false, RegistryFailures.retryable(new javax.net.ssl.SSLHandshakeException("bad cert")));
    assertEquals(false, RegistryFailures.retryable(new java.net.UnknownHostException("nowhere")));
    assertEquals(false, RegistryFailures.retryable(new java.io.InterruptedIOException("cancelled")));
  }

  /**
   * jib-core wraps every failure of a token request in RegistryAuthenticationFailedException; only a
   * refusal (401, 403) is about the credentials. An unreachable token service is retried and exit 1;
   * an answer without a token is exit 1, and jib-core's message for it (which lists the request's
   * parameters, an OAuth2 refresh token among them) is not shown.
   */
  @Test
  void aTokenServiceThatCannotBeReachedOrGivesNoTokenIsNotACredentialRefusal() {
    RegistryRef ref = RegistryRef.parse("127.0.0.1:5000/team/cache");
    RegistryFailures.CredentialsUsed used = new RegistryFailures.CredentialsUsed(
        Optional.of(RegistryCredentials.USER_VARIABLE + "/" + RegistryCredentials.PASSWORD_VARIABLE), Optional.empty(), false);
    Exception unreachable = new com.google.cloud.tools.jib.api.RegistryAuthenticationFailedException(
        "127.0.0.1:5000", "team/cache", new java.net.ConnectException("Connection refused"));
    assertTrue(RegistryFailures.retryable(unreachable));
    assertFalse(RegistryFailures.isAuth(unreachable));
    dev.cachemount.core.CachemountException down = RegistryFailures.toException(ref, "authentication for pull", unreachable, 5, used);
    assertEquals(dev.cachemount.core.FailureKind.OPERATIONAL, down.kind(), down.getMessage());
    assertTrue(down.getMessage().contains("token service") && down.getMessage().contains("Connection refused")
        && !down.getMessage().contains("were used"), down.getMessage());

    // A realm whose certificate cannot be verified, or whose host is unknown: what to do about it, as for the registry itself.
    Exception untrusted = new com.google.cloud.tools.jib.api.RegistryAuthenticationFailedException(
        "127.0.0.1:5000", "team/cache", new javax.net.ssl.SSLHandshakeException("PKIX path building failed"));
    String tls = RegistryFailures.toException(ref, "authentication for pull", untrusted, 1, used).getMessage();
    assertTrue(tls.contains("token service") && tls.contains("PKIX path building failed") && tls.contains("--ca-file")
        && !tls.contains("Try again later"), tls);
    Exception unknown = new com.google.cloud.tools.jib.api.RegistryAuthenticationFailedException(
        "127.0.0.1:5000", "team/cache", new java.net.UnknownHostException("auth.example.invalid"));
    String host = RegistryFailures.toException(ref, "authentication for pull", unknown, 1, used).getMessage();
    assertTrue(host.contains("auth.example.invalid is unknown") && host.contains("WWW-Authenticate"), host);

    Exception noToken = new com.google.cloud.tools.jib.api.RegistryAuthenticationFailedException("127.0.0.1:5000", "team/cache",
        "Did not get token in authentication response from http://127.0.0.1:5001/token; parameters: refresh_token=SECRET-42");
    assertFalse(RegistryFailures.retryable(noToken));
    dev.cachemount.core.CachemountException empty = RegistryFailures.toException(ref, "authentication for pull", noToken, 1, used);
    assertEquals(dev.cachemount.core.FailureKind.OPERATIONAL, empty.kind(), empty.getMessage());
    assertTrue(empty.getMessage().contains("holds no token") && !empty.getMessage().contains("SECRET-42"), empty.getMessage());
  }

  @Test
  void blobLocationsAreKeptAcrossStoresAndNeverNameTheAskingRepository() throws IOException {
    Path file = dir.resolve("hints/registry-blobs");
    Digest d = Digest.of(new byte[] {1});
    BlobLocations first = new BlobLocations(Optional.of(file));
    first.record("r.io", "team/a", d);
    first.record("r.io", "team/b", d);
    first.record("r.io", "team/a", d);
    first.record("other.io", "team/c", d);
    assertEquals(3, Files.readAllLines(file).size(), "a sighting is written once");
    BlobLocations second = new BlobLocations(Optional.of(file));
    assertEquals(List.of("team/b", "team/a"), second.holders("r.io", "team/x", d));
    assertEquals(List.of("team/a"), second.holders("r.io", "team/b", d));
    assertEquals(List.of(), second.holders("r.io", "team/x", Digest.of(new byte[] {2})));
  }

  @Test
  void dockerConfigCredentialsAreFoundForAnIpv6Host() throws IOException {
    // jib-core's ImageReference refuses [::1]:5000; its Docker config reader takes it.
    String auth = Base64.getEncoder().encodeToString("ci:secret".getBytes(StandardCharsets.UTF_8));
    Files.writeString(dir.resolve("config.json"), "{\"auths\": {\"[::1]:5000\": {\"auth\": \"" + auth + "\"}}}");
    Map<String, String> env = Map.of("DOCKER_CONFIG", dir.toString());
    Optional<RegistryCredential> c = RegistryCredentials.resolve(
        RegistryRef.parse("[::1]:5000/dep-cache"), RegistrySettings.DEFAULT, env, dir.resolve("home"), new OperationListener() {});
    assertEquals("ci", c.orElseThrow().username());
    assertEquals("secret", c.orElseThrow().password());
    assertEquals(Optional.empty(), RegistryCredentials.resolve(
        RegistryRef.parse("[::1]:5001/dep-cache"), RegistrySettings.DEFAULT, env, dir.resolve("home"), new OperationListener() {}));
  }

  @Test
  void dockerConfigCredentialsSavedUnderAnotherSpellingOfTheIpv6AddressAreFound() throws IOException {
    // docker login keeps the address as it was typed; the ref holds its canonical text ([::1]:5000).
    String auth = Base64.getEncoder().encodeToString("ci:secret".getBytes(StandardCharsets.UTF_8));
    Files.writeString(dir.resolve("config.json"), "{\"auths\": {\"https://[0:0:0:0:0:0:0:1]:5000\": {\"auth\": \"" + auth + "\"},"
        + " \"[2001:DB8::0:1]\": {\"auth\": \"" + auth + "\"}}}");
    Map<String, String> env = Map.of("DOCKER_CONFIG", dir.toString());
    for (String ref : List.of("[::1]:5000/dep-cache", "[0::1]:5000/dep-cache", "[2001:db8::1]/team/cache")) {
      Optional<RegistryCredential> c = RegistryCredentials.resolve(
          RegistryRef.parse(ref), RegistrySettings.DEFAULT, env, dir.resolve("home"), new OperationListener() {});
      assertEquals("ci", c.map(RegistryCredential::username).orElse("<none: anonymous>"), ref);
    }
    assertEquals(Optional.empty(), RegistryCredentials.resolve(
        RegistryRef.parse("[::2]:5000/dep-cache"), RegistrySettings.DEFAULT, env, dir.resolve("home"), new OperationListener() {}));
  }

  @Test
  void aRefusalSaysWhichCredentialsWentOrWhyNoneDidAndWhatToDo() {
    RegistryRef ref = RegistryRef.parse("cache.example.com/team/cache");
    Exception refused = new com.google.cloud.tools.jib.api.RegistryAuthenticationFailedException("cache.example.com", "team/cache", "401");
    Optional<String> fromEnv = Optional.of(RegistryCredentials.USER_VARIABLE + "/" + RegistryCredentials.PASSWORD_VARIABLE);

    String used = RegistryFailures.toException(ref, "fetch of the manifest", refused, 1,
        new RegistryFailures.CredentialsUsed(fromEnv, Optional.empty(), false)).getMessage();
    assertTrue(used.contains("the credentials from CACHEMOUNT_REGISTRY_USER/CACHEMOUNT_REGISTRY_PASSWORD were used")
        && used.contains("Check CACHEMOUNT_REGISTRY_USER and CACHEMOUNT_REGISTRY_PASSWORD"), used);
    assertFalse(used.contains("Log in with"), "docker login would not change what is used: " + used);

    String docker = RegistryFailures.toException(ref, "fetch of the manifest", refused, 1,
        new RegistryFailures.CredentialsUsed(Optional.of("~/.docker/config.json"), Optional.empty(), false)).getMessage();
    assertTrue(docker.contains("docker login cache.example.com"), docker);

    // Pull-only credentials on a push: distribution answers 401 with error="insufficient_scope". Logging
    // in again would change nothing (the message said to); what they lack is said instead.
    com.google.api.client.http.HttpHeaders challenge = new com.google.api.client.http.HttpHeaders();
    challenge.set("WWW-Authenticate", java.util.List.of("Bearer realm=\"http://127.0.0.1:5100/token\",service=\"test-registry\","
        + "scope=\"repository:team/cache:pull,push\",error=\"insufficient_scope\""));
    Exception scope = new com.google.cloud.tools.jib.api.RegistryUnauthorizedException("cache.example.com", "team/cache",
        com.google.cloud.tools.jib.http.TestResponses.of(new com.google.api.client.http.HttpResponseException.Builder(401, "Unauthorized", challenge).build()));
    String shortOfPush = RegistryFailures.toException(ref, "upload of blob sha256:abc", scope, 1,
        new RegistryFailures.CredentialsUsed(Optional.of("~/.docker/config.json"), Optional.empty(), false)).getMessage();
    assertTrue(shortOfPush.contains("lack push access to team/cache (insufficient_scope)") && !shortOfPush.contains("Log in with"), shortOfPush);

    // 403 to an anonymous pull: "no credentials were found" and then "the credentials are valid" contradicted each other.
    Exception forbidden = new com.google.cloud.tools.jib.api.RegistryUnauthorizedException("cache.example.com", "team/cache",
        com.google.cloud.tools.jib.http.TestResponses.of(new com.google.api.client.http.HttpResponseException.Builder(403, "Forbidden",
            new com.google.api.client.http.HttpHeaders()).build()));
    String anonymous = RegistryFailures.toException(ref, "fetch of the manifest", forbidden, 1,
        new RegistryFailures.CredentialsUsed(Optional.empty(), Optional.empty(), false)).getMessage();
    assertTrue(anonymous.contains("no credentials were found (anonymous access)") && anonymous.contains("anonymous users lack pull access to team/cache")
        && !anonymous.contains("credentials are valid"), anonymous);
    String known = RegistryFailures.toException(ref, "fetch of the manifest", forbidden, 1,
        new RegistryFailures.CredentialsUsed(fromEnv, Optional.empty(), false)).getMessage();
    assertTrue(known.contains("the credentials are valid but lack pull access to team/cache"), known);

    String withheld = RegistryFailures.toException(ref, "fetch of the manifest", refused, 1,
        new RegistryFailures.CredentialsUsed(fromEnv, Optional.empty(), true)).getMessage();
    assertTrue(withheld.contains("sends credentials over plain HTTP only to registries on this machine"), withheld);
    assertFalse(withheld.contains("were used"), "credentials left out over plain HTTP were not used: " + withheld);

    String helper = RegistryFailures.toException(ref, "fetch of the manifest", refused, 1,
        new RegistryFailures.CredentialsUsed(Optional.empty(), Optional.of("the Docker credential helper configured in ~/.docker/config.json"
            + " for cache.example.com failed (it said so)"), false)).getMessage();
    assertTrue(helper.contains("no credentials were found (anonymous access): the Docker credential helper") && helper.contains("it said so"), helper);
    // A Maven user whose <server> has another id learns which ids the plugin looks for.
    assertTrue(helper.contains("the Maven plugin from a <server> of settings.xml whose id is '" + ref.registry() + "'")
        && helper.contains("-Dcachemount.serverId"), helper);

    String maven = RegistryFailures.toException(ref, "fetch of the manifest", refused, 1,
        new RegistryFailures.CredentialsUsed(Optional.of("settings.xml server 'cache.example.com'"), Optional.empty(), false)).getMessage();
    assertTrue(maven.contains("the credentials from settings.xml server 'cache.example.com' were used")
        && maven.contains("Check the username and password of that <server>"), maven);
    assertFalse(maven.contains("docker login"), "what would not be used is not suggested: " + maven);
  }

  /** Looks up cache.example.com's credentials with {@code configJson} as Docker's config.json, collecting the warnings. */
  private CredentialLookup lookupWith(String configJson, List<String> warnings) throws IOException {
    Files.writeString(dir.resolve("config.json"), configJson);
    return RegistryCredentials.lookup(RegistryRef.parse("cache.example.com/team/cache"), RegistrySettings.DEFAULT,
        Map.of("DOCKER_CONFIG", dir.toString()), dir.resolve("home"), new OperationListener() {
          @Override
          public void warning(String message) {
            warnings.add(message);
          }
        });
  }

  @Test
  void anUnreadableDockerConfigIsAWarningAndTheLookupSaysWhy() throws IOException {
    List<String> warnings = new java.util.ArrayList<>();
    CredentialLookup found = lookupWith("{not json", warnings);
    assertEquals(Optional.empty(), found.credential());
    assertTrue(found.helperFailure().orElseThrow().contains("config.json cannot be read (it is not valid JSON at line 1"), found.toString());
    assertEquals(1, warnings.size(), warnings.toString());

    // The parser's own message quotes the token it stopped at: here a base64 user:password.
    String secret = "Y2k6czNjcmV0UGFzc3cwcmQ";
    warnings.clear();
    CredentialLookup leaky = lookupWith("{\"auths\": {\"cache.example.com\": {\"auth\": " + secret + "}}}", warnings);
    assertFalse(leaky.helperFailure().orElseThrow().contains(secret) || warnings.get(0).contains(secret), warnings.toString());

    warnings.clear();
    assertTrue(lookupWith("null", warnings).helperFailure().orElseThrow().contains("not a JSON object"), "jib-core fails on a JSON null");
  }

  @Test
  void jibGoingOverToPlainHttpForARemoteRegistryWithholdsTheCredentials() {
    RegistryCredential ci = new RegistryCredential("ci", "pw", "CACHEMOUNT_REGISTRY_USER/PASSWORD");
    RegistrySession remote = new RegistrySession(RegistryRef.parse("cache.example.com/team/cache"), RegistrySettings.DEFAULT, true,
        CredentialLookup.of(Optional.of(ci)), new OperationListener() {});
    assertFalse(remote.credentialsUsed().withheld());
    // The line jib-core 0.28.1's FailoverHttpClient logs when it falls back (the pinned version's wording).
    remote.log(com.google.cloud.tools.jib.api.LogEvent.warn(
        "Failed to connect to https://cache.example.com/v2/ over HTTPS. Attempting again with HTTP."));
    assertTrue(remote.credentialsUsed().withheld());

    RegistrySession loopback = new RegistrySession(RegistryRef.parse("127.0.0.1:5000/team/cache"), RegistrySettings.DEFAULT, false,
        CredentialLookup.of(Optional.of(ci)), new OperationListener() {});
    loopback.log(com.google.cloud.tools.jib.api.LogEvent.warn(
        "Failed to connect to https://127.0.0.1:5000/v2/ over HTTPS. Attempting again with HTTP."));
    assertFalse(loopback.credentialsUsed().withheld(), "credentials go over plain HTTP to this machine");
  }

  @Test
  void loginNamesAreTheRegistryThenItsHostAndDockerHubsNames() {
    assertEquals(List.of("cache.internal:5000", "cache.internal"), RegistryRef.parse("cache.internal:5000/a/b").loginNames());
    assertEquals(List.of("ghcr.io"), RegistryRef.parse("ghcr.io/a/b").loginNames());
    assertEquals(List.of("docker.io", "index.docker.io", "registry-1.docker.io"), RegistryRef.parse("acme/cache").loginNames());
  }

  @Test
  void aHelperThatCannotRunIsAWarningAndTheLookupSaysWhy() throws IOException {
    List<String> warnings = new java.util.ArrayList<>();
    CredentialLookup found = lookupWith("{\"credHelpers\": {\"cache.example.com\": \"cachemount-test-absent\"}}", warnings);
    assertEquals(Optional.empty(), found.credential());
    assertTrue(found.helperFailure().orElseThrow().contains("docker-credential-cachemount-test-absent"), found.toString());
    assertEquals(1, warnings.size(), "one warning, on one line: " + warnings);
    assertFalse(warnings.get(0).contains("\n"), warnings.get(0));
    assertTrue(warnings.get(0).contains("going on without credentials"), warnings.get(0));
  }

  @Test
  void anUnreadableLocationFileCostsNothingButMounts() {
    BlobLocations none = new BlobLocations(Optional.of(dir.resolve("missing/file")));
    assertEquals(List.of(), none.holders("r.io", "a", Digest.of(new byte[] {1})));
  }
}
