package dev.cachemount.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.cachemount.it.registry.RegistryMode;
import dev.cachemount.it.registry.TestRegistry;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * {@code cachemount prune} against a real registry, through the CLI, checked with skopeo: the older
 * keys of a keyed cache are deleted (with a token that grants the delete action where the registry
 * hands out tokens), the kept ones and the key in use still restore, a manifest that a tag outside the
 * prune names too is kept, and a registry that does not allow deletes is a clear failure that removes nothing.
 */
class PruneIT {
  private static final String REPOSITORY = "team/cache";
  private static final ObjectMapper JSON = new ObjectMapper();
  static String skopeo;

  @TempDir Path dir;

  @BeforeAll
  static void tools() {
    skopeo = Processes.require("skopeo", "apt-get install -y skopeo");
  }

  private static String spec(RegistryAccess access, String id, Path target) {
    return "id=" + id + ",ref=" + access.ref(REPOSITORY) + ",fallback=m2-" + (target == null ? "" : ",target=" + target);
  }

  private static Cli.Result cli(RegistryAccess access, List<String> args) throws Exception {
    return Cli.run(Duration.ofMinutes(2), access.env(), new byte[0], args.toArray(String[]::new));
  }

  /** Pushes a small tree of its own as each id in turn, each a second after the one before; returns the trees. */
  private Map<String, Path> pushKeys(RegistryAccess access, String... ids) throws Exception {
    Map<String, Path> trees = new HashMap<>();
    long seed = 1;
    for (String id : ids) {
      Path tree = RandomTrees.write(dir.resolve("tree-" + id), seed++, 12, 3, 2_000, 8_000);
      Cli.Result pushed = cli(access, access.args("push", spec(access, id, tree)));
      assertEquals(0, pushed.exitCode(), pushed.toString());
      trees.put(id, tree);
      Thread.sleep(20); // each later than the one before, as CI runs are
    }
    return trees;
  }

  /** {@code skopeo SUBCOMMAND --tls-verify=false [--creds U:P] ARGS}. */
  private List<String> skopeo(RegistryAccess access, String subcommand, String... args) {
    List<String> command = new ArrayList<>(List.of(skopeo, subcommand, "--tls-verify=false"));
    if (access.mode() == RegistryMode.TOKEN) {
      command.add("--creds=" + access.registry().username() + ":" + access.registry().password());
    }
    command.addAll(List.of(args));
    return command;
  }

  private Set<String> tags(RegistryAccess access) throws Exception {
    Processes.Result listed = Processes.run(skopeo(access, "list-tags", "docker://" + access.ref(REPOSITORY)));
    assertEquals(0, listed.exitCode(), listed.toString());
    Set<String> tags = new TreeSet<>();
    JSON.readTree(listed.out()).get("Tags").forEach(t -> tags.add(t.asText()));
    return tags;
  }

  private int inspect(RegistryAccess access, String tag) throws Exception {
    return Processes.run(skopeo(access, "inspect", "--raw", "docker://" + access.ref(REPOSITORY) + ":" + tag)).exitCode();
  }

  @ParameterizedTest
  @EnumSource(value = RegistryMode.class, names = {"PLAIN", "TOKEN"})
  void theOlderKeysAreDeletedAndWhatIsKeptStillRestores(RegistryMode mode) throws Exception {
    try (TestRegistry registry = TestRegistry.start(mode, dir.resolve("registry"))) {
      RegistryAccess access = RegistryAccess.of(registry, dir.resolve("home"));
      Map<String, Path> trees = pushKeys(access, "m2-1", "m2-2", "m2-3", "m2-4", "gradle-1");

      List<String> args = new ArrayList<>(access.args("prune", spec(access, "m2-2", null)));
      args.addAll(List.of("--keep-last", "1"));
      Cli.Result pruned = cli(access, args);

      assertEquals(0, pruned.exitCode(), pruned.toString());
      JsonNode result = JSON.readTree(pruned.out());
      assertEquals("pruned", result.get("result").asText(), pruned.toString());
      Map<String, String> fates = new HashMap<>();
      result.get("prune").get("tags").forEach(t -> fates.put(t.get("tag").asText(), t.get("fate").asText()));
      assertEquals(Map.of("m2-4", "KEPT", "m2-3", "REMOVED", "m2-1", "REMOVED"), fates, pruned.toString());
      assertEquals(Set.of("m2-2", "m2-4", "gradle-1"), tags(access), "skopeo list-tags after the prune");
      assertNotEquals(0, inspect(access, "m2-1"), "skopeo finds no m2-1");
      assertEquals(0, inspect(access, "m2-4"));
      if (mode == RegistryMode.TOKEN) {
        assertTrue(registry.issuer().scopesRequested().contains("repository:" + REPOSITORY + ":delete"),
            "a token for the delete action was asked for: " + registry.issuer().scopesRequested());
      }

      for (String id : List.of("m2-2", "m2-4")) {
        Path out = dir.resolve("out-" + id);
        Cli.Result pulled = cli(access, access.args("pull", spec(access, id, out)));
        assertEquals(0, pulled.exitCode(), pulled.toString());
        TreeCompare.assertSameTree(trees.get(id), out);
      }
    }
  }

