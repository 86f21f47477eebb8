package dev.cachemount.core.registry;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Optional;
import org.junit.jupiter.api.Test;

/** The challenge of a 401 that wants a token with more actions than jib-core asked for (prune's delete). */
class BearerChallengeTest {
  @Test
  void distributionsChallengeForDeleteGivesRealmServiceAndScope() {
    BearerChallenge c = BearerChallenge.parse("Bearer realm=\"http://127.0.0.1:5001/token\",service=\"test-registry\","
        + "scope=\"repository:team/cache:delete\",error=\"insufficient_scope\"").orElseThrow();
    assertEquals("http://127.0.0.1:5001/token", c.realm());
    assertEquals(Optional.of("test-registry"), c.service());
    assertEquals(Optional.of("repository:team/cache:delete"), c.scope());
    assertEquals("http://127.0.0.1:5001/token?service=test-registry&scope=repository%3Ateam%2Fcache%3Adelete",
        c.tokenUrl("repository:other:delete"));
  }

  /** Commas inside quotes belong to the value (a scope of several actions); the scheme's case does not matter; escapes are undone. */
  @Test
  void quotedValuesKeepTheirCommasAndEscapes() {
    BearerChallenge c = BearerChallenge.parse("bearer  realm=\"https://auth.example/token?x=1\", scope=\"repository:a/b:pull,push,delete\","
        + " service=\"reg \\\"one\\\"\"").orElseThrow();
    assertEquals("https://auth.example/token?x=1", c.realm());
    assertEquals(Optional.of("repository:a/b:pull,push,delete"), c.scope());
    assertEquals(Optional.of("reg \"one\""), c.service());
    assertEquals("https://auth.example/token?x=1&service=reg+%22one%22&scope=repository%3Aa%2Fb%3Apull%2Cpush%2Cdelete", c.tokenUrl("unused"));
  }

  /** No scope in the challenge: the caller's; several scopes, space-separated: one parameter each, as Docker's client sends them. */
  @Test
  void theFallbackScopeAndSeveralScopes() {
    BearerChallenge none = BearerChallenge.parse("Bearer realm=https://auth.example/token").orElseThrow();
    assertEquals(Optional.empty(), none.service());
    assertEquals("https://auth.example/token?scope=repository%3Ar%3Adelete", none.tokenUrl("repository:r:delete"));
    BearerChallenge two = BearerChallenge.parse("Bearer realm=\"https://a/t\",scope=\"repository:r:pull repository:s:delete\"").orElseThrow();
    assertEquals("https://a/t?scope=repository%3Ar%3Apull&scope=repository%3As%3Adelete", two.tokenUrl("x"));
  }

  /** An identity token goes as an OAuth2 refresh token in a POSTed form, with the challenge's service and scope, encoded. */
  @Test
  void anIdentityTokenIsSentAsAnOAuth2RefreshForm() {
    BearerChallenge c = BearerChallenge.parse("Bearer realm=\"https://auth.example/oauth2/token\",service=\"reg.example\","
        + "scope=\"repository:team/cache:delete\"").orElseThrow();
    String form = c.refreshForm("unused", "a+b/c=");
    assertTrue(form.startsWith("service=reg.example&scope=repository%3Ateam%2Fcache%3Adelete&client_id=cachemount%2F"), form);
    assertTrue(form.endsWith("&grant_type=refresh_token&refresh_token=a%2Bb%2Fc%3D"), form);
  }

  @Test
  void whatIsNotABearerChallengeWithARealmIsNone() {
    assertTrue(BearerChallenge.parse(null).isEmpty());
    assertTrue(BearerChallenge.parse("Basic realm=\"registry\"").isEmpty());
    assertTrue(BearerChallenge.parse("Bearer service=\"x\"").isEmpty());
    assertTrue(BearerChallenge.parse("Bearer realm=\"\"").isEmpty());
    assertTrue(BearerChallenge.parse("Bearerrealm=\"x\"").isEmpty());
  }
}
