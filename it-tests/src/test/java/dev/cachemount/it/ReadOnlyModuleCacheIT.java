package dev.cachemount.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.cachemount.it.registry.RegistryMode;
import dev.cachemount.it.registry.TestRegistry;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.nio.file.attribute.UserPrincipal;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Go's module cache is read-only (directories 0555, files 0444). A pull over such a tree, by a user
 * whom the modes bind (not root: the test drops to {@code nobody} with {@code setpriv} when it runs as
 * root), restores what is missing and leaves the directories read-only as they were, also when it is
 * cancelled with SIGTERM.
 */
class ReadOnlyModuleCacheIT {
  @TempDir Path dir;

  private boolean root() throws Exception {
    return Processes.run(List.of("id", "-u")).out().trim().equals("0");
  }

  /** {@code command} run as the test's unprivileged user. */
  private List<String> userCommand(String... command) throws Exception {
    List<String> full = new ArrayList<>();
    if (root()) {
      full.addAll(List.of(Processes.require("setpriv", "apt-get install -y util-linux"), "--reuid=65534", "--regid=65534", "--clear-groups"));
    }
    full.addAll(List.of(command));
    return full;
  }

  private static Map<String, String> userEnv(Path home) {
    return Map.of("HOME", home.toString(), "XDG_CACHE_HOME", home.resolve("cache").toString(), "LC_ALL", "C.UTF-8");
  }

  /** Runs {@code command} as the test's unprivileged user. */
  private Processes.Result asUser(Path home, String... command) throws Exception {
    return Processes.run(home, Duration.ofMinutes(5), userCommand(command), userEnv(home), new byte[0]);
  }

  /** A home directory for the unprivileged user, owned by it, with a copy of the CLI jar. */
  private Path userHome() throws Exception {
    Path home = Files.createDirectories(dir.resolve("home"));
    Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwxr-xr-x"));
    Files.copy(Cli.jar(), home.resolve("cachemount.jar"));
    return home;
  }

  private void giveToUser(Path home) throws Exception {
    if (root()) {
      UserPrincipal nobody = home.getFileSystem().getUserPrincipalLookupService().lookupPrincipalByName("nobody");
      try (var walk = Files.walk(home)) {
        for (Path p : (Iterable<Path>) walk::iterator) {
          Files.setOwner(p, nobody);
        }
      }
    }
  }

  @Test
  void aPullOverAReadOnlyModuleCacheRestoresWhatIsMissingAndKeepsItReadOnly() throws Exception {
    Path home = userHome();
    Path jar = home.resolve("cachemount.jar");
    Path mod = home.resolve("gomodcache/github.com/acme/lib@v1.2.3");
    Files.createDirectories(mod.resolve("internal"));
    Files.writeString(mod.resolve("go.mod"), "module github.com/acme/lib\n");
    Files.writeString(mod.resolve("lib.go"), "package lib\n");
    Files.writeString(mod.resolve("internal/x.go"), "package internal\n");
    giveToUser(home);
    String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
    Path cache = home.resolve("gomodcache");
    assertEquals(0, asUser(home, "chmod", "-R", "a-w", cache.toString()).exitCode());
    Processes.Result denied = asUser(home, "touch", mod.resolve("probe").toString());
    assertTrue(denied.exitCode() != 0, "the modes bind the user who pulls: " + denied);

    String spec = "id=gomod,dir=" + home.resolve("store") + ",target=" + cache;
    Processes.Result push = asUser(home, java, "-jar", jar.toString(), "push", "--cache-id", spec);
    assertEquals(0, push.exitCode(), push.toString());

    // A cache with a file gone (a partial download): made writable for the deletion, then read-only again.
    assertEquals(0, asUser(home, "chmod", "u+w", mod.resolve("internal").toString()).exitCode());
    assertEquals(0, asUser(home, "rm", "-f", mod.resolve("internal/x.go").toString()).exitCode());
    assertEquals(0, asUser(home, "chmod", "a-w", mod.resolve("internal").toString()).exitCode());

    Processes.Result pull = asUser(home, java, "-jar", jar.toString(), "pull", "--json", "--cache-id", spec);
    assertEquals(0, pull.exitCode(), pull.toString());
    assertEquals("package internal\n", Files.readString(mod.resolve("internal/x.go")));
    assertEquals("r-xr-xr-x", PosixFilePermissions.toString(Files.getPosixFilePermissions(mod.resolve("internal"))), "read-only again");
    assertEquals("r-xr-xr-x", PosixFilePermissions.toString(Files.getPosixFilePermissions(mod)));
    assertFalse(Files.isWritable(mod.resolve("go.mod")) && !root(), "files untouched");
    assertEquals(0, asUser(home, "chmod", "-R", "u+w", cache.toString()).exitCode(), "so that the temp dir can be removed");
  }

