package dev.cachemount.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.cachemount.it.registry.RegistryMode;
import dev.cachemount.it.registry.TestRegistry;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.api.io.TempDir;

/**
 * Faults a real registry will not produce on demand, injected by a proxy in front of one: requests
 * answered 429 with Retry-After, 503, or not at all are retried, and a push or pull that meets a
 * passing fault completes; a fault that does not pass ends in a message naming the status.
 */
class RegistryFaultsIT {
  @TempDir Path dir;

  private Path tree() throws Exception {
    return RandomTrees.write(dir.resolve("tree"), 13, 30, 3, 2000, 40_000);
  }

  /** Pushes {@code tree} under {@code spec} and pulls it into a new directory, which it returns; both must succeed. */
  private Path pushThenPull(RegistryAccess access, String spec, Path tree) throws Exception {
    Cli.Result push = Cli.run(access.env(), new byte[0], "push", "--json", "--cache-id", spec + tree);
    assertEquals(0, push.exitCode(), push.toString());
    Path restored = dir.resolve("restored");
    Cli.Result pull = Cli.run(access.env(), new byte[0], "pull", "--json", "--cache-id", spec + restored);
    assertEquals(0, pull.exitCode(), pull.toString());
    return restored;
  }

  @Test
  void passingFaultsAreRetriedAndTheRoundTripCompletes() throws Exception {
    try (TestRegistry registry = TestRegistry.start(RegistryMode.PLAIN, dir.resolve("registry"));
        FaultProxy proxy = new FaultProxy(registry.host())) {
      RegistryAccess access = RegistryAccess.of(registry, dir.resolve("home"));
      proxy.inject("PUT", "/v2/team/cache/blobs/uploads/.*", FaultProxy.Fault.TOO_MANY_REQUESTS, 2);
      proxy.inject("PATCH", "/v2/team/cache/blobs/uploads/.*", FaultProxy.Fault.DROP, 1);
      proxy.inject("PUT", "/v2/team/cache/manifests/.*", FaultProxy.Fault.UNAVAILABLE, 1);
      Path tree = tree();
      String spec = "id=m2,ref=" + proxy.host() + "/team/cache,target=";
      long started = System.nanoTime();
      Cli.Result push = Cli.run(access.env(), new byte[0], "push", "--json", "-v", "--cache-id", spec + tree);
      long millis = (System.nanoTime() - started) / 1_000_000;
      assertEquals(0, push.exitCode(), push.toString());
      assertEquals("pushed", push.json().get(0).get("result").asText());
      assertEquals(4, proxy.injected().size(), proxy.injected().toString());
      assertTrue(push.err().contains("HTTP 429") && push.err().contains("HTTP 503"), "retries are reported with -v:\n" + push.err());
      assertTrue(millis >= 2000, "Retry-After: 1 was honoured twice, yet the push took " + millis + " ms");

      proxy.inject("GET", "/v2/team/cache/blobs/.*", FaultProxy.Fault.DROP, 2);
      proxy.inject("GET", "/v2/team/cache/manifests/.*", FaultProxy.Fault.TOO_MANY_REQUESTS, 1);
      Path restored = dir.resolve("restored");
      Cli.Result pull = Cli.run(access.env(), new byte[0], "pull", "--json", "--cache-id", spec + restored);
      assertEquals(0, pull.exitCode(), pull.toString());
      assertEquals(7, proxy.injected().size(), proxy.injected().toString());
      TreeCompare.assertSameTree(tree, restored);
    }
  }

  @Test
  void aPlainHttpRegistryOnThisMachineIsNeverAskedForTls() throws Exception {
    try (TestRegistry registry = TestRegistry.start(RegistryMode.PLAIN, dir.resolve("registry"));
        FaultProxy proxy = new FaultProxy(registry.host())) {
      RegistryAccess access = RegistryAccess.of(registry, dir.resolve("home"));
      Path tree = tree();
      String spec = "id=m2,ref=" + proxy.host() + "/team/cache,target=";
      Path restored = pushThenPull(access, spec, tree);
      TreeCompare.assertSameTree(tree, restored);
      // jib-core alone would open every connection with a TLS handshake and fall back to HTTP after
      // the 400; the plain-HTTP probe routes them all over HTTP from the start.
      assertEquals(0, proxy.tlsHandshakesRefused(), "TLS handshakes sent to a plain-HTTP registry on loopback");
    }
  }

