package dev.cachemount.maven;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.cachemount.core.Cachemount;
import dev.cachemount.core.testing.TestTrees;
import dev.cachemount.core.testing.TreeListing;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.apache.maven.plugin.MojoExecutionException;
import org.apache.maven.plugin.MojoFailureException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The goals hand their specs to the core and turn its failures into Maven's. */
class CacheMojoTest {
  @TempDir Path dir;

  private <M extends CacheMojo<?>> M configure(M mojo, String... specs) {
    mojo.client = Cachemount.builder().home(dir).env(Map.of()).build();
    mojo.cacheIds = List.of(specs);
    mojo.failOnError = true;
    return mojo;
  }

  @Test
  void pushThenPullRoundTrips() throws Exception {
    Path source = dir.resolve("source");
    TestTrees.mixed(source, 3);
    Path store = dir.resolve("store");
    configure(new PushMojo(), "id=m2,dir=" + store + ",target=" + source).execute();
    Path restored = dir.resolve("restored");
    PullMojo pull = configure(new PullMojo());
    pull.cacheId = "id=m2,dir=" + store + ",target=" + restored;
    pull.execute();
    assertEquals(TreeListing.of(source), TreeListing.of(restored));
  }

  @Test
  void aBadSpecFailsTheBuildNamingTheProblem() {
    MojoFailureException e = assertThrows(MojoFailureException.class, () -> configure(new PushMojo(), "id=m2,colour=blue").execute());
    assertTrue(e.getMessage().contains("unknown key 'colour'"), e.getMessage());
    assertThrows(MojoFailureException.class, () -> configure(new PushMojo()).execute());
  }

  @Test
  void anEmptyCacheIdIsAUsageErrorAsInTheCli() {
    // Maven injects null for <cacheId/>, and for <cacheId>${cm.spec}</cacheId> with -Dcm.spec= empty.
    PushMojo push = configure(new PushMojo());
    push.cacheIds = java.util.Arrays.asList("id=m2,dir=" + dir.resolve("store") + ",target=" + dir, null);
    MojoFailureException e = assertThrows(MojoFailureException.class, push::execute);
    assertEquals("cachemount: cache spec is empty: give at least id=NAME", e.getMessage());
    assertFalse(Files.exists(dir.resolve("store")), "nothing ran");
    push.failOnError = false;
    assertThrows(MojoFailureException.class, push::execute, "a spec error fails the build regardless");
  }

  @Test
  void aFailingCacheIdDoesNotStopTheOthersAndTheFirstFailureDecides() throws Exception {
    Path source = dir.resolve("source");
    TestTrees.mixed(source, 3);
    // A store that push, pull and inspect all refuse (usage error): a non-empty directory that is not an OCI layout.
    Path notALayout = Files.createDirectories(dir.resolve("not-a-layout"));
    Files.writeString(notALayout.resolve("precious"), "x");
    Path store = dir.resolve("store");
    String broken = "id=a,dir=" + notALayout + ",target=";
    MojoFailureException push = assertThrows(MojoFailureException.class,
        () -> configure(new PushMojo(), broken + source, "id=b,dir=" + store + ",target=" + source).execute());
    assertTrue(push.getMessage().startsWith("cachemount: a: ") && push.getMessage().contains("not an OCI image layout"), push.getMessage());
    assertTrue(Files.exists(store.resolve("index.json")), "b was pushed after a failed");

    Path restored = dir.resolve("restored");
    MojoFailureException pull = assertThrows(MojoFailureException.class,
        () -> configure(new PullMojo(), broken + dir.resolve("r-a"), "id=b,dir=" + store + ",target=" + restored).execute());
    assertTrue(pull.getMessage().startsWith("cachemount: a: "), pull.getMessage());
    assertEquals(TreeListing.of(source), TreeListing.of(restored), "b was pulled after a failed");

    Path warned = dir.resolve("warned");
    PullMojo lenient = configure(new PullMojo(), broken + dir.resolve("w-a"), "id=b,dir=" + store + ",target=" + warned);
    lenient.failOnError = false;
    lenient.execute();
    assertEquals(TreeListing.of(source), TreeListing.of(warned));

    // A corrupt store (execution error) first, a usage error second: both named, the first decides.
    Path corrupt = dir.resolve("corrupt");
    configure(new PushMojo(), "id=c,dir=" + corrupt + ",target=" + source).execute();
    Files.writeString(corrupt.resolve("index.json"), "{ not json");
    MojoExecutionException both = assertThrows(MojoExecutionException.class,
        () -> configure(new PullMojo(), "id=c,dir=" + corrupt + ",target=" + dir.resolve("r-c"), broken + dir.resolve("r-a")).execute());
    assertTrue(both.getMessage().startsWith("cachemount: 2 of 2 cache ids failed; c: ") && both.getMessage().contains("; a: "), both.getMessage());
  }

  /** A failure that fails the build is told once, by Maven, without the causes' raw text; one that does not is an error (shown by -q). */
  @Test
  void aFailureIsToldOnceAndOneThatDoesNotFailTheBuildIsLoggedAsAnError() throws Exception {
    Path source = Files.createDirectories(dir.resolve("src"));
    Files.writeString(source.resolve("f"), "y");
    Path store = dir.resolve("store");
    configure(new PushMojo(), "id=m2,dir=" + store + ",target=" + source).execute();
    Files.writeString(store.resolve("index.json"), "{ not json"); // an execution error, not a usage error

    PullMojo failing = configure(new PullMojo(), "id=m2,dir=" + store + ",target=" + dir.resolve("out"));
    List<String> logged = logged(failing);
    MojoExecutionException e = assertThrows(MojoExecutionException.class, failing::execute);
    assertEquals(null, e.getCause(), "Maven appends every cause's message to the line it prints");
    assertEquals(List.of(), logged, "told once, by Maven");

    PullMojo lenient = configure(new PullMojo(), "id=m2,dir=" + store + ",target=" + dir.resolve("out"));
    lenient.failOnError = false;
    List<String> errors = logged(lenient);
    lenient.execute();
    assertEquals(1, errors.size(), errors.toString());
    assertTrue(errors.get(0).startsWith("error: cachemount: m2: ") && errors.get(0).contains("(failOnError=false: the build goes on)"), errors.get(0));
  }

  /** {@code mojo} run in a build whose local repository is {@code repository}. */
  private static <M extends CacheMojo<?>> M inBuildWith(Path repository, M mojo) {
    mojo.session = reactor(List.of(), null);
    mojo.session.getRequest().setLocalRepository(new org.apache.maven.artifact.repository.MavenArtifactRepository("local",
        repository.toUri().toString(), new org.apache.maven.artifact.repository.layout.DefaultRepositoryLayout(), null, null));
    return mojo;
  }

  /**
   * {@code preset=maven} in a build is the build's own local repository, as Maven resolved it
   * (-Dmaven.repo.local, settings.xml), with the id {@code maven}; without a build, the client's
   * {@code ~/.m2/repository}.
   */
  @Test
  void presetMavenIsTheLocalRepositoryOfTheBuild() throws Exception {
    Path store = dir.resolve("store");
    Path elsewhere = dir.resolve("elsewhere");
    TestTrees.mixed(elsewhere, 3);
    configure(new PushMojo(), "id=maven,dir=" + store + ",target=" + elsewhere).execute();
    // A pull into the build's repository, and a push from it, which finds it as pulled.
    Path repository = dir.resolve("build-repo");
    for (CacheMojo<?> mojo : List.of(new PullMojo(), new PushMojo())) {
      inBuildWith(repository, configure(mojo, "preset=maven,dir=" + store)).execute();
      assertEquals(mojo.goal().equals("pull") ? "restored" : "unchanged", mojo.session.getUserProperties().getProperty("cachemount." + mojo.goal() + ".maven.result"));
    }
    assertEquals(TreeListing.of(elsewhere), TreeListing.of(repository));

    MojoFailureException e = assertThrows(MojoFailureException.class, () -> configure(new PushMojo(), "preset=maven,dir=" + store).execute());
    assertTrue(e.getMessage().contains(dir.resolve(".m2/repository") + " does not exist"), e.getMessage());
  }

