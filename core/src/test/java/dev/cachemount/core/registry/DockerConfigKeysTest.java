package dev.cachemount.core.registry;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.cachemount.core.OperationListener;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The keys of {@code ~/.docker/config.json} that name a registry: as Docker does, with or without
 * {@code https://} or {@code http://} and with or without a path, for the same host and port only.
 */
class DockerConfigKeysTest {
  @TempDir Path dir;

  private Optional<RegistryCredential> resolve(String ref) {
    return RegistryCredentials.resolve(RegistryRef.parse(ref), RegistrySettings.DEFAULT, Map.of("DOCKER_CONFIG", dir.toString()),
        dir.resolve("home"), new OperationListener() {});
  }

  private void config(String... keys) throws IOException {
    StringBuilder json = new StringBuilder("{\"auths\": {");
    for (int i = 0; i < keys.length; i++) {
      String auth = Base64.getEncoder().encodeToString(("user" + i + ":secret").getBytes(StandardCharsets.UTF_8));
      json.append(i > 0 ? ", " : "").append('"').append(keys[i]).append("\": {\"auth\": \"").append(auth).append("\"}");
    }
    Files.writeString(dir.resolve("config.json"), json.append("}}").toString());
  }

  @Test
  void keysWithAPlainHttpSchemeNameTheirRegistry() throws IOException {
    config("http://127.0.0.1:5124", "http://cache.example.com/v2/");
    assertEquals("user0", resolve("127.0.0.1:5124/ci/cache").map(RegistryCredential::username).orElse("<none>"));
    assertEquals("user1", resolve("cache.example.com/team/cache").map(RegistryCredential::username).orElse("<none>"));
    assertEquals(Optional.empty(), resolve("127.0.0.1:5125/ci/cache"), "another port");
  }

  @Test
  void aPlainHttpKeyDoesNotHideABareOne() throws IOException {
    config("http://127.0.0.1:5124", "127.0.0.1:5124");
    assertEquals("user1", resolve("127.0.0.1:5124/ci/cache").map(RegistryCredential::username).orElse("<none>"));
  }

  @Test
  void theSpellingsJibCoreMatchesStillWork() throws IOException {
    config("https://127.0.0.1:5124", "cache.example.com", "https://other.example.com/v2/");
    for (String ref : List.of("127.0.0.1:5124/ci/cache", "cache.example.com/team/cache", "other.example.com/x")) {
      assertEquals("secret", resolve(ref).map(RegistryCredential::password).orElse("<none>"), ref);
    }
  }

  /**
   * An {@code auth} that is not base64, or whose text has no ':' (an empty one, which Docker reads as
   * no credentials), made jib-core throw from inside the lookup: the command died with "unexpected
   * error (please report it)" and a stack trace, even against a registry that needs no credentials.
   */
  @Test
  void anAuthThatIsNotBase64OfUserColonPasswordIsAWarningNotACrash() throws IOException {
    for (String auth : List.of("!!not-base64", Base64.getEncoder().encodeToString("nocolon".getBytes(StandardCharsets.UTF_8)), "")) {
      Files.writeString(dir.resolve("config.json"), "{\"auths\": {\"127.0.0.1:5124\": {\"auth\": \"" + auth + "\"}}}");
      List<String> warnings = new java.util.ArrayList<>();
      CredentialLookup lookup = RegistryCredentials.lookup(RegistryRef.parse("127.0.0.1:5124/ci/cache"), RegistrySettings.DEFAULT,
          Map.of("DOCKER_CONFIG", dir.toString()), dir.resolve("home"), new OperationListener() {
            @Override
            public void warning(String message) {
              warnings.add(message);
            }
          });
      assertEquals(Optional.empty(), lookup.credential(), auth);
      String failure = lookup.helperFailure().orElse("<none>");
      assertTrue(failure.contains("auths entry for 127.0.0.1:5124") && failure.contains("not the base64 of USER:PASSWORD"), failure);
      assertEquals(1, warnings.size(), warnings.toString());
      assertTrue(warnings.get(0).contains("going on without credentials"), warnings.get(0));
      assertFalse(warnings.get(0).contains("nocolon") || warnings.get(0).contains("not-base64"), "the value is not shown: " + warnings.get(0));
    }
  }
}
