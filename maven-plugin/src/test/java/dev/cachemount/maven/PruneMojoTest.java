package dev.cachemount.maven;

import static dev.cachemount.maven.CacheMojoTest.project;
import static dev.cachemount.maven.CacheMojoTest.reactor;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.cachemount.core.Cachemount;
import dev.cachemount.core.store.LayoutStore;
import dev.cachemount.core.testing.MutableClock;
import dev.cachemount.core.testing.TreeListing;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import org.apache.maven.execution.MavenSession;
import org.apache.maven.plugin.MojoFailureException;
import org.apache.maven.plugin.logging.SystemStreamLog;
import org.apache.maven.project.MavenProject;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code cachemount:prune} hands its specs and options to the core's prune, as the CLI's command
 * does, and tells the result as the other goals tell theirs: in the build log and in properties.
 */
class PruneMojoTest {
  @TempDir Path dir;
  Path store;
  MutableClock clock;

  @BeforeEach
  void setUp() throws IOException {
    store = dir.resolve("store");
    // Ahead of the files' times, so that no file is too young for a snapshot to vouch for it.
    clock = new MutableClock(Instant.now().plus(Duration.ofHours(1)));
  }

  private <M extends CacheMojo<?>> M configure(M mojo, String... specs) {
    mojo.client = Cachemount.builder().home(dir).env(Map.of()).clock(clock).build();
    mojo.cacheIds = List.of(specs);
    mojo.failOnError = true;
    return mojo;
  }

  /** A prune of the keys of {@code m2-KEY} beside {@code m2-own} (not pushed yet: the key of this build), keeping the newest {@code keepLast}. */
  private PruneMojo prune(Integer keepLast) {
    PruneMojo prune = configure(new PruneMojo(), "id=m2-own,dir=" + store + ",fallback=m2-");
    prune.keepLast = keepLast;
    return prune;
  }

  /** A small tree of its own pushed under {@code tag} a minute after the one before. */
  private void push(String tag) throws Exception {
    Path tree = Files.createDirectories(dir.resolve("tree-" + tag));
    Files.writeString(tree.resolve("cache.txt"), "the cache of " + tag);
    clock.now = clock.now.plus(Duration.ofMinutes(1));
    configure(new PushMojo(), "id=" + tag + ",dir=" + store + ",target=" + tree).execute();
  }

  private Set<String> tags() throws IOException {
    try (LayoutStore s = new LayoutStore(store)) {
      return Set.copyOf(s.listTags());
    }
  }

  /** What {@code mojo} logs, each line as "info: ...", "warning: ..." or "error: ...". */
  private static List<String> logged(CacheMojo<?> mojo) {
    List<String> logged = new ArrayList<>();
    mojo.setLog(new SystemStreamLog() {
      @Override
      public void info(CharSequence content) {
        logged.add("info: " + content);
      }

      @Override
      public void warn(CharSequence content) {
        logged.add("warning: " + content);
      }

      @Override
      public void error(CharSequence content) {
        logged.add("error: " + content);
      }

      @Override
      public void error(CharSequence content, Throwable error) {
        logged.add("error: " + content);
      }
    });
    return logged;
  }

  /** A one-project build, whose session and project receive the goal's properties. */
  private static MavenSession build() {
    MavenProject app = project("app");
    return reactor(List.of(app), app);
  }

  private static boolean anyLine(List<String> logged, String start, String... parts) {
    return logged.stream().anyMatch(l -> l.startsWith(start) && List.of(parts).stream().allMatch(l::contains));
  }

  @Test
  void pruneRemovesTheOlderKeysButTheNewestKeepLastAndTellsEachTag() throws Exception {
    for (String tag : List.of("m2-a", "m2-b", "m2-c", "m2-d", "npm-x")) {
      push(tag);
    }
    PruneMojo prune = prune(2);
    prune.session = build();
    List<String> logged = logged(prune);
    prune.execute();

    assertEquals(Set.of("m2-c", "m2-d", "npm-x"), tags(), "the newest two of the older keys kept; another cache's tag untouched");
    assertTrue(anyLine(logged, "info: cachemount: m2-own: prune of the older keys beside ", "(fallback=m2-): removed 2 of 4 snapshots, kept 2"),
        logged.toString());
    for (String tag : List.of("m2-a", "m2-b")) {
      assertTrue(anyLine(logged, "info: cachemount:   removed ", " " + tag + " (made "), logged.toString());
    }
    for (String tag : List.of("m2-c", "m2-d")) {
      assertTrue(anyLine(logged, "info: cachemount:   kept ", " " + tag + " (made "), logged.toString());
    }
    assertFalse(logged.stream().anyMatch(l -> l.contains("dry run")), logged.toString());

    Properties p = prune.session.getUserProperties();
    assertEquals("pruned", p.getProperty("cachemount.prune.m2-own.result"));
    assertEquals("2", p.getProperty("cachemount.prune.m2-own.removed"));
    assertEquals("2", p.getProperty("cachemount.prune.m2-own.kept"));
    assertEquals("0", p.getProperty("cachemount.prune.m2-own.left"));
    assertEquals("pruned", prune.session.getCurrentProject().getProperties().getProperty("cachemount.prune.m2-own.result"));

    // What is kept is whole: a pull of it restores it.
    Path restored = dir.resolve("restored");
    configure(new PullMojo(), "id=m2-c,dir=" + store + ",target=" + restored).execute();
    assertEquals(TreeListing.of(dir.resolve("tree-m2-c")), TreeListing.of(restored));
  }