  @Test
  void aMirrorPullIntoTheLocalRepositoryOfTheBuildIsRefused() throws Exception {
    Path repository = Files.createDirectories(dir.resolve("m2/repository"));
    Files.writeString(repository.resolve("resolved.jar"), "resolved before the pull");
    Path store = dir.resolve("store");
    Path source = Files.createDirectories(dir.resolve("src"));
    Files.writeString(source.resolve("f"), "y");
    configure(new PushMojo(), "id=m2,dir=" + store + ",target=" + source).execute();
    Path link = Files.createSymbolicLink(dir.resolve("link"), repository.getParent());
    for (Path target : List.of(repository, repository.getParent(), link.resolve("repository"))) {
      PullMojo pull = inBuildWith(repository, configure(new PullMojo(), "id=m2,mode=mirror,dir=" + store + ",target=" + target));
      MojoFailureException e = assertThrows(MojoFailureException.class, pull::execute);
      assertTrue(e.getMessage().contains("the local repository this build uses") && e.getMessage().contains("without mode=mirror"), e.getMessage());
      assertEquals("resolved before the pull", Files.readString(repository.resolve("resolved.jar")));
    }
  }

  @Test
  void usageErrorsFailTheBuildUnlessToldToWarn() throws Exception {
    Path notALayout = Files.createDirectories(dir.resolve("not-a-layout"));
    Files.writeString(notALayout.resolve("precious"), "x");
    Path source = Files.createDirectories(dir.resolve("src"));
    Files.writeString(source.resolve("f"), "y");
    MojoFailureException e = assertThrows(MojoFailureException.class,
        () -> configure(new PushMojo(), "id=m2,dir=" + notALayout + ",target=" + source).execute());
    assertTrue(e.getMessage().contains("not an OCI image layout"), e.getMessage());

    Path store = dir.resolve("store");
    configure(new PushMojo(), "id=m2,dir=" + store + ",target=" + source).execute();
    Path file = Files.writeString(dir.resolve("file"), "z");
    PullMojo pull = configure(new PullMojo(), "id=m2,dir=" + store + ",target=" + file);
    assertThrows(MojoFailureException.class, pull::execute);
    pull.failOnError = false;
    pull.execute();
    assertEquals("z", Files.readString(file));
  }

  @Test
  void theSettingsServerOfTheRegistryHostLogsIn() throws Exception {
    PushMojo push = configure(new PushMojo());
    org.apache.maven.settings.Settings settings = new org.apache.maven.settings.Settings();
    org.apache.maven.settings.Server server = new org.apache.maven.settings.Server();
    server.setId("ghcr.io");
    server.setUsername("ci-bot");
    server.setPassword("token-123");
    settings.addServer(server);
    push.settings = settings;
    push.insecureRegistries = List.of("cache.internal:5000");
    var spec = push.client.parseSpec("id=m2,ref=ghcr.io/acme/cache,target=/x");
    var registry = push.clientFor(spec).registry();
    assertEquals("ci-bot", registry.credential().orElseThrow().username());
    assertTrue(registry.credential().orElseThrow().source().contains("settings.xml server 'ghcr.io'"));
    assertEquals(java.util.Set.of("cache.internal:5000"), registry.insecureRegistries());
    assertTrue(push.clientFor(push.client.parseSpec("id=m2,ref=quay.io/acme/cache")).registry().credential().isEmpty(), "no server for that host");

    push.serverId = "missing";
    var e = assertThrows(dev.cachemount.core.CachemountException.class, () -> push.clientFor(spec));
    assertTrue(e.getMessage().contains("no <server> with id 'missing'"), e.getMessage());
  }

  private static org.apache.maven.settings.Server server(String id, String user, String password) {
    org.apache.maven.settings.Server server = new org.apache.maven.settings.Server();
    server.setId(id);
    server.setUsername(user);
    server.setPassword(password);
    return server;
  }

  /** A server of the registry's host without a username (or password) was passed over in silence: the user saw only a 401. */
  @Test
  void aServerOfTheRegistryWithoutAUsernameIsPassedOverWithAWarning() {
    PushMojo push = configure(new PushMojo());
    push.settings = new org.apache.maven.settings.Settings();
    push.settings.addServer(server("ghcr.io", null, "token-123"));
    List<String> logged = warnings(push);
    assertTrue(push.clientFor(push.client.parseSpec("id=m2,ref=ghcr.io/acme/cache")).registry().credential().isEmpty());
    assertTrue(logged.stream().anyMatch(w -> w.contains("settings.xml server 'ghcr.io' has no <username>, so it is not used for ghcr.io")), logged.toString());
  }

  @Test
  void theServerIsFoundByHostAndPortByHostOrForDockerHubByDockerIo() {
    PushMojo push = configure(new PushMojo());
    push.settings = new org.apache.maven.settings.Settings();
    push.settings.addServer(server("cache.internal", "by-host", "p1"));
    push.settings.addServer(server("docker.io", "hub", "p2"));
    assertEquals("by-host", push.clientFor(push.client.parseSpec("id=m2,ref=cache.internal:5000/acme/c")).registry().credential().orElseThrow().username());
    push.settings.addServer(server("cache.internal:5000", "by-port", "p3"));
    assertEquals("by-port", push.clientFor(push.client.parseSpec("id=m2,ref=cache.internal:5000/acme/c")).registry().credential().orElseThrow().username(),
        "host and port, as the ref names it, come first");
    assertEquals("hub", push.clientFor(push.client.parseSpec("id=m2,ref=acme/cache")).registry().credential().orElseThrow().username());
  }

  @Test
  void aPasswordEncryptedWithMavensMasterPasswordIsDecrypted() {
    PushMojo push = configure(new PushMojo());
    push.settings = new org.apache.maven.settings.Settings();
    push.settings.addServer(server("ghcr.io", "ci-bot", "{COQLCE6DU6GtcS5P=}"));
    List<org.apache.maven.settings.building.SettingsProblem> problems = new java.util.ArrayList<>();
    push.decrypter = request -> new org.apache.maven.settings.crypto.SettingsDecryptionResult() {
      @Override
      public org.apache.maven.settings.Server getServer() {
        org.apache.maven.settings.Server s = request.getServers().get(0).clone();
        s.setPassword("decrypted-" + s.getPassword().length());
        return s;
      }

      @Override
      public List<org.apache.maven.settings.Server> getServers() {
        return List.of(getServer());
      }

      @Override
      public org.apache.maven.settings.Proxy getProxy() {
        return null;
      }

      @Override
      public List<org.apache.maven.settings.Proxy> getProxies() {
        return List.of();
      }

      @Override
      public List<org.apache.maven.settings.building.SettingsProblem> getProblems() {
        return problems;
      }
    };
    var spec = push.client.parseSpec("id=m2,ref=ghcr.io/acme/cache");
    assertEquals("decrypted-19", push.clientFor(spec).registry().credential().orElseThrow().password());
    problems.add(new org.apache.maven.settings.building.DefaultSettingsProblem("Failed to decrypt password for server ghcr.io",
        org.apache.maven.settings.building.SettingsProblem.Severity.ERROR, "server: ghcr.io", -1, -1, null));
    var e = assertThrows(dev.cachemount.core.CachemountException.class, () -> push.clientFor(spec));
    assertTrue(e.getMessage().contains("cannot be decrypted") && e.getMessage().contains("~/.m2/settings-security.xml"), e.getMessage());

    // Maven reads the master password from the file -Dsettings.security names, when it names one: so does the advice.
    String before = System.getProperty("settings.security");
    System.setProperty("settings.security", "/ci/secrets/settings-security.xml");
    try {
      e = assertThrows(dev.cachemount.core.CachemountException.class, () -> push.clientFor(spec));
      assertTrue(e.getMessage().endsWith("; check the master password in /ci/secrets/settings-security.xml, named by -Dsettings.security, (mvn --encrypt-master-password)"),
          e.getMessage());
    } finally {
      if (before == null) {
        System.clearProperty("settings.security");
      } else {
        System.setProperty("settings.security", before);
      }
    }
  }

