package dev.cachemount.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.cachemount.it.registry.RegistryMode;
import dev.cachemount.it.registry.TestRegistry;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Two projects' CI jobs merge into one shared cache tag of a registry at the same time. A registry has
 * no lock, so each push builds on the snapshot it found; the one that finishes last looks at the tag
 * again before it moves it and merges with what the other stored meanwhile, instead of dropping it;
 * and each looks once more a moment after it moved the tag, and merges again if another moved it over.
 */
class RegistryMergeRaceIT {
  @TempDir Path dir;

  @Test
  void aMergePushOvertakenByAnotherMergesWithItsSnapshot() throws Exception {
    try (TestRegistry registry = TestRegistry.start(RegistryMode.PLAIN, dir.resolve("registry"));
        FaultProxy proxy = new FaultProxy(registry.host())) {
      RegistryAccess access = RegistryAccess.of(registry, dir.resolve("home"));
      Path shared = dir.resolve("b");
      RandomTrees.write(shared.resolve("org-b"), 1, 20, 4, 5000, 20000);
      Path projectA = dir.resolve("a");
      RandomTrees.write(projectA.resolve("org-a"), 2, 20, 4, 5000, 20000);
      // The shared snapshot both projects start from: project B's tree as it was.
      String specB = "id=deps,ref=" + access.ref("team/deps") + ",target=" + shared + ",mode=merge";
      assertEquals(0, access.cli("push", specB).exitCode());
      Files.writeString(shared.resolve("org-b/later.jar"), "a jar that project B resolved later");

      // Project A's push goes through the proxy, which holds it once its first blob is uploaded (it has
      // read the shared snapshot by then); project B's push, direct, moves the tag meanwhile.
      FaultProxy.Gate hold = proxy.holdAfter("PUT", "/v2/team/deps/blobs/uploads/.*");
      List<String> argsA = new ArrayList<>(access.args("push",
          "id=deps,ref=" + proxy.host() + "/team/deps,target=" + projectA + ",mode=merge"));
      argsA.add(1, "--verbose");
      CompletableFuture<Cli.Result> pushA = CompletableFuture.supplyAsync(() -> {
        try {
          return Cli.run(access.env(), new byte[0], argsA.toArray(String[]::new));
        } catch (Exception e) {
          throw new IllegalStateException(e);
        }
      });
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
      while (!hold.awaitReached(Duration.ofMillis(100))) {
        assertTrue(System.nanoTime() < deadline, "project A's push never uploaded a blob");
        assertFalse(pushA.isDone(), () -> "project A's push ended before it was held: " + pushA.join());
      }
      Cli.Result pushB = access.cli("push", specB);
      assertEquals(0, pushB.exitCode(), pushB.toString());
      hold.release();
      Cli.Result a = pushA.get(2, TimeUnit.MINUTES);
      assertEquals(0, a.exitCode(), a.toString());
      assertTrue(a.err().contains("while this merge built on sha256:") && a.err().contains("; merging with that one instead (try 2 of 5)"),
          a.err());

      // The tag holds both projects' files: A's own, the shared ones, and the one B added meanwhile.
      Path pulled = dir.resolve("pulled");
      Cli.Result pull = access.cli("pull", "id=deps,ref=" + access.ref("team/deps") + ",target=" + pulled);
      assertEquals(0, pull.exitCode(), pull.toString());
      TreeCompare.assertSameListing(union(projectA, shared), TreeCompare.findListing(pulled));
    }
  }

  /**
   * Four runners merge into one new tag at once, each with a directory of its own beside shared files.
   * Their looks at the tag fall before one another's uploads, so without the look after the upload
   * one runner's directory was missing from the tag in each of three such runs by hand (every push
   * exit 0, no warning); now each push that finds the tag moved over its snapshot merges again, and
   * the tag holds every runner's directory.
   */
  @Test
  void fourMergesAtOnceIntoANewTagAllLandInIt() throws Exception {
    try (TestRegistry registry = TestRegistry.start(RegistryMode.PLAIN, dir.resolve("registry"))) {
      List<CompletableFuture<Cli.Result>> pushes = new ArrayList<>();
      List<Path> trees = new ArrayList<>();
      for (int n = 1; n <= 4; n++) {
        Path tree = dir.resolve("runner" + n + "/tree");
        RandomTrees.write(tree.resolve("own" + n), n, 10, 2, 100, 2000);
        for (int i = 0; i < 20; i++) {
          Files.createDirectories(tree.resolve("shared"));
          Files.writeString(tree.resolve("shared/s" + i + ".jar"), "a jar every runner has, " + i);
        }
        trees.add(tree);
        RegistryAccess runner = RegistryAccess.of(registry, dir.resolve("runner" + n + "/home"));
        String spec = "id=deps,ref=" + runner.ref("team/shared") + ",target=" + tree + ",mode=merge";
        pushes.add(CompletableFuture.supplyAsync(() -> {
          try {
            return runner.cli("push", spec);
          } catch (Exception e) {
            throw new IllegalStateException(e);
          }
        }));
      }
      for (CompletableFuture<Cli.Result> push : pushes) {
        Cli.Result r = push.get(3, TimeUnit.MINUTES);
        assertEquals(0, r.exitCode(), r.toString());
      }
      RegistryAccess reader = RegistryAccess.of(registry, dir.resolve("reader"));
      Path pulled = dir.resolve("pulled");
      Cli.Result pull = reader.cli("pull", "id=deps,ref=" + reader.ref("team/shared") + ",target=" + pulled);
      assertEquals(0, pull.exitCode(), pull.toString());
      // Each runner's own directory whole, as that runner had it; the shared files (the same in every
      // runner, with their own times) once, with the newest of their times.
      for (int n = 1; n <= 4; n++) {
        TreeCompare.assertSameListing(TreeCompare.findListing(trees.get(n - 1).resolve("own" + n)), TreeCompare.findListing(pulled.resolve("own" + n)));
      }
      try (var top = Files.list(pulled); var shared = Files.list(pulled.resolve("shared"))) {
        assertEquals(List.of("own1", "own2", "own3", "own4", "shared"), top.map(p -> p.getFileName().toString()).sorted().toList());
        assertEquals(20, shared.count());
      }
    }
  }

  /** Both trees' entries, as {@link TreeCompare#findListing} lists them. */
  private static List<String> union(Path first, Path second) throws Exception {
    java.util.TreeSet<String> all = new java.util.TreeSet<>(TreeCompare.findListing(first));
    all.addAll(TreeCompare.findListing(second));
    return List.copyOf(all);
  }
}