  @Test
  void aSessionReusesItsConnections() throws Exception {
    // Every 33rd file, about 1 MB apart in the pack: a range request each, since this registry is
    // made to refuse several ranges in one request.
    withScattered((proxy, access, scattered) -> {
      proxy.ranges(FaultProxy.Ranges.REFUSE_SEVERAL);
      int requestsBefore = proxy.requests();
      int connectionsBefore = proxy.connections();
      Cli.Result warm = scattered.pullAgain(access);
      int requests = proxy.requests() - requestsBefore;
      int connections = proxy.connections() - connectionsBefore;
      // jib-core asks for a new transport (a new Apache client and pool) on every request; the session
      // hands it the same one, so requests share connections: the probe's, and one per parallel read (4).
      assertTrue(requests >= 15, "the warm pull made " + requests + " requests");
      assertTrue(connections <= 6, "the warm pull made " + requests + " requests over " + connections + " connections");
    });
  }

  /** A tree pushed through the proxy, the copy a pull made of it, and the spec without its target. */
  private record Scattered(Path tree, Path restored, String spec) {
    /** Pulls into the copy again, with {@code -v}: the pull must succeed and restore the tree. */
    Cli.Result pullAgain(RegistryAccess access) throws Exception {
      Cli.Result warm = Cli.run(access.env(), new byte[0], "pull", "-v", "--json", "--cache-id", spec + restored);
      assertEquals(0, warm.exitCode(), warm.toString());
      TreeCompare.assertSameTree(tree, restored);
      return warm;
    }
  }

  /** A test of a pull again into {@link #scattered}'s copy, through a proxy in front of a real registry. */
  private interface OnScattered {
    void run(FaultProxy proxy, RegistryAccess access, Scattered scattered) throws Exception;
  }

  private void withScattered(OnScattered test) throws Exception {
    try (TestRegistry registry = TestRegistry.start(RegistryMode.PLAIN, dir.resolve("registry"));
        FaultProxy proxy = new FaultProxy(registry.host())) {
      RegistryAccess access = RegistryAccess.of(registry, dir.resolve("home"));
      test.run(proxy, access, scattered(proxy, access));
    }
  }

  /** A tree of 400 incompressible files (about 8 MB) pushed and pulled; then every 33rd file of the copy deleted. */
  private Scattered scattered(FaultProxy proxy, RegistryAccess access) throws Exception {
    Path tree = RandomTrees.write(dir.resolve("tree"), 23, 400, 8, 20_000, 20_000);
    String spec = "id=m2,ref=" + proxy.host() + "/team/cache,target=";
    Path restored = pushThenPull(access, spec, tree);
    for (int i = 5; i < 400; i += 33) {
      java.nio.file.Files.delete(restored.resolve("g" + (i % 8) + "/f" + i + ".jar"));
    }
    return new Scattered(tree, restored, spec);
  }

  @Test
  void aWarmPullAsksForAPacksScatteredFramesInAFewRequests() throws Exception {
    withScattered((proxy, access, scattered) -> {
      int before = proxy.rangeHeaders().size();
      Cli.Result warm = scattered.pullAgain(access);
      List<String> asked = proxy.rangeHeaders().subList(before, proxy.rangeHeaders().size());
      // 12 runs of frames about 1 MB apart (in the packs the push's writers filled side by side): a
      // request for every 3 runs of a pack or fewer (so that 4 are in flight), answered with a
      // multipart/byteranges body by the registry, instead of a request for each run.
      assertEquals(12, asked.stream().mapToInt(r -> r.split(",").length).sum(), asked.toString());
      assertTrue(asked.size() <= 6 && asked.stream().anyMatch(r -> r.contains(",")), asked.toString());
      long read = warm.json().get(0).get("bytesTransferred").asLong();
      assertTrue(read < 2_000_000, "the warm pull read " + read + " bytes of a 12 MB pack");
    });
  }