  @Test
  void specsThatWouldUndoEachOtherFailTheBuildBeforeAnythingRuns() throws Exception {
    Path source = dir.resolve("source");
    TestTrees.mixed(source, 3);
    Path store = dir.resolve("store");
    PushMojo push = configure(new PushMojo(), "id=m2,dir=" + store + ",target=" + source);
    push.cacheId = "id=m2,dir=" + store + ",target=" + dir.resolve("other");
    MojoFailureException twice = assertThrows(MojoFailureException.class, push::execute);
    assertTrue(twice.getMessage().contains("'m2'"), twice.getMessage());
    assertFalse(Files.exists(store), "nothing was pushed");

    configure(new PushMojo(), "id=m2,dir=" + store + ",target=" + source).execute();
    Path target = dir.resolve("target");
    PullMojo pull = configure(new PullMojo(), "id=m2,dir=" + store + ",target=" + target, "id=m2,dir=" + store + ",target=" + target.resolve("sub"));
    assertThrows(MojoFailureException.class, pull::execute);
    assertFalse(Files.exists(target), "nothing was pulled");
  }

  @Test
  void theGoalsBindToPhasesAndAskForTheOldestMavenTheyRunOn() throws Exception {
    // The descriptor maven-plugin-plugin generated from the annotations, as Maven reads it.
    String descriptor = Files.readString(Path.of("target/classes/META-INF/maven/plugin.xml"));
    assertTrue(descriptor.contains("<requiredMavenVersion>3.6.3</requiredMavenVersion>"), "README promises Maven 3.6.3");
    java.util.regex.Matcher pull = java.util.regex.Pattern.compile("<goal>pull</goal>.*?<phase>(\\w+)</phase>", java.util.regex.Pattern.DOTALL).matcher(descriptor);
    java.util.regex.Matcher push = java.util.regex.Pattern.compile("<goal>push</goal>.*?<phase>(\\w+)</phase>", java.util.regex.Pattern.DOTALL).matcher(descriptor);
    assertTrue(pull.find() && push.find(), descriptor);
    assertEquals("validate", pull.group(1));
    assertEquals("verify", push.group(1));
  }

  @Test
  void theDescriptorSaysWhatFailOnErrorFalseDoes() throws Exception {
    // What mvn help:describe shows: it said a failure was logged as a warning (hidden by -q); it is an error.
    String descriptor = Files.readString(Path.of("target/classes/META-INF/maven/plugin.xml"));
    java.util.regex.Matcher parameter = java.util.regex.Pattern.compile(
        "<name>failOnError</name>.*?<description>(.*?)</description>", java.util.regex.Pattern.DOTALL).matcher(descriptor);
    assertTrue(parameter.find(), descriptor);
    String description = parameter.group(1);
    assertFalse(description.contains("warning"), description);
    assertTrue(description.contains("logged as an error") && description.contains("regardless"), description);
  }

  static org.apache.maven.execution.MavenSession reactor(List<org.apache.maven.project.MavenProject> projects,
      org.apache.maven.project.MavenProject current) {
    @SuppressWarnings("deprecation")
    org.apache.maven.execution.MavenSession session = new org.apache.maven.execution.MavenSession(null, null,
        new org.apache.maven.execution.DefaultMavenExecutionRequest(), new org.apache.maven.execution.DefaultMavenExecutionResult());
    session.setProjects(projects);
    session.setCurrentProject(current);
    return session;
  }

  /** Runs {@code mojo} as Maven would in {@code projects.get(current)} of that reactor. */
  private static void runIn(CacheMojo<?> mojo, List<org.apache.maven.project.MavenProject> projects, int current) throws Exception {
    mojo.session = reactor(projects, projects.get(current));
    mojo.execute();
  }

  @Test
  void goalsTypedOnTheCommandLineRunWhereMavenRunsThem() throws Exception {
    // mvn cachemount:push in a multi-module build: no project binds the goal, and Maven runs a goal
    // that does not require a project once, in the top-level project. It must push there; it used to
    // wait for the last module, which Maven never runs it in, and push nothing.
    var projects = List.of(project("parent"), project("core"), project("app"));
    Path source = dir.resolve("source");
    TestTrees.mixed(source, 5);
    Path store = dir.resolve("store");
    runIn(configure(new PushMojo(), "id=m2,dir=" + store + ",target=" + source), projects, 0);
    assertTrue(Files.exists(store), "pushed in the top-level project");
    Path target = dir.resolve("target");
    runIn(configure(new PullMojo(), "id=m2,dir=" + store + ",target=" + target), projects, 0);
    assertEquals(TreeListing.of(source), TreeListing.of(target));

    // The same where every module's pom binds the goals (from the parent's <plugins>): typed, it runs
    // in the top-level project all the same.
    var bound = List.of(project("parent", "pull", "push"), project("core", "pull", "push"), project("app", "pull", "push"));
    Path typedStore = dir.resolve("typed-store");
    PushMojo typed = configure(new PushMojo(), "id=m2,dir=" + typedStore + ",target=" + source);
    typed.mojoExecution = new org.apache.maven.plugin.MojoExecution(new org.apache.maven.plugin.descriptor.MojoDescriptor(), "default-cli",
        org.apache.maven.plugin.MojoExecution.Source.CLI);
    runIn(typed, bound, 0);
    assertTrue(Files.exists(typedStore), "pushed in the top-level project, where Maven runs a typed goal");
  }

  /** How each id ended, as properties that later plugins of the build, in any module, can name. */
  @Test
  void eachIdsResultIsAPropertyOfTheBuild() throws Exception {
    var projects = List.of(project("parent", "pull", "push"), project("app", "pull", "push"));
    org.apache.maven.execution.MavenSession session = reactor(projects, projects.get(0));
    Path source = dir.resolve("source");
    TestTrees.mixed(source, 5);
    Path store = dir.resolve("store");
    PullMojo first = configure(new PullMojo(), "id=m2,dir=" + store + ",target=" + dir.resolve("target"));
    first.session = session;
    first.execute();
    assertEquals("miss", session.getUserProperties().getProperty("cachemount.pull.m2.result"));
    assertEquals(null, session.getUserProperties().getProperty("cachemount.pull.m2.digest"), "a miss has no digest");

    session.setCurrentProject(projects.get(1));
    PushMojo push = configure(new PushMojo(), "id=m2,dir=" + store + ",target=" + source);
    push.session = session;
    push.execute();
    String digest = projects.get(0).getProperties().getProperty("cachemount.push.m2.digest");
    assertTrue(digest != null && digest.startsWith("sha256:"), String.valueOf(digest));
    for (java.util.Properties p : List.of(session.getUserProperties(), projects.get(0).getProperties(), projects.get(1).getProperties())) {
      assertEquals("pushed", p.getProperty("cachemount.push.m2.result"), p.toString());
      assertEquals(digest, p.getProperty("cachemount.push.m2.digest"));
    }

    session.setCurrentProject(projects.get(0));
    PullMojo pull = configure(new PullMojo(), "id=m2,dir=" + store + ",target=" + dir.resolve("target"),
        "id=gone,dir=" + dir.resolve("not-a-layout") + ",target=" + dir.resolve("other"));
    Files.writeString(Files.createDirectories(dir.resolve("not-a-layout")).resolve("precious"), "x");
    pull.failOnError = false;
    pull.session = session;
    pull.execute();
    assertEquals("restored", projects.get(1).getProperties().getProperty("cachemount.pull.m2.result"));
    assertEquals(digest, projects.get(1).getProperties().getProperty("cachemount.pull.m2.digest"));
    assertEquals("failed", projects.get(1).getProperties().getProperty("cachemount.pull.gone.result"));
  }

