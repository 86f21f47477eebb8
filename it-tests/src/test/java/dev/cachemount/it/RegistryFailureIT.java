package dev.cachemount.it;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.cachemount.core.blob.Digest;
import dev.cachemount.core.oci.Descriptor;
import dev.cachemount.core.oci.ImageManifest;
import dev.cachemount.core.oci.Json;
import dev.cachemount.core.oci.MediaTypes;
import dev.cachemount.core.registry.RegistryStore;
import dev.cachemount.core.store.BlobPut;
import dev.cachemount.core.store.ManifestBytes;
import dev.cachemount.it.registry.RegistryMode;
import dev.cachemount.it.registry.TestRegistry;
import java.io.RandomAccessFile;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * What a user sees when the registry refuses, breaks, or holds something wrong: the exit codes of the
 * README, a message that says what to do, and nothing written that should not be.
 */
class RegistryFailureIT {
  @TempDir Path dir;

  private static Path smallTree(Path root, int seed) throws Exception {
    return RandomTrees.write(root, seed, 20, 4, 5000, 20000);
  }

  @ParameterizedTest
  @EnumSource(value = RegistryMode.class, names = {"BASIC", "TOKEN"})
  void aWrongPasswordExits3WithAHintAndWritesNothing(RegistryMode mode) throws Exception {
    try (TestRegistry registry = TestRegistry.start(mode, dir.resolve("registry"))) {
      RegistryAccess access = RegistryAccess.of(registry, dir.resolve("home"));
      Path tree = smallTree(dir.resolve("tree"), 1);
      String secret = "not-the-Passw0rd";
      Cli.Result push = Cli.run(access.envWithPassword(secret), new byte[0],
          access.args("push", "id=m2,ref=" + access.ref("team/cache") + ",target=" + tree).toArray(String[]::new));
      assertEquals(3, push.exitCode(), push.toString());
      JsonNode failed = push.json().get(0);
      assertEquals("failed", failed.get("result").asText());
      String message = failed.get("error").asText();
      assertTrue(message.contains("the credentials from CACHEMOUNT_REGISTRY_USER/CACHEMOUNT_REGISTRY_PASSWORD were used")
          && message.contains("Check CACHEMOUNT_REGISTRY_USER and CACHEMOUNT_REGISTRY_PASSWORD"), message);
      assertTrue(message.contains("registry " + registry.host()) && message.contains("team/cache"), message);
      assertFalse(push.out().contains(secret) || push.err().contains(secret), "the password never appears in output");
      assertEquals(0, registry.countRequests("POST", ".*"), "no upload started");
      assertEquals(0, registry.countRequests("PUT", ".*"), "nothing written");

      Cli.Result anonymous = Cli.run(Map.of("XDG_CACHE_HOME", dir.resolve("c").toString(), "DOCKER_CONFIG", dir.resolve("none").toString()),
          new byte[0], access.args("pull", "id=m2,ref=" + access.ref("team/cache") + ",target=" + dir.resolve("out")).toArray(String[]::new));
      assertEquals(3, anonymous.exitCode(), anonymous.toString());
      String none = anonymous.json().get(0).get("error").asText();
      assertTrue(none.contains("no credentials were found") && none.contains("docker login " + registry.host()), anonymous.toString());
      assertFalse(Files.exists(dir.resolve("out")), "a refused pull creates no target");
    }
  }

  /**
   * A token service that fails (HTTP 500) refuses nobody's credentials: the request for a token is
   * retried as any 5xx is, and the failure is exit 1 naming the token service, not exit 3 telling
   * the user to check credentials that are right.
   */
  @Test
  void aTokenServiceThatFailsIsRetriedAndExits1WithoutBlamingTheCredentials() throws Exception {
    try (TestRegistry registry = TestRegistry.start(RegistryMode.TOKEN, dir.resolve("registry"))) {
      RegistryAccess access = RegistryAccess.of(registry, dir.resolve("home"));
      registry.issuer().failWith(500);
      Cli.Result pull = access.cli("pull", "id=m2,ref=" + access.ref("team/cache") + ",target=" + dir.resolve("out"));
      assertEquals(1, pull.exitCode(), pull.toString());
      String message = pull.json().get(0).get("error").asText();
      assertTrue(message.contains("token service") && message.contains("HTTP 500") && message.contains("after 5 tries"), message);
      assertFalse(message.contains("were used") || message.contains("Check CACHEMOUNT_REGISTRY_USER"), message);
      assertEquals(5, registry.issuer().scopesRequested().size(), "one token request per try: " + registry.issuer().scopesRequested());
      assertFalse(Files.exists(dir.resolve("out")), "a failed pull creates no target");

      registry.issuer().failWith(0);
      Cli.Result again = access.cli("pull", "id=m2,ref=" + access.ref("team/cache") + ",target=" + dir.resolve("out"));
      assertEquals(0, again.exitCode(), again.toString());
      assertEquals("miss", again.json().get(0).get("result").asText(), again.toString());
    }
  }