  @Test
  void aWarmPullFollowsARedirectToBlobStorageWithItsRanges() throws Exception {
    withScattered((proxy, access, scattered) -> {
      proxy.redirectBlobs();
      scattered.pullAgain(access);
      List<String> storage = proxy.storageRequests();
      // The config whole (the index is this machine's copy, kept by the first pull), then the 12 runs
      // of frames: the Range headers survive the redirect, several ranges in one request still, and
      // no credentials go to the storage.
      assertEquals(1, storage.stream().filter(r -> r.equals("no range")).count(), storage.toString());
      List<String> ranged = storage.stream().filter(r -> r.startsWith("Range: bytes=")).toList();
      assertEquals(12, ranged.stream().mapToInt(r -> r.split(",").length).sum(), storage.toString());
      assertTrue(ranged.size() <= 6 && ranged.stream().anyMatch(r -> r.contains(",")), storage.toString());
      assertTrue(storage.stream().noneMatch(r -> r.contains("Authorization")), storage.toString());
    });
  }

  @ParameterizedTest
  @EnumSource(value = FaultProxy.Ranges.class, names = {"FIRST_ONLY", "REFUSE_SEVERAL", "IGNORE"})
  void aRegistryThatDoesNotServeSeveralRangesAtOnceIsAskedForThemOneByOne(FaultProxy.Ranges how) throws Exception {
    withScattered((proxy, access, scattered) -> {
      proxy.ranges(how);
      int before = proxy.rangeHeaders().size();
      Cli.Result warm = scattered.pullAgain(access);
      List<String> asked = proxy.rangeHeaders().subList(before, proxy.rangeHeaders().size());
      // One request asks for several ranges; its answer settles it, and the other readers, which waited
      // for that answer, ask for one range at a time. What the first answer held is used.
      List<String> several = asked.stream().filter(r -> r.contains(",")).toList();
      assertEquals(1, several.size(), asked.toString());
      int inTheFirst = several.get(0).split(",").length;
      int served = switch (how) {
        case FIRST_ONLY -> 1; // the first range came back
        case REFUSE_SEVERAL -> 0;
        case IGNORE -> inTheFirst; // the whole blob came back, with all of them in it
        default -> throw new AssertionError(how);
      };
      assertEquals(12 - served, asked.size() - 1, asked.toString());
      assertEquals(1, warm.err().split("does not serve several byte ranges in one request", -1).length - 1, warm.err());
    });
  }

  @Test
  void aMultipartAnswerCutMidBodyIsReadOnRangeByRangeFromWhereItStopped() throws Exception {
    withScattered((proxy, access, scattered) -> {
      proxy.cutMultipartAnswers();
      int before = proxy.rangeHeaders().size();
      Cli.Result warm = scattered.pullAgain(access);
      List<String> asked = proxy.rangeHeaders().subList(before, proxy.rangeHeaders().size());
      // Each answer for several ranges breaks halfway: what came is used, the rest of its ranges are
      // asked for one by one, and the pull restores the tree.
      // A broken connection says nothing of how the registry serves ranges: later pulls of the command
      // still ask for several at once.
      assertTrue(proxy.answersCut() >= 1, asked.toString());
      assertTrue(asked.stream().anyMatch(r -> !r.contains(",")), asked.toString());
      assertTrue(asked.stream().filter(r -> r.contains(",")).count() >= 2, asked.toString());
      assertFalse(warm.err().contains("does not serve several byte ranges"), warm.err());
      long read = warm.json().get(0).get("bytesTransferred").asLong();
      assertTrue(read < 2_000_000, "the warm pull read " + read + " bytes of a 12 MB pack");
    });
  }

  @Test
  void aBodyThatDoesNotEndCostsABoundedReadNotAHang() throws Exception {
    withScattered((proxy, access, scattered) -> {
      // Every blob GET now gets the whole blob and then zeros without end. The pull reads what it needs
      // and closes each answer; the HTTP client, left to itself, reads a closed body to its end.
      proxy.endlessBlobs();
      Cli.Result warm = Cli.run(java.time.Duration.ofSeconds(60), access.env(), new byte[0],
          "pull", "--json", "--cache-id", scattered.spec() + scattered.restored());
      assertEquals(0, warm.exitCode(), warm.toString());
      TreeCompare.assertSameTree(scattered.tree(), scattered.restored());
    });
  }