  /**
   * A pull whose key holds nothing yet restores what fallback= finds, and says which snapshot that was
   * in {@code cachemount.pull.ID.fallback}; once the key holds its own, the property goes.
   */
  @Test
  void aFallbackIsNamedInAPropertyOfTheBuild() throws Exception {
    var projects = List.of(project("parent", "pull"), project("app", "pull"));
    org.apache.maven.execution.MavenSession session = reactor(projects, projects.get(0));
    Path source = dir.resolve("source");
    TestTrees.mixed(source, 5);
    Path store = dir.resolve("store");
    configure(new PushMojo(), "id=m2-old,dir=" + store + ",target=" + source).execute();
    Path target = dir.resolve("target");
    PullMojo pull = configure(new PullMojo(), "id=m2-new,dir=" + store + ",target=" + target + ",fallback=m2-");
    pull.session = session;
    pull.oncePerBuild = false;
    pull.execute();
    assertEquals("restored", session.getUserProperties().getProperty("cachemount.pull.m2-new.result"));
    assertTrue(session.getUserProperties().getProperty("cachemount.pull.m2-new.fallback").endsWith(":m2-old"),
        session.getUserProperties().toString());
    assertEquals(TreeListing.of(source), TreeListing.of(target));

    configure(new PushMojo(), "id=m2-new,dir=" + store + ",target=" + source).execute();
    pull.execute();
    assertEquals("restored", session.getUserProperties().getProperty("cachemount.pull.m2-new.result"));
    assertEquals(null, session.getUserProperties().getProperty("cachemount.pull.m2-new.fallback"), "the key's own snapshot: no fallback");
  }

  /**
   * Review of 0f22069: a push that stored its snapshot and moved its tag, whose image view then failed
   * (its tag holds a snapshot): the CLI's failed result keeps the digest; the build's properties should too.
   */
  @Test
  void aPushWhoseImageViewFailsStillNamesTheSnapshotItStored() throws Exception {
    var projects = List.of(project("parent", "push"));
    org.apache.maven.execution.MavenSession session = reactor(projects, projects.get(0));
    Path source = dir.resolve("source");
    TestTrees.mixed(source, 6);
    Path store = dir.resolve("store");
    configure(new PushMojo(), "id=other,dir=" + store + ",target=" + source).execute();
    PushMojo push = configure(new PushMojo(), "id=m2,dir=" + store + ",target=" + source + ",image=other");
    push.session = session;
    push.oncePerBuild = false;
    push.failOnError = false;
    push.execute();
    assertEquals("failed", session.getUserProperties().getProperty("cachemount.push.m2.result"));
    String stored;
    try (dev.cachemount.core.store.LayoutStore s = new dev.cachemount.core.store.LayoutStore(store)) {
      stored = s.fetchManifest("m2").orElseThrow().digest().toString();
    }
    assertEquals(stored, session.getUserProperties().getProperty("cachemount.push.m2.digest"), "the snapshot stored and tagged");
  }

  /** A push with image= names the image view's digest in {@code cachemount.push.ID.image}; without image=, the property goes. */
  @Test
  void anImageViewIsNamedInAPropertyOfTheBuild() throws Exception {
    var projects = List.of(project("parent", "push"));
    org.apache.maven.execution.MavenSession session = reactor(projects, projects.get(0));
    Path source = dir.resolve("source");
    TestTrees.mixed(source, 6);
    Path store = dir.resolve("store");
    PushMojo push = configure(new PushMojo(), "id=m2,dir=" + store + ",target=" + source + ",image=m2-image");
    push.session = session;
    push.oncePerBuild = false;
    push.execute();
    String image = session.getUserProperties().getProperty("cachemount.push.m2.image");
    try (dev.cachemount.core.store.LayoutStore s = new dev.cachemount.core.store.LayoutStore(store)) {
      assertEquals(s.fetchManifest("m2-image").orElseThrow().digest().toString(), image);
    }
    PushMojo plain = configure(new PushMojo(), "id=m2,dir=" + store + ",target=" + source);
    plain.session = session;
    plain.oncePerBuild = false;
    plain.execute();
    assertEquals("unchanged", session.getUserProperties().getProperty("cachemount.push.m2.result"));
    assertEquals(null, session.getUserProperties().getProperty("cachemount.push.m2.image"));
  }

  /**
   * A goal that runs an id again (oncePerBuild=false: in each module) tells how it ended this time:
   * a digest the earlier run left stayed beside a result that has none (a miss, a failure), naming a
   * snapshot this run did not restore.
   */
  @Test
  void anIdRunAgainLeavesNoDigestOfTheEarlierRunBesideAResultWithoutOne() throws Exception {
    var projects = List.of(project("parent", "pull"), project("app", "pull"));
    org.apache.maven.execution.MavenSession session = reactor(projects, projects.get(0));
    Path source = dir.resolve("source");
    TestTrees.mixed(source, 5);
    Path store = dir.resolve("store");
    PushMojo push = configure(new PushMojo(), "id=m2,dir=" + store + ",target=" + source);
    push.execute();
    PullMojo restored = configure(new PullMojo(), "id=m2,dir=" + store + ",target=" + dir.resolve("target"));
    restored.session = session;
    restored.oncePerBuild = false;
    restored.execute();
    assertTrue(projects.get(1).getProperties().getProperty("cachemount.pull.m2.digest").startsWith("sha256:"));

    session.setCurrentProject(projects.get(1));
    PullMojo missed = configure(new PullMojo(), "id=m2,dir=" + dir.resolve("empty-store") + ",target=" + dir.resolve("target"));
    missed.session = session;
    missed.oncePerBuild = false;
    missed.execute();
    for (java.util.Properties p : List.of(session.getUserProperties(), projects.get(0).getProperties(), projects.get(1).getProperties())) {
      assertEquals("miss", p.getProperty("cachemount.pull.m2.result"));
      assertEquals(null, p.getProperty("cachemount.pull.m2.digest"), "a miss has no digest, whatever ran before");
    }

    restored.execute();
    Files.writeString(Files.createDirectories(dir.resolve("not-a-layout")).resolve("precious"), "x");
    PullMojo failed = configure(new PullMojo(), "id=m2,dir=" + dir.resolve("not-a-layout") + ",target=" + dir.resolve("target"));
    failed.failOnError = false;
    failed.session = session;
    failed.oncePerBuild = false;
    failed.execute();
    assertEquals("failed", session.getUserProperties().getProperty("cachemount.pull.m2.result"));
    assertEquals(null, session.getUserProperties().getProperty("cachemount.pull.m2.digest"), "a failure has no digest");
  }