  @Test
  void theOwnTagOfEverySpecOfTheGoalIsKept() throws Exception {
    for (String tag : List.of("m2-a", "m2-b", "m2-c")) {
      push(tag);
    }
    // m2-a is another branch's key, in use: named by a spec of its own (pruned in turn), it is kept with keepLast=0.
    PruneMojo prune = prune(0);
    prune.cacheId = "id=m2-a,dir=" + store + ",fallback=m2-";
    prune.execute();
    assertEquals(Set.of("m2-a"), tags());
  }

  @Test
  void keepWithinKeepsTheKeysMadeWithinTheAge() throws Exception {
    push("m2-a");
    push("m2-b");
    clock.now = clock.now.plus(Duration.ofDays(3));
    push("m2-c");
    PruneMojo prune = prune(null);
    prune.keepWithin = "2d";
    prune.execute();
    assertEquals(Set.of("m2-c"), tags());
  }

  @Test
  void aDryRunRemovesNothingAndSaysSo() throws Exception {
    for (String tag : List.of("m2-a", "m2-b", "m2-c")) {
      push(tag);
    }
    PruneMojo prune = prune(1);
    prune.dryRun = true;
    prune.session = build();
    List<String> logged = logged(prune);
    prune.execute();

    assertEquals(Set.of("m2-a", "m2-b", "m2-c"), tags(), "nothing removed");
    assertTrue(anyLine(logged, "info: cachemount: m2-own: prune of the older keys beside ", ": would remove 2 of 3 snapshots, kept 1"),
        logged.toString());
    assertTrue(anyLine(logged, "info: cachemount:   would remove ", " m2-a (made "), logged.toString());
    assertTrue(anyLine(logged, "info: cachemount: m2-own: dry run", "nothing was removed"), logged.toString());
    assertEquals("pruned", prune.session.getUserProperties().getProperty("cachemount.prune.m2-own.result"));
    assertEquals("2", prune.session.getUserProperties().getProperty("cachemount.prune.m2-own.removed"), "what it would remove");
  }

  @Test
  void withoutKeepLastOrKeepWithinTheBuildFailsWithTheCoresMessageAndRemovesNothing() throws Exception {
    push("m2-a");
    PruneMojo prune = prune(null);
    MojoFailureException e = assertThrows(MojoFailureException.class, prune::execute);
    assertTrue(e.getMessage().startsWith("cachemount: prune needs to be told what to keep of the older keys: --keep-last N"), e.getMessage());
    assertTrue(e.getMessage().contains("-Dcachemount.keepLast=N") && e.getMessage().contains("-Dcachemount.keepWithin=AGE"), e.getMessage());
    prune.failOnError = false;
    assertThrows(MojoFailureException.class, prune::execute, "an error in the goal's parameters fails the build regardless");

    prune.keepWithin = "14 days";
    MojoFailureException age = assertThrows(MojoFailureException.class, prune::execute);
    assertTrue(age.getMessage().startsWith("cachemount: --keep-within 14 days is not an age"), age.getMessage());
    prune.keepWithin = null;
    prune.keepLast = -1;
    assertThrows(MojoFailureException.class, prune::execute);
    assertEquals(Set.of("m2-a"), tags());
  }

  @Test
  void aSpecWithoutFallbackFailsTheBuildAndWithFailOnErrorFalseTheOthersArePruned() throws Exception {
    for (String tag : List.of("m2-a", "m2-b", "m2-c")) {
      push(tag);
    }
    PruneMojo strict = configure(new PruneMojo(), "id=m2-c,dir=" + store);
    strict.keepLast = 0;
    MojoFailureException e = assertThrows(MojoFailureException.class, strict::execute);
    assertTrue(e.getMessage().startsWith("cachemount: m2-c: cache id 'm2-c': prune removes the older keys that fallback= chooses among"),
        e.getMessage());
    assertEquals(Set.of("m2-a", "m2-b", "m2-c"), tags());

    // failOnError=false: the failure is an error in the log and a property, and the next id runs.
    PruneMojo lenient = configure(new PruneMojo(), "id=m2-c,dir=" + store, "id=m2-own,dir=" + store + ",fallback=m2-");
    lenient.keepLast = 0;
    lenient.failOnError = false;
    lenient.session = build();
    List<String> logged = logged(lenient);
    lenient.execute();
    assertTrue(anyLine(logged, "error: cachemount: m2-c: ", "has no fallback=", "(failOnError=false: the build goes on)"), logged.toString());
    assertEquals(Set.of("m2-c"), tags(), "m2-own pruned; m2-c, named by the failed spec, kept all the same");
    Properties p = lenient.session.getUserProperties();
    assertEquals("failed", p.getProperty("cachemount.prune.m2-c.result"));
    assertEquals(null, p.getProperty("cachemount.prune.m2-c.removed"));
    assertEquals("pruned", p.getProperty("cachemount.prune.m2-own.result"));
    assertEquals("2", p.getProperty("cachemount.prune.m2-own.removed"));
  }