  /**
   * A manifest is deleted with every tag that names it, and distribution 2.8 deletes no tag alone:
   * a key whose manifest a tag outside the prune names too (a copy made with skopeo) is left, and says why.
   */
  @Test
  void aManifestATagOutsideThePruneNamesTooIsLeft() throws Exception {
    try (TestRegistry registry = TestRegistry.start(RegistryMode.PLAIN, dir.resolve("registry"))) {
      RegistryAccess access = RegistryAccess.of(registry, dir.resolve("home"));
      pushKeys(access, "m2-1", "m2-2", "m2-3");
      String base = "docker://" + access.ref(REPOSITORY) + ":";
      Processes.Result copied = Processes.run(List.of(skopeo, "copy", "--src-tls-verify=false", "--dest-tls-verify=false",
          base + "m2-1", base + "pinned-1"));
      assertEquals(0, copied.exitCode(), copied.toString());

      List<String> args = new ArrayList<>(access.args("prune", spec(access, "m2-3", null)));
      args.addAll(List.of("--keep-last", "0"));
      Cli.Result pruned = cli(access, args);

      assertEquals(0, pruned.exitCode(), pruned.toString());
      Map<String, JsonNode> tags = new HashMap<>();
      JSON.readTree(pruned.out()).get("prune").get("tags").forEach(t -> tags.put(t.get("tag").asText(), t));
      assertEquals("LEFT", tags.get("m2-1").get("fate").asText(), pruned.toString());
      assertTrue(tags.get("m2-1").get("why").asText().contains("another tag names the same manifest"), pruned.toString());
      assertEquals("REMOVED", tags.get("m2-2").get("fate").asText(), pruned.toString());
      assertEquals(Set.of("m2-1", "m2-3", "pinned-1"), tags(access));
      assertEquals(0, inspect(access, "pinned-1"));
    }
  }

  /**
   * Credentials that may push but not delete (the token service leaves the delete action out): exit 3,
   * a message that names the right they lack, and every tag still there.
   */
  @Test
  void credentialsThatMayNotDeleteAreRefusedAndNothingIsRemoved() throws Exception {
    try (TestRegistry registry = TestRegistry.start(RegistryMode.TOKEN, dir.resolve("registry"))) {
      RegistryAccess access = RegistryAccess.of(registry, dir.resolve("home"));
      pushKeys(access, "m2-1", "m2-2");
      registry.issuer().withhold("delete");

      Cli.Result pruned = cli(access, List.of("prune", "--keep-last", "0", "--cache-id", spec(access, "m2-2", null)));

      assertEquals(3, pruned.exitCode(), pruned.toString());
      assertTrue(pruned.err().contains("lack the right to delete manifests of " + REPOSITORY), pruned.toString());
      assertEquals(Set.of("m2-1", "m2-2"), tags(access));
    }
  }

  /**
   * Credentials that are an identity token (the user {@code <token>}, as some registries' logins
   * store): jib-core gets its pull and push tokens with an OAuth2 refresh form, and so does the
   * prune's delete token, which the token service refuses to hand out for HTTP basic with them.
   */
  @Test
  void anIdentityTokenGetsTheDeleteTokenToo() throws Exception {
    try (TestRegistry registry = TestRegistry.start(RegistryMode.TOKEN, dir.resolve("registry"))) {
      registry.issuer().acceptRefreshToken("identity-token-of-this-test");
      RegistryAccess access = RegistryAccess.of(registry, dir.resolve("home"));
      Map<String, String> env = new HashMap<>(access.env());
      env.put("CACHEMOUNT_REGISTRY_USER", "<token>");
      env.put("CACHEMOUNT_REGISTRY_PASSWORD", "identity-token-of-this-test");
      for (String id : List.of("m2-1", "m2-2")) {
        Path tree = RandomTrees.write(dir.resolve("tree-" + id), id.hashCode(), 6, 2, 1_000, 4_000);
        Cli.Result pushed = Cli.run(Duration.ofMinutes(2), env, new byte[0], access.args("push", spec(access, id, tree)).toArray(String[]::new));
        assertEquals(0, pushed.exitCode(), pushed.toString());
      }

      Cli.Result pruned = Cli.run(Duration.ofMinutes(2), env, new byte[0], "prune", "--keep-last", "0", "--cache-id", spec(access, "m2-2", null));

      assertEquals(0, pruned.exitCode(), pruned.toString());
      assertTrue(pruned.out().contains("removed 1 of 1 snapshot"), pruned.toString());
      assertEquals(Set.of("m2-2"), tags(access));
    }
  }

  /** Deletes turned off, as most registries run: exit 1, a message that says what to do, and every tag still there. */
  @Test
  void aRegistryThatAllowsNoDeletesIsAClearFailureThatRemovesNothing() throws Exception {
    try (TestRegistry registry = TestRegistry.start(RegistryMode.PLAIN, dir.resolve("registry"))) {
      RegistryAccess access = RegistryAccess.of(registry, dir.resolve("home"));
      pushKeys(access, "m2-1", "m2-2", "m2-3");
      registry.restartAllowingDeletes(false);

      Cli.Result pruned = cli(access, List.of("prune", "--keep-last", "0", "--cache-id", spec(access, "m2-3", null)));

      assertEquals(1, pruned.exitCode(), pruned.toString());
      assertTrue(pruned.err().contains("does not let manifests be deleted") && pruned.err().contains("storage.delete.enabled"),
          pruned.toString());
      assertEquals(Set.of("m2-1", "m2-2", "m2-3"), tags(access));
    }
  }
}