  @Test
  void inAMultiModuleBuildPullRunsInTheFirstProjectAndPushInTheLast() throws Exception {
    // The goals bound in every module's pom (as a parent's <plugins> gives them).
    var projects = List.of(project("parent", "pull", "push"), project("core", "pull", "push"), project("app", "pull", "push"));
    Path source = dir.resolve("source");
    TestTrees.mixed(source, 5);
    Path store = dir.resolve("store");
    for (int current = 0; current < 2; current++) {
      runIn(configure(new PushMojo(), "id=m2,dir=" + store + ",target=" + source), projects, current);
      assertFalse(Files.exists(store), "push waits for the last module, " + projects.get(current).getArtifactId() + " is not it");
    }
    runIn(configure(new PushMojo(), "id=m2,dir=" + store + ",target=" + source), projects, 2);
    assertTrue(Files.exists(store), "pushed once, in the last module");

    Path target = dir.resolve("target");
    runIn(configure(new PullMojo(), "id=m2,dir=" + store + ",target=" + target), projects, 1);
    assertFalse(Files.exists(target), "pulled only in the first project");
    runIn(configure(new PullMojo(), "id=m2,dir=" + store + ",target=" + target), projects, 0);
    assertEquals(TreeListing.of(source), TreeListing.of(target));

    PullMojo everyModule = configure(new PullMojo(), "id=m2,dir=" + store + ",target=" + dir.resolve("each"));
    everyModule.oncePerBuild = false;
    runIn(everyModule, projects, 1);
    assertTrue(Files.exists(dir.resolve("each")), "oncePerBuild=false runs it in every module");
  }

  static org.apache.maven.project.MavenProject project(String name, String... goals) {
    org.apache.maven.project.MavenProject p = new org.apache.maven.project.MavenProject();
    p.setArtifactId(name);
    p.getModel().setBuild(new org.apache.maven.model.Build());
    if (goals.length > 0) {
      org.apache.maven.model.Plugin plugin = new org.apache.maven.model.Plugin();
      plugin.setGroupId("dev.cachemount");
      plugin.setArtifactId("cachemount-maven-plugin");
      org.apache.maven.model.PluginExecution execution = new org.apache.maven.model.PluginExecution();
      for (String goal : goals) {
        execution.addGoal(goal);
      }
      plugin.addExecution(execution);
      p.getModel().getBuild().addPlugin(plugin);
    }
    return p;
  }

  @Test
  void oncePerBuildMeansInTheFirstAndLastProjectsThatRunTheGoal() throws Exception {
    // An aggregator first and a BOM last, neither with the plugin: pull runs in core, push in app.
    var projects = List.of(project("aggregator"), project("core", "pull", "push"), project("app", "pull", "push"), project("bom"));
    Path source = dir.resolve("source");
    TestTrees.mixed(source, 6);
    Path store = dir.resolve("store");
    runIn(configure(new PushMojo(), "id=m2,dir=" + store + ",target=" + source), projects, 3);
    assertFalse(Files.exists(store), "the BOM does not run push");
    runIn(configure(new PushMojo(), "id=m2,dir=" + store + ",target=" + source), projects, 2);
    assertTrue(Files.exists(store), "app is the last project that runs push");
    runIn(configure(new PullMojo(), "id=m2,dir=" + store + ",target=" + dir.resolve("t")), projects, 1);
    assertTrue(Files.exists(dir.resolve("t")), "core is the first project that runs pull");
  }

  @Test
  void aModuleThatTurnsTheGoalOffWithPhaseNoneDoesNotRunIt() throws Exception {
    // The last module turns the push it inherits off, as Maven's idiom has it:
    // <execution><id>save-cache</id><phase>none</phase></execution>. Maven never runs it there, so
    // push must run in the last module that does run it; it used to wait for app, and nothing pushed.
    var app = project("app", "pull", "push");
    app.getBuildPlugins().get(0).getExecutions().get(0).setPhase("none");
    var projects = List.of(project("parent", "pull", "push"), project("core", "pull", "push"), app);
    Path source = dir.resolve("source");
    TestTrees.mixed(source, 4);
    Path store = dir.resolve("store");
    runIn(configure(new PushMojo(), "id=m2,dir=" + store + ",target=" + source), projects, 1);
    assertTrue(Files.exists(store), "core is the last module whose build runs push");

    // The same for pull in the first project.
    var parent = project("parent", "pull", "push");
    parent.getBuildPlugins().get(0).getExecutions().get(0).setPhase("none");
    var pulls = List.of(parent, project("core", "pull", "push"));
    Path target = dir.resolve("target");
    runIn(configure(new PullMojo(), "id=m2,dir=" + store + ",target=" + target), pulls, 1);
    assertEquals(TreeListing.of(source), TreeListing.of(target));
  }

  /** The execution {@code id} of a pom, as Maven runs it. */
  private static org.apache.maven.plugin.MojoExecution boundAs(String id) {
    return new org.apache.maven.plugin.MojoExecution(new org.apache.maven.plugin.descriptor.MojoDescriptor(), id,
        org.apache.maven.plugin.MojoExecution.Source.LIFECYCLE);
  }

  @Test
  void anExecutionOfAModulesOwnRunsInThatModule() throws Exception {
    // The parent's pom gives every module restore-cache and save-cache (the Maven repository); core's
    // pom adds pull-core and push-core, a cache of its own. Those used to defer to the first and last
    // projects that run any pull or push, parent and app, whose builds do not have them: core's cache
    // was never pulled or pushed, and the log said it ran in parent and app.
    var core = project("core", "pull", "push");
    org.apache.maven.model.PluginExecution own = new org.apache.maven.model.PluginExecution();
    own.setId("core-own");
    own.addGoal("pull");
    own.addGoal("push");
    core.getBuildPlugins().get(0).addExecution(own);
    var projects = List.of(project("parent", "pull", "push"), core, project("app", "pull", "push"));
    Path source = dir.resolve("source");
    TestTrees.mixed(source, 4);
    Path store = dir.resolve("store");

    PushMojo inherited = configure(new PushMojo(), "id=m2,dir=" + store + ",target=" + source);
    inherited.mojoExecution = boundAs("default");
    runIn(inherited, projects, 1);
    assertFalse(Files.exists(store), "the inherited push still runs once, in app");

    PushMojo push = configure(new PushMojo(), "id=core,dir=" + store + ",target=" + source);
    push.mojoExecution = boundAs("core-own");
    runIn(push, projects, 1);
    assertTrue(Files.exists(store), "core's own push runs in core, the only project that has it");

    Path target = dir.resolve("target");
    PullMojo pull = configure(new PullMojo(), "id=core,dir=" + store + ",target=" + target);
    pull.mojoExecution = boundAs("core-own");
    runIn(pull, projects, 1);
    assertEquals(TreeListing.of(source), TreeListing.of(target), "core's own pull runs in core");

    Path notHere = dir.resolve("not-here");
    PullMojo inheritedPull = configure(new PullMojo(), "id=core,dir=" + store + ",target=" + notHere);
    inheritedPull.mojoExecution = boundAs("default");
    runIn(inheritedPull, projects, 1);
    assertFalse(Files.exists(notHere), "the inherited pull still runs once, in parent");
  }

