package dev.cachemount.core;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code preset=} against the tools installed on this machine, in this process's environment: the
 * target is what the tool itself prints (Maven: the local repository {@code mvn -X} says it uses);
 * where a tool is not installed, the spec fails saying it is not on PATH.
 */
class RealToolPresetsTest {
  @TempDir Path dir;

  /** What {@code command} prints when it exits with status 0, run as this test's process would run it, in {@code env}. */
  private Optional<String> output(Map<String, String> env, String... command) throws IOException, InterruptedException {
    return output(env, true, command);
  }

  /** What {@code command} prints on standard output, whatever its exit status unless {@code onlyIfSucceeded}. */
  private Optional<String> output(Map<String, String> env, boolean onlyIfSucceeded, String... command) throws IOException, InterruptedException {
    ProcessBuilder builder = new ProcessBuilder(command).directory(dir.toFile()).redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null")));
    builder.environment().clear();
    builder.environment().putAll(env);
    Process process = builder.redirectError(ProcessBuilder.Redirect.DISCARD).start();
    String out = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    return process.waitFor() == 0 || !onlyIfSucceeded ? Optional.of(out.strip()) : Optional.empty();
  }

  private boolean installed(String tool) throws IOException, InterruptedException {
    return output(System.getenv(), "sh", "-c", "command -v \"$0\"", tool).isPresent();
  }

  private static Cachemount client(Map<String, String> env) {
    return Cachemount.builder().env(env).build();
  }

  /** The preset's target in this process's environment: what {@code tool} says, or when it is not installed, the failure that says so. */
  private void assertTargetIsWhatTheToolSays(String preset, String tool, String... command) throws IOException, InterruptedException {
    if (!installed(tool)) {
      assertMissing(preset, tool + " is not on PATH");
      return;
    }
    assertTarget(preset, output(System.getenv(), command));
  }

  private static void assertMissing(String preset, String saying) {
    CachemountException e = assertThrows(CachemountException.class, () -> client(System.getenv()).parseSpec("preset=" + preset));
    assertEquals(FailureKind.USAGE, e.kind());
    assertTrue(e.getMessage().contains(saying), e.getMessage());
  }

  private static void assertTarget(String preset, Optional<String> said) {
    assertTrue(said.isPresent(), "the tool of " + preset + " is installed but did not answer");
    CacheSpec spec = client(System.getenv()).parseSpec("preset=" + preset);
    assertEquals(preset, spec.id());
    assertEquals(Path.of(said.get()), spec.target().orElseThrow(), preset);
  }

  @Test
  void goBuildAndGoModAreWhatGoEnvPrints() throws Exception {
    assertTargetIsWhatTheToolSays("go-build", "go", "go", "env", "GOCACHE");
    assertTargetIsWhatTheToolSays("go-mod", "go", "go", "env", "GOMODCACHE");
  }

  @Test
  void npmIsTheCacacheOfWhatNpmConfigGetCachePrints() throws Exception {
    if (!installed("npm")) {
      assertMissing("npm", "npm is not on PATH");
      return;
    }
    assertTarget("npm", output(System.getenv(), "npm", "config", "get", "cache").map(c -> c + "/_cacache"));
  }

  @Test
  void pipIsWhatPipCacheDirPrintsElsePip3() throws Exception {
    boolean pip = installed("pip");
    boolean pip3 = installed("pip3");
    if (!pip && !pip3) {
      assertMissing("pip", "neither pip nor pip3 is on PATH");
      return;
    }
    Optional<String> said = pip ? output(System.getenv(), "pip", "cache", "dir") : Optional.empty();
    if (said.isEmpty() && pip3) {
      said = output(System.getenv(), "pip3", "cache", "dir");
    }
    assertTarget("pip", said);
  }

  /** The local repository {@code mvn} says it uses ({@code -X}: "Using local repository at ..."), its user home set by MAVEN_OPTS. */
  private Optional<Path> mavensOwn(Map<String, String> env) throws IOException, InterruptedException {
    // Without a pom, the build stops (exit 1) after saying so.
    return output(env, false, "mvn", "-X", "-o", "-B", "-N", "validate").orElseThrow().lines()
        .filter(l -> l.contains("Using local repository at ")).findFirst()
        .map(l -> Path.of(l.substring(l.indexOf("Using local repository at ") + "Using local repository at ".length()).strip()));
  }

  @Test
  void mavenIsTheLocalRepositoryMvnSaysItUses() throws Exception {
    if (!installed("mvn")) {
      // No tool is run for Maven: its settings are read.
      assertTrue(client(System.getenv()).parseSpec("preset=maven").target().orElseThrow().isAbsolute());
      return;
    }
    // This machine's settings, as they are; and settings of a home of our own that use ${user.home} and ${env.NAME}.
    Path otherHome = Files.createDirectories(dir.resolve("home/.m2")).getParent();
    Files.writeString(otherHome.resolve(".m2/settings.xml"), "<settings><localRepository>${user.home}/repos/${env.CM_FLAVOUR}</localRepository></settings>");
    for (Path home : List.of(Cachemount.Builder.homeOf(System.getenv()), otherHome)) {
      Map<String, String> env = new HashMap<>(System.getenv());
      env.put("CM_FLAVOUR", "blue");
      // Maven reads the user settings under the JVM's user.home, which MAVEN_OPTS sets; our client reads it there too.
      env.put("MAVEN_OPTS", env.getOrDefault("MAVEN_OPTS", "") + " -Duser.home=" + home);
      Optional<Path> mavens = mavensOwn(env);
      assertTrue(mavens.isPresent(), "mvn -X names its local repository");
      assertEquals(mavens.get(), Cachemount.builder().env(env).home(home).build().parseSpec("preset=maven").target().orElseThrow(), home.toString());
      if (home.equals(otherHome)) {
        assertEquals(otherHome.resolve("repos/blue"), mavens.get(), "Maven read our settings");
      }
    }
  }

  /**
   * A container job's HOME (HOME=/github/home, the account's home elsewhere): mvn reads ~/.m2 under
   * Java's user.home, not under HOME, and so does the preset of a client that follows HOME for ~.
   */
  @Test
  void mavenIsTheRepositoryMvnUsesWhereHomeIsNotTheAccountsHome() throws Exception {
    if (!installed("mvn")) {
      return;
    }
    Path containerHome = Files.createDirectories(dir.resolve("github-home/.m2")).getParent();
    Files.writeString(containerHome.resolve(".m2/settings.xml"), "<settings><localRepository>/not/read/by/maven</localRepository></settings>");
    Map<String, String> env = new HashMap<>(System.getenv());
    env.put("HOME", containerHome.toString());
    Optional<Path> mavens = mavensOwn(env);
    assertTrue(mavens.isPresent(), "mvn -X names its local repository");
    assertEquals(mavens.get(), client(env).parseSpec("preset=maven").target().orElseThrow());
  }
}