  /**
   * A registry (or a proxy in front of it) that stalls every answer after a few bytes: each resume
   * got a little further, which counted its resumes from zero again, so a pull of a 256 KiB pack
   * resumed about 260 times, a read timeout each (60 s by default): hours, not a failure. Resumes now
   * count from zero only after 1 MiB of progress.
   */
  @Test
  void aRegistryThatStallsEveryAnswerFailsTheDownloadInsteadOfResumingForEver() throws Exception {
    try (TestRegistry registry = TestRegistry.start(RegistryMode.PLAIN, dir.resolve("registry"));
        FaultProxy proxy = new FaultProxy(registry.host())) {
      RegistryAccess access = RegistryAccess.of(registry, dir.resolve("home"));
      byte[] blob = new byte[256 << 10];
      new java.util.Random(5).nextBytes(blob);
      dev.cachemount.core.blob.Digest digest = dev.cachemount.core.blob.Digest.of(blob);
      try (var direct = access.store("team/cache", dir.resolve("hints"))) {
        direct.putBlob(digest, blob);
      }
      proxy.dribbleBlobBodies(1000);
      // Read timeouts of 1 s and short pauses, so that the test takes seconds; the counting is the same.
      var settings = new dev.cachemount.core.registry.RegistrySettings(java.util.Set.of(), java.util.Optional.empty(), java.util.Optional.empty(),
          4, new dev.cachemount.core.registry.RetryPolicy(5, java.time.Duration.ofMillis(10), java.time.Duration.ofMillis(20),
              java.time.Duration.ofSeconds(1)), java.time.Duration.ofSeconds(1));
      try (var stalled = new dev.cachemount.core.registry.RegistryStore(dev.cachemount.core.registry.RegistryRef.parse(proxy.host() + "/team/cache"),
          settings, false, java.util.Optional.empty(), java.util.Optional.empty(), dir.resolve("staging"), dev.cachemount.core.OperationListener.NONE)) {
        java.io.IOException failed = org.junit.jupiter.api.Assertions.assertTimeoutPreemptively(java.time.Duration.ofSeconds(90),
            () -> org.junit.jupiter.api.Assertions.assertThrows(java.io.IOException.class, () -> {
              try (java.io.InputStream in = stalled.openBlob(digest, blob.length)) {
                in.readAllBytes();
              }
            }));
        assertTrue(failed.getMessage().contains("broke 6 times within 1048576 bytes") && failed.getMessage().contains("try again later"),
            failed.toString());
      }
    }
  }

  @Test
  void aRangeAnsweredFromAnEarlierByteIsReadFromTheByteAskedFor() throws Exception {
    withScattered((proxy, access, scattered) -> {
      // One range per request (several are refused), each answered 206 from the pack's first byte, as
      // its Content-Range says: the bytes before the range are skipped, not taken for the range (the
      // pull checks every chunk's digest, and pullAgain the restored tree).
      proxy.ranges(FaultProxy.Ranges.FROM_BLOB_START);
      int before = proxy.rangesRewritten();
      scattered.pullAgain(access);
      assertTrue(proxy.rangesRewritten() - before >= 12, "ranges answered from the blob's start: " + (proxy.rangesRewritten() - before));
    });
  }

  @Test
  void aRangeAnsweredFromALaterByteFailsThePullWithTheRegistrysAnswer() throws Exception {
    withScattered((proxy, access, scattered) -> {
      proxy.ranges(FaultProxy.Ranges.ONE_BYTE_LATE);
      Cli.Result warm = Cli.run(access.env(), new byte[0], "pull", "--cache-id", scattered.spec() + scattered.restored());
      assertEquals(1, warm.exitCode(), warm.toString());
      assertTrue(warm.err().contains("was answered with 'Content-Range: bytes ") && warm.err().contains("does not serve byte ranges as HTTP says"), warm.err());
      assertFalse(warm.err().contains("tries"), "the same request would get the same answer: not retried\n" + warm.err());
    });
  }