  @Test
  void aPasswordPipedToStdinIsUsedAndCredentialsFromDockerConfigToo() throws Exception {
    try (TestRegistry registry = TestRegistry.start(RegistryMode.BASIC, dir.resolve("registry"))) {
      RegistryAccess access = RegistryAccess.of(registry, dir.resolve("home"));
      Path tree = smallTree(dir.resolve("tree"), 2);
      Map<String, String> env = new java.util.HashMap<>(access.env());
      env.remove("CACHEMOUNT_REGISTRY_PASSWORD");
      List<String> args = new java.util.ArrayList<>(access.args("push", "id=m2,ref=" + access.ref("team/cache") + ",target=" + tree));
      args.add(1, "--password-stdin");
      Cli.Result push = Cli.run(env, (registry.password() + "\n").getBytes(StandardCharsets.UTF_8), args.toArray(String[]::new));
      assertEquals(0, push.exitCode(), push.toString());
      assertEquals("pushed", push.json().get(0).get("result").asText());

      // docker login writes config.json like this; jib-core reads it.
      String auth = java.util.Base64.getEncoder().encodeToString((registry.username() + ":" + registry.password()).getBytes(StandardCharsets.UTF_8));
      Files.writeString(access.home().resolve("docker/config.json"), "{\"auths\":{\"" + registry.host() + "\":{\"auth\":\"" + auth + "\"}}}");
      env.remove("CACHEMOUNT_REGISTRY_USER");
      Cli.Result pull = Cli.run(env, new byte[0], access.args("pull", "id=m2,ref=" + access.ref("team/cache") + ",target=" + dir.resolve("out")).toArray(String[]::new));
      assertEquals(0, pull.exitCode(), pull.toString());
      TreeCompare.assertSameTree(tree, dir.resolve("out"));
    }
  }

