package dev.cachemount.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.cachemount.it.registry.RegistryMode;
import dev.cachemount.it.registry.TestRegistry;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A registry on the IPv6 loopback, named as Docker writes it ({@code [::1]:PORT/...}), through the
 * CLI: plain HTTP without a flag, as on 127.0.0.1, and credentials from a Docker {@code config.json}
 * keyed by the bracketed host. Needs the {@code docker-registry} binary ({@code .ci/run} installs it).
 */
class RegistryIpv6IT {
  @TempDir Path dir;

  @Test
  void aPlainHttpRegistryOnIpv6LoopbackRoundTripsAndAnUnchangedPushUploadsNothing() throws Exception {
    try (TestRegistry registry = TestRegistry.startOnIpv6Loopback(RegistryMode.PLAIN, dir.resolve("registry"))) {
      assertTrue(registry.host().startsWith("[::1]:"), registry.host());
      RegistryAccess access = RegistryAccess.of(registry, dir.resolve("home"));
      Path tree = RandomTrees.write(dir.resolve("tree"), 6, 40, 4, 100, 40_000);
      String spec = "id=v6,ref=" + access.ref("ci/cache") + ",target=";

      Cli.Result push = access.cli("push", spec + tree);
      assertEquals(0, push.exitCode(), push.toString());
      assertEquals("docker://" + registry.host() + "/ci/cache:v6", push.json().get(0).get("ref").asText());
      assertTrue(registry.countRequests("PUT", "/v2/ci/cache/manifests/v6") == 1, "the registry on [::1] took the manifest");

      Cli.Result pull = access.cli("pull", spec + dir.resolve("out"));
      assertEquals(0, pull.exitCode(), pull.toString());
      TreeCompare.assertSameTree(tree, dir.resolve("out"));

      registry.clearLog();
      Cli.Result again = access.cli("push", spec + tree);
      assertEquals(0, again.exitCode(), again.toString());
      assertEquals("unchanged", again.json().get(0).get("result").asText());
      assertEquals(0, registry.countRequests("PUT", ".*"), "nothing written");
    }
  }

  @Test
  void tokenAuthWithCredentialsFromDockerConfigForTheBracketedHost() throws Exception {
    try (TestRegistry registry = TestRegistry.startOnIpv6Loopback(RegistryMode.TOKEN, dir.resolve("registry"))) {
      RegistryAccess access = RegistryAccess.of(registry, dir.resolve("home"));
      Path tree = RandomTrees.write(dir.resolve("tree"), 7, 10, 2, 100, 10_000);
      // docker login [::1]:PORT writes config.json like this
      String auth = java.util.Base64.getEncoder().encodeToString((registry.username() + ":" + registry.password()).getBytes(StandardCharsets.UTF_8));
      Files.writeString(access.home().resolve("docker/config.json"), "{\"auths\":{\"" + registry.host() + "\":{\"auth\":\"" + auth + "\"}}}");
      Map<String, String> env = new HashMap<>(access.env());
      env.remove("CACHEMOUNT_REGISTRY_USER");
      env.remove("CACHEMOUNT_REGISTRY_PASSWORD");
      String spec = "id=v6,ref=" + access.ref("team/cache") + ",target=";

      Cli.Result push = Cli.run(env, new byte[0], access.args("push", spec + tree).toArray(String[]::new));
      assertEquals(0, push.exitCode(), push.toString());
      Cli.Result pull = Cli.run(env, new byte[0], access.args("pull", spec + dir.resolve("out")).toArray(String[]::new));
      assertEquals(0, pull.exitCode(), pull.toString());
      TreeCompare.assertSameTree(tree, dir.resolve("out"));

      Files.delete(access.home().resolve("docker/config.json"));
      Cli.Result anonymous = Cli.run(env, new byte[0], access.args("pull", spec + dir.resolve("out2")).toArray(String[]::new));
      assertEquals(3, anonymous.exitCode(), "without the config.json entry the pull is refused: " + anonymous);
    }
  }
}