  /**
   * A directory of the target that its owner made inaccessible (mode 000): the pull opens it for the
   * restore and gives it its mode back, instead of failing with an internal error (EnumSet.copyOf of
   * an empty set of permissions).
   */
  @Test
  void aPullIntoADirectoryOfModeZeroRestoresIntoItAndGivesItsModeBack() throws Exception {
    Path home = userHome();
    Path tree = Files.createDirectories(home.resolve("tree/d")).getParent();
    Files.writeString(tree.resolve("d/f"), "restored\n");
    Path target = Files.createDirectories(home.resolve("target/d")).getParent();
    giveToUser(home);
    assertEquals(0, asUser(home, "chmod", "000", target.resolve("d").toString()).exitCode());
    String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
    String jar = home.resolve("cachemount.jar").toString();
    String store = "dir=" + home.resolve("store");
    Processes.Result push = asUser(home, java, "-jar", jar, "push", "--cache-id", "id=z," + store + ",target=" + tree);
    assertEquals(0, push.exitCode(), push.toString());
    Processes.Result pull = asUser(home, java, "-jar", jar, "pull", "--cache-id", "id=z," + store + ",target=" + target);
    assertEquals(0, pull.exitCode(), pull.toString());
    assertEquals("---------", PosixFilePermissions.toString(Files.getPosixFilePermissions(target.resolve("d"))), "its mode back");
    assertEquals(0, asUser(home, "chmod", "700", target.resolve("d").toString()).exitCode());
    assertEquals("restored\n", Files.readString(target.resolve("d/f")));
  }

  /**
   * A directory of mode 000, with a subdirectory of mode 000, where the snapshot has a file: the pull
   * moves it aside and deletes it once complete. It could not walk it: the aside stayed behind with a
   * warning, and every later mode=mirror pull failed on it ("permission denied"). A mirror pull also
   * leaves alone an aside of mode 000 that an earlier pull left, instead of failing.
   */
  @Test
  void aDirectoryOfModeZeroWhereTheSnapshotHasAFileIsReplacedWithoutLeftovers() throws Exception {
    Path home = userHome();
    Path tree = Files.createDirectories(home.resolve("tree"));
    Files.writeString(tree.resolve("a"), "the snapshot's file\n");
    Path target = Files.createDirectories(home.resolve("target"));
    Files.writeString(Files.createDirectories(target.resolve("a/inner")).resolve("u"), "the user's\n");
    Files.writeString(Files.createDirectories(target.resolve(".cachemount-tmp-aside-0ld")).resolve("u"), "an earlier pull's\n");
    giveToUser(home);
    for (String locked : List.of("a/inner", "a", ".cachemount-tmp-aside-0ld")) {
      assertEquals(0, asUser(home, "chmod", "000", target.resolve(locked).toString()).exitCode());
    }
    String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
    String jar = home.resolve("cachemount.jar").toString();
    String store = "dir=" + home.resolve("store");
    assertEquals(0, asUser(home, java, "-jar", jar, "push", "--cache-id", "id=z," + store + ",target=" + tree).exitCode());

    Processes.Result pull = asUser(home, java, "-jar", jar, "pull", "--cache-id", "id=z," + store + ",target=" + target);
    assertEquals(0, pull.exitCode(), pull.toString());
    assertFalse(pull.stderr().contains("could not delete"), pull.stderr());
    assertEquals("the snapshot's file\n", Files.readString(target.resolve("a")));
    Processes.Result mirror = asUser(home, java, "-jar", jar, "pull", "--cache-id", "id=z,mode=mirror," + store + ",target=" + target);
    assertEquals(0, mirror.exitCode(), mirror.toString());
    assertTrue(mirror.stderr().contains(".cachemount-tmp-aside-0ld is what an earlier pull moved aside"), mirror.stderr());
    List<String> names;
    try (var list = Files.list(target)) {
      names = list.map(p -> p.getFileName().toString()).sorted().toList();
    }
    assertEquals(List.of(".cachemount-tmp-aside-0ld", "a"), names, "the replaced directory is gone; the earlier pull's aside stays");
    assertEquals(0, asUser(home, "chmod", "-R", "u+rwx", target.resolve(".cachemount-tmp-aside-0ld").toString()).exitCode(),
        "so that the temp dir can be removed");
  }

