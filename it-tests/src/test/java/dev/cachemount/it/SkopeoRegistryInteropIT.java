package dev.cachemount.it;

import static org.junit.jupiter.api.Assertions.assertEquals;

import com.fasterxml.jackson.databind.JsonNode;
import dev.cachemount.core.blob.Digest;
import dev.cachemount.it.registry.RegistryMode;
import dev.cachemount.it.registry.TestRegistry;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * skopeo, a registry client nobody here wrote, reads what cachemount pushed to a real registry
 * byte for byte, copies it to another repository and to an OCI layout directory, and cachemount
 * restores the same tree from both copies.
 */
class SkopeoRegistryInteropIT {
  static String skopeo;
  @TempDir Path dir;

  @BeforeAll
  static void requireSkopeo() {
    skopeo = Processes.require("skopeo", "apt-get install -y skopeo");
  }

  @Test
  void skopeoReadsAndCopiesWhatWasPushedAndTheCopiesRestore() throws Exception {
    try (TestRegistry registry = TestRegistry.start(RegistryMode.PLAIN, dir.resolve("registry"))) {
      RegistryAccess access = RegistryAccess.of(registry, dir.resolve("home"));
      Path tree = RandomTrees.write(dir.resolve("tree"), 11, 40, 5, 1000, 60_000);
      Cli.Result push = access.cli("push", "id=m2,ref=" + access.ref("team/cache") + ",target=" + tree);
      assertEquals(0, push.exitCode(), push.toString());
      String digest = push.json().get(0).get("digest").asText();

      String source = "docker://" + registry.host() + "/team/cache:m2";
      Processes.Result inspect = Processes.run(List.of(skopeo, "inspect", "--raw", "--tls-verify=false", source));
      assertEquals(0, inspect.exitCode(), inspect.toString());
      assertEquals(digest, Digest.of(inspect.stdout()).toString(), "skopeo sees our manifest byte for byte");

      Processes.Result copy = Processes.run(List.of(skopeo, "copy", "--src-tls-verify=false", "--dest-tls-verify=false",
          source, "docker://" + registry.host() + "/other/place:copied"));
      assertEquals(0, copy.exitCode(), copy.toString());
      Path restored = dir.resolve("restored");
      Cli.Result pull = access.cli("pull", "id=m2,ref=" + access.ref("other/place:copied") + ",target=" + restored);
      assertEquals(0, pull.exitCode(), pull.toString());
      JsonNode pulled = pull.json().get(0);
      assertEquals(digest, pulled.get("digest").asText(), "the copy keeps the digest");
      TreeCompare.assertSameTree(tree, restored);

      Cli.Result byDigest = access.cli("pull", "id=m2,ref=" + access.ref("other/place@" + digest) + ",target=" + dir.resolve("pinned"));
      assertEquals(0, byDigest.exitCode(), byDigest.toString());
      TreeCompare.assertSameTree(tree, dir.resolve("pinned"));

      Path layout = dir.resolve("layout");
      Processes.Result toLayout = Processes.run(List.of(skopeo, "copy", "--src-tls-verify=false", source, "oci:" + layout + ":m2"));
      assertEquals(0, toLayout.exitCode(), toLayout.toString());
      Cli.Result fromLayout = access.cli("pull", "id=m2,dir=" + layout + ",target=" + dir.resolve("from-layout"));
      assertEquals(0, fromLayout.exitCode(), fromLayout.toString());
      assertEquals(digest, fromLayout.json().get(0).get("digest").asText());
      TreeCompare.assertSameTree(tree, dir.resolve("from-layout"));
    }
  }
}
