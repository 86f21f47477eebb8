package dev.cachemount.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.cachemount.it.registry.RegistryMode;
import dev.cachemount.it.registry.TestRegistry;
import java.nio.file.Path;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * The registry store's acceptance, through the CLI as a user runs it, in each of the four registry
 * configurations: a real Maven repository round-trips byte-identical, and a second push of the
 * unchanged directory uploads nothing, as the registry's own access log shows.
 */
class RegistryRoundTripIT {
  /** A slice of the local repository per configuration: real jars and poms, four times over, quickly. */
  private static final long CORPUS_BYTES = 60L << 20;

  @TempDir static Path dir;
  static MavenCorpus corpus;

  @BeforeAll
  static void copyTheLocalRepository() throws Exception {
    corpus = MavenCorpus.copy(dir.resolve("m2-repository"), CORPUS_BYTES);
  }

  @ParameterizedTest
  @EnumSource(RegistryMode.class)
  void aMavenRepositoryRoundTripsAndAnUnchangedPushUploadsNothing(RegistryMode mode) throws Exception {
    Path work = dir.resolve(mode.name());
    try (TestRegistry registry = TestRegistry.start(mode, work.resolve("registry"))) {
      RegistryAccess access = RegistryAccess.of(registry, work.resolve("home"));
      String spec = "id=m2,ref=" + access.ref("ci/maven-cache") + ",target=";

      Cli.Result push = access.cli("push", spec + corpus.root());
      assertEquals(0, push.exitCode(), push.toString());
      JsonNode pushed = push.json().get(0);
      assertEquals("pushed", pushed.get("result").asText());
      assertEquals("docker://" + registry.host() + "/ci/maven-cache:m2", pushed.get("ref").asText());
      assertEquals(corpus.files(), pushed.get("files").asLong());
      assertEquals(corpus.bytes(), pushed.get("bytes").asLong());
      assertTrue(pushed.get("blobsUploaded").asLong() >= 3, pushed.toString());
      assertTrue(registry.countRequests("PUT", "/v2/ci/maven-cache/blobs/uploads/.*") >= 3, "the registry saw the uploads");

      Path restored = work.resolve("restored");
      Cli.Result pull = access.cli("pull", spec + restored);
      assertEquals(0, pull.exitCode(), pull.toString());
      assertEquals("restored", pull.json().get(0).get("result").asText());
      assertEquals(pushed.get("digest"), pull.json().get(0).get("digest"));
      TreeCompare.assertSameTree(corpus.root(), restored);

      registry.clearLog();
      Cli.Result again = access.cli("push", spec + corpus.root());
      assertEquals(0, again.exitCode(), again.toString());
      JsonNode unchanged = again.json().get(0);
      assertEquals("unchanged", unchanged.get("result").asText());
      assertEquals(0, unchanged.get("bytesTransferred").asLong());
      assertEquals(0, unchanged.get("blobsUploaded").asLong());
      assertEquals(pushed.get("digest"), unchanged.get("digest"));
      assertTrue(registry.countRequests("GET", "/v2/ci/maven-cache/manifests/m2") >= 1, "the second push did ask the registry");
      assertEquals(0, registry.countRequests("POST", ".*/blobs/uploads/.*"), "no upload started:\n" + String.join("\n", registry.logLines()));
      assertEquals(0, registry.countRequests("PATCH", ".*"), "no upload sent");
      assertEquals(0, registry.countRequests("PUT", ".*"), "neither blob nor manifest written");

      // Warm pulls: into the identical directory, then with one small file missing (fetched by range).
      long coldBytes = pull.json().get(0).get("bytesTransferred").asLong();
      Cli.Result identical = access.cli("pull", spec + restored);
      assertEquals(0, identical.exitCode(), identical.toString());
      assertEquals(corpus.files(), identical.json().get(0).get("filesUnchanged").asLong());
      assertTrue(identical.json().get(0).get("bytesTransferred").asLong() < coldBytes / 50, identical.toString());
      Path pom;
      try (java.util.stream.Stream<Path> walk = java.nio.file.Files.walk(restored)) {
        pom = walk.filter(p -> p.toString().endsWith(".pom")).sorted().findFirst().orElseThrow();
      }
      java.nio.file.Files.delete(pom);
      Cli.Result warm = access.cli("pull", spec + restored);
      assertEquals(0, warm.exitCode(), warm.toString());
      assertEquals(corpus.files() - 1, warm.json().get(0).get("filesUnchanged").asLong());
      assertTrue(warm.json().get(0).get("bytesTransferred").asLong() < coldBytes / 20,
          "one pom costs a range of one pack, not the pack: " + warm.json().get(0).get("bytesTransferred") + " of " + coldBytes);
      TreeCompare.assertSameTree(corpus.root(), restored);
    }
  }