  /**
   * A credHelpers entry in config.json runs docker-credential-NAME (from PATH, as Docker does). One
   * that fails leaves the pull anonymous, with a warning; the refusal then names the helper and what
   * it said. One that answers "credentials not found" is a registry nobody logged in to: no warning.
   * One that answers with credentials gets the pull through.
   */
  @Test
  void aCredentialHelpersFailureIsNamedWhenTheRegistryRefuses() throws Exception {
    try (TestRegistry registry = TestRegistry.start(RegistryMode.BASIC, dir.resolve("registry"))) {
      RegistryAccess access = RegistryAccess.of(registry, dir.resolve("home"));
      Files.writeString(access.home().resolve("docker/config.json"), "{\"credHelpers\":{\"" + registry.host() + "\":\"cmtest\"}}");
      Path bin = Files.createDirectories(dir.resolve("bin"));
      Path helper = bin.resolve("docker-credential-cmtest");
      Map<String, String> env = new java.util.HashMap<>(access.env());
      env.remove("CACHEMOUNT_REGISTRY_USER");
      env.remove("CACHEMOUNT_REGISTRY_PASSWORD");
      env.put("PATH", bin + ":" + System.getenv("PATH"));
      String[] pull = access.args("pull", "id=m2,ref=" + access.ref("team/cache") + ",target=" + dir.resolve("out")).toArray(String[]::new);

      Files.writeString(helper, "#!/bin/sh\ncat >/dev/null\necho 'the token of this test expired'\nexit 1\n");
      Files.setPosixFilePermissions(helper, java.nio.file.attribute.PosixFilePermissions.fromString("rwxr-xr-x"));
      Cli.Result failing = Cli.run(env, new byte[0], pull);
      assertEquals(3, failing.exitCode(), failing.toString());
      String message = failing.json().get(0).get("error").asText();
      assertTrue(message.contains("no credentials were found") && message.contains("docker-credential-cmtest")
          && message.contains("the token of this test expired"), message);
      assertTrue(failing.err().contains("warning: the Docker credential helper configured in"), failing.err());

      Files.writeString(helper, "#!/bin/sh\ncat >/dev/null\necho 'credentials not found in native keychain'\nexit 1\n");
      Cli.Result loggedOut = Cli.run(env, new byte[0], pull);
      assertEquals(3, loggedOut.exitCode(), loggedOut.toString());
      assertFalse(loggedOut.err().contains("warning"), "a helper that holds nothing for the registry is no failure: " + loggedOut.err());
      assertFalse(loggedOut.json().get(0).get("error").asText().contains("docker-credential-cmtest"), loggedOut.toString());

      Files.writeString(helper, "#!/bin/sh\ncat >/dev/null\necho '{\"ServerURL\":\"" + registry.host() + "\",\"Username\":\""
          + registry.username() + "\",\"Secret\":\"" + registry.password() + "\"}'\n");
      Cli.Result answered = Cli.run(env, new byte[0], pull);
      assertEquals(0, answered.exitCode(), answered.toString());
      assertEquals("miss", answered.json().get(0).get("result").asText(), answered.toString());

      // One that never answers (waiting for a login prompt, say) is stopped after the timeout: jib-core
      // would wait for ever, holding the CI job. The helper's own child goes too.
      Path marker = dir.resolve("helper-started");
      Files.writeString(helper, "#!/bin/sh\necho $$ > " + marker + "\nread line\nsleep 600\n");
      env.put("CACHEMOUNT_CREDENTIAL_HELPER_TIMEOUT", "2");
      Cli.Result hanging = Cli.run(Duration.ofSeconds(60), env, new byte[0], pull);
      assertEquals(3, hanging.exitCode(), hanging.toString());
      String stopped = hanging.json().get(0).get("error").asText();
      assertTrue(stopped.contains("docker-credential-cmtest") && stopped.contains("did not answer within 2 s")
          && stopped.contains("CACHEMOUNT_CREDENTIAL_HELPER_TIMEOUT"), stopped);
      long pid = Long.parseLong(Files.readString(marker).trim());
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
      while (ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false)) {
        assertTrue(System.nanoTime() < deadline, "the helper " + pid + " still runs");
        Thread.sleep(20);
      }
    }
  }

  @Test
  void tlsThatCannotBeVerifiedFailsWithAHintEvenOnLoopback() throws Exception {
    try (TestRegistry registry = TestRegistry.start(RegistryMode.TLS, dir.resolve("registry"))) {
      RegistryAccess access = RegistryAccess.of(registry, dir.resolve("home"));
      Cli.Result push = Cli.run(access.env(), new byte[0], "push", "--json", "--cache-id",
          "id=m2,ref=" + access.ref("team/cache") + ",target=" + smallTree(dir.resolve("tree"), 3));
      assertEquals(1, push.exitCode(), push.toString());
      String message = push.json().get(0).get("error").asText();
      assertTrue(message.contains("could not be verified") && message.contains("--ca-file"), message);
      // the reason is the certificate, not the TLS server's 400 to jib-core's plain-HTTP fallback
      assertTrue(message.contains("its certificate was not accepted"), message);
      assertFalse(message.contains("Client sent an HTTP request") || message.contains("\n"), message);
      assertEquals(0, registry.countRequests("PUT", ".*"));
    }
  }

  /**
   * The push goes through a proxy that, once the first blob upload has been answered, holds every
   * later request until the registry has been stopped: the rest of the push (more packs, the
   * manifest) then meets a dead registry, however fast the push runs and however late this thread is
   * scheduled. The proxy passes the refused connections on as connections closed without an answer.
   */
  @Test
  void aRegistryStoppedMidPushExits1AndTheTagStillNamesThePreviousSnapshot() throws Exception {
    try (TestRegistry registry = TestRegistry.start(RegistryMode.PLAIN, dir.resolve("registry"));
        FaultProxy proxy = new FaultProxy(registry.host())) {
      RegistryAccess access = RegistryAccess.of(registry, dir.resolve("home"));
      Path tree = smallTree(dir.resolve("tree"), 4);
      String spec = "id=m2,ref=" + proxy.host() + "/team/cache,target=" + tree;
      Cli.Result first = access.cli("push", spec);
      assertEquals(0, first.exitCode(), first.toString());
      String previous = first.json().get(0).get("digest").asText();

      // Enough incompressible data for several packs, so that the registry can die between uploads.
      byte[] big = new byte[24 << 20];
      Random random = new Random(5);
      for (int i = 0; i < 6; i++) {
        random.nextBytes(big);
        Files.write(tree.resolve("big-" + i + ".bin"), big);
      }
      registry.clearLog();
      FaultProxy.Gate hold = proxy.holdAfter("PUT", "/v2/team/cache/blobs/uploads/.*");
      CompletableFuture<Cli.Result> push = CompletableFuture.supplyAsync(() -> {
        try {
          return access.cli("push", spec);
        } catch (Exception e) {
          throw new IllegalStateException(e);
        }
      });
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
      while (!hold.awaitReached(Duration.ofMillis(100))) {
        assertTrue(System.nanoTime() < deadline, "the push never uploaded a blob:\n" + String.join("\n", registry.logLines()));
        assertFalse(push.isDone(), () -> "the push ended before the registry was stopped: " + push.join());
      }
      registry.stop();
      hold.release();
      Cli.Result broken = push.get(2, TimeUnit.MINUTES);
      assertTrue(hold.held() > 0, "requests were held until the registry was stopped");
      assertEquals(1, broken.exitCode(), broken.toString());
      String message = broken.json().get(0).get("error").asText();
      assertTrue(message.contains("registry " + proxy.host() + ", repository team/cache"), message);
      assertTrue(message.contains("tries"), "retried before giving up: " + message);

      registry.restart();
      Cli.Result inspect = access.cli("inspect", "id=m2,ref=" + access.ref("team/cache"));
      assertEquals(0, inspect.exitCode(), inspect.toString());
      assertEquals(previous, inspect.json().get(0).get("snapshot").get("digest").asText(), "the tag still names the complete snapshot");
    }
  }

  /**
   * A CI system that cancels a job sends SIGTERM and, a few seconds later (10 s on GitHub Actions
   * and GitLab), SIGKILL. A push whose uploads wait on a registry that does not answer must remove
   * its staged packs within that grace, not once the HTTP client's read timeout (20 s) has passed.
   */
  @Test
  void aPushCancelledWhileTheRegistryHangsExitsWithinSecondsAndLeavesNoStagedPack() throws Exception {
    try (TestRegistry registry = TestRegistry.start(RegistryMode.PLAIN, dir.resolve("registry"));
        FaultProxy proxy = new FaultProxy(registry.host())) {
      RegistryAccess access = RegistryAccess.of(registry, dir.resolve("home"));
      Path tree = Files.createDirectories(dir.resolve("tree"));
      byte[] big = new byte[24 << 20];
      Random random = new Random(7);
      for (int i = 0; i < 4; i++) {
        random.nextBytes(big);
        Files.write(tree.resolve("big-" + i + ".bin"), big);
      }
      FaultProxy.Gate hold = proxy.holdAfter("PUT", "/v2/team/cache/blobs/uploads/.*");
      List<String> command = new java.util.ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-jar",
          Cli.jar().toString()));
      command.addAll(access.args("push", "id=m2,ref=" + proxy.host() + "/team/cache,target=" + tree));
      ProcessBuilder builder = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(dir.resolve("push.log").toFile());
      builder.environment().putAll(access.env());
      Process push = builder.start();
      try {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (!hold.awaitReached(Duration.ofMillis(100))) {
          assertTrue(System.nanoTime() < deadline, "the push never uploaded a blob: " + Files.readString(dir.resolve("push.log")));
          assertTrue(push.isAlive(), () -> "the push ended before it was held: " + readQuietly(dir.resolve("push.log")));
        }
        // Its next requests are held unanswered: its upload threads wait in a socket read.
        while (hold.held() == 0) {
          assertTrue(System.nanoTime() < deadline, "no request of the push was held");
          Thread.sleep(10);
        }
        long signalled = System.nanoTime();
        push.destroy();
        assertTrue(push.waitFor(60, TimeUnit.SECONDS), "the push did not exit within 60 s of SIGTERM");
        long exitMillis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - signalled);
        assertEquals(143, push.exitValue(), "terminated by SIGTERM: " + Files.readString(dir.resolve("push.log")));
        assertTrue(exitMillis < 8_000, "exited " + exitMillis + " ms after SIGTERM, waiting for an upload that got no answer");
        assertTrue(Files.readString(dir.resolve("push.log")).contains("cachemount: stopped by a signal before its own work completed"),
            "the push said why it stopped: " + Files.readString(dir.resolve("push.log")));
      } finally {
        push.destroyForcibly();
        hold.release();
      }
      try (Stream<Path> left = Files.walk(dir.resolve("home"))) {
        assertEquals(List.of(), left.filter(p -> p.getFileName().toString().startsWith("pack-")).toList(), "staged packs left behind");
      }
    }
  }

  /** Pushes {@code tree} as id m2 to team/cache ({@code spec} ends in {@code target=}); the snapshot's first pack, as inspect --json names it. */
  private static JsonNode pushedFirstPack(RegistryAccess access, String spec, Path tree) throws Exception {
    assertEquals(0, access.cli("push", spec + tree).exitCode());
    Cli.Result inspect = access.cli("inspect", "id=m2,ref=" + access.ref("team/cache"));
    return inspect.json().get(0).get("snapshot").get("packs").get(0);
  }

  private static String readQuietly(Path file) {
    try {
      return Files.readString(file);
    } catch (java.io.IOException e) {
      return e.toString();
    }
  }

  @Test
  void aCorruptBlobInTheRegistryExits4AndWritesNoWrongByte() throws Exception {
    try (TestRegistry registry = TestRegistry.start(RegistryMode.PLAIN, dir.resolve("registry"))) {
      RegistryAccess access = RegistryAccess.of(registry, dir.resolve("home"));
      String spec = "id=m2,ref=" + access.ref("team/cache") + ",target=";
      Path tree = smallTree(dir.resolve("tree"), 6);
      String pack = pushedFirstPack(access, spec, tree).get("digest").asText();
      Cli.Result whole = access.cli("verify", "id=m2,ref=" + access.ref("team/cache"));
      assertEquals(0, whole.exitCode(), whole.toString());
      assertEquals("verified", whole.json().get(0).get("result").asText(), whole.toString());
      try (RandomAccessFile f = new RandomAccessFile(registry.blobFile(pack).toFile(), "rw")) {
        f.seek(f.length() / 2);
        int b = f.read();
        f.seek(f.length() / 2);
        f.write(b ^ 0x40);
      }
      // verify finds it before a pull does: the pack, the files that need it, and what to do.
      Cli.Result damaged = access.cli("verify", "id=m2,ref=" + access.ref("team/cache"));
      assertEquals(4, damaged.exitCode(), damaged.toString());
      String found = damaged.json().get(0).get("error").asText();
      assertTrue(found.contains("is damaged: 1 of ") && found.contains("pack " + pack + " (") && found.contains("need it: ")
          && found.contains("its operator must delete that blob"), found);
      Path out = dir.resolve("out");
      Cli.Result pull = access.cli("pull", spec + out);
      assertEquals(4, pull.exitCode(), pull.toString());
      assertTrue(pull.json().get(0).get("error").asText().contains("push --force"), pull.toString());
      // Files whose chunks came before the damage are whole and right; no other file is there, not even a temp file.
      // Where none came before it (the reads run in parallel), the pull removed the directory it made: nothing at all.
      if (Files.exists(out)) {
        try (Stream<Path> files = Files.walk(out)) {
          for (Path f : (Iterable<Path>) files.filter(Files::isRegularFile)::iterator) {
            assertArrayEquals(Files.readAllBytes(tree.resolve(out.relativize(f).toString())), Files.readAllBytes(f), f.toString());
          }
        }
      }

      // The registry keeps the bytes it holds for a digest: --force uploads nothing it says it has,
      // and the message says that the registry's operator must remove the damaged blob first.
      List<String> force = new java.util.ArrayList<>(access.args("push", spec + tree));
      force.add(1, "--force");
      assertEquals(0, Cli.run(access.env(), new byte[0], force.toArray(String[]::new)).exitCode());
      Cli.Result still = access.cli("pull", spec + out);
      assertEquals(4, still.exitCode(), still.toString());
      assertTrue(still.json().get(0).get("error").asText().contains("its operator must delete that blob"), still.toString());
      // Once the damaged blob is gone (as after its deletion and the registry's garbage collection), --force repairs.
      Files.delete(registry.blobFile(pack));
      Cli.Result repaired = Cli.run(access.env(), new byte[0], force.toArray(String[]::new));
      assertEquals(0, repaired.exitCode(), repaired.toString());
      assertTrue(repaired.json().get(0).get("bytesTransferred").asLong() > 0, "the missing pack was uploaded again: " + repaired);
      Cli.Result good = access.cli("pull", spec + out);
      assertEquals(0, good.exitCode(), good.toString());
      TreeCompare.assertSameTree(tree, out);
      assertEquals(0, access.cli("verify", "id=m2,ref=" + access.ref("team/cache")).exitCode());
    }
  }

  /**
   * A pack cut short in the registry's storage (a full disk, a partial copy) is damage, as a flipped
   * byte is, and as a layout directory's short blob is (exit 4, "has N bytes, its descriptor says M").
   * The registry's answer for it is correct HTTP about a shorter blob; the pull said the registry did
   * not serve ranges as HTTP says, told the user to see its operator, and exited 1.
   */
  @Test
  void aPackCutShortInTheRegistryExits4NamingBothSizes() throws Exception {
    try (TestRegistry registry = TestRegistry.start(RegistryMode.PLAIN, dir.resolve("registry"))) {
      RegistryAccess access = RegistryAccess.of(registry, dir.resolve("home"));
      String spec = "id=m2,ref=" + access.ref("team/cache") + ",target=";
      JsonNode pack = pushedFirstPack(access, spec, smallTree(dir.resolve("tree"), 6));
      long size = pack.get("size").asLong();
      try (RandomAccessFile f = new RandomAccessFile(registry.blobFile(pack.get("digest").asText()).toFile(), "rw")) {
        f.setLength(size * 3 / 4);
      }
      Cli.Result pull = access.cli("pull", spec + dir.resolve("out"));
      assertEquals(4, pull.exitCode(), pull.toString());
      String error = pull.json().get(0).get("error").asText();
      assertTrue(error.contains("has " + (size * 3 / 4) + " bytes") && error.contains("its descriptor says " + size), error);
      assertTrue(error.contains("its operator must delete that blob"), error);

      // Cut to nothing: the registry refuses any range of it (416), which says the same.
      try (RandomAccessFile f = new RandomAccessFile(registry.blobFile(pack.get("digest").asText()).toFile(), "rw")) {
        f.setLength(0);
      }
      Cli.Result empty = access.cli("pull", spec + dir.resolve("out-2"));
      assertEquals(4, empty.exitCode(), empty.toString());
      assertTrue(empty.json().get(0).get("error").asText().contains("its descriptor says " + size), empty.toString());
      for (Cli.Result r : List.of(pull, empty)) {
        assertFalse(r.err().contains("\tat "), "a stack trace beside the message: " + r.err());
      }
    }
  }

  /**
   * A pull read the manifest; then a push moved the tag and the old snapshot's pack went (a registry's
   * garbage collection): the pull sees the 404, finds the tag moved, and restores the new snapshot.
   */
  @Test
  void aPullWhoseSnapshotsBlobVanishedAfterThePushMovedTheTagStartsOverWithTheNewOne() throws Exception {
    try (TestRegistry registry = TestRegistry.start(RegistryMode.PLAIN, dir.resolve("registry"))) {
      RegistryAccess access = RegistryAccess.of(registry, dir.resolve("home"));
      String spec = "id=m2,ref=" + access.ref("team/cache") + ",target=";
      Path first = smallTree(dir.resolve("first"), 11);
      Path second = smallTree(dir.resolve("second"), 12);
      assertEquals(0, access.cli("push", spec + first).exitCode());
      ManifestBytes old;
      String oldPack;
      try (RegistryStore store = access.store("team/cache", dir.resolve("hints"))) {
        old = store.fetchManifest("m2").orElseThrow();
        oldPack = Json.readManifest(old.bytes(), "manifest").layers().get(1).digest();
      }
      assertEquals(0, access.cli("push", spec + second).exitCode());
      Files.delete(registry.blobFile(oldPack));

      // The pull's first look at the tag saw the old manifest, as if the push came just after it.
      java.util.concurrent.atomic.AtomicBoolean firstLook = new java.util.concurrent.atomic.AtomicBoolean(true);
      dev.cachemount.core.Cachemount client = dev.cachemount.core.Cachemount.builder().home(dir.resolve("home")).env(Map.of())
          .stores((s, d, l) -> new dev.cachemount.core.testing.ForwardingStore(access.store("team/cache", dir.resolve("hints2"))) {
            @Override
            public java.util.Optional<ManifestBytes> fetchManifest(String reference) throws java.io.IOException {
              return firstLook.getAndSet(false) ? java.util.Optional.of(old) : delegate.fetchManifest(reference);
            }
          }).build();
      List<String> warnings = new java.util.ArrayList<>();
      Path out = dir.resolve("out");
      client.pull(client.parseSpec(spec + out), new dev.cachemount.core.OperationListener() {
        @Override
        public void warning(String message) {
          warnings.add(message);
        }
      });
      TreeCompare.assertSameTree(second, out);
      assertTrue(warnings.stream().anyMatch(w -> w.contains("was replaced by a push while this pull read it")), warnings.toString());
    }
  }

  @Test
  void aTagHoldingSomethingElseIsNamedAndNeverOverwritten() throws Exception {
    try (TestRegistry registry = TestRegistry.start(RegistryMode.PLAIN, dir.resolve("registry"))) {
      RegistryAccess access = RegistryAccess.of(registry, dir.resolve("home"));
      byte[] config = "{}".getBytes(StandardCharsets.UTF_8);
      ManifestBytes image;
      try (RegistryStore store = access.store("team/app", dir.resolve("hints"))) {
        assertEquals(BlobPut.written(config.length), store.putBlob(Digest.of(config), config));
        image = ManifestBytes.of(MediaTypes.OCI_MANIFEST, Json.write(new ImageManifest(2, MediaTypes.OCI_MANIFEST, null,
            Descriptor.of("application/vnd.oci.image.config.v1+json", Digest.of(config), config.length), List.of(), null)));
        store.putManifest("m2", image);
      }
      String spec = "id=m2,ref=" + access.ref("team/app") + ",target=";
      Cli.Result pull = access.cli("pull", spec + dir.resolve("out"));
      assertEquals(1, pull.exitCode(), pull.toString());
      assertTrue(pull.json().get(0).get("error").asText().contains("application/vnd.oci.image.config.v1+json"), pull.toString());
      Cli.Result push = access.cli("push", spec + smallTree(dir.resolve("tree"), 7));
      assertEquals(1, push.exitCode(), push.toString());
      try (RegistryStore store = access.store("team/app", dir.resolve("hints"))) {
        assertEquals(image.digest(), store.fetchManifest("m2").orElseThrow().digest(), "the image is still there");
      }
    }
  }

  @Test
  void anExpiredTokenIsRefreshedMidOperation() throws Exception {
    try (TestRegistry registry = TestRegistry.start(RegistryMode.TOKEN, dir.resolve("registry"))) {
      RegistryAccess access = RegistryAccess.of(registry, dir.resolve("home"));
      registry.issuer().refusedByRegistryAfter(Duration.ofSeconds(2));
      byte[] a = "first blob".getBytes(StandardCharsets.UTF_8);
      byte[] b = "second blob".getBytes(StandardCharsets.UTF_8);
      try (RegistryStore store = access.store("team/cache", dir.resolve("hints"))) {
        assertEquals(BlobPut.written(a.length), store.putBlob(Digest.of(a), a));
        store.putManifest("m2", StoreManifests.naming(Digest.of(a), a.length));
        int before = registry.issuer().tokensIssued();
        Thread.sleep(3500);
        assertEquals(BlobPut.written(b.length), store.putBlob(Digest.of(b), b), "a push goes on after its token expired");
        assertTrue(store.fetchManifest("m2").isPresent(), "and so do the reads jib-core does not make");
        try (var in = store.openBlob(Digest.of(a), a.length)) {
          assertEquals(new String(a, StandardCharsets.UTF_8), new String(in.readAllBytes(), StandardCharsets.UTF_8));
        }
        assertTrue(registry.issuer().tokensIssued() > before, "new tokens were fetched");
        assertTrue(registry.countRequests("PUT", ".*") >= 2);
      }
    }
  }
}