  @Test
  void aRegistryThatIgnoresRangesStillServesWarmPulls() throws Exception {
    try (TestRegistry registry = TestRegistry.start(RegistryMode.PLAIN, dir.resolve("registry"));
        FaultProxy proxy = new FaultProxy(registry.host())) {
      RegistryAccess access = RegistryAccess.of(registry, dir.resolve("home"));
      Path tree = RandomTrees.write(dir.resolve("tree"), 19, 400, 8, 500, 4000);
      String spec = "id=m2,ref=" + proxy.host() + "/team/cache,target=";
      Path restored = pushThenPull(access, spec, tree);
      java.nio.file.Files.delete(restored.resolve("g3/f203.jar"));
      java.nio.file.Files.delete(restored.resolve("g5/f397.jar"));
      proxy.ranges(FaultProxy.Ranges.IGNORE);
      Cli.Result warm = Cli.run(access.env(), new byte[0], "pull", "--json", "--cache-id", spec + restored);
      assertEquals(0, warm.exitCode(), warm.toString());
      assertEquals(398, warm.json().get(0).get("filesUnchanged").asLong());
      assertTrue(proxy.rangesIgnored() > 0, "the pull asked for ranges, and got whole blobs");
      TreeCompare.assertSameTree(tree, restored);
    }
  }

  @Test
  void aFaultThatDoesNotPassEndsInAMessageNamingTheStatus() throws Exception {
    try (TestRegistry registry = TestRegistry.start(RegistryMode.PLAIN, dir.resolve("registry"));
        FaultProxy proxy = new FaultProxy(registry.host())) {
      RegistryAccess access = RegistryAccess.of(registry, dir.resolve("home"));
      proxy.inject("PUT", "/v2/team/cache/manifests/.*", FaultProxy.Fault.UNAVAILABLE, 100);
      Cli.Result push = Cli.run(access.env(), new byte[0], "push", "--json", "--cache-id",
          "id=m2,ref=" + proxy.host() + "/team/cache,target=" + tree());
      assertEquals(1, push.exitCode(), push.toString());
      String message = push.json().get(0).get("error").asText();
      assertTrue(message.contains("registry " + proxy.host() + ", repository team/cache: push of manifest m2 failed (HTTP 503) after 5 tries"), message);
      assertEquals(0, registry.countRequests("PUT", "/v2/team/cache/manifests/.*"), "the manifest never reached the registry");
    }
  }

  @Test
  void aPushRetriedAfterItsManifestFailedUploadsNoPackAgain() throws Exception {
    try (TestRegistry registry = TestRegistry.start(RegistryMode.PLAIN, dir.resolve("registry"));
        FaultProxy proxy = new FaultProxy(registry.host())) {
      // About 80 MB in 400 files: several packs, and many batches for the workers to share out.
      Path tree = RandomTrees.write(dir.resolve("big-tree"), 21, 400, 8, 150_000, 100_000);
      proxy.inject("PUT", "/v2/team/cache/manifests/.*", FaultProxy.Fault.UNAVAILABLE, 100);
      RegistryAccess failing = RegistryAccess.of(registry, dir.resolve("home-failing"));
      Cli.Result failed = Cli.run(failing.env(), new byte[0], "push", "--json", "--cache-id", "id=m2,ref=" + proxy.host() + "/team/cache,target=" + tree);
      assertEquals(1, failed.exitCode(), failed.toString());
      long stored = registry.countRequests("PUT", "/v2/team/cache/blobs/uploads/.*");
      assertTrue(stored >= 4, "the failed push stored its packs, index and config first: " + stored);

      // Another machine, or a CI retry on a fresh runner: no copy of anything, no parent to start from.
      registry.clearLog();
      RegistryAccess retrying = RegistryAccess.of(registry, dir.resolve("home-retrying"));
      Cli.Result retried = retrying.cli("push", "id=m2,ref=" + retrying.ref("team/cache") + ",target=" + tree);
      assertEquals(0, retried.exitCode(), retried.toString());
      var result = retried.json().get(0);
      assertEquals(1, registry.countRequests("PUT", "/v2/team/cache/blobs/uploads/.*"),
          "only the config (it records when the push ran) is uploaded again:\n" + String.join("\n", registry.logLines()));
      assertEquals(1, result.get("blobsUploaded").asLong(), result.toString());
      assertEquals(stored - 1, result.get("blobsSkipped").asLong(), "every pack and the index were found: " + result);
      assertTrue(result.get("bytesTransferred").asLong() < 100_000, result.toString());
      Path restored = dir.resolve("restored");
      Cli.Result pull = retrying.cli("pull", "id=m2,ref=" + retrying.ref("team/cache") + ",target=" + restored);
      assertEquals(0, pull.exitCode(), pull.toString());
      TreeCompare.assertSameTree(tree, restored);
    }
  }
}
