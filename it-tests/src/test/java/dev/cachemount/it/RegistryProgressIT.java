package dev.cachemount.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.cachemount.core.Cachemount;
import dev.cachemount.core.CacheSpec;
import dev.cachemount.core.OperationListener;
import dev.cachemount.core.OperationResult;
import dev.cachemount.core.Outcome;
import dev.cachemount.core.Progress;
import dev.cachemount.core.Verification;
import dev.cachemount.it.registry.RegistryMode;
import dev.cachemount.it.registry.TestRegistry;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.time.Instant;
import java.util.EnumMap;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * What push, pull and verify count in their {@link Progress} through a real registry: the bytes
 * stored are those the result reports but the manifest's (written last, not through the uploader),
 * the bytes fetched are exactly the result's (byte ranges of packs and the gaps between them
 * included), and each step's count reaches its total. And {@code ls}, which reads no pack.
 */
class RegistryProgressIT {
  private static final String REPOSITORY = "team/progress";

  @TempDir Path dir;

  /** The progress of one operation, and its last state in each step, looked at as the operation reports and when it ends. */
  private static final class Watching implements OperationListener {
    final Map<Progress.Step, Progress.Now> lastOfStep = new EnumMap<>(Progress.Step.class);
    Progress progress;

    @Override
    public synchronized void started(Progress p) {
      progress = p;
    }

    @Override
    public synchronized void info(String message) {
      look();
    }

    @Override
    public synchronized void ended(Progress p) {
      look();
    }

    private void look() {
      if (progress != null) {
        Progress.Now now = progress.now();
        lastOfStep.put(now.step(), now);
      }
    }
  }

  private static long manifestSize(TestRegistry registry, String tag) throws Exception {
    HttpResponse<byte[]> response = HttpClient.newHttpClient().send(HttpRequest.newBuilder(
        URI.create("http://" + registry.host() + "/v2/" + REPOSITORY + "/manifests/" + tag))
        .header("Accept", "application/vnd.oci.image.manifest.v1+json").build(), HttpResponse.BodyHandlers.ofByteArray());
    assertEquals(200, response.statusCode());
    return response.body().length;
  }

  @Test
  void theCountsOfAPushAPullAndAVerifyAreWhatTheyMoved() throws Exception {
    Path tree = RandomTrees.write(dir.resolve("tree"), 11, 60, 4, 20_000, 400_000);
    // An hour old: files written within 2 s of a push's scan are read again by the next push (its parent cannot vouch for them).
    try (var files = Files.walk(tree)) {
      for (Path f : files.filter(Files::isRegularFile).toList()) {
        Files.setLastModifiedTime(f, FileTime.from(Instant.now().minusSeconds(3600)));
      }
    }
    try (TestRegistry registry = TestRegistry.start(RegistryMode.PLAIN, dir.resolve("registry"))) {
      RegistryAccess access = RegistryAccess.of(registry, dir.resolve("home"));
      Cachemount client = Cachemount.builder().home(access.home()).env(access.env()).registry(access.settings()).packTarget(1 << 20).build();
      CacheSpec spec = client.parseSpec("id=c,ref=" + access.ref(REPOSITORY) + ",target=" + tree);

      Watching push = new Watching();
      OperationResult pushed = client.push(spec, push);
      assertEquals(Outcome.PUSHED, pushed.result());
      assertEquals(pushed.bytesTransferred() - manifestSize(registry, "c"), push.progress.now().bytesTransferred(), pushed.toString());
      Progress.Now reading = push.lastOfStep.get(Progress.Step.READING);
      assertEquals(pushed.bytes(), reading.bytesTotal());
      assertEquals(reading.bytesTotal(), reading.bytesDone());
      assertEquals(pushed.files(), reading.filesDone());

      Path restored = dir.resolve("restored");
      Watching pull = new Watching();
      OperationResult pulled = client.pull(spec.withTarget(restored), pull);
      TreeCompare.assertSameTree(tree, restored);
      Progress.Now restoring = pull.lastOfStep.get(Progress.Step.RESTORING);
      assertEquals(pulled.bytesTransferred(), restoring.bytesTransferred(), "every byte fetched, ranges and gaps: " + pulled);
      assertEquals(pulled.bytes(), restoring.bytesTotal());
      assertEquals(restoring.bytesTotal(), restoring.bytesDone());
      assertEquals(pulled.files(), restoring.filesDone());

      // One file changed in the source and gone from the restored tree: the warm pull's restore is that file's bytes.
      Path changed;
      try (var files = Files.walk(tree)) {
        changed = files.filter(Files::isRegularFile).sorted().findFirst().orElseThrow();
      }
      Files.write(changed, RandomTrees.class.getName().repeat(100).getBytes());
      Files.setLastModifiedTime(changed, FileTime.from(Instant.now().minusSeconds(60)));
      Watching second = new Watching();
      assertEquals(Outcome.PUSHED, client.push(spec, second).result());
      assertEquals(Files.size(changed), second.lastOfStep.get(Progress.Step.READING).bytesTotal());
      Watching warm = new Watching();
      OperationResult again = client.pull(spec.withTarget(restored), warm);
      TreeCompare.assertSameTree(tree, restored);
      Progress.Now one = warm.lastOfStep.get(Progress.Step.RESTORING);
      assertEquals(1, one.filesTotal());
      assertEquals(Files.size(changed), one.bytesTotal());
      assertEquals(again.bytesTransferred(), one.bytesTransferred());

      Watching check = new Watching();
      Verification verified = client.verify(spec, check).orElseThrow();
      Progress.Now checking = check.lastOfStep.get(Progress.Step.CHECKING);
      assertTrue(checking.bytesTotal() > 0);
      assertEquals(checking.bytesTotal(), checking.bytesDone());
      assertEquals(verified.bytesRead(), checking.bytesTransferred());
    }
  }