  /** A dependency graph of {@code projects} in which each of {@code dependsOn}'s keys depends on its value. */
  private static org.apache.maven.execution.ProjectDependencyGraph graph(List<org.apache.maven.project.MavenProject> projects,
      Map<org.apache.maven.project.MavenProject, org.apache.maven.project.MavenProject> dependsOn) {
    return new org.apache.maven.execution.ProjectDependencyGraph() {
      @Override
      public List<org.apache.maven.project.MavenProject> getAllProjects() {
        return projects;
      }

      @Override
      public List<org.apache.maven.project.MavenProject> getSortedProjects() {
        return projects;
      }

      @Override
      public List<org.apache.maven.project.MavenProject> getDownstreamProjects(org.apache.maven.project.MavenProject p, boolean transitive) {
        return projects.stream().filter(d -> dependsOn.get(d) == p).toList();
      }

      @Override
      public List<org.apache.maven.project.MavenProject> getUpstreamProjects(org.apache.maven.project.MavenProject p, boolean transitive) {
        return dependsOn.containsKey(p) ? List.of(dependsOn.get(p)) : List.of();
      }
    };
  }

  @Test
  void inAParallelBuildPushWaitsForTheModulesStillBuilding() throws Exception {
    // mvn -T 2: core and app do not depend on each other, so app (last in the reactor) can reach verify
    // while core still builds and writes into the cache. Push used to snapshot the cache then.
    var parent = project("parent", "pull", "push");
    var core = project("core", "pull", "push");
    var app = project("app", "pull", "push");
    var projects = List.of(parent, core, app);
    Path source = dir.resolve("source");
    TestTrees.mixed(source, 3);
    Path store = dir.resolve("store");
    PushMojo push = configure(new PushMojo(), "id=m2,dir=" + store + ",target=" + source);
    push.session = reactor(projects, app);
    push.session.setParallel(true);
    push.session.setProjectDependencyGraph(graph(projects, Map.of()));
    var result = push.session.getResult();
    result.addBuildSummary(new org.apache.maven.execution.BuildSuccess(parent, 1));
    Thread coreBuild = new Thread(() -> {
      try {
        Thread.sleep(1500);
        Files.writeString(source.resolve("downloaded-by-core.jar"), "late");
      } catch (Exception e) {
        throw new RuntimeException(e);
      }
      result.addBuildSummary(new org.apache.maven.execution.BuildSuccess(core, 1500));
    });
    coreBuild.start();
    push.execute();
    coreBuild.join();
    Path target = dir.resolve("target");
    configure(new PullMojo(), "id=m2,dir=" + store + ",target=" + target).execute();
    assertEquals(TreeListing.of(source), TreeListing.of(target), "the snapshot holds what core wrote before it finished");
  }

  @Test
  void inAParallelBuildAModulesOwnPushDoesNotWaitForALaterModuleThatPushes() throws Exception {
    // mvn -T 2: core pushes a cache of its own (an execution of its pom), app, which does not depend on
    // core, runs the push every module inherits, and that push waits for core to finish. Had core's
    // push waited for app in turn, the two would have waited for each other for ever.
    var parent = project("parent", "pull", "push");
    var core = project("core", "pull", "push");
    org.apache.maven.model.PluginExecution own = new org.apache.maven.model.PluginExecution();
    own.setId("core-own");
    own.addGoal("push");
    core.getBuildPlugins().get(0).addExecution(own);
    var app = project("app", "pull", "push");
    var projects = List.of(parent, core, app);
    Path source = dir.resolve("source");
    TestTrees.mixed(source, 3);
    Path store = dir.resolve("store");
    PushMojo push = configure(new PushMojo(), "id=core,dir=" + store + ",target=" + source);
    push.mojoExecution = boundAs("core-own");
    push.session = reactor(projects, core);
    push.session.setParallel(true);
    push.session.setProjectDependencyGraph(graph(projects, Map.of()));
    push.session.getResult().addBuildSummary(new org.apache.maven.execution.BuildSuccess(parent, 1));
    // app still builds (no summary): its push waits for core. Here it ends after 10 s, so that a push
    // that waits for it ends too.
    Thread appBuild = new Thread(() -> {
      try {
        Thread.sleep(10_000);
      } catch (InterruptedException e) {
        return;
      }
      push.session.getResult().addBuildSummary(new org.apache.maven.execution.BuildSuccess(app, 10_000));
    });
    appBuild.setDaemon(true);
    appBuild.start();
    long start = System.nanoTime();
    push.execute();
    long seconds = java.util.concurrent.TimeUnit.NANOSECONDS.toSeconds(System.nanoTime() - start);
    appBuild.interrupt();
    assertTrue(Files.exists(store), "pushed in core");
    assertTrue(seconds < 8, "core's own push waited " + seconds + " s for app, whose push waits for core");
  }

  /**
   * mvn -T 2 where core, still building, reaches an aggregator goal (install:install-file): Maven runs
   * it only when no other goal runs, so it waits for the push, which waited for core: the build hung
   * for ever. Maven's own lock here: one thread holds it for reading, as the push's goal does, and
   * core's aggregator goal waits for it in MojoExecutor$ProjectLock. The push gives way, with a warning.
   */
  @Test
  void inAParallelBuildPushStopsWaitingWhenAModuleWaitsForMavensAggregatorLock() throws Exception {
    var parent = project("parent", "pull", "push");
    var core = project("core", "pull", "push");
    var app = project("app", "pull", "push");
    var projects = List.of(parent, core, app);
    Path source = dir.resolve("source");
    TestTrees.mixed(source, 4);
    Path store = dir.resolve("store");
    PushMojo push = configure(new PushMojo(), "id=m2,dir=" + store + ",target=" + source);
    @SuppressWarnings("deprecation")
    org.apache.maven.execution.MavenSession session = new org.apache.maven.execution.MavenSession(null,
        new org.eclipse.aether.DefaultRepositorySystemSession(), // where Maven 3.9 keeps its per-project locks
        new org.apache.maven.execution.DefaultMavenExecutionRequest(), new org.apache.maven.execution.DefaultMavenExecutionResult());
    session.setProjects(projects);
    session.setCurrentProject(app);
    push.session = session;
    push.session.setParallel(true);
    push.session.getRequest().setDegreeOfConcurrency(2);
    push.session.setProjectDependencyGraph(graph(projects, Map.of()));
    push.session.getResult().addBuildSummary(new org.apache.maven.execution.BuildSuccess(parent, 1));

    org.apache.maven.lifecycle.internal.MojoExecutor executor = new org.apache.maven.lifecycle.internal.MojoExecutor();
    Class<?> lockClass = Class.forName("org.apache.maven.lifecycle.internal.MojoExecutor$ProjectLock");
    var newLock = lockClass.getDeclaredConstructor(org.apache.maven.lifecycle.internal.MojoExecutor.class,
        org.apache.maven.execution.MavenSession.class, org.apache.maven.plugin.descriptor.MojoDescriptor.class);
    newLock.setAccessible(true);
    var held = new java.util.concurrent.CountDownLatch(1);
    var release = new java.util.concurrent.CountDownLatch(1);
    var failed = new java.util.concurrent.atomic.AtomicReference<Throwable>();
    Thread reader = new Thread(() -> { // a goal running, as the push's does: Maven's lock held for reading
      try {
        push.session.setCurrentProject(parent);
        try (AutoCloseable lock = (AutoCloseable) newLock.newInstance(executor, push.session, new org.apache.maven.plugin.descriptor.MojoDescriptor())) {
          held.countDown();
          release.await();
        }
      } catch (Throwable e) {
        failed.set(e);
        held.countDown();
      }
    });
    reader.setDaemon(true);
    reader.start();
    assertTrue(held.await(10, java.util.concurrent.TimeUnit.SECONDS), "the lock was taken");
    if (failed.get() != null) {
      throw new AssertionError("taking Maven's lock failed", failed.get());
    }
    org.apache.maven.plugin.descriptor.MojoDescriptor aggregator = new org.apache.maven.plugin.descriptor.MojoDescriptor();
    aggregator.setAggregator(true);
    Thread coreBuild = new Thread(() -> { // core's aggregator goal, which waits for the lock alone
      try {
        push.session.setCurrentProject(core);
        try (AutoCloseable lock = (AutoCloseable) newLock.newInstance(executor, push.session, aggregator)) {
          push.session.getResult().addBuildSummary(new org.apache.maven.execution.BuildSuccess(core, 1));
        }
      } catch (Throwable e) {
        failed.set(e);
      }
    });
    coreBuild.setDaemon(true);
    coreBuild.start();
    try {
      push.session.setCurrentProject(app);
      executeWithin(push, core);
      assertTrue(Files.exists(store), "pushed without waiting for core");
      assertEquals(null, push.session.getResult().getBuildSummary(core), "core's aggregator goal still waits");
    } finally {
      release.countDown();
    }
    coreBuild.join(10_000);
    assertFalse(coreBuild.isAlive(), "core's goal ran once the push had ended");
    assertEquals(null, failed.get());
  }

