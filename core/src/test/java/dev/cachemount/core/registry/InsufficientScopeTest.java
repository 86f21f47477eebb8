package dev.cachemount.core.registry;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Optional;
import org.junit.jupiter.api.Test;

/** Which refusals say the credentials lack access, and which still say to log in (review of 5a684c3). */
class InsufficientScopeTest {
  private static Exception unauthorized(String... challengeValues) {
    com.google.api.client.http.HttpHeaders challenge = new com.google.api.client.http.HttpHeaders();
    challenge.set("WWW-Authenticate", java.util.List.of(challengeValues));
    return new com.google.cloud.tools.jib.api.RegistryUnauthorizedException("registry-1.docker.io", "team/cache",
        com.google.cloud.tools.jib.http.TestResponses.of(new com.google.api.client.http.HttpResponseException.Builder(401, "Unauthorized", challenge).build()));
  }

  /**
   * No credentials at all (no login yet): Docker Hub's anonymous token gets 401 insufficient_scope on a
   * push, and on a pull of a private repository; logging in is still the advice.
   */
  @org.junit.jupiter.params.ParameterizedTest
  @org.junit.jupiter.params.provider.CsvSource({"upload of blob sha256:abc,'pull,push'", "fetch of manifest main,pull"})
  void anAnonymousRefusalForScopeStillSaysLogIn(String operation, String actions) {
    RegistryRef ref = RegistryRef.parse("registry-1.docker.io/team/cache:main");
    Exception e = unauthorized("Bearer realm=\"https://auth.docker.io/token\",service=\"registry.docker.io\",scope=\"repository:team/cache:"
        + actions + "\",error=\"insufficient_scope\"");
    String m = RegistryFailures.toException(ref, operation, e, 1, new RegistryFailures.CredentialsUsed(Optional.empty(), Optional.empty(), false))
        .getMessage();
    assertTrue(m.contains("docker login"), m);
  }

  /** A registry that offers Basic beside Bearer sends two challenges; the scope error may be in the second. */
  @Test
  void theScopeErrorIsFoundInAnyChallenge() {
    RegistryRef ref = RegistryRef.parse("registry.example.com/team/cache:main");
    Exception e = unauthorized("Basic realm=\"registry\"",
        "Bearer realm=\"https://registry.example.com/token\",service=\"registry\",scope=\"repository:team/cache:pull,push\",error=\"insufficient_scope\"");
    String m = RegistryFailures.toException(ref, "upload of blob sha256:abc", e, 1,
        new RegistryFailures.CredentialsUsed(Optional.of("~/.docker/config.json"), Optional.empty(), false)).getMessage();
    assertTrue(m.contains("they lack push access to team/cache (insufficient_scope)") && !m.contains("docker login"), m);
  }

  @Test
  void invalidTokenIsNotInsufficientScope() {
    RegistryRef ref = RegistryRef.parse("registry-1.docker.io/team/cache:main");
    Exception e = unauthorized("Bearer realm=\"https://auth.docker.io/token\",service=\"registry.docker.io\",error=\"invalid_token\"");
    String m = RegistryFailures.toException(ref, "upload of blob sha256:abc", e, 1,
        new RegistryFailures.CredentialsUsed(Optional.of("~/.docker/config.json"), Optional.empty(), false)).getMessage();
    assertTrue(!m.contains("insufficient_scope") && m.contains("docker login"), m);
  }
}
