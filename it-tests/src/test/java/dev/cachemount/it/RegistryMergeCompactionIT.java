package dev.cachemount.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.cachemount.core.CacheSpec;
import dev.cachemount.core.Cachemount;
import dev.cachemount.core.OperationListener;
import dev.cachemount.core.OperationResult;
import dev.cachemount.core.Outcome;
import dev.cachemount.it.registry.RegistryMode;
import dev.cachemount.it.registry.TestRegistry;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.Set;
import java.util.TreeSet;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A cache that projects merge into, under a budget, in a real registry: the stored files the
 * directory lacks are taken unread, and the packs that eviction left a sixth used are compacted all
 * the same, their used chunks read back from the registry (ranges of the stored packs), not
 * referenced whole.
 */
class RegistryMergeCompactionIT {
  private static final String REPOSITORY = "ci/merged-deps";

  @TempDir Path dir;

  @Test
  void aMergeUnderABudgetCompactsThePacksOfFilesItTookUnread() throws Exception {
    Path shared = dir.resolve("shared");
    Random random = new Random(23);
    List<String> newest = new ArrayList<>();
    long newestBytes = 0;
    for (int i = 0; i < 120; i++) {
      Path file = shared.resolve(String.format("lib/a%03d.jar", i));
      Files.createDirectories(file.getParent());
      byte[] bytes = new byte[40_000];
      random.nextBytes(bytes);
      Files.write(file, bytes);
      // Every sixth file was used last: what the budget keeps, spread over every pack.
      Files.setLastModifiedTime(file, FileTime.fromMillis((i % 6 == 0 ? 1_700_000_000_000L : 1_600_000_000_000L) + i * 1000L));
      if (i % 6 == 0) {
        newest.add(shared.relativize(file).toString());
        newestBytes += bytes.length;
      }
    }
    try (TestRegistry registry = TestRegistry.start(RegistryMode.PLAIN, dir.resolve("registry"))) {
      RegistryAccess access = RegistryAccess.of(registry, dir.resolve("home"));
      Cachemount client = Cachemount.builder().home(access.home()).env(access.env()).registry(access.settings()).packTarget(1 << 20).build();
      String ref = access.ref(REPOSITORY);
      assertEquals(Outcome.PUSHED, client.push(client.parseSpec("id=deps,ref=" + ref + ",target=" + shared + ",mode=merge"),
          OperationListener.NONE).result());
      Set<String> earlierPacks = packs(registry);
      assertTrue(earlierPacks.size() >= 4, "the files spread over packs: " + earlierPacks);

      Path project = Files.createDirectories(dir.resolve("project"));
      Files.writeString(project.resolve("built.txt"), "a project's own file");
      long budget = newestBytes + Files.size(project.resolve("built.txt"));
      List<String> warnings = new ArrayList<>();
      List<String> infos = new ArrayList<>();
      registry.clearLog();
      OperationResult merged = client.push(client.parseSpec("id=deps,ref=" + ref + ",target=" + project + ",mode=merge,max-size=" + budget),
          new OperationListener() {
            @Override
            public void warning(String message) {
              warnings.add(message);
            }

            @Override
            public void info(String message) {
              infos.add(message);
            }
          });
      assertEquals(Outcome.PUSHED, merged.result(), merged.toString());
      assertEquals(100L, merged.evictedFiles());
      assertTrue(warnings.stream().noneMatch(w -> w.contains("compaction")), warnings.toString());
      assertTrue(infos.stream().anyMatch(i -> i.startsWith("compaction read ") && i.endsWith(" back from " + earlierPacks.size() + " stored packs")),
          infos.toString());
      for (String pack : earlierPacks) {
        assertTrue(registry.countRequests("GET", "/v2/" + REPOSITORY + "/blobs/" + pack) >= 1,
            "the used chunks were read from the stored pack " + pack + ":\n" + String.join("\n", registry.logLines()));
      }
      Set<String> now = packs(registry);
      now.retainAll(earlierPacks);
      assertTrue(now.isEmpty(), "no earlier pack, a sixth used, is referenced whole: " + now);

      Path restored = dir.resolve("restored");
      CacheSpec pull = client.parseSpec("id=deps,ref=" + ref + ",target=" + restored);
      assertEquals(Outcome.RESTORED, client.pull(pull, OperationListener.NONE).result());
      for (String name : newest) {
        assertEquals(-1L, Files.mismatch(shared.resolve(name), restored.resolve(name)), name);
      }
      try (var files = Files.walk(restored)) {
        assertEquals(newest.size() + 1, files.filter(Files::isRegularFile).count(), "the budget's files and the project's");
      }
      assertEquals(newest.size() + 1L, client.verify(pull, OperationListener.NONE).orElseThrow().files());
    }
  }

  /** The pack layers (all but the first, the index) of the snapshot the tag names, asked of the registry. */
  private static Set<String> packs(TestRegistry registry) throws Exception {
    HttpResponse<String> manifest = HttpClient.newHttpClient().send(
        HttpRequest.newBuilder(registry.baseUri().resolve("/v2/" + REPOSITORY + "/manifests/deps"))
            .header("Accept", "application/vnd.oci.image.manifest.v1+json").build(),
        HttpResponse.BodyHandlers.ofString());
    assertEquals(200, manifest.statusCode(), manifest.body());
    JsonNode layers = new ObjectMapper().readTree(manifest.body()).get("layers");
    assertFalse(layers.isEmpty());
    Set<String> packs = new TreeSet<>();
    for (int i = 1; i < layers.size(); i++) {
      packs.add(layers.get(i).get("digest").asText());
    }
    return packs;
  }
}