  /**
   * Executes {@code push} in this thread (Maven's session keeps the current project per thread); should
   * it still wait for {@code never} after 20 s, a summary for it ends the wait and the test fails.
   */
  private static void executeWithin(PushMojo push, org.apache.maven.project.MavenProject never) throws Exception {
    var hung = new java.util.concurrent.atomic.AtomicBoolean();
    var result = push.session.getResult();
    Thread watchdog = new Thread(() -> {
      try {
        Thread.sleep(20_000);
        hung.set(true);
        result.addBuildSummary(new org.apache.maven.execution.BuildSuccess(never, 1));
      } catch (InterruptedException e) {
        // done in time
      }
    });
    watchdog.setDaemon(true);
    watchdog.start();
    try {
      push.execute();
    } finally {
      watchdog.interrupt();
    }
    assertFalse(hung.get(), "push waited for " + never.getArtifactId() + ", which Maven does not build");
  }

  @Test
  void inAParallelBuildPushDoesNotWaitForModulesMavenWillNotBuild() throws Exception {
    var parent = project("parent", "pull", "push");
    var core = project("core", "pull", "push");
    var web = project("web", "pull", "push");
    var app = project("app", "pull", "push");
    var bom = project("bom");
    var projects = List.of(parent, core, web, app, bom);
    Path source = dir.resolve("source");
    TestTrees.mixed(source, 2);

    // --fail-at-end: core failed, and Maven skips web, which depends on it (no summary ever); bom
    // depends on app, so it waits for app's push, not the other way round.
    Path store = dir.resolve("store");
    PushMojo push = configure(new PushMojo(), "id=m2,dir=" + store + ",target=" + source);
    push.session = reactor(projects, app);
    push.session.getRequest().setReactorFailureBehavior(org.apache.maven.execution.MavenExecutionRequest.REACTOR_FAIL_AT_END);
    push.session.setParallel(true);
    push.session.setProjectDependencyGraph(graph(projects, Map.of(web, core, bom, app)));
    push.session.getResult().addBuildSummary(new org.apache.maven.execution.BuildSuccess(parent, 1));
    push.session.getResult().addBuildSummary(new org.apache.maven.execution.BuildFailure(core, 1, new MojoExecutionException("compile")));
    executeWithin(push, web);
    assertTrue(Files.exists(store), "pushed: the failure does not stop a --fail-at-end build");

    // Fail fast, Maven's default: core's failure stops the build, and the push with it, as without -T.
    Path failFast = dir.resolve("fail-fast");
    PushMojo stopped = configure(new PushMojo(), "id=m2,dir=" + failFast + ",target=" + source);
    stopped.session = reactor(projects, app);
    stopped.session.setParallel(true);
    stopped.session.setProjectDependencyGraph(graph(projects, Map.of(web, core, bom, app)));
    stopped.session.getResult().addBuildSummary(new org.apache.maven.execution.BuildFailure(core, 1, new MojoExecutionException("compile")));
    executeWithin(stopped, web);
    assertFalse(Files.exists(failFast), "no push once the build stops");
  }

  /** A push that runs longer than the progress interval says how far it has come in Maven's log, as the CLI does in a CI log. */
  @Test
  void aLongPushSaysHowFarItHasCome() throws Exception {
    Path source = dir.resolve("source");
    TestTrees.mixed(source, 4);
    PushMojo push = configure(new PushMojo(), "id=m2,dir=" + dir.resolve("store") + ",target=" + source);
    push.progressInterval = java.time.Duration.ofMillis(1);
    List<String> infos = java.util.Collections.synchronizedList(new java.util.ArrayList<>());
    push.setLog(new org.apache.maven.plugin.logging.SystemStreamLog() {
      @Override
      public void info(CharSequence content) {
        infos.add(content.toString());
      }
    });
    push.execute();
    List<String> progress = infos.stream().filter(l -> l.startsWith("cachemount: m2: push: ")).toList();
    assertFalse(progress.isEmpty(), infos.toString());
    assertTrue(progress.stream().allMatch(l -> l.matches("cachemount: m2: push: (scanning|reading files|storing).*; \\d+:\\d\\d.*")), progress.toString());
    assertTrue(infos.get(infos.size() - 1).startsWith("cachemount: m2: pushed "), "the result comes last: " + infos);
  }

  /** The warnings and errors {@code mojo} logs, each as "warning: ..." or "error: ...". */
  private static List<String> logged(CacheMojo<?> mojo) {
    List<String> logged = new java.util.ArrayList<>();
    mojo.setLog(new org.apache.maven.plugin.logging.SystemStreamLog() {
      @Override
      public void warn(CharSequence content) {
        logged.add("warning: " + content);
      }

      @Override
      public void error(CharSequence content) {
        logged.add("error: " + content);
      }
    });
    return logged;
  }

  /** The warnings {@code mojo} logs. */
  private static List<String> warnings(CacheMojo<?> mojo) {
    List<String> warnings = new java.util.ArrayList<>();
    mojo.setLog(new org.apache.maven.plugin.logging.SystemStreamLog() {
      @Override
      public void warn(CharSequence content) {
        warnings.add(content.toString());
        super.warn(content);
      }
    });
    return warnings;
  }