  /** {@code ls} through a registry: the entries at and below a path, read from the index alone, no pack fetched. */
  @Test
  void lsReadsNoPack() throws Exception {
    Path tree = RandomTrees.write(dir.resolve("tree"), 12, 30, 3, 20_000, 100_000);
    try (TestRegistry registry = TestRegistry.start(RegistryMode.PLAIN, dir.resolve("registry"))) {
      RegistryAccess access = RegistryAccess.of(registry, dir.resolve("home"));
      // A second machine's client (its own home): the index is not in its cache, so it is fetched.
      Cachemount pusher = Cachemount.builder().home(access.home()).env(access.env()).registry(access.settings()).packTarget(1 << 20).build();
      pusher.push(pusher.parseSpec("id=c,ref=" + access.ref(REPOSITORY) + ",target=" + tree), OperationListener.NONE);
      RegistryAccess other = RegistryAccess.of(registry, dir.resolve("other-home"));
      Cachemount client = Cachemount.builder().home(other.home()).env(other.env()).registry(other.settings()).build();
      CacheSpec spec = client.parseSpec("id=c,ref=" + other.ref(REPOSITORY));
      java.util.List<String> packs = client.inspect(spec).orElseThrow().packs().stream().map(p -> p.digest()).toList();
      String first;
      try (var dirs = Files.list(tree)) {
        first = tree.relativize(dirs.filter(Files::isDirectory).sorted().findFirst().orElseThrow()).toString();
      }
      registry.clearLog();
      dev.cachemount.core.Listing listing = client.list(spec, dev.cachemount.core.Listing.paths(java.util.List.of(first)), OperationListener.NONE)
          .orElseThrow();
      long expected;
      try (var below = Files.walk(tree.resolve(first))) {
        expected = below.count();
      }
      assertEquals(expected, listing.entries().size(), listing.toString());
      assertTrue(listing.entries().stream().allMatch(e -> e.path().equals(first) || e.path().startsWith(first + "/")));
      String log = String.join("\n", registry.logLines());
      assertTrue(packs.size() > 1 && packs.stream().noneMatch(log::contains), "no pack fetched: " + log);
      assertTrue(log.contains("/v2/" + REPOSITORY + "/blobs/sha256:"), "the index was fetched: " + log);
    }
  }
}
