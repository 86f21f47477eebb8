package dev.cachemount.it;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.cachemount.core.blob.Digest;
import dev.cachemount.core.registry.RegistryStore;
import dev.cachemount.core.store.BlobPut;
import dev.cachemount.it.registry.RegistryMode;
import dev.cachemount.it.registry.TestRegistry;
import java.io.InputStream;
import java.nio.file.Path;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * Cross-repository mounts: a blob this machine saw in one repository of a registry is mounted into
 * another instead of uploaded, with anonymous access and with tokens (whose scope must then name the
 * source repository too).
 */
class RegistryMountIT {
  @TempDir Path dir;

  @ParameterizedTest
  @EnumSource(value = RegistryMode.class, names = {"PLAIN", "TOKEN"})
  void aBlobKnownInAnotherRepositoryIsMountedNotUploaded(RegistryMode mode) throws Exception {
    try (TestRegistry registry = TestRegistry.start(mode, dir.resolve("registry"))) {
      RegistryAccess access = RegistryAccess.of(registry, dir.resolve("home"));
      Path hints = dir.resolve("registry-blobs");
      byte[] blob = new byte[300_000];
      new Random(9).nextBytes(blob);
      Digest digest = Digest.of(blob);
      try (RegistryStore a = access.store("project-a/cache", hints)) {
        assertEquals(BlobPut.written(blob.length), a.putBlob(digest, blob));
      }
      registry.clearLog();
      try (RegistryStore b = access.store("project-b/cache", hints)) {
        assertEquals(BlobPut.MOUNTED, b.putBlob(digest, blob));
        assertEquals(BlobPut.PRESENT, b.putBlob(digest, blob), "and afterwards it is there");
        try (InputStream in = b.openBlob(digest, blob.length)) {
          assertArrayEquals(blob, in.readAllBytes());
        }
      }
      assertEquals(1, registry.countRequests("POST", "/v2/project-b/cache/blobs/uploads/\\?mount=sha256:[0-9a-f]{64}&from=project-a/cache"),
          String.join("\n", registry.logLines()));
      assertEquals(0, registry.countRequests("PATCH", ".*"), "no bytes uploaded");
      assertEquals(0, registry.countRequests("PUT", ".*"), "no upload committed");
      if (mode == RegistryMode.TOKEN) {
        assertTrue(registry.issuer().scopesRequested().stream().anyMatch(s -> s.contains("repository:project-a/cache:pull")),
            "the push token asked to read the source: " + registry.issuer().scopesRequested());
      }
    }
  }

