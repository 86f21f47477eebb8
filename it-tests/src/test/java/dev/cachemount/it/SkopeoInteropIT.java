package dev.cachemount.it;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.cachemount.core.blob.Digest;
import dev.cachemount.core.oci.Json;
import dev.cachemount.core.testing.TestTrees;
import dev.cachemount.core.testing.TreeListing;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * skopeo, a client nobody here wrote, reads what cachemount writes to an OCI layout directory, and
 * cachemount restores the same tree from skopeo's copy.
 */
class SkopeoInteropIT {
  static String skopeo;
  @TempDir Path dir;

  @BeforeAll
  static void requireSkopeo() {
    skopeo = Processes.require("skopeo", "apt-get install -y skopeo");
  }

  @Test
  void skopeoInspectsAndCopiesASnapshotAndTheCopyRestores() throws Exception {
    Path source = dir.resolve("source");
    TestTrees.mixed(source, 21);
    Path store = dir.resolve("store");
    Cli.Result push = Cli.run("push", "--json", "--cache-id", "id=m2,dir=" + store + ",target=" + source);
    assertEquals(0, push.exitCode(), push.toString());
    JsonNode pushed = push.json().get(0);
    Digest manifestDigest = Digest.parse(pushed.get("digest").asText());
    byte[] manifest = Files.readAllBytes(store.resolve("blobs/sha256/" + manifestDigest.hex()));

    Processes.Result inspect = Processes.run(List.of(skopeo, "inspect", "--raw", "oci:" + store + ":m2"));
    assertEquals(0, inspect.exitCode(), inspect.toString());
    assertArrayEquals(manifest, inspect.stdout(), "skopeo prints our manifest byte for byte");
    JsonNode parsed = Json.mapper().readTree(inspect.stdout());
    assertEquals("application/vnd.cachemount.snapshot.v1", parsed.get("artifactType").asText());
    assertEquals("application/vnd.cachemount.snapshot.config.v1+json", parsed.get("config").get("mediaType").asText());
    assertEquals("application/vnd.cachemount.index.v1+zstd", parsed.get("layers").get(0).get("mediaType").asText());

    Path copy = dir.resolve("copy");
    Processes.Result copied = Processes.run(dir, Duration.ofMinutes(5), List.of(skopeo, "copy", "oci:" + store + ":m2", "oci:" + copy + ":m2"));
    assertEquals(0, copied.exitCode(), copied.toString());
    Processes.Result inspectCopy = Processes.run(List.of(skopeo, "inspect", "--raw", "oci:" + copy + ":m2"));
    assertArrayEquals(manifest, inspectCopy.stdout(), "skopeo copies the manifest unchanged, so the digest survives");

    Path restored = dir.resolve("restored");
    Cli.Result pull = Cli.run("pull", "--json", "--cache-id", "id=m2,dir=" + copy + ",target=" + restored);
    assertEquals(0, pull.exitCode(), pull.toString());
    assertEquals("restored", pull.json().get(0).get("result").asText());
    assertEquals(manifestDigest.toString(), pull.json().get(0).get("digest").asText());
    assertEquals(TreeListing.of(source), TreeListing.of(restored));
  }

  @Test
  void cachemountPushesIntoALayoutThatSkopeoWroteAndBothTagsSurvive() throws Exception {
    Path source = dir.resolve("source");
    TestTrees.smallFiles(source, 100, 4);
    Path store = dir.resolve("store");
    assertEquals(0, Cli.run("push", "--cache-id", "id=first,dir=" + store + ",target=" + source).exitCode());
    Path shared = dir.resolve("shared");
    assertEquals(0, Processes.run(List.of(skopeo, "copy", "oci:" + store + ":first", "oci:" + shared + ":from-skopeo")).exitCode());
    Files.writeString(source.resolve("added"), "more");
    Cli.Result push = Cli.run("push", "--cache-id", "id=second,dir=" + shared + ",target=" + source);
    assertEquals(0, push.exitCode(), push.toString());
    assertEquals(0, Processes.run(List.of(skopeo, "inspect", "--raw", "oci:" + shared + ":from-skopeo")).exitCode());
    assertEquals(0, Processes.run(List.of(skopeo, "inspect", "--raw", "oci:" + shared + ":second")).exitCode());
    Path restored = dir.resolve("restored");
    assertEquals(0, Cli.run("pull", "--cache-id", "id=from-skopeo,dir=" + shared + ",target=" + restored).exitCode());
    assertTrue(Files.exists(restored.resolve(source.relativize(Files.list(source).sorted().findFirst().orElseThrow()))));
  }
}