  @Test
  void anIdThatFailsAfterARunThatPrunedLeavesNoCountOfThatRun() throws Exception {
    push("m2-a");
    push("m2-b");
    MavenSession session = build();
    PruneMojo first = prune(1);
    first.session = session;
    first.execute();
    assertEquals("1", session.getUserProperties().getProperty("cachemount.prune.m2-own.removed"));

    Path notALayout = Files.createDirectories(dir.resolve("not-a-layout"));
    Files.writeString(notALayout.resolve("precious"), "x");
    PruneMojo failing = configure(new PruneMojo(), "id=m2-own,dir=" + notALayout + ",fallback=m2-");
    failing.keepLast = 1;
    failing.failOnError = false;
    failing.session = session;
    failing.execute();
    for (Properties p : List.of(session.getUserProperties(), session.getCurrentProject().getProperties())) {
      assertEquals("failed", p.getProperty("cachemount.prune.m2-own.result"));
      assertEquals(null, p.getProperty("cachemount.prune.m2-own.removed"));
      assertEquals(null, p.getProperty("cachemount.prune.m2-own.kept"));
    }
    failing.failOnError = true;
    MojoFailureException e = assertThrows(MojoFailureException.class, failing::execute, "a store that is not one is a usage error");
    assertTrue(e.getMessage().contains("not an OCI image layout"), e.getMessage());
    assertEquals("x", Files.readString(notALayout.resolve("precious")));
  }

  @Test
  void whereAPomBindsPruneItRunsOnceInTheLastProjectAndTypedWhereMavenRunsIt() throws Exception {
    for (String tag : List.of("m2-a", "m2-b")) {
      push(tag);
    }
    var projects = List.of(project("parent", "pull", "push", "prune"), project("core", "pull", "push", "prune"),
        project("app", "pull", "push", "prune"));
    for (int current = 0; current < 2; current++) {
      PruneMojo prune = prune(0);
      prune.session = reactor(projects, projects.get(current));
      List<String> logged = logged(prune);
      prune.execute();
      assertEquals(Set.of("m2-a", "m2-b"), tags(), projects.get(current).getArtifactId() + " is not the last project");
      assertTrue(anyLine(logged, "info: cachemount: prune skipped here: it runs once per build, in app"), logged.toString());
    }
    PruneMojo last = prune(1);
    last.session = reactor(projects, projects.get(2));
    last.execute();
    assertEquals(Set.of("m2-b"), tags(), "pruned in the last project");

    // Typed on the command line, Maven runs it once, in the top-level project: it prunes there.
    PruneMojo typed = prune(0);
    typed.session = reactor(projects, projects.get(0));
    typed.mojoExecution = new org.apache.maven.plugin.MojoExecution(new org.apache.maven.plugin.descriptor.MojoDescriptor(), "default-cli",
        org.apache.maven.plugin.MojoExecution.Source.CLI);
    typed.execute();
    assertEquals(Set.of(), tags());
  }

  @Test
  void skipSkips() throws Exception {
    push("m2-a");
    PruneMojo prune = prune(0);
    prune.skip = true;
    prune.execute();
    assertEquals(Set.of("m2-a"), tags());
  }

  @Test
  void withoutACacheTheMessageShowsAKeyedCache() {
    PruneMojo prune = new PruneMojo();
    prune.keepLast = 1;
    org.apache.maven.plugin.MojoFailureException e = org.junit.jupiter.api.Assertions.assertThrows(
        org.apache.maven.plugin.MojoFailureException.class, prune::execute);
    assertEquals("cachemount: no cache given; configure <cacheIds><cacheId>id=NAME-KEY,fallback=NAME-</cacheId></cacheIds> or pass"
        + " -Dcachemount.cacheId=id=NAME-KEY,fallback=NAME-", e.getMessage());
  }

  @Test
  void theGoalBindsToNoPhaseNeedsNoProjectAndTakesItsParametersFromProperties() throws Exception {
    // The descriptor maven-plugin-plugin generated from the annotations, as Maven reads it.
    String descriptor = Files.readString(Path.of("target/classes/META-INF/maven/plugin.xml"));
    java.util.regex.Matcher mojo = java.util.regex.Pattern.compile("<mojo>\\s*<goal>prune</goal>.*?</mojo>", java.util.regex.Pattern.DOTALL)
        .matcher(descriptor);
    assertTrue(mojo.find(), descriptor);
    String prune = mojo.group();
    assertFalse(prune.contains("<phase>"), "usually typed, or run by a scheduled job: no default phase");
    assertTrue(prune.contains("<requiresProject>false</requiresProject>"), prune);
    for (String parameter : List.of("keepLast", "keepWithin", "dryRun", "cacheId", "skip", "failOnError", "serverId", "oncePerBuild")) {
      assertTrue(prune.contains("<" + parameter + " ") && prune.contains("${cachemount." + parameter + "}"), parameter);
    }
  }
}