  /**
   * A CI job pulls its cache, builds, and pushes: the push's parent is the snapshot the pull fetched,
   * and it reads that index from this machine instead of the registry. A machine that never saw the
   * index fetches it.
   */
  @org.junit.jupiter.api.Test
  void aPushAfterAPullOnTheSameMachineDoesNotFetchTheParentsIndexAgain() throws Exception {
    Path work = dir.resolve("index-cache");
    try (TestRegistry registry = TestRegistry.start(RegistryMode.PLAIN, work.resolve("registry"))) {
      RegistryAccess first = RegistryAccess.of(registry, work.resolve("first-home"));
      RegistryAccess ci = RegistryAccess.of(registry, work.resolve("ci-home"));
      RegistryAccess fresh = RegistryAccess.of(registry, work.resolve("fresh-home"));
      String spec = "id=m2,ref=" + ci.ref("ci/index-cache") + ",target=";
      Path tree = RandomTrees.write(work.resolve("tree"), 11, 300, 20, 1_000, 40_000);
      assertEquals(0, first.cli("push", spec + tree).exitCode());

      Path restored = work.resolve("restored");
      registry.clearLog();
      Cli.Result pull = ci.cli("pull", spec + restored);
      assertEquals(0, pull.exitCode(), pull.toString());
      String index = indexDigest(registry, "ci/index-cache", "m2");
      assertEquals(1, registry.countRequests("GET", "/v2/ci/index-cache/blobs/" + index), "the pull fetched the index");

      java.nio.file.Files.writeString(restored.resolve("built-by-this-job.txt"), "new");
      registry.clearLog();
      Cli.Result push = ci.cli("push", spec + restored);
      assertEquals("pushed", push.json().get(0).get("result").asText(), push.toString());
      assertEquals(0, registry.countRequests("GET", "/v2/ci/index-cache/blobs/" + index),
          "the parent's index came from this machine:\n" + String.join("\n", registry.logLines()));

      String pushedIndex = indexDigest(registry, "ci/index-cache", "m2");
      java.nio.file.Files.writeString(restored.resolve("built-by-another-job.txt"), "newer");
      registry.clearLog();
      assertEquals(0, fresh.cli("push", spec + restored).exitCode());
      assertEquals(1, registry.countRequests("GET", "/v2/ci/index-cache/blobs/" + pushedIndex), "a machine without it fetches it");
      Path again = work.resolve("again");
      assertEquals(0, ci.cli("pull", spec + again).exitCode());
      TreeCompare.assertSameTree(restored, again);
    }
  }

  /** The digest of the index (the first layer) of the snapshot a tag names, asked of the registry. */
  private static String indexDigest(TestRegistry registry, String repository, String tag) throws Exception {
    java.net.http.HttpResponse<String> manifest = java.net.http.HttpClient.newHttpClient().send(
        java.net.http.HttpRequest.newBuilder(registry.baseUri().resolve("/v2/" + repository + "/manifests/" + tag))
            .header("Accept", "application/vnd.oci.image.manifest.v1+json").build(),
        java.net.http.HttpResponse.BodyHandlers.ofString());
    assertEquals(200, manifest.statusCode(), manifest.body());
    return new com.fasterxml.jackson.databind.ObjectMapper().readTree(manifest.body()).get("layers").get(0).get("digest").asText();
  }
}
