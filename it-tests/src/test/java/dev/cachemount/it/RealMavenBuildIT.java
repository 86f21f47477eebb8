package dev.cachemount.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.cachemount.it.registry.RegistryMode;
import dev.cachemount.it.registry.TestRegistry;
import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The Maven plugin as users run it: the real {@code mvn} from PATH, a process of its own, on a
 * multi-module project that declares the plugin as the README's snippet does, against the harness's
 * token-auth registry with the credentials only in a {@code <server>} of settings.xml. So the plugin
 * descriptor Maven reads, the parameter expressions ({@code -Dcachemount.cacheId}), the Settings and
 * SettingsDecrypter Maven injects, the reactor's real order and the properties later plugins read
 * are those of a real build, which the mojo tests (maven-plugin's CacheMojoTest) only imitate.
 *
 * <p>Every build is offline ({@code -o -B}) and reaches loopback only: a temporary local repository
 * holds the plugin, cachemount-core and the parent pom as this reactor built them; everything else
 * comes from the local repository of the build that runs this test, as a {@code file://} mirror,
 * which an offline Maven reads because the resolver is told that {@code file} is an offline protocol
 * ({@code -Daether.offline.protocols=file}; without it {@code -o} refuses the mirror too).
 */
class RealMavenBuildIT {
  private static final String VERSION = System.getProperty("cachemount.version", "0.1.0-SNAPSHOT");
  private static final String PLUGIN = "dev.cachemount:cachemount-maven-plugin:" + VERSION;
  /** A Maven JVM that starts in half the time (C1 only, serial GC): these builds are short. */
  private static final String MAVEN_OPTS = "-XX:TieredStopAtLevel=1 -XX:+UseSerialGC";
  /** The line Maven starts each goal's output with: {@code [INFO] --- ARTIFACT:VERSION:GOAL (EXECUTION) @ PROJECT ---}. */
  private static final Pattern GOAL_HEADER = Pattern.compile("^\\[INFO\\] --- ([\\w.-]+):[^:\\s]+:([\\w-]+) \\(([^)]+)\\) @ ([\\w.-]+) ---$");
  /** A line that ends a goal's output: the next goal, the next project, or the build's summary. */
  private static final Pattern SECTION_END = Pattern.compile("^\\[INFO\\] (--- |-{20,}|Building |Reactor Summary).*");

  @TempDir static Path dir;
  static String mvn;
  static TestRegistry registry;
  static RegistryAccess cli;
  /** The temporary local repository of every build here. */
  static Path repository;
  /** The tree the CLI pushed, for the goals to pull, and its spec without the target. */
  static Path seeded;
  static String seededSpec;

  @BeforeAll
  static void startTheRegistryAndFillTheLocalRepository() throws Exception {
    mvn = mavenOnPath();
    registry = TestRegistry.start(RegistryMode.TOKEN, dir.resolve("registry"));
    cli = RegistryAccess.of(registry, dir.resolve("cli-home"));
    repository = localRepository(dir.resolve("m2"));
    seeded = RandomTrees.write(dir.resolve("seeded"), 7, 40, 4, 100, 20_000);
    Files.writeString(seeded.resolve("g0/readme.txt"), "pushed by the CLI, pulled by the goal\n");
    seededSpec = "id=seeded,ref=" + cli.ref("it/seeded");
    Cli.Result push = cli.cli("push", seededSpec + ",target=" + seeded);
    assertEquals(0, push.exitCode(), push.toString());
    assertEquals("pushed", push.json().get(0).get("result").asText(), push.toString());
  }

  @AfterAll
  static void stopTheRegistry() {
    if (registry != null) {
      registry.close();
    }
  }

  /**
   * {@code mvn verify} of a parent with two modules (declared b before a; b depends on a, so the
   * reactor builds parent, a, b) that inherit the README's plugin block with a {@code ref=} of the
   * token registry: the pull runs in the parent and misses, and only there; the push runs in b, the
   * last, and only there; maven-enforcer-plugin in b reads {@code cachemount.pull.cache.result} =
   * {@code miss} in validate and {@code cachemount.push.cache.result} = {@code pushed} in verify; and
   * the CLI pulls from the registry a tree identical to the one pushed, with the digest the build logged.
   */
  @Test
  void aVerifyPullsInTheFirstProjectAndPushesInTheLastWithTheServerOfSettingsXml() throws Exception {
    Path work = dir.resolve("verify");
    Path cache = RandomTrees.write(work.resolve("cache"), 11, 60, 6, 100, 30_000);
    Files.createDirectories(cache.resolve("empty-dir"));
    String spec = "id=cache,type=registry,ref=" + registry.host() + "/it/build-cache,target=" + cache;
    Path project = writeProject(work.resolve("project"), spec, "miss", "pushed");
    Path settings = settings(work.resolve("settings.xml"), registry.password());

    Build build = maven(project, settings, "verify");

    assertEquals(0, build.exitCode(), build.toString());
    assertEquals(List.of("it-parent", "it-a", "it-b"), build.reactorOrder(), build.toString());
    Map<String, List<String>> goals = build.goals();
    assertEquals(List.of("pull@it-parent", "push@it-parent", "pull@it-a", "push@it-a", "pull@it-b", "push@it-b"),
        goals.keySet().stream().filter(k -> k.startsWith("pull@") || k.startsWith("push@")).toList(), build.toString());
    assertTrue(has(goals.get("pull@it-parent"), "[INFO] cachemount: cache: miss, nothing stored at "), build.toString());
    for (String skipped : List.of("pull@it-a", "pull@it-b")) {
      assertTrue(has(goals.get(skipped), "[INFO] cachemount: pull skipped here: it runs once per build, in it-parent"), skipped + "\n" + build);
    }
    for (String skipped : List.of("push@it-parent", "push@it-a")) {
      assertTrue(has(goals.get(skipped), "[INFO] cachemount: push skipped here: it runs once per build, in it-b"), skipped + "\n" + build);
    }
    String pushed = goals.get("push@it-b").stream().filter(l -> l.startsWith("[INFO] cachemount: cache: pushed sha256:")).findFirst()
        .orElseThrow(() -> new AssertionError("no push in it-b:\n" + build));
    assertTrue(pushed.contains(" to docker://" + registry.host() + "/it/build-cache:cache (60 files"), pushed);
    assertEquals(1, build.lines().stream().filter(l -> l.contains("cachemount: cache: pushed")).count(), build.toString());
    assertEquals(2, build.lines().stream().filter(l -> l.contains("maven-enforcer-plugin") && l.contains("@ it-b")).count(), build.toString());

    Path restored = work.resolve("restored");
    Cli.Result pull = cli.cli("pull", "id=cache,ref=" + cli.ref("it/build-cache") + ",target=" + restored);
    assertEquals(0, pull.exitCode(), pull.toString());
    assertTrue(pushed.contains(pull.json().get(0).get("digest").asText()), pull + "\n" + pushed);
    TreeCompare.assertSameTree(cache, restored);
  }

  /**
   * The README's command-line goal, {@code mvn PLUGIN:pull -Dcachemount.cacheId=...}, in a directory
   * without a pom (as a scheduled job runs it), restores exactly the tree the CLI pushed, logging in
   * with the {@code <server>} of settings.xml whose id is the registry's {@code HOST:PORT}.
   */
  @Test
  void theCommandLineGoalRestoresWhatTheCliPushed() throws Exception {
    Path work = Files.createDirectories(dir.resolve("typed"));
    Path settings = settings(work.resolve("settings.xml"), registry.password());
    Path fresh = work.resolve("fresh");

    Build build = maven(Files.createDirectories(work.resolve("no-pom")), settings, PLUGIN + ":pull",
        "-Dcachemount.cacheId=" + seededSpec + ",target=" + fresh);

    assertEquals(0, build.exitCode(), build.toString());
    assertTrue(build.has("[INFO] cachemount: seeded: restored sha256:"), build.toString());
    TreeCompare.assertSameTree(seeded, fresh);
  }

  /**
   * A password encrypted with Maven's master password ({@code mvn --encrypt-master-password}, then
   * {@code mvn --encrypt-password}, settings-security.xml named by {@code -Dsettings.security}) logs
   * in: Maven's SettingsDecrypter, as injected, decrypts it. The same with a wrong password, encrypted
   * alike, fails the build (exit 1) with cachemount's message, which names the registry and the
   * {@code <server>} whose credentials were refused; and where the file {@code -Dsettings.security}
   * names holds no master that decrypts it, the build fails with the plugin's message that the
   * password cannot be decrypted, naming that file (not {@code ~/.m2/settings-security.xml}).
   */
  @Test
  void anEncryptedPasswordLogsInAndAWrongOneFailsTheBuildNamingTheServer() throws Exception {
    Path work = Files.createDirectories(dir.resolve("encrypted"));
    Path noPom = Files.createDirectories(work.resolve("no-pom"));
    Path security = work.resolve("settings-security.xml");
    String master = encrypted(noPom, "--encrypt-master-password", "master-of-the-test", null);
    Files.writeString(security, "<settingsSecurity><master>" + master + "</master></settingsSecurity>\n");
    String password = encrypted(noPom, "--encrypt-password", registry.password(), security);
    String wrong = encrypted(noPom, "--encrypt-password", "not-" + registry.password(), security);
    assertNotEquals(registry.password(), password);
    String server = "'" + registry.host() + "'";

    Path fresh = work.resolve("fresh");
    Build good = maven(noPom, settings(work.resolve("settings.xml"), password), PLUGIN + ":pull",
        "-Dsettings.security=" + security, "-Dcachemount.cacheId=" + seededSpec + ",target=" + fresh);
    assertEquals(0, good.exitCode(), good.toString());
    assertTrue(good.has("[INFO] cachemount: seeded: restored sha256:"), good.toString());
    TreeCompare.assertSameTree(seeded, fresh);

    Build refused = maven(noPom, settings(work.resolve("wrong-settings.xml"), wrong), PLUGIN + ":pull",
        "-Dsettings.security=" + security, "-Dcachemount.cacheId=" + seededSpec + ",target=" + work.resolve("refused"));
    assertEquals(1, refused.exitCode(), refused.toString());
    String error = refused.failure();
    assertTrue(error.contains("cachemount: seeded: registry " + registry.host() + ", repository it/seeded: "), error);
    assertTrue(error.contains(": authentication for pull was refused (HTTP 401): the credentials from settings.xml server " + server), error);
    assertTrue(error.contains("Check the username and password of that <server> in settings.xml"), error);

    Path noMaster = write(work.resolve("no-master-settings-security.xml"), "<settingsSecurity><master>{!!not-a-master!!}</master></settingsSecurity>\n");
    Build undecryptable = maven(noPom, settings(work.resolve("settings.xml"), password), PLUGIN + ":pull",
        "-Dsettings.security=" + noMaster, "-Dcachemount.cacheId=" + seededSpec + ",target=" + work.resolve("undecryptable"));
    assertEquals(1, undecryptable.exitCode(), undecryptable.toString());
    assertTrue(undecryptable.failure().contains("cachemount: the password of settings.xml server " + server + " cannot be decrypted: "),
        undecryptable.toString());
    assertTrue(undecryptable.failure().contains("; check the master password in " + noMaster + ", named by -Dsettings.security,"),
        undecryptable.toString());
  }

  /**
   * {@code failOnError} as a build runs it: a pull that the registry refuses (a wrong password)
   * stops the build at the parent, before any module builds; with {@code -Dcachemount.failOnError=false}
   * the pull logs an {@code [ERROR]} line, the build goes on and succeeds, and maven-enforcer-plugin in
   * the last module reads {@code cachemount.pull.cache.result} = {@code failed}.
   */
  @Test
  void aFailedPullFailsTheBuildUnlessFailOnErrorIsFalseAndThenItsResultIsFailed() throws Exception {
    Path work = dir.resolve("fail-on-error");
    String spec = "id=cache,ref=" + registry.host() + "/it/refused,target=" + work.resolve("cache");
    Path project = writeProject(work.resolve("project"), spec, "failed", null);
    Path settings = settings(work.resolve("settings.xml"), "not-" + registry.password());

    Build failing = maven(project, settings, "validate");
    assertEquals(1, failing.exitCode(), failing.toString());
    assertTrue(failing.failure().contains("pull (restore-cache) on project it-parent: cachemount: cache: registry " + registry.host()),
        failing.toString());
    assertEquals(List.of("pull@it-parent"), List.copyOf(failing.goals().keySet()), "nothing ran after the pull:\n" + failing);

    Build goingOn = maven(project, settings, "validate", "-Dcachemount.failOnError=false");
    assertEquals(0, goingOn.exitCode(), goingOn.toString());
    List<String> errors = goingOn.goals().get("pull@it-parent").stream().filter(l -> l.startsWith("[ERROR] cachemount: cache: registry ")).toList();
    assertEquals(1, errors.size(), goingOn.toString());
    assertTrue(errors.get(0).endsWith("(failOnError=false: the build goes on)"), errors.get(0));
    assertTrue(goingOn.goals().containsKey("enforce@it-b"), goingOn.toString());
    assertTrue(goingOn.has("[INFO] BUILD SUCCESS"), goingOn.toString());
  }

  // ---- the project, the settings, the local repository, and mvn

  /**
   * A parent ({@code it-parent}) whose plugin block is the README's, with {@code spec} as its one
   * cache id, and two pom modules, b declared first but depending on a. b checks with
   * maven-enforcer-plugin that the pull's result property is {@code pullResult} in validate and, if
   * {@code pushResult} is not null, that the push's is {@code pushResult} in verify.
   */
  private static Path writeProject(Path project, String spec, String pullResult, String pushResult) throws IOException {
    String header = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<project xmlns=\"http://maven.apache.org/POM/4.0.0\">\n"
        + "  <modelVersion>4.0.0</modelVersion>\n";
    write(project.resolve("pom.xml"), header
        + "  <groupId>it.cachemount</groupId>\n  <artifactId>it-parent</artifactId>\n  <version>1.0</version>\n  <packaging>pom</packaging>\n"
        + "  <modules>\n    <module>b</module>\n    <module>a</module>\n  </modules>\n"
        + "  <build>\n    <plugins>\n"
        + "      <plugin>\n"
        + "        <groupId>dev.cachemount</groupId>\n"
        + "        <artifactId>cachemount-maven-plugin</artifactId>\n"
        + "        <version>" + VERSION + "</version>\n"
        + "        <configuration>\n"
        + "          <cacheIds><cacheId>" + xml(spec) + "</cacheId></cacheIds>\n"
        + "        </configuration>\n"
        + "        <executions>\n"
        + "          <execution><id>restore-cache</id><goals><goal>pull</goal></goals></execution>\n"
        + "          <execution><id>save-cache</id><goals><goal>push</goal></goals></execution>\n"
        + "        </executions>\n"
        + "      </plugin>\n"
        + "    </plugins>\n  </build>\n</project>\n");
    String parent = "  <parent>\n    <groupId>it.cachemount</groupId>\n    <artifactId>it-parent</artifactId>\n    <version>1.0</version>\n  </parent>\n";
    write(project.resolve("a/pom.xml"), header + parent + "  <artifactId>it-a</artifactId>\n  <packaging>pom</packaging>\n</project>\n");
    StringBuilder checks = new StringBuilder(enforce("pulled", "validate", "cachemount.pull.cache.result", pullResult));
    if (pushResult != null) {
      checks.append(enforce("pushed", "verify", "cachemount.push.cache.result", pushResult));
    }
    write(project.resolve("b/pom.xml"), header + parent + "  <artifactId>it-b</artifactId>\n  <packaging>pom</packaging>\n"
        + "  <dependencies>\n    <dependency>\n      <groupId>it.cachemount</groupId>\n      <artifactId>it-a</artifactId>\n"
        + "      <version>1.0</version>\n      <type>pom</type>\n    </dependency>\n  </dependencies>\n"
        + "  <build>\n    <plugins>\n      <plugin>\n"
        + "        <groupId>org.apache.maven.plugins</groupId>\n        <artifactId>maven-enforcer-plugin</artifactId>\n"
        + "        <version>" + System.getProperty("cachemount.enforcerVersion", "3.6.1") + "</version>\n"
        + "        <executions>\n" + checks + "        </executions>\n"
        + "      </plugin>\n    </plugins>\n  </build>\n</project>\n");
    return project;
  }

  /** An enforcer execution in {@code phase} that requires the property {@code name} to be {@code value}. */
  private static String enforce(String id, String phase, String name, String value) {
    return "          <execution>\n            <id>" + id + "</id>\n            <phase>" + phase + "</phase>\n"
        + "            <goals><goal>enforce</goal></goals>\n"
        + "            <configuration><rules><requireProperty>\n"
        + "              <property>" + name + "</property>\n              <regex>" + value + "</regex>\n"
        + "              <regexMessage>" + name + " is not " + value + "</regexMessage>\n"
        + "            </requireProperty></rules></configuration>\n"
        + "          </execution>\n";
  }

  /**
   * A settings.xml whose only repository is the local repository of the build that runs this test,
   * read as a remote one, with the registry's {@code <server>} (id {@code HOST:PORT}) and
   * {@code password}. It is Maven Central's id, so that it replaces Central, with releases only
   * (this reactor's snapshots come from the temporary local repository alone, never from an
   * earlier {@code mvn install}) and no checksums to check (a local repository keeps few); and it
   * is the mirror of every other repository a pom may name.
   */
  private static Path settings(Path file, String password) throws IOException {
    String url = thisBuildsLocalRepository().toUri().toString();
    String repository = "<id>central</id><url>" + url + "</url>"
        + "<releases><checksumPolicy>ignore</checksumPolicy></releases><snapshots><enabled>false</enabled></snapshots>";
    return write(file, "<settings>\n"
        + "  <mirrors>\n    <mirror><id>this-builds-local-repository</id><mirrorOf>*</mirrorOf><url>" + url + "</url></mirror>\n  </mirrors>\n"
        + "  <profiles>\n    <profile>\n      <id>this-builds-local-repository</id>\n"
        + "      <repositories><repository>" + repository + "</repository></repositories>\n"
        + "      <pluginRepositories><pluginRepository>" + repository + "</pluginRepository></pluginRepositories>\n"
        + "    </profile>\n  </profiles>\n"
        + "  <activeProfiles><activeProfile>this-builds-local-repository</activeProfile></activeProfiles>\n"
        + "  <servers>\n    <server>\n      <id>" + registry.host() + "</id>\n"
        + "      <username>" + xml(registry.username()) + "</username>\n      <password>" + xml(password) + "</password>\n"
        + "    </server>\n  </servers>\n</settings>\n");
  }

  /**
   * A local repository with this reactor's plugin, cachemount-core and parent pom in the Maven
   * layout, nothing else: copies of the files the reactor built, not whatever an earlier
   * {@code mvn install} left in the user's repository.
   */
  private static Path localRepository(Path root) throws IOException {
    Path sources = Cli.repoRoot();
    Path group = root.resolve("dev/cachemount");
    put(sources.resolve("pom.xml"), group, "cachemount-parent", ".pom");
    put(sources.resolve("core/pom.xml"), group, "cachemount-core", ".pom");
    put(built(sources.resolve("core/target/cachemount-core-" + VERSION + ".jar")), group, "cachemount-core", ".jar");
    put(sources.resolve("maven-plugin/pom.xml"), group, "cachemount-maven-plugin", ".pom");
    put(built(sources.resolve("maven-plugin/target/cachemount-maven-plugin-" + VERSION + ".jar")), group, "cachemount-maven-plugin", ".jar");
    return root;
  }

  private static Path built(Path jar) {
    if (!Files.isRegularFile(jar)) {
      throw new AssertionError(jar + " is missing; run mvn -B verify from the repository root, which builds it before it-tests");
    }
    return jar;
  }

  private static void put(Path file, Path group, String artifact, String extension) throws IOException {
    Path dir = Files.createDirectories(group.resolve(artifact).resolve(VERSION));
    Files.copy(file, dir.resolve(artifact + "-" + VERSION + extension), StandardCopyOption.REPLACE_EXISTING);
  }

  private static Path thisBuildsLocalRepository() {
    Path local = Path.of(System.getProperty("cachemount.localRepository", System.getProperty("user.home") + "/.m2/repository"));
    if (!Files.isDirectory(local)) {
      throw new AssertionError("no local Maven repository at " + local + " to serve the builds' third-party artifacts");
    }
    return local.toAbsolutePath();
  }

  /** What {@code mvn --encrypt-master-password} or {@code --encrypt-password} prints: {@code {...}}. */
  private static String encrypted(Path cwd, String option, String secret, Path security) throws Exception {
    List<String> args = new ArrayList<>(List.of(option, secret));
    if (security != null) {
      args.add("-Dsettings.security=" + security);
    }
    Build build = run(cwd, args);
    assertEquals(0, build.exitCode(), build.toString());
    Matcher m = Pattern.compile("^\\{[A-Za-z0-9+/=]+}$", Pattern.MULTILINE).matcher(build.log());
    assertTrue(m.find(), build.toString());
    return m.group();
  }

  /** {@code mvn -o -B} in {@code cwd} with {@code settings}, the temporary local repository, and {@code args}. */
  private static Build maven(Path cwd, Path settings, String... args) throws Exception {
    List<String> command = new ArrayList<>(List.of("-o", "-B", "-ntp", "-s", settings.toString(),
        "-gs", write(dir.resolve("global-settings.xml"), "<settings/>\n").toString(),
        "-Dmaven.repo.local=" + repository, "-Daether.offline.protocols=file"));
    command.addAll(List.of(args));
    return run(cwd, command);
  }

  /**
   * Runs {@code mvn ARGS} on this JVM's Java, with cachemount's state in a directory of the test's and
   * no credentials from this machine's environment or Docker configuration: only settings.xml logs in.
   */
  private static Build run(Path cwd, List<String> args) throws Exception {
    List<String> command = new ArrayList<>(List.of(mvn));
    command.addAll(args);
    ProcessBuilder pb = new ProcessBuilder(command).directory(cwd.toFile()).redirectErrorStream(true);
    Map<String, String> env = pb.environment();
    List.of("MAVEN_ARGS", "MAVEN_CONFIG", "MAVEN_BASEDIR", "MAVEN_PROJECTBASEDIR", "MAVEN_DEBUG_OPTS", "CACHEMOUNT_REGISTRY_USER",
        "CACHEMOUNT_REGISTRY_PASSWORD", "CACHEMOUNT_PROGRESS").forEach(env::remove);
    env.put("JAVA_HOME", System.getProperty("java.home"));
    env.put("MAVEN_OPTS", MAVEN_OPTS);
    env.put("XDG_CACHE_HOME", dir.resolve("maven-home/cache").toString());
    env.put("DOCKER_CONFIG", Files.createDirectories(dir.resolve("maven-home/docker")).toString());
    Path log = Files.createTempFile(dir, "mvn-", ".log");
    pb.redirectOutput(log.toFile());
    Process process = pb.start();
    process.getOutputStream().close();
    if (!process.waitFor(3, TimeUnit.MINUTES)) {
      process.destroyForcibly();
      throw new AssertionError(String.join(" ", command) + " did not finish within 3 minutes:\n" + Files.readString(log));
    }
    return new Build(String.join(" ", command), process.exitValue(), Files.readString(log, StandardCharsets.UTF_8));
  }

  /** The {@code mvn} on PATH, or a failure that says what to install: these tests are about real Maven. */
  private static String mavenOnPath() {
    for (String d : System.getenv().getOrDefault("PATH", "").split(File.pathSeparator)) {
      if (!d.isEmpty() && Files.isExecutable(Path.of(d, "mvn"))) {
        return Path.of(d, "mvn").toString();
      }
    }
    throw new AssertionError("mvn is not on PATH, and RealMavenBuildIT runs the plugin in real Maven builds;"
        + " install Maven 3.6.3 or later (apt-get install -y maven) or put its bin directory on PATH");
  }

  private static Path write(Path file, String text) throws IOException {
    Files.createDirectories(file.getParent());
    return Files.writeString(file, text, StandardCharsets.UTF_8);
  }

  private static String xml(String text) {
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;");
  }

  private static boolean has(List<String> lines, String prefix) {
    return lines != null && lines.stream().anyMatch(l -> l.startsWith(prefix));
  }

  /** A finished {@code mvn}: its exit code and everything it printed. */
  record Build(String command, int exitCode, String log) {
    List<String> lines() {
      return log.lines().toList();
    }

    boolean has(String prefix) {
      return RealMavenBuildIT.has(lines(), prefix);
    }

    /** The projects of the "Reactor Build Order" Maven prints first, in that order. */
    List<String> reactorOrder() {
      List<String> order = new ArrayList<>();
      boolean in = false;
      for (String line : lines()) {
        if (line.equals("[INFO] Reactor Build Order:")) {
          in = true;
        } else if (in && line.matches("\\[INFO\\] \\S+ +\\[\\w+\\]")) {
          order.add(line.substring(7, line.indexOf(' ', 7)));
        } else if (in && !line.equals("[INFO] ")) {
          break;
        }
      }
      return order;
    }

    /**
     * What each goal printed, by {@code GOAL@PROJECT}, in the order they ran; a goal that ran twice in
     * one project ({@code enforce}) has its lines together.
     */
    Map<String, List<String>> goals() {
      Map<String, List<String>> goals = new LinkedHashMap<>();
      List<String> current = null;
      for (String line : lines()) {
        Matcher header = GOAL_HEADER.matcher(line);
        if (header.matches()) {
          current = goals.computeIfAbsent(header.group(2) + "@" + header.group(4), k -> new ArrayList<>());
        } else if (SECTION_END.matcher(line).matches()) {
          current = null;
        } else if (current != null) {
          current.add(line);
        }
      }
      return goals;
    }

    /** The {@code [ERROR]} lines Maven ends a failed build with, together. */
    String failure() {
      return String.join("\n", lines().stream().filter(l -> l.startsWith("[ERROR] ")).toList());
    }

    @Override
    public String toString() {
      return command + "\nexit " + exitCode + "\n" + log;
    }
  }
}