  /**
   * The acceptance of the registry store: two projects' Maven caches in two repositories share most
   * jars; the second project's first push names the first with {@code from=} and mounts its packs
   * instead of uploading them, then restores exactly.
   */
  @ParameterizedTest
  @EnumSource(value = RegistryMode.class, names = {"PLAIN", "TOKEN"})
  void aSecondProjectSharingJarsMountsTheFirstProjectsPacks(RegistryMode mode) throws Exception {
    MavenCorpus a = MavenCorpus.copy(dir.resolve("project-a"), 40L << 20);
    Path b = dir.resolve("project-b");
    // Project B: the same repository resolved at another time (other mtimes), a fifth of it missing, plus its own jars.
    try (java.util.stream.Stream<Path> walk = java.nio.file.Files.walk(a.root())) {
      int i = 0;
      for (Path p : (Iterable<Path>) walk.sorted()::iterator) {
        Path copy = b.resolve(a.root().relativize(p).toString());
        if (java.nio.file.Files.isDirectory(p, java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
          java.nio.file.Files.createDirectories(copy);
        } else if (java.nio.file.Files.isRegularFile(p, java.nio.file.LinkOption.NOFOLLOW_LINKS) && i++ % 5 != 0) {
          java.nio.file.Files.copy(p, copy);
        }
      }
    }
    byte[] own = new byte[3 << 20];
    new Random(17).nextBytes(own);
    java.nio.file.Files.write(b.resolve("only-in-b.jar"), own);

    try (TestRegistry registry = TestRegistry.start(mode, dir.resolve("registry"))) {
      RegistryAccess access = RegistryAccess.of(registry, dir.resolve("home"));
      Cli.Result first = access.cli("push", "id=m2,ref=" + access.ref("project-a/cache") + ",target=" + a.root());
      assertEquals(0, first.exitCode(), first.toString());
      long coldBytes = first.json().get(0).get("bytesTransferred").asLong();

      registry.clearLog();
      Cli.Result second = access.cli("push", "id=m2,ref=" + access.ref("project-b/cache") + ",from=" + access.ref("project-a/cache")
          + ",target=" + b);
      assertEquals(0, second.exitCode(), second.toString());
      com.fasterxml.jackson.databind.JsonNode pushed = second.json().get(0);
      assertTrue(pushed.get("blobsMounted").asLong() > 0, pushed.toString());
      assertTrue(pushed.get("bytesTransferred").asLong() < coldBytes * 3 / 10,
          "B uploads what A lacks: " + pushed.get("bytesTransferred") + " of A's " + coldBytes);
      assertTrue(registry.countRequests("POST", "/v2/project-b/cache/blobs/uploads/\\?mount=.*&from=project-a/cache") > 0);

      Path restored = dir.resolve("restored-b");
      Cli.Result pull = access.cli("pull", "id=m2,ref=" + access.ref("project-b/cache") + ",target=" + restored);
      assertEquals(0, pull.exitCode(), pull.toString());
      TreeCompare.assertSameTree(b, restored);
    }
  }

  /**
   * A registry that does not mount (without cross-repository mounts, or refusing this one) opens an
   * ordinary upload instead: the shared packs are then copied from the first project's repository
   * through this machine, with a warning, and the second project's snapshot is complete.
   */
  @Test
  void aRegistryThatDoesNotMountGetsTheSharedPacksCopied() throws Exception {
    Path a = RandomTrees.write(dir.resolve("project-a"), 3, 40, 4, 100_000, 200_000);
    Path b = dir.resolve("project-b");
    RandomTrees.write(b, 3, 40, 4, 100_000, 200_000); // the same jars
    java.nio.file.Files.writeString(b.resolve("only-in-b.jar"), "project B's own jar");
    try (TestRegistry registry = TestRegistry.start(RegistryMode.PLAIN, dir.resolve("registry"));
        FaultProxy proxy = new FaultProxy(registry.host())) {
      RegistryAccess access = RegistryAccess.of(registry, dir.resolve("home"));
      Cli.Result first = access.cli("push", "id=m2,ref=" + proxy.host() + "/project-a/cache,target=" + a);
      assertEquals(0, first.exitCode(), first.toString());

      proxy.refuseMounts();
      Cli.Result second = access.cli("push", "id=m2,ref=" + proxy.host() + "/project-b/cache,from=" + proxy.host() + "/project-a/cache"
          + ",target=" + b);
      assertEquals(0, second.exitCode(), second.toString());
      assertTrue(proxy.injected().stream().anyMatch(i -> i.contains("mount=") && i.endsWith("mount refused")), proxy.injected().toString());
      com.fasterxml.jackson.databind.JsonNode pushed = second.json().get(0);
      assertEquals(0, pushed.get("blobsMounted").asLong(), pushed.toString());
      assertEquals(1, second.err().split("they are copied through this machine instead", -1).length - 1, second.err());

      Path restored = dir.resolve("restored-b");
      Cli.Result pull = access.cli("pull", "id=m2,ref=" + access.ref("project-b/cache") + ",target=" + restored);
      assertEquals(0, pull.exitCode(), pull.toString());
      TreeCompare.assertSameTree(b, restored);
    }
  }

  /**
   * from= is an optimisation: a source repository the user may not read (its tokens grant nothing
   * there) costs the uploads it would have saved, with a warning that names it, not the push.
   */
  @Test
  void aFromRefTheCredentialsMayNotReadIsLeftOutWithAWarning() throws Exception {
    try (TestRegistry registry = TestRegistry.start(RegistryMode.TOKEN, dir.resolve("registry"))) {
      RegistryAccess access = RegistryAccess.of(registry, dir.resolve("home"));
      Path tree = RandomTrees.write(dir.resolve("tree"), 11, 20, 4, 5000, 20000);
      Cli.Result first = access.cli("push", "id=m2,ref=" + access.ref("secret/cache") + ",target=" + tree);
      assertEquals(0, first.exitCode(), first.toString());
      registry.issuer().deny("secret/cache");
      Cli.Result second = access.cli("push", "id=m2,ref=" + access.ref("mine/cache") + ",from=" + access.ref("secret/cache") + ",target=" + tree);
      assertEquals(0, second.exitCode(), second.toString());
      assertTrue(second.err().contains("warning: from=docker://" + access.ref("secret/cache")) && second.err().contains("cannot be read with these credentials"),
          second.err());
      assertEquals(0, second.json().get(0).get("blobsMounted").asLong(), second.toString());
      Cli.Result pull = access.cli("pull", "id=m2,ref=" + access.ref("mine/cache") + ",target=" + dir.resolve("restored"));
      assertEquals(0, pull.exitCode(), pull.toString());
      TreeCompare.assertSameTree(tree, dir.resolve("restored"));
    }
  }

  @ParameterizedTest
  @EnumSource(value = RegistryMode.class, names = {"PLAIN"})
  void aStaleHintCostsAnUploadNotAFailure(RegistryMode mode) throws Exception {
    try (TestRegistry registry = TestRegistry.start(mode, dir.resolve("registry"))) {
      RegistryAccess access = RegistryAccess.of(registry, dir.resolve("home"));
      Path hints = dir.resolve("registry-blobs");
      byte[] blob = "a blob the source repository never had".getBytes(java.nio.charset.StandardCharsets.UTF_8);
      java.nio.file.Files.writeString(hints, registry.host() + " project-a/cache " + Digest.of(blob) + "\n");
      try (RegistryStore b = access.store("project-b/cache", hints)) {
        assertEquals(BlobPut.written(blob.length), b.putBlob(Digest.of(blob), blob));
      }
      assertEquals(1, registry.countRequests("PUT", "/v2/project-b/cache/blobs/uploads/.*"));
    }
  }
}
