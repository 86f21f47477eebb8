package dev.cachemount.core;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.cachemount.core.testing.Processes;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code preset=}: the target is the directory the tool names, found by running fake tools (shell
 * scripts on the PATH of the client's environment) or by reading Maven's settings and the tools'
 * variables; a tool that gives no directory is a usage error that says which, why and what to do.
 */
class PresetDirectoriesTest {
  @TempDir Path dir;
  Path home;
  Path bin;
  Map<String, String> env;

  @BeforeEach
  void setUp() throws IOException {
    home = Files.createDirectories(dir.resolve("home"));
    bin = Files.createDirectories(dir.resolve("bin"));
    env = new HashMap<>(Map.of("PATH", bin.toString()));
  }

  /** A fake tool in {@link #bin}: a shell script. */
  private Path tool(String name, String script) throws IOException {
    Path file = bin.resolve(name);
    Files.writeString(file, "#!/bin/sh\n" + script + "\n");
    Files.setPosixFilePermissions(file, PosixFilePermissions.fromString("rwxr-xr-x"));
    return file;
  }

  private CacheSpec parse(String spec) {
    return Cachemount.builder().home(home).env(env).build().parseSpec(spec);
  }

  private Path target(String spec) {
    return parse(spec).target().orElseThrow();
  }

  private CachemountException usage(String spec) {
    CachemountException e = assertThrows(CachemountException.class, () -> parse(spec));
    assertEquals(FailureKind.USAGE, e.kind(), e.getMessage());
    return e;
  }

  private static void assertMentions(String message, String... parts) {
    for (String part : parts) {
      assertTrue(message.contains(part), "'" + part + "' in: " + message);
    }
  }

  @Test
  void goPresetsAreWhatGoEnvPrintsRunWithTheClientsEnvironmentAndHome() throws IOException {
    // The fake prints what it was asked and from which environment: the client's, HOME its home.
    tool("go", "if [ \"$1 $2\" = 'env GOCACHE' ]; then echo \"$HOME/build-$FLAVOUR\"; elif [ \"$1 $2\" = 'env GOMODCACHE' ]; then echo /srv/mod; else exit 9; fi");
    env.put("FLAVOUR", "x");
    CacheSpec build = parse("preset=go-build");
    assertEquals("go-build", build.id(), "the id defaults to the preset's name");
    assertEquals(home.resolve("build-x"), build.target().orElseThrow());
    CacheSpec mod = parse("preset=go-mod,ref=ghcr.io/acme/cache");
    assertEquals("go-mod", mod.id());
    assertEquals("ghcr.io/acme/cache:go-mod", mod.ref().orElseThrow().toString(), "the tag defaults to the id, as ever");
    assertEquals(Path.of("/srv/mod"), mod.target().orElseThrow());
    assertEquals("gocache", parse("id=gocache,PRESET=Go-Build").id(), "an id given wins; key and name in any case");
  }

  @Test
  void aToolThatFailsIsAUsageErrorNamingThePresetTheCommandItsStatusAndWhatItSaid() throws IOException {
    tool("go", "echo 'go: GOCACHE is not defined and neither $XDG_CACHE_HOME nor $HOME are defined' >&2\necho 'second line' >&2\nexit 3");
    CachemountException e = usage("preset=go-build,dir=" + dir.resolve("store"));
    assertMentions(e.getMessage(), "cache spec 'preset=go-build,dir=", "preset go-build: `go env GOCACHE` exited with status 3: ",
        "go: GOCACHE is not defined", "second line", "or give the directory with target=DIR");
  }

  @Test
  void whatIsNotOneAbsolutePathIsRefused() throws IOException {
    tool("go", "echo off"); // GOCACHE=off
    assertMentions(usage("preset=go-build").getMessage(), "`go env GOCACHE` printed \"off\", which is not an absolute path", "target=DIR");
    tool("go", "echo relative/dir");
    assertMentions(usage("preset=go-build").getMessage(), "printed \"relative/dir\", which is not an absolute path");
    tool("go", "true");
    assertMentions(usage("preset=go-build").getMessage(), "`go env GOCACHE` printed nothing");
    tool("go", "echo /a; echo /b");
    assertMentions(usage("preset=go-build").getMessage(), "printed \"/a\\n/b\", which is not one line");
    tool("go", "printf '  /with/blanks/around  \\n\\n'");
    assertEquals(Path.of("/with/blanks/around"), target("preset=go-build"));
  }

  @Test
  void aToolNotOnPathIsNamedWithThePathSearched() throws IOException {
    assertMentions(usage("preset=go-mod").getMessage(), "preset go-mod: go is not on PATH (PATH=" + bin + ")", "install go (on PATH), or give the directory with target=DIR");
    env.remove("PATH");
    assertMentions(usage("preset=npm").getMessage(), "npm is not on PATH (PATH is not set)");
    // A file that is not executable is not a tool, as for a shell.
    Files.setPosixFilePermissions(tool("npm", "echo /x"), PosixFilePermissions.fromString("rw-r--r--"));
    env.put("PATH", bin.toString());
    assertMentions(usage("preset=npm").getMessage(), "npm is not on PATH");
  }

  /**
   * A tool that a preset runs of its own accord is never the working directory's: a checkout's ./go
   * or ./pip (a hostile pull request's) is not run through a relative PATH entry (".", an empty one,
   * as in PATH=$PATH: with an extra variable unset), as Go's os/exec refuses since 1.19.
   */
  @Test
  void aToolOnlyInARelativePathEntryIsNotRun() throws IOException {
    Path ran = dir.resolve("ran");
    tool("go", "/usr/bin/touch '" + ran + "'; echo /from/the/checkout");
    String relative = Path.of("").toAbsolutePath().relativize(bin).toString();
    env.put("PATH", "/nonexistent-dir:" + relative);
    assertMentions(usage("preset=go-build").getMessage(), "preset go-build: go is not on PATH (PATH=/nonexistent-dir:" + relative + ")",
        bin.resolve("go") + " is in the relative PATH entry " + relative + ", which is not searched");
    assertFalse(Files.exists(ran), "the checkout's tool was not run");
    env.put("PATH", bin.toString());
    assertEquals(Path.of("/from/the/checkout"), target("preset=go-build"), "the same directory, given as absolute, is searched");
  }

  @Test
  void npmIsItsCacacheNotTheWholeCacheDirectory() throws IOException {
    tool("npm", "[ \"$*\" = 'config get cache' ] && echo \"$HOME/.npm\"");
    assertEquals(home.resolve(".npm/_cacache"), target("preset=npm"));
  }

  @Test
  void pipIsTriedThenPip3() throws IOException {
    tool("pip3", "[ \"$*\" = 'cache dir' ] && echo /cache/pip3");
    assertEquals(Path.of("/cache/pip3"), target("preset=pip"), "no pip: pip3");
    tool("pip", "echo 'pyenv: pip: command not found' >&2; exit 127");
    assertEquals(Path.of("/cache/pip3"), target("preset=pip"), "a pip that fails: pip3");
    tool("pip", "echo /cache/pip");
    assertEquals(Path.of("/cache/pip"), target("preset=pip"));
    Files.delete(bin.resolve("pip3"));
    tool("pip", "echo 'ERROR: pip cache commands can not function since cache is disabled.' >&2; exit 1");
    assertMentions(usage("preset=pip").getMessage(), "`pip cache dir` exited with status 1: ERROR: pip cache commands can not function",
        "pip3 is not on PATH", "set pip or pip3 up so that one of them prints its cache directory");
    Files.delete(bin.resolve("pip"));
    assertMentions(usage("preset=pip").getMessage(), "preset pip: neither pip nor pip3 is on PATH (PATH=" + bin + "); install pip or pip3 (on PATH)");
  }

  @Test
  void anExplicitTargetWinsAndNoToolRuns() throws IOException {
    Path ran = dir.resolve("ran");
    tool("go", "/usr/bin/touch '" + ran + "'; exit 3");
    CacheSpec spec = parse("preset=go-build,target=/work/gocache");
    assertEquals("go-build", spec.id());
    assertEquals(Path.of("/work/gocache"), spec.target().orElseThrow());
    assertFalse(Files.exists(ran), "the tool was not run");
    // Nor for a spec that is wrong otherwise: the rest is checked first.
    assertMentions(usage("preset=go-build,compression-level=99").getMessage(), "compression-level=99 is out of range");
    assertMentions(usage("preset=go-build,id=.bad").getMessage(), "cache id '.bad' is not valid");
    assertFalse(Files.exists(ran), "the tool was not run");
  }

  @Test
  void theResolverIsCalledOnlyForAPresetWithoutTargetAndItsTargetIsResolvedAsTargetIs() {
    AtomicInteger calls = new AtomicInteger();
    java.util.function.Function<CachePreset, Path> resolver = preset -> {
      calls.incrementAndGet();
      return Path.of("rel", preset.presetName());
    };
    assertEquals(Path.of("/base/rel/cargo"), CacheSpec.parse("preset=cargo", home, Path.of("/base"), resolver).target().orElseThrow());
    assertEquals(1, calls.get());
    CacheSpec.parse("preset=cargo,target=/t", home, null, resolver);
    CacheSpec.parse("id=x,target=/t", home, null, resolver);
    CacheSpec.parse("id=x", home, null, resolver);
    assertEquals(1, calls.get());
    CachemountException e = assertThrows(CachemountException.class, () -> CacheSpec.parse("preset=pip", home, null, preset -> {
      throw PresetDirectories.problem(preset, "it broke", "mend it");
    }));
    assertEquals("cache spec 'preset=pip': preset pip: it broke; mend it, or give the directory with target=DIR", e.getMessage());
  }

  @Test
  void anUnknownPresetListsTheKnownOnes() {
    assertEquals("cache spec 'preset=yarn': unknown preset 'yarn'; known presets: maven, gradle, go-build, go-mod, npm, pip, cargo",
        usage("preset=yarn").getMessage());
    assertMentions(usage("target=/x").getMessage(), "has no id: add id=NAME (for example id=m2), or preset=NAME (maven, gradle,");
    assertMentions(usage("id=a,tool=go-build").getMessage(), "did you mean preset=NAME?");
    assertMentions(usage("preset=go-build,preset=npm").getMessage(), "key 'preset' is given twice");
  }

  @Test
  void gradleAndCargoAreTheirHomesCachesFromTheirVariablesElseUnderHome() {
    assertEquals(home.resolve(".gradle/caches"), target("preset=gradle"));
    assertEquals(home.resolve(".cargo/registry"), target("preset=cargo"));
    env.put("GRADLE_USER_HOME", "/opt/gradle-home");
    env.put("CARGO_HOME", "/opt/cargo");
    assertEquals(Path.of("/opt/gradle-home/caches"), target("preset=gradle"));
    assertEquals(Path.of("/opt/cargo/registry"), target("preset=cargo"));
    env.put("GRADLE_USER_HOME", "");
    assertEquals(home.resolve(".gradle/caches"), target("preset=gradle"), "empty is unset");
  }

  @Test
  void mavenWithoutSettingsIsTheDefaultRepositoryUnderHome() {
    CacheSpec spec = parse("preset=maven");
    assertEquals("maven", spec.id());
    assertEquals(home.resolve(".m2/repository"), spec.target().orElseThrow());
  }

  /**
   * A container job sets HOME to another directory than the account's (HOME=/github/home, user root):
   * Maven and Gradle, JVM programs, still read ~/.m2 and ~/.gradle under Java's user.home (the
   * account's), and the presets name what they use; go, npm, pip and cargo follow HOME.
   */
  @Test
  void mavenAndGradleLookUnderJavasUserHomeNotHome() throws IOException {
    Path account = Files.createDirectories(dir.resolve("account"));
    tool("go", "echo \"$HOME/go-build\"");
    PresetDirectories presets = new PresetDirectories(env, home, account, Optional.empty());
    assertEquals(account.resolve(".m2/repository"), presets.directory(CachePreset.MAVEN));
    assertEquals(account.resolve(".gradle/caches"), presets.directory(CachePreset.GRADLE));
    assertEquals(home.resolve(".cargo/registry"), presets.directory(CachePreset.CARGO));
    assertEquals(home.resolve("go-build"), presets.directory(CachePreset.GO_BUILD));
    Files.createDirectories(account.resolve(".m2"));
    Files.writeString(account.resolve(".m2/settings.xml"), settings("${user.home}/repo"));
    userSettings("/not/read");
    assertEquals(account.resolve("repo"), presets.directory(CachePreset.MAVEN), "the settings under the account's home");

    // The client's default: HOME from its environment for ~, this JVM's user.home for Maven and Gradle.
    env.put("HOME", home.toString());
    Cachemount client = Cachemount.builder().env(env).build();
    assertEquals(Path.of(System.getProperty("user.home"), ".gradle", "caches"), client.parseSpec("preset=gradle").target().orElseThrow());
    assertEquals(home.resolve(".cargo/registry"), client.parseSpec("preset=cargo").target().orElseThrow());
  }

  private void userSettings(String localRepository) throws IOException {
    Files.createDirectories(home.resolve(".m2"));
    Files.writeString(home.resolve(".m2/settings.xml"), settings(localRepository));
  }

  private static String settings(String localRepository) {
    return "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<settings xmlns=\"http://maven.apache.org/SETTINGS/1.0.0\">\n"
        + "  <!-- <localRepository>/commented/out</localRepository> -->\n  <mirrors><mirror><localRepository>/not/here</localRepository></mirror></mirrors>\n"
        + (localRepository == null ? "" : "  <localRepository>\n    " + localRepository + "\n  </localRepository>\n") + "</settings>\n";
  }

  private Path mavenHome(String localRepository) throws IOException {
    Path mavenHome = Files.createDirectories(dir.resolve("maven-3/conf"));
    Files.writeString(mavenHome.resolve("settings.xml"), settings(localRepository));
    return mavenHome.getParent();
  }

  @Test
  void mavenReadsTheUserSettingsInterpolatingUserHomeAndEnvironmentVariables() throws IOException {
    env.put("CI_PROJECT_DIR", "/builds/acme");
    userSettings("${user.home}/repo-${env.CI_PROJECT_DIR}");
    assertEquals(home.resolve("repo-/builds/acme").normalize(), target("preset=maven"));
    userSettings("${env.CI_PROJECT_DIR}/.m2/repository");
    assertEquals(Path.of("/builds/acme/.m2/repository"), target("preset=maven"));
    userSettings("relative/repo");
    assertEquals(Path.of("relative/repo").toAbsolutePath(), target("preset=maven"), "relative to the working directory, as in Maven");
    userSettings("${env.UNSET_HERE}/repo");
    assertMentions(usage("preset=maven").getMessage(), "preset maven: <localRepository>${env.UNSET_HERE}/repo</localRepository> of "
        + home.resolve(".m2/settings.xml"), "names ${env.UNSET_HERE}, which is not set in the environment", "target=DIR");
    userSettings("");
    assertEquals(home.resolve(".m2/repository"), target("preset=maven"), "an empty element is none");
  }

  @Test
  void mavenFallsBackOnTheGlobalSettingsOfTheMavenHome() throws IOException {
    Path mavenHome = mavenHome("${maven.home}/repo");
    env.put("MAVEN_HOME", mavenHome.toString());
    assertEquals(mavenHome.resolve("repo"), target("preset=maven"));
    userSettings(null); // user settings without <localRepository>
    assertEquals(mavenHome.resolve("repo"), target("preset=maven"));
    userSettings("/user/repo");
    assertEquals(Path.of("/user/repo"), target("preset=maven"), "the user's settings first");
    Files.delete(home.resolve(".m2/settings.xml"));
    env.remove("MAVEN_HOME");
    env.put("M2_HOME", mavenHome.toString());
    assertEquals(mavenHome.resolve("repo"), target("preset=maven"));
  }

  /** An installation whose global settings name {@code localRepository}, its mvn linked from the PATH as /usr/bin/mvn -> /usr/share/maven/bin/mvn. */
  private void mvnOnPath(String localRepository) throws IOException {
    Path mvn = Files.createDirectories(mavenHome(localRepository).resolve("bin")).resolve("mvn");
    Files.writeString(mvn, "#!/bin/sh\nexit 1\n");
    Files.setPosixFilePermissions(mvn, PosixFilePermissions.fromString("rwxr-xr-x"));
    Files.createSymbolicLink(bin.resolve("mvn"), mvn);
  }

  @Test
  void mavenFindsItsHomeFromTheMvnOnPathThroughItsLinks() throws IOException {
    mvnOnPath("/global/repo");
    assertEquals(Path.of("/global/repo"), target("preset=maven"));
  }

  /**
   * The mvn launcher sets MAVEN_HOME to its own installation, whatever the environment says (Maven
   * 3.5 dropped M2_HOME): with an mvn on PATH, a stale MAVEN_HOME or M2_HOME of another installation
   * is not the one whose global settings the build reads.
   */
  @Test
  void theMvnOnPathWinsOverMavenHomeAndM2HomeVariables() throws IOException {
    mvnOnPath("/global/repo");
    Path other = Files.createDirectories(dir.resolve("maven-old/conf"));
    Files.writeString(other.resolve("settings.xml"), settings("/old/repo"));
    env.put("MAVEN_HOME", other.getParent().toString());
    env.put("M2_HOME", other.getParent().toString());
    assertEquals(Path.of("/global/repo"), target("preset=maven"));
    Files.delete(bin.resolve("mvn"));
    assertEquals(Path.of("/old/repo"), target("preset=maven"), "without an mvn on PATH, the variables name the installation");
  }

  @Test
  void mavenTakesMavenRepoLocalFromMavenOpts() throws IOException {
    userSettings("/user/repo");
    env.put("MAVEN_OPTS", "-Xmx1g  -Dmaven.repo.local=/builds/acme/.m2/repository -Dhttps.protocols=TLSv1.2");
    assertEquals(Path.of("/builds/acme/.m2/repository"), target("preset=maven"), "as GitLab's Maven template sets it");
    env.put("MAVEN_OPTS", "-Duser.home=" + dir.resolve("other-home"));
    assertEquals(dir.resolve("other-home/.m2/repository"), target("preset=maven"), "-Duser.home moves the user settings and the default");
  }

  @Test
  void mavenSettingsAreParsedWithoutDtdsOrExternalEntities() throws IOException {
    Path secret = Files.writeString(dir.resolve("secret"), "/from/the/entity");
    Files.createDirectories(home.resolve(".m2"));
    Files.writeString(home.resolve(".m2/settings.xml"), "<?xml version=\"1.0\"?>\n<!DOCTYPE settings [<!ENTITY x SYSTEM \"" + secret.toUri()
        + "\">]>\n<settings><localRepository>&x;</localRepository></settings>\n");
    CachemountException e = usage("preset=maven");
    assertMentions(e.getMessage(), "preset maven: " + home.resolve(".m2/settings.xml") + " cannot be read: ", "DOCTYPE");
    assertFalse(e.getMessage().contains("/from/the/entity"), e.getMessage());
    Files.writeString(home.resolve(".m2/settings.xml"), "<settings><localRepository>/x</localRepo");
    assertMentions(usage("preset=maven").getMessage(), "cannot be read: ");
  }

  @Test
  void theRunningBuildsLocalRepositoryWinsOverTheSettings() throws IOException {
    userSettings("/user/repo");
    Cachemount client = Cachemount.builder().home(home).env(env).build().withMavenLocalRepository(dir.resolve("build-repo"));
    assertEquals(dir.resolve("build-repo"), client.parseSpec("preset=maven").target().orElseThrow());
    assertEquals(Path.of("/user/repo"), client.parseSpec("preset=maven,target=/user/repo").target().orElseThrow());
  }

  @Test
  void aToolThatHangsOrFloodsIsStoppedWithinItsBounds() throws IOException, InterruptedException {
    Path pid = dir.resolve("pid");
    tool("go", "/usr/bin/sleep 60 & echo $! > '" + pid + "'; wait");
    PresetDirectories presets = new PresetDirectories(env, home, home, Optional.empty(), Duration.ofMillis(500));
    long t0 = System.nanoTime();
    CachemountException e = assertThrows(CachemountException.class, () -> presets.directory(CachePreset.GO_BUILD));
    assertTrue(System.nanoTime() - t0 < Duration.ofSeconds(10).toNanos(), "stopped at its timeout");
    assertMentions(e.getMessage(), "`go env GOCACHE` did not finish within 500 ms; it was stopped");
    long child = Long.parseLong(Files.readString(pid).strip());
    assertTrue(Processes.endsWithin(child, Duration.ofSeconds(5)), "what the tool started was stopped with it");

    tool("go", "while :; do echo /a/long/line/of/output; done");
    e = assertThrows(CachemountException.class, () -> new PresetDirectories(env, home, home, Optional.empty()).directory(CachePreset.GO_BUILD));
    assertMentions(e.getMessage(), "`go env GOCACHE` printed more than 64 KiB on standard output");

    // A tool whose child keeps the output open after it exits (a shim's background process): what it printed counts.
    tool("go", "echo /cache/go; /usr/bin/sleep 5 &");
    assertEquals(Path.of("/cache/go"), new PresetDirectories(env, home, home, Optional.empty()).directory(CachePreset.GO_BUILD));
  }

  @Test
  void everyPresetHasANameAndADescription() {
    for (CachePreset preset : CachePreset.values()) {
      assertEquals(Optional.of(preset), CachePreset.named(preset.presetName().toUpperCase(java.util.Locale.ROOT)));
      assertFalse(preset.description().isBlank());
    }
    assertEquals(List.of("maven", "gradle", "go-build", "go-mod", "npm", "pip", "cargo"),
        java.util.Arrays.stream(CachePreset.values()).map(CachePreset::presetName).toList());
  }
}