  @Test
  void aGoalThatRunsOnTheWrongSideOfModulesSaysSo() throws Exception {
    // The plugin declared in the parent with <inherited>false</inherited>, Maven's idiom for "once":
    // only the parent runs the goals, and Maven builds it first, so push snapshots the cache before
    // any module's build. It did so without a word, each build storing the tree as it was pulled.
    var parent = project("parent", "pull", "push");
    parent.setPackaging("pom");
    var projects = List.of(parent, project("core"), project("app"));
    Path source = dir.resolve("source");
    TestTrees.mixed(source, 2);
    Path store = dir.resolve("store");
    PushMojo push = configure(new PushMojo(), "id=m2,dir=" + store + ",target=" + source);
    List<String> pushWarnings = warnings(push);
    runIn(push, projects, 0);
    assertEquals(1, pushWarnings.size(), pushWarnings.toString());
    assertTrue(pushWarnings.get(0).contains("push runs once per build, in parent, but Maven builds core, app after it"), pushWarnings.get(0));
    PullMojo pull = configure(new PullMojo(), "id=m2,dir=" + store + ",target=" + dir.resolve("t"));
    List<String> pullWarnings = warnings(pull);
    runIn(pull, projects, 0);
    assertEquals(List.of(), pullWarnings, "pull runs first: right");

    // A first module that does not inherit the plugin resolves before the pull.
    var late = List.of(project("tools"), project("core", "pull", "push"), project("app", "pull", "push"));
    pull = configure(new PullMojo(), "id=m2,dir=" + store + ",target=" + dir.resolve("t2"));
    pullWarnings = warnings(pull);
    runIn(pull, late, 1);
    assertEquals(1, pullWarnings.size(), pullWarnings.toString());
    assertTrue(pullWarnings.get(0).contains("pull runs once per build, in core, but Maven builds tools before it"), pullWarnings.get(0));

    // -T: tools does not depend on core (nor app, which depends on core), so Maven builds it at once.
    var tools = project("tools");
    var core = project("core", "pull", "push");
    var app = project("app", "pull", "push");
    var parallel = List.of(core, tools, app);
    pull = configure(new PullMojo(), "id=m2,dir=" + store + ",target=" + dir.resolve("t4"));
    pullWarnings = warnings(pull);
    pull.session = reactor(parallel, core);
    pull.session.setParallel(true);
    pull.session.setProjectDependencyGraph(graph(parallel, Map.of(app, core)));
    pull.execute();
    assertEquals(1, pullWarnings.size(), pullWarnings.toString());
    assertTrue(pullWarnings.get(0).contains("pull runs once per build, in core, but Maven builds tools before it or while it pulls (-T"),
        pullWarnings.get(0));

    // An aggregator first and a BOM last (pom packaging, they resolve next to nothing): no warning.
    var aggregator = project("aggregator");
    aggregator.setPackaging("pom");
    var bom = project("bom");
    bom.setPackaging("pom");
    var usual = List.of(aggregator, project("core", "pull", "push"), project("app", "pull", "push"), bom);
    push = configure(new PushMojo(), "id=m2,dir=" + store + ",target=" + source);
    pushWarnings = warnings(push);
    runIn(push, usual, 2);
    pull = configure(new PullMojo(), "id=m2,dir=" + store + ",target=" + dir.resolve("t3"));
    pullWarnings = warnings(pull);
    runIn(pull, usual, 1);
    assertEquals(List.of(), pushWarnings);
    assertEquals(List.of(), pullWarnings);
  }

  @Test
  void aModuleThatSkipsTheGoalDoesNotRunItForTheBuild() throws Exception {
    // The last module skips the plugin, as modules skip plugins in Maven: a property in its pom. It
    // logged "skipped", and the other modules deferred to it: nothing was pushed.
    var app = project("app", "pull", "push");
    app.getProperties().setProperty("cachemount.skip", "true");
    var projects = List.of(project("parent", "pull", "push"), project("core", "pull", "push"), app);
    Path source = dir.resolve("source");
    TestTrees.mixed(source, 4);
    Path store = dir.resolve("store");
    runIn(configure(new PushMojo(), "id=m2,dir=" + store + ",target=" + source), projects, 1);
    assertTrue(Files.exists(store), "core is the last module that does not skip push");

    // <skip>true</skip> in the first project's configuration, literally or through a property of its own.
    var parent = project("parent", "pull", "push");
    var skip = new org.codehaus.plexus.util.xml.Xpp3Dom("skip");
    skip.setValue("${skip.cache}");
    var configuration = new org.codehaus.plexus.util.xml.Xpp3Dom("configuration");
    configuration.addChild(skip);
    parent.getBuildPlugins().get(0).setConfiguration(configuration);
    parent.getProperties().setProperty("skip.cache", "true");
    var pulls = List.of(parent, project("core", "pull", "push"));
    Path target = dir.resolve("target");
    runIn(configure(new PullMojo(), "id=m2,dir=" + store + ",target=" + target), pulls, 1);
    assertEquals(TreeListing.of(source), TreeListing.of(target), "core is the first project that does not skip pull");

    // -Dcachemount.skip=false on the command line outweighs the module's property, as Maven has it.
    Path again = dir.resolve("again");
    PushMojo push = configure(new PushMojo(), "id=m2,dir=" + again + ",target=" + source);
    push.session = reactor(projects, projects.get(1));
    push.session.getUserProperties().setProperty("cachemount.skip", "false");
    push.execute();
    assertFalse(Files.exists(again), "app runs push: the command line says not to skip");
  }

  /** A project whose pom is {@code pom.xml} in {@code basedir}, as Maven builds it from a file. */
  private static org.apache.maven.project.MavenProject projectIn(Path basedir) {
    org.apache.maven.project.MavenProject p = project(basedir.getFileName().toString());
    p.setFile(basedir.resolve("pom.xml").toFile());
    return p;
  }

  @Test
  void relativeTargetAndDirAreRelativeToTheProjectNotTheWorkingDirectory() throws Exception {
    // mvn -f proj/pom.xml: Maven's working directory is not proj, where the pom's relative paths point.
    Path proj = Files.createDirectories(dir.resolve("proj"));
    TestTrees.mixed(proj.resolve("relc"), 3);
    List<org.apache.maven.project.MavenProject> single = List.of(projectIn(proj));
    runIn(configure(new PushMojo(), "id=m2,dir=relstore,target=relc"), single, 0);
    assertTrue(Files.exists(proj.resolve("relstore/index.json")), "the store is proj/relstore");
    runIn(configure(new PullMojo(), "id=m2,dir=relstore,target=restored"), single, 0);
    assertEquals(TreeListing.of(proj.resolve("relc")), TreeListing.of(proj.resolve("restored")));
    assertFalse(Files.exists(Path.of("relstore")) || Files.exists(Path.of("restored")), "nothing in the working directory");

    // Once per build, pull (first module) and push (last) both resolve against the top-level project;
    // run in every module, each against its own directory.
    Path app = Files.createDirectories(proj.resolve("app"));
    var reactor = List.of(projectIn(proj), projectIn(app));
    PushMojo push = configure(new PushMojo());
    push.session = reactor(reactor, reactor.get(1));
    assertEquals(proj, push.baseDirectory());
    push.oncePerBuild = false;
    assertEquals(app, push.baseDirectory());

    // mvn -pl app, started from proj: the reactor holds app alone, and Maven makes it the top-level
    // project; the paths still resolve against proj, as in a build of every module.
    push.oncePerBuild = true;
    push.session = reactor(List.of(projectIn(app)), reactor.get(1));
    push.session.getRequest().setBaseDirectory(proj.toFile());
    assertEquals(app.toFile(), push.session.getTopLevelProject().getBasedir(), "as Maven 3 makes it");
    assertEquals(proj, push.baseDirectory());

    // No pom (a goal run without a project): the working directory, as the CLI.
    push.session = reactor(List.of(project("standalone-pom")), null);
    assertEquals(null, push.baseDirectory());
    push.session = null;
    assertEquals(null, push.baseDirectory());
  }

  @Test
  void skipSkips() throws Exception {
    PushMojo push = configure(new PushMojo(), "id=m2,colour=blue");
    push.skip = true;
    push.execute();
  }

  @Test
  void corruptStoreIsAnExecutionError() throws Exception {
    Path source = dir.resolve("source");
    TestTrees.mixed(source, 4);
    Path store = dir.resolve("store");
    configure(new PushMojo(), "id=m2,dir=" + store + ",target=" + source).execute();
    Files.writeString(store.resolve("index.json"), "{ not json");
    assertThrows(MojoExecutionException.class, () -> configure(new PullMojo(), "id=m2,dir=" + store + ",target=" + dir.resolve("r")).execute());
  }
}