  /**
   * A directory of a push's tree that its owner may read but not search (mode 0600): the push fails
   * and says what the directory lacks. It said "make it readable", and the user's {@code chmod u+r}
   * changed nothing.
   */
  @Test
  void aPushOfATreeWithADirectoryThatCannotBeSearchedNamesTheModeItNeeds() throws Exception {
    Path home = userHome();
    Path tree = Files.createDirectories(home.resolve("tree/d")).getParent();
    Files.writeString(tree.resolve("d/f"), "x\n");
    giveToUser(home);
    assertEquals(0, asUser(home, "chmod", "600", tree.resolve("d").toString()).exitCode());
    String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
    Processes.Result push = asUser(home, java, "-jar", home.resolve("cachemount.jar").toString(), "push", "--cache-id",
        "id=s,dir=" + home.resolve("store") + ",target=" + tree);
    assertEquals(1, push.exitCode(), push.toString());
    assertTrue(push.stderr().contains("cannot list directory " + tree.resolve("d")) && push.stderr().contains("chmod u+rx"), push.stderr());
    assertEquals(0, asUser(home, "chmod", "700", tree.resolve("d").toString()).exitCode());
  }

  /**
   * A mode=mirror pull removes what the snapshot lacks, also a directory its owner made inaccessible
   * (mode 000), which the walk cannot open before it could unlock it: the pull failed with "permission
   * denied".
   */
  @Test
  void aMirrorPullRemovesExtraDirectoriesOfModeZeroAndWriteOnly() throws Exception {
    Path home = userHome();
    Path tree = Files.createDirectories(home.resolve("tree/d")).getParent();
    Files.writeString(tree.resolve("d/f"), "kept\n");
    Path target = Files.createDirectories(home.resolve("target/extra/deeper")).getParent().getParent();
    Files.writeString(target.resolve("extra/deeper/x"), "not in the snapshot\n");
    giveToUser(home);
    assertEquals(0, asUser(home, "chmod", "000", target.resolve("extra").toString()).exitCode());
    Path writeOnly = Files.createDirectories(target.resolve("write-only/deeper"));
    Files.writeString(writeOnly.resolve("y"), "not in the snapshot either\n");
    giveToUser(home);
    assertEquals(0, asUser(home, "chmod", "300", target.resolve("write-only").toString()).exitCode(), "writable, not listable");
    String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
    String jar = home.resolve("cachemount.jar").toString();
    String store = "dir=" + home.resolve("store");
    Processes.Result push = asUser(home, java, "-jar", jar, "push", "--cache-id", "id=m," + store + ",target=" + tree);
    assertEquals(0, push.exitCode(), push.toString());
    Processes.Result pull = asUser(home, java, "-jar", jar, "pull", "--cache-id", "id=m," + store + ",target=" + target + ",mode=mirror");
    assertEquals(0, pull.exitCode(), pull.toString());
    assertFalse(Files.exists(target.resolve("extra"), LinkOption.NOFOLLOW_LINKS), "removed");
    assertFalse(Files.exists(target.resolve("write-only"), LinkOption.NOFOLLOW_LINKS), "removed too");
    assertEquals("kept\n", Files.readString(target.resolve("d/f")));
  }

