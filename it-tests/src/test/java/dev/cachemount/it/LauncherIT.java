package dev.cachemount.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The {@code ./cachemount} launcher's choice of JVM and its ahead-of-time cache: on a machine with
 * JDK 25 or later the cache is made once per jar by the training run, reused, made again when the jar
 * changes, and never prints into the command's output; {@code CACHEMOUNT_AOT=off} runs without it.
 * Runs a private copy of the jar ({@code CACHEMOUNT_JAR}), so that the cache lands beside the copy;
 * the tests of symlinks to the launcher and of launchers building at once run a private copy of the
 * launcher with a stand-in for Maven ({@link #checkout}).
 */
class LauncherIT {
  @TempDir Path dir;

  private Map<String, String> env = new HashMap<>();

  private Processes.Result launcher(String... args) throws Exception {
    return run(Cli.repoRoot(), Cli.repoRoot().resolve("cachemount").toString(), args);
  }

  /** {@code launcher ARGS} in {@code cwd}, with {@link #env}. */
  private Processes.Result run(Path cwd, String launcher, String... args) throws Exception {
    List<String> command = new ArrayList<>(List.of(launcher));
    command.addAll(List.of(args));
    return Processes.run(cwd, Duration.ofMinutes(5), command, env, new byte[0]);
  }

  /**
   * A checkout of the launcher alone, in {@link #dir}: the script, the files whose changes make it build
   * the jar again, and the jar, older than them ({@code stale}) or newer; and first on PATH a {@code mvn}
   * that is not Maven, so that the real checkout's jar is never rebuilt and a build takes three seconds,
   * not a minute: it adds a line to {@code mvn-runs} and then replaces the jar as a slow build could, not
   * atomically: it deletes it, writes its first megabyte, creates {@code mvn-runs.half}, and writes the
   * rest two seconds later.
   */
  private Path checkout(boolean stale) throws Exception {
    Path repo = dir.resolve("checkout");
    Files.createDirectories(repo.resolve("cli/target"));
    Files.copy(Cli.repoRoot().resolve("cachemount"), repo.resolve("cachemount"), StandardCopyOption.COPY_ATTRIBUTES);
    for (String source : List.of("pom.xml", "core/pom.xml", "cli/pom.xml", "core/src/main/java/A.java", "cli/src/main/java/B.java")) {
      Files.createDirectories(repo.resolve(source).getParent());
      Files.writeString(repo.resolve(source), "");
    }
    Path jar = repo.resolve("cli/target/cachemount.jar");
    Files.copy(Cli.jar(), jar);
    Files.setLastModifiedTime(jar, FileTime.from(Instant.now().plusSeconds(stale ? -3600 : 3600)));

    Path mvn = Files.createDirectories(dir.resolve("fake-maven")).resolve("mvn");
    Files.writeString(mvn, """
        #!/bin/sh
        echo "$$ $*" >>"$FAKE_MVN_RUNS"
        rm -f cli/target/cachemount.jar
        head -c 1000000 "$FAKE_MVN_JAR" >cli/target/cachemount.jar || exit 1
        : >"$FAKE_MVN_RUNS.half"
        sleep 2
        tail -c +1000001 "$FAKE_MVN_JAR" >>cli/target/cachemount.jar
        """);
    assertTrue(mvn.toFile().setExecutable(true));
    env.put("PATH", mvn.getParent() + ":" + System.getenv("PATH"));
    env.put("FAKE_MVN_JAR", Cli.jar().toString());
    env.put("FAKE_MVN_RUNS", dir.resolve("mvn-runs").toString());
    env.put("XDG_CACHE_HOME", dir.resolve("xdg").toString());
    return repo;
  }

  /**
   * The launcher sets LC_ALL=C.UTF-8 for its JVM's file names where the caller's locale is not UTF-8;
   * the command of run (and a preset's tool) gets the caller's locale back: its LC_ALL as it was, or
   * none, so that `run -- mvn` compiles with the platform encoding `mvn` alone would have.
   */
  @Test
  void runsCommandGetsTheCallersLocaleNotTheLaunchers() throws Exception {
    env.put("CACHEMOUNT_JAR", Cli.jar().toString());
    env.put("CACHEMOUNT_AOT", "off");
    env.put("XDG_CACHE_HOME", dir.resolve("xdg").toString());
    String spec = "id=locale,dir=" + dir.resolve("store") + ",target=" + dir.resolve("target");
    String show = "printf '%s|%s|%s' \"${LC_ALL-unset}\" \"${LANG-unset}\" \"${CACHEMOUNT_CALLER_LC_ALL-none}\" > " + dir.resolve("seen");
    env.put("LC_ALL", "C");
    Processes.Result r = launcher("run", "--cache-id", spec, "--", "sh", "-c", show);
    assertEquals(0, r.exitCode(), r.toString());
    assertEquals("C|" + System.getenv().getOrDefault("LANG", "unset") + "|none", Files.readString(dir.resolve("seen")));

    env.remove("LC_ALL");
    r = run(Cli.repoRoot(), "/usr/bin/env", "-u", "LC_ALL", "-u", "LC_CTYPE", "LANG=en_US.ISO-8859-1", Cli.repoRoot().resolve("cachemount").toString(),
        "run", "--cache-id", spec, "--", "sh", "-c", show);
    assertEquals(0, r.exitCode(), r.toString());
    assertEquals("unset|en_US.ISO-8859-1|none", Files.readString(dir.resolve("seen")));

    env.put("LC_ALL", "C.UTF-8"); // UTF-8 already: left alone
    r = launcher("run", "--cache-id", spec, "--", "sh", "-c", show);
    assertEquals(0, r.exitCode(), r.toString());
    assertTrue(Files.readString(dir.resolve("seen")).startsWith("C.UTF-8|"), Files.readString(dir.resolve("seen")));
  }

  /** Installed as a symlink on PATH (relative links, a chain of them, or one absolute link), run from elsewhere. */
  @Test
  void theLauncherRunsThroughSymlinksFromAnotherDirectory() throws Exception {
    Path repo = checkout(false);
    env.put("CACHEMOUNT_AOT", "off");
    Path bin = Files.createDirectories(dir.resolve("bin"));
    Path links = Files.createDirectories(dir.resolve("links"));
    Files.createSymbolicLink(bin.resolve("cachemount"), Path.of("../links/cm"));
    Files.createSymbolicLink(links.resolve("cm"), Path.of("../checkout/cachemount"));
    Files.createSymbolicLink(links.resolve("absolute"), repo.resolve("cachemount"));
    Path elsewhere = Files.createDirectories(dir.resolve("elsewhere"));
    env.put("PATH", bin + ":" + env.get("PATH"));

    for (List<String> command : List.of(
        List.of(bin.resolve("cachemount").toString(), "version"),
        List.of(links.resolve("absolute").toString(), "version"),
        List.of("/bin/sh", "-c", "cachemount version"))) {
      Processes.Result r = run(elsewhere, command.get(0), command.subList(1, command.size()).toArray(String[]::new));
      assertEquals(0, r.exitCode(), command + ": " + r);
      assertTrue(r.out().startsWith("cachemount "), command + ": " + r);
    }
    assertFalse(Files.exists(dir.resolve("mvn-runs")), "the jar beside the real script is fresh: no build");
  }

  /**
   * Installed without a checkout (docs/user-guide.md, "Installing on runners"): the launcher copied beside a
   * built jar runs that jar, from any directory and through a symlink, and never runs Maven.
   */
  @Test
  void aLauncherCopiedBesideABuiltJarRunsItWithoutACheckoutOrABuild() throws Exception {
    checkout(true); // only for its stand-in mvn on PATH, which records any build
    env.put("CACHEMOUNT_AOT", "off");
    Path install = Files.createDirectories(dir.resolve("opt/cachemount"));
    Files.copy(Cli.repoRoot().resolve("cachemount"), install.resolve("cachemount"), StandardCopyOption.COPY_ATTRIBUTES);
    Files.copy(Cli.jar(), install.resolve("cachemount.jar"));
    Path bin = Files.createDirectories(dir.resolve("bin"));
    Files.createSymbolicLink(bin.resolve("cachemount"), install.resolve("cachemount"));
    Path elsewhere = Files.createDirectories(dir.resolve("elsewhere"));

    for (Path launcher : List.of(install.resolve("cachemount"), bin.resolve("cachemount"))) {
      Processes.Result r = run(elsewhere, launcher.toString(), "version");
      assertEquals(0, r.exitCode(), launcher + ": " + r);
      assertTrue(r.out().startsWith("cachemount "), launcher + ": " + r);
      assertFalse(r.stderr().contains("building"), r.stderr());
    }
    assertFalse(Files.exists(dir.resolve("mvn-runs")), "an installed launcher never builds");
  }

  /**
   * A launcher with neither a checkout nor a jar beside it, and a {@code CACHEMOUNT_JAR} that names no file,
   * are usage errors (exit 2) that say what to do, before anything runs: no Maven, no training run, and no
   * file made beside the missing jar.
   */
  @Test
  void aLauncherWithNoJarToRunSaysWhatToDoAndRunsNothing() throws Exception {
    checkout(true);
    Path alone = Files.createDirectories(dir.resolve("alone"));
    Files.copy(Cli.repoRoot().resolve("cachemount"), alone.resolve("cachemount"), StandardCopyOption.COPY_ATTRIBUTES);
    Processes.Result r = run(dir, alone.resolve("cachemount").toString(), "version");
    assertEquals(2, r.exitCode(), r.toString());
    assertTrue(r.stderr().contains(alone + " holds neither a cachemount checkout") && r.stderr().contains("CACHEMOUNT_JAR"), r.stderr());

    Path missing = dir.resolve("nowhere/cachemount.jar");
    Files.createDirectories(missing.getParent());
    env.put("CACHEMOUNT_JAR", missing.toString());
    r = run(dir, alone.resolve("cachemount").toString(), "version");
    assertEquals(2, r.exitCode(), r.toString());
    assertTrue(r.stderr().contains("CACHEMOUNT_JAR is " + missing + ", which is not a file"), r.stderr());
    assertEquals("", r.out());
    try (var beside = Files.list(missing.getParent())) {
      assertEquals(List.of(), beside.toList(), "nothing made beside the missing jar");
    }
    try (var files = Files.list(alone)) {
      assertEquals(List.of("cachemount"), files.map(p -> p.getFileName().toString()).toList());
    }
    assertFalse(Files.exists(dir.resolve("mvn-runs")), "no build");
  }

  /**
   * A jar in a directory the user who runs it cannot write (an install owned by another user): the
   * launcher runs it without a start-up cache rather than run the training, seconds long, on every
   * command for a cache it cannot keep; and says nothing about it.
   */
  @Test
  void aJarInADirectoryTheUserCannotWriteRunsWithoutTrainingEachTime() throws Exception {
    Path install = Files.createDirectories(dir.resolve("opt"));
    Files.setPosixFilePermissions(dir, java.nio.file.attribute.PosixFilePermissions.fromString("rwxr-xr-x"));
    Files.setPosixFilePermissions(install, java.nio.file.attribute.PosixFilePermissions.fromString("r-xr-xr-x"));
    Files.copy(Cli.repoRoot().resolve("cachemount"), install.resolve("cachemount"), StandardCopyOption.COPY_ATTRIBUTES);
    Files.copy(Cli.jar(), install.resolve("cachemount.jar"));
    Path home = Files.createDirectories(dir.resolve("home"));
    Files.setPosixFilePermissions(home, java.nio.file.attribute.PosixFilePermissions.fromString("rwxrwxrwx"));
    List<String> command = new ArrayList<>();
    if (Processes.run(List.of("id", "-u")).out().trim().equals("0")) { // root writes anywhere: run as nobody
      command.addAll(List.of(Processes.require("setpriv", "apt-get install -y util-linux"), "--reuid=65534", "--regid=65534", "--clear-groups"));
    }
    command.addAll(List.of(install.resolve("cachemount").toString(), "version"));
    Map<String, String> user = Map.of("HOME", home.toString(), "XDG_CACHE_HOME", home.resolve("cache").toString());
    for (int i = 0; i < 2; i++) {
      Processes.Result r = Processes.run(home, Duration.ofMinutes(2), command, user, new byte[0]);
      assertEquals(0, r.exitCode(), r.toString());
      assertTrue(r.out().startsWith("cachemount "), r.toString());
      assertEquals("", r.stderr(), "no training, no message");
      Matcher java = Pattern.compile("(?s).*\njava (\\d+)[.\\s].*").matcher(r.out());
      assertTrue(java.matches(), r.out());
      assertTrue(!hasJdk25OrLater() || Integer.parseInt(java.group(1)) >= 25,
          "a JDK 25 is installed, so the launcher runs it, where training would be due: " + r.out());
    }
    try (var files = Files.list(install)) {
      assertEquals(List.of("cachemount", "cachemount.jar"), files.map(p -> p.getFileName().toString()).sorted().toList());
    }
  }

  /**
   * Launchers started at once against a stale jar (parallel steps of a CI job): one builds it and makes its
   * start-up cache, the others wait and run it, also the one started while the jar was half written.
   */
  @Test
  void launchersStartedAtOnceBuildTheStaleJarOnce() throws Exception {
    Path repo = checkout(true);
    Path half = dir.resolve("mvn-runs.half");
    ExecutorService pool = Executors.newFixedThreadPool(3);
    try {
      List<Future<Processes.Result>> runs = new ArrayList<>();
      for (int i = 0; i < 2; i++) {
        runs.add(pool.submit(() -> run(repo, repo.resolve("cachemount").toString(), "version")));
      }
      for (long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos(); !Files.exists(half) && System.nanoTime() < deadline; ) {
        Thread.sleep(10);
      }
      assertTrue(Files.exists(half), "a launcher ran mvn within 30 s");
      runs.add(pool.submit(() -> run(repo, repo.resolve("cachemount").toString(), "version")));
      int preparing = 0;
      for (Future<Processes.Result> run : runs) {
        Processes.Result r = run.get(2, TimeUnit.MINUTES);
        assertEquals(0, r.exitCode(), r.toString());
        assertTrue(r.out().startsWith("cachemount "), r.toString());
        preparing += r.stderr().contains("preparing the start-up cache") ? 1 : 0;
      }
      assertEquals(1, Files.readAllLines(dir.resolve("mvn-runs")).size(), "one build:\n" + Files.readString(dir.resolve("mvn-runs")));
      assertEquals(Files.size(Cli.jar()), Files.size(repo.resolve("cli/target/cachemount.jar")), "the jar is whole");
      assertTrue(preparing <= 1, "the start-up cache is made once per build, here " + preparing + " times");
      try (var target = Files.list(repo.resolve("cli/target"))) {
        List<Path> failed = target.filter(p -> p.toString().endsWith(".aot.failed") || p.toString().endsWith(".building")).toList();
        assertEquals(List.of(), failed, "no failed start-up cache, no unfinished build");
      }
    } finally {
      pool.shutdownNow();
    }
  }

  @Test
  void theAheadOfTimeCacheIsMadeOncePerJarAndKeptOutOfTheOutput() throws Exception {
    Path jar = dir.resolve("cachemount.jar");
    Files.copy(Cli.jar(), jar);
    env.put("CACHEMOUNT_JAR", jar.toString());
    env.put("XDG_CACHE_HOME", dir.resolve("xdg").toString());

    Processes.Result first = launcher("version");
    assertEquals(0, first.exitCode(), first.toString());
    String[] lines = first.out().split("\n");
    assertEquals(3, lines.length, "version prints three lines and nothing of the JVM's:\n" + first.out());
    Matcher java = Pattern.compile("java (\\d+)[.\\s].*").matcher(lines[2]);
    assertTrue(java.matches(), lines[2]);
    int major = Integer.parseInt(java.group(1));
    boolean newerJdkHere = Files.exists(Path.of("/usr/lib/jvm")) && hasJdk25OrLater();
    Path aot = dir.resolve("cachemount-jdk" + major + ".aot");
    if (major < 25) {
      assertFalse(newerJdkHere, "a JDK 25+ is installed under /usr/lib/jvm, but the launcher ran " + lines[2]);
      assertFalse(Files.exists(aot), "no ahead-of-time cache on JDK " + major);
      return;
    }
    assertTrue(first.stderr().contains("preparing the start-up cache for JDK " + major), first.stderr());
    assertTrue(Files.size(aot) > 1_000_000, "the cache was made beside the jar: " + aot);

    Processes.Result second = launcher("version");
    assertEquals(first.out(), second.out());
    assertFalse(second.stderr().contains("preparing"), "the cache is reused:\n" + second.stderr());

    Path tree = Files.createDirectories(dir.resolve("tree/a"));
    Files.writeString(tree.resolve("x.pom"), "<project/>\n".repeat(100));
    Processes.Result push = launcher("push", "--json", "--cache-id", "id=t,dir=" + dir.resolve("store") + ",target=" + dir.resolve("tree"));
    assertEquals(0, push.exitCode(), push.toString());
    assertTrue(push.out().startsWith("{\"id\":\"t\"") && push.out().strip().split("\n").length == 1,
        "--json output is one JSON line, nothing of the JVM's:\n" + push.out());

    Files.setLastModifiedTime(jar, FileTime.from(Files.getLastModifiedTime(aot).toInstant().plusSeconds(1)));
    Processes.Result rebuilt = launcher("version");
    assertEquals(0, rebuilt.exitCode(), rebuilt.toString());
    assertTrue(rebuilt.stderr().contains("preparing the start-up cache"), "a newer jar gets a new cache:\n" + rebuilt.stderr());
    assertTrue(Files.getLastModifiedTime(aot).compareTo(Files.getLastModifiedTime(jar)) >= 0, "the new cache is not older than the jar");

    Files.delete(aot);
    env.put("CACHEMOUNT_AOT", "off");
    Processes.Result off = launcher("version");
    assertEquals(0, off.exitCode(), off.toString());
    assertFalse(off.stderr().contains("preparing"), off.stderr());
    assertFalse(Files.exists(aot), "CACHEMOUNT_AOT=off makes no cache");
  }

  private static boolean hasJdk25OrLater() throws Exception {
    try (var jdks = Files.list(Path.of("/usr/lib/jvm"))) {
      for (Path jdk : jdks.toList()) {
        Path release = jdk.resolve("release");
        if (Files.isRegularFile(release)) {
          Matcher m = Pattern.compile("JAVA_VERSION=\"(\\d+)").matcher(Files.readString(release));
          if (m.find() && Integer.parseInt(m.group(1)) >= 25 && Files.isExecutable(jdk.resolve("bin/java"))) {
            return true;
          }
        }
      }
    }
    return false;
  }
}