  /**
   * A target first filled by another user (a root step of the job): a file with the snapshot's size
   * and time whose executable bit differs cannot be chmod-ed by the caller, so it is written anew
   * (the directory is the caller's) instead of failing the pull with EPERM.
   */
  @Test
  void aFileOfAnotherUserWhoseOnlyDifferenceIsItsExecutableBitIsWrittenAnew() throws Exception {
    org.junit.jupiter.api.Assumptions.assumeTrue(root(), "needs root, to own a file the pulling user does not");
    Path home = userHome();
    Path tree = Files.createDirectories(home.resolve("tree"));
    Path script = Files.writeString(tree.resolve("run.sh"), "#!/bin/sh\n");
    Files.setPosixFilePermissions(script, PosixFilePermissions.fromString("rwxr-xr-x"));
    Path target = Files.createDirectories(home.resolve("target"));
    giveToUser(home);
    // Same bytes and time, owned by root, without the x bit.
    Path there = Files.writeString(target.resolve("run.sh"), "#!/bin/sh\n");
    Files.setPosixFilePermissions(there, PosixFilePermissions.fromString("rw-r--r--"));
    Files.setLastModifiedTime(there, Files.getLastModifiedTime(script));
    String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
    String jar = home.resolve("cachemount.jar").toString();
    Processes.Result push = asUser(home, java, "-jar", jar, "push", "--cache-id", "id=s,dir=" + home.resolve("store") + ",target=" + tree);
    assertEquals(0, push.exitCode(), push.toString());
    Processes.Result pull = asUser(home, java, "-jar", jar, "pull", "--cache-id", "id=s,dir=" + home.resolve("store") + ",target=" + target);
    assertEquals(0, pull.exitCode(), pull.toString());
    assertEquals("rwxr-xr-x", PosixFilePermissions.toString(Files.getPosixFilePermissions(target.resolve("run.sh"))));
    assertEquals("nobody", Files.getOwner(target.resolve("run.sh")).getName(), "written anew by the pulling user");
  }

  /**
   * The pull reads the snapshot through a proxy that passes the first 16 MiB of the registry's blobs
   * and then holds the pull in the middle of a pack: SIGTERM lands while the pull waits with a
   * temporary file open, however fast the pull and however late this thread runs.
   */
  @Test
  void aPullCancelledWithSigtermGivesTheDirectoriesTheirModesBack() throws Exception {
    Path home = userHome();
    Path cache = home.resolve("gomodcache");
    Path mod = cache.resolve("github.com/acme/big@v1.0.0");
    Files.createDirectories(mod.resolve("data"));
    Files.writeString(mod.resolve("go.mod"), "module github.com/acme/big\n");
    byte[] block = new byte[1 << 20];
    java.util.Random random = new java.util.Random(11);
    try (var out = Files.newOutputStream(mod.resolve("data/blob.bin"))) {
      for (int i = 0; i < 160; i++) { // random, so that it spans several packs: the pull is held in the middle of it
        random.nextBytes(block);
        out.write(block);
      }
    }
    giveToUser(home);
    String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
    String jar = home.resolve("cachemount.jar").toString();
    try (TestRegistry registry = TestRegistry.start(RegistryMode.PLAIN, dir.resolve("registry"));
        FaultProxy proxy = new FaultProxy(registry.host())) {
      String spec = "id=gomod,ref=" + proxy.host() + "/team/gomod,target=" + cache;
      Processes.Result push = asUser(home, java, "-jar", jar, "push", "--cache-id", spec);
      assertEquals(0, push.exitCode(), push.toString());
      assertEquals(0, asUser(home, "rm", "-f", mod.resolve("data/blob.bin").toString()).exitCode());
      assertEquals(0, asUser(home, "chmod", "-R", "a-w", cache.toString()).exitCode());

      FaultProxy.Gate stalled = proxy.stallBlobBodiesAfter(16 << 20);
      ProcessBuilder pb = new ProcessBuilder(userCommand(java, "-jar", jar, "pull", "--cache-id", spec))
          .redirectErrorStream(true).redirectOutput(dir.resolve("pull.log").toFile());
      pb.environment().putAll(userEnv(home));
      Process pull = pb.start();
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
      boolean writing = false;
      while (pull.isAlive() && !writing && System.nanoTime() < deadline) {
        if (stalled.awaitReached(Duration.ofMillis(10))) {
          try (var list = Files.list(mod.resolve("data"))) {
            writing = list.anyMatch(p -> p.getFileName().toString().startsWith(".cachemount-tmp-"));
          }
        }
      }
      pull.destroy(); // SIGTERM, as a CI system cancelling the job sends
      int exit = pull.waitFor();
      assertTrue(writing, "the pull did not wait for the registry with a temporary file open (exit " + exit + "): "
          + Files.readString(dir.resolve("pull.log")));
      assertEquals(143, exit, Files.readString(dir.resolve("pull.log")));
    }
    try (var list = Files.list(mod.resolve("data"))) {
      assertEquals(List.of(), list.toList(), "no temporary file is left");
    }
    for (Path d : List.of(cache, mod, mod.resolve("data"))) {
      assertEquals("r-xr-xr-x", PosixFilePermissions.toString(Files.getPosixFilePermissions(d)), d + " is read-only again");
    }
    assertEquals(0, asUser(home, "chmod", "-R", "u+w", cache.toString()).exitCode(), "so that the temp dir can be removed");
  }
}
