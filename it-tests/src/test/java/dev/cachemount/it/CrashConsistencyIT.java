package dev.cachemount.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.cachemount.core.blob.Digest;
import dev.cachemount.core.oci.Json;
import dev.cachemount.it.registry.RegistryMode;
import dev.cachemount.it.registry.TestRegistry;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * SIGKILL at many points of a push and of a pull, to a layout directory and to a real registry, and
 * what must hold afterwards: a push's tag names the old snapshot A or the new B, whole (a pull of it
 * restores exactly A's or B's tree; the next push and pull work; skopeo still reads a layout store);
 * a pull leaves every file of the target exactly A's or B's version (never a mixed or cut one), and
 * the next pull completes. Each kill waits a delay drawn from a seeded random over the operation's
 * measured duration. {@code -Dcrash.points=N} kills at N points per scenario (default 4),
 * {@code -Dcrash.files=N} sets the size of the trees, {@code -Dcrash.seed=S} the seed; the figures
 * go to {@code target/crash-consistency.txt} (docs/reliability.md).
 */
class CrashConsistencyIT {
  private static final int POINTS = Integer.getInteger("crash.points", 4);
  private static final int FILES = Integer.getInteger("crash.files", 1000);
  private static final long SEED = Long.getLong("crash.seed", 20_260_301L);
  private static final String TAG = "crash";
  private static final Pattern YOUNG_LEFTOVERS = Pattern.compile("(\\d+) temporary files? of an interrupted pull \\(\\.cachemount-tmp-\\*\\) stays? in ");

  @TempDir static Path dir;
  static CrashTrees trees;
  /** The entries of B that A lacks or holds otherwise: what a pull of B into A writes. */
  static int changedEntries;
  static final List<String> report = new ArrayList<>();

  /** Where the figures go, each scenario's as it ends (a long run stopped half-way keeps what it found). */
  private static final Path REPORT = Path.of("target", "crash-consistency.txt");

  @BeforeAll
  static void writeTrees() throws IOException {
    trees = CrashTrees.write(dir.resolve("trees"), SEED, FILES);
    Files.createDirectories(dir.resolve("docker"));
    for (Map.Entry<String, CrashTrees.Version> e : trees.versionsB().entrySet()) {
      if (!CrashTrees.matches(trees.a().resolve(e.getKey()), e.getValue())) {
        changedEntries++;
      }
    }
    reportLine(String.format("trees: A %,d entries %,d bytes; B %,d entries %,d bytes; %d kill points per scenario, seed %d",
        trees.versionsA().size(), trees.bytesA(), trees.versionsB().size(), trees.bytesB(), POINTS, SEED));
  }

  @AfterAll
  static void printReport() {
    System.out.print(String.join("\n", report) + "\n");
  }

  private static synchronized void reportLine(String line) {
    report.add(line);
    try {
      Files.writeString(REPORT, String.join("\n", report) + "\n");
    } catch (IOException e) {
      System.err.println("cannot write " + REPORT + ": " + e);
    }
  }

  // ---------------------------------------------------------------- scenarios

  @Test
  void aKilledPushToALayoutDirectoryLeavesTheTagOnTheOldOrTheNewSnapshot() throws Exception {
    String skopeo = Processes.require("skopeo", "apt-get install -y skopeo");
    Path work = dir.resolve("dir-push");
    Path template = work.resolve("template");
    Cli.Result first = Cli.run(env(work.resolve("home")), new byte[0], "push", "--json", "--cache-id", spec(template, trees.a()));
    assertEquals(0, first.exitCode(), first.toString());
    String digestA = first.json().get(0).get("digest").asText();
    long duration = timed(work, "timing", () -> {
      Path store = copyOf(template, work.resolve("timed"));
      return List.of("push", "--json", "--cache-id", spec(store, trees.b()));
    });

    Tally tally = new Tally("push, dir= store", duration);
    Random random = new Random(SEED);
    for (int i = 0; i < POINTS; i++) {
      long delay = delay(random, i, duration);
      Path point = work.resolve("p" + i);
      Path store = copyOf(template, point.resolve("store"));
      Killed killed = Killed.run(env(point.resolve("home")), delay, point, "push", "--json", "--cache-id", spec(store, trees.b()));
      tally.count(killed);
      tally.staging(store.resolve(".cachemount-tmp"));
      String where = "point " + i + " (" + killed + ")";

      String tagged = taggedDigest(store);
      tally.check(everyBlobIsWhole(store), where + ": a blob of the store does not hash to its name");
      Processes.Result inspect = Processes.run(List.of(skopeo, "inspect", "--raw", "oci:" + store + ":" + TAG));
      tally.check(inspect.exitCode() == 0 && Digest.of(inspect.stdout()).toString().equals(tagged),
          where + ": skopeo cannot read the tag, or reads another manifest than index.json names:\n" + inspect);
      String pulled = pullTheTagThenPushAgain(tally, env(point.resolve("home")), target -> spec(store, target), digestA, point, where);
      tally.check(pulled == null || pulled.equals(tagged), where + ": the pull restored " + pulled + ", index.json names " + tagged);
      deleteTree(point);
    }
    tally.finish();
  }

  /**
   * After a killed push: pulls the tag into an empty directory, which must give exactly A (the
   * snapshot of {@code digestA}) or B; pushes B again, which must succeed, and pulls it with
   * {@code mode=mirror} over the first pull, which must give exactly B. Returns the digest the first
   * pull restored, or null where it failed.
   */
  private static String pullTheTagThenPushAgain(Tally tally, Map<String, String> env, java.util.function.Function<Path, String> spec,
      String digestA, Path point, String where) throws Exception {
    Path restored = point.resolve("restored");
    String pulled = null;
    Cli.Result pull = Cli.run(env, new byte[0], "pull", "--json", "--cache-id", spec.apply(restored));
    if (tally.check(pull.exitCode() == 0 && "restored".equals(pull.json().get(0).get("result").asText()), where + ": the tag does not pull:\n" + pull)) {
      pulled = pull.json().get(0).get("digest").asText();
      boolean old = pulled.equals(digestA);
      tally.outcome(old);
      tally.sameTree(old ? trees.a() : trees.b(), restored, where + ": the tag's snapshot is not exactly " + (old ? "A" : "B"));
    }
    Cli.Result again = Cli.run(env, new byte[0], "push", "--json", "--cache-id", spec.apply(trees.b()));
    if (tally.check(again.exitCode() == 0, where + ": the next push of B fails:\n" + again)) {
      Cli.Result mirror = Cli.run(env, new byte[0], "pull", "--json", "--cache-id", spec.apply(restored) + ",mode=mirror");
      tally.check(mirror.exitCode() == 0, where + ": the pull after the next push fails:\n" + mirror);
      tally.sameTree(trees.b(), restored, where + ": the pull after the next push is not exactly B");
    }
    return pulled;
  }

  @Test
  void aKilledPullFromALayoutDirectoryLeavesEveryFileWhole() throws Exception {
    Path work = dir.resolve("dir-pull");
    Path store = work.resolve("store");
    Cli.Result pushed = Cli.run(env(work.resolve("home")), new byte[0], "push", "--json", "--cache-id", spec(store, trees.b()));
    assertEquals(0, pushed.exitCode(), pushed.toString());
    killPulls("pull, dir= store", work, target -> spec(store, target), Map.of());
  }

  @Test
  void aKilledPushToARegistryLeavesTheTagOnTheOldOrTheNewSnapshot() throws Exception {
    Path work = dir.resolve("registry-push");
    withRegistry(work, access -> {
      String base = pushTo(access, "crash/base", trees.a());
      long duration = timed(work, "timing", () -> {
        String ref = withA(access, base, work.resolve("timing-home"), POINTS).ref();
        return List.of("push", "--json", "--cache-id", "id=" + TAG + ",ref=" + ref + ",target=" + trees.b());
      }, env(work.resolve("timing-home"), access));

      Tally tally = new Tally("push, registry", duration);
      Random random = new Random(SEED + 2);
      for (int i = 0; i < POINTS; i++) {
        long delay = delay(random, i, duration);
        Path point = work.resolve("p" + i);
        Map<String, String> env = env(point.resolve("home"), access);
        Repository repository = withA(access, base, point.resolve("home"), i);
        String spec = "id=" + TAG + ",ref=" + repository.ref() + ",target=";
        Killed killed = Killed.run(env, delay, point, "push", "--json", "--cache-id", spec + trees.b());
        tally.count(killed);
        tally.staging(point.resolve("home/cache/cachemount/.cachemount-tmp-staging"));
        String where = "point " + i + " (" + killed + ")";

        pullTheTagThenPushAgain(tally, env, target -> spec + target, repository.digestA(), point, where);
        deleteTree(point);
      }
      tally.finish();
    });
  }

  /** A repository of the test registry whose tag names A, of {@code digestA} there. */
  private record Repository(String ref, String digestA) {}

  /** Pushes A to the {@code n}th repository of its own, mounting A's packs from {@code base}. */
  private static Repository withA(RegistryAccess access, String base, Path home, int n) throws IOException, InterruptedException {
    String ref = access.ref("crash/r" + n);
    Cli.Result a = Cli.run(env(home, access), new byte[0], "push", "--json", "--cache-id", "id=" + TAG + ",ref=" + ref + ",target=" + trees.a() + ",from=" + base);
    assertEquals(0, a.exitCode(), a.toString());
    return new Repository(ref, a.json().get(0).get("digest").asText());
  }

  @Test
  void aKilledPullFromARegistryLeavesEveryFileWhole() throws Exception {
    Path work = dir.resolve("registry-pull");
    withRegistry(work, access -> {
      String ref = pushTo(access, "crash/pull", trees.b());
      killPulls("pull, registry", work, target -> "id=" + TAG + ",ref=" + ref + ",target=" + target, access.env());
    });
  }

  /** Runs {@code test} against a registry (plain HTTP, on loopback) with its files in {@code work}. */
  private static void withRegistry(Path work, RegistryTest test) throws Exception {
    try (TestRegistry registry = TestRegistry.start(RegistryMode.PLAIN, work.resolve("registry"))) {
      test.run(RegistryAccess.of(registry, work.resolve("home")));
    }
  }

  private interface RegistryTest {
    void run(RegistryAccess access) throws Exception;
  }

  /**
   * Pulls B into copies of A, killed at {@link #POINTS} points; then checks every file and pulls
   * again, which must complete and tell of the leftovers it keeps: at even points in the default mode
   * (B's entries in place, A's extras kept), at odd ones with {@code mode=mirror} (exactly B, beside
   * those leftovers).
   */
  private static void killPulls(String scenario, Path work, java.util.function.Function<Path, String> spec, Map<String, String> extraEnv)
      throws Exception {
    Map<String, String> timingEnv = env(work.resolve("timing-home"), extraEnv);
    long duration = timed(work, "timing", () -> {
      Path target = copyOf(trees.a(), work.resolve("timed-target"));
      return List.of("pull", "--json", "--cache-id", spec.apply(target));
    }, timingEnv);
    Tally tally = new Tally(scenario, duration);
    Random random = new Random(SEED + (extraEnv.isEmpty() ? 1 : 3));
    for (int i = 0; i < POINTS; i++) {
      long delay = delay(random, i, duration);
      Path point = work.resolve("p" + i);
      Path target = copyOf(trees.a(), point.resolve("target"));
      Map<String, String> env = env(point.resolve("home"), extraEnv);
      Killed killed = Killed.run(env, delay, point, "pull", "--json", "--cache-id", spec.apply(target));
      tally.count(killed);
      String where = "point " + i + " (" + killed + ")";

      Leftovers left = checkEveryFile(target, tally, where);
      tally.leftovers(left);
      boolean mirror = i % 2 == 1;
      Cli.Result next = Cli.run(env, new byte[0], "pull", "--json", "--cache-id", spec.apply(target) + (mirror ? ",mode=mirror" : ""));
      if (tally.check(next.exitCode() == 0, where + ": the next pull fails:\n" + next)) {
        Leftovers after = Leftovers.of(target);
        Matcher told = YOUNG_LEFTOVERS.matcher(next.err());
        int toldOf = told.find() ? Integer.parseInt(told.group(1)) : 0;
        tally.nextPull(left, after, toldOf);
        // the killed pull's marker is not locked any more: the next pull removes every one at once, and has nothing to tell
        tally.check(toldOf == 0 && after.temps() == 0, where + ": the kill left " + left.temps()
            + " temporary files; the next pull told of " + toldOf + " that stay, and " + after.temps() + " stayed:\n" + next.err());
        tally.check(after.asides() == 0, where + ": " + after.asides() + " .cachemount-tmp-aside- entries, where no entry changed its kind");
        if (mirror) {
          tally.sameTree(trees.b(), target, where + ": the next pull, mode=mirror, does not leave exactly B (beside temporary files)");
        } else {
          for (Map.Entry<String, CrashTrees.Version> e : trees.versionsB().entrySet()) {
            Path entry = target.resolve(e.getKey());
            if (!tally.check(CrashTrees.matches(entry, e.getValue()) && (e.getValue().link() != null || CrashTrees.sameTime(entry, e.getValue())),
                where + ": after the next pull, " + e.getKey() + " is not B's")) {
              break;
            }
          }
          for (Map.Entry<String, CrashTrees.Version> e : trees.versionsA().entrySet()) {
            if (!trees.versionsB().containsKey(e.getKey()) && !tally.check(CrashTrees.matches(target.resolve(e.getKey()), e.getValue()),
                where + ": after the next pull, " + e.getKey() + ", which only A holds, is gone or changed")) {
              break;
            }
          }
        }
      }
      deleteTree(point);
    }
    tally.finish();
  }

  /**
   * Every regular file and symlink of {@code target} that is not a temporary file is exactly A's or
   * B's version of its path (a file with B's bytes has B's time too: it is renamed into place with
   * it); returns the temporary files.
   */
  private static Leftovers checkEveryFile(Path target, Tally tally, String where) throws IOException {
    List<Path> entries;
    try (Stream<Path> walk = Files.walk(target)) {
      entries = walk.filter(p -> !Files.isDirectory(p, LinkOption.NOFOLLOW_LINKS)).toList();
    }
    for (Path p : entries) {
      String rel = target.relativize(p).toString();
      if (p.getFileName().toString().startsWith(".cachemount-tmp-")) {
        continue;
      }
      CrashTrees.Version a = trees.versionsA().get(rel);
      CrashTrees.Version b = trees.versionsB().get(rel);
      boolean isA = CrashTrees.matches(p, a);
      boolean isB = !isA && CrashTrees.matches(p, b);
      tally.check(isA || isB, where + ": " + rel + " is neither A's nor B's version (" + Files.size(p) + " bytes)");
      if (isB && b.link() == null) {
        tally.check(CrashTrees.sameTime(p, b), where + ": " + rel + " has B's bytes but not B's time");
      }
      if (isB) {
        tally.inPlace++;
      }
    }
    return Leftovers.of(target);
  }

  // ---------------------------------------------------------------- the runs

  /**
   * The {@code i}th of {@link #POINTS} delays: a seeded random point in the {@code i}th of as many equal
   * parts of {@code 0..1.25 duration}; past the measured duration, so that a run slower than the timed
   * one (a busy machine) is still killed near its end now and then.
   */
  private static long delay(Random random, int i, long duration) {
    return (long) ((i + random.nextDouble()) * duration * 1.25 / POINTS);
  }

  /** One run of the CLI, SIGKILLed after {@code delay} ms unless it ended first. */
  private record Killed(long delay, boolean killed, int exitCode, String err) {
    static Killed run(Map<String, String> env, long delay, Path logs, String... args) throws IOException, InterruptedException {
      Files.createDirectories(logs);
      List<String> command = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-jar", Cli.jar().toString()));
      command.addAll(List.of(args));
      ProcessBuilder pb = new ProcessBuilder(command).redirectOutput(logs.resolve("out").toFile()).redirectError(logs.resolve("err").toFile());
      pb.environment().putAll(env);
      Process p = pb.start(); // the JVM itself, no shell between: destroyForcibly is SIGKILL to the CLI
      p.getOutputStream().close();
      if (!p.waitFor(delay, TimeUnit.MILLISECONDS)) {
        p.destroyForcibly();
        if (!p.waitFor(60, TimeUnit.SECONDS)) {
          throw new IllegalStateException("the CLI outlived SIGKILL by a minute: " + command);
        }
      }
      int exit = p.exitValue();
      String err = Files.readString(logs.resolve("err"), StandardCharsets.UTF_8);
      if (exit != 137 && exit != 0) {
        throw new AssertionError("the run ended with exit " + exit + ", neither 0 nor SIGKILL's 137: " + command + "\n" + err);
      }
      return new Killed(delay, exit == 137, exit, err);
    }

    @Override
    public String toString() {
      return (killed ? "killed after " : "completed before ") + delay + " ms";
    }
  }

  /** The wall time of the run {@code setup} prepares, un-killed, from its start to its exit. */
  private static long timed(Path work, String name, Setup setup) throws Exception {
    return timed(work, name, setup, env(work.resolve(name + "-home")));
  }

  private static long timed(Path work, String name, Setup setup, Map<String, String> env) throws Exception {
    List<String> args = setup.args();
    long start = System.nanoTime();
    Killed run = Killed.run(env, TimeUnit.MINUTES.toMillis(10), work.resolve(name), args.toArray(String[]::new));
    assertEquals(0, run.exitCode(), run.err());
    return TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);
  }

  /** The arguments of one timed run, after whatever it needs set up. */
  private interface Setup {
    List<String> args() throws Exception;
  }

  // ---------------------------------------------------------------- what was seen

  /** The temporary files a pull left in a target: {@code .cachemount-tmp-*} files, and moved-aside entries. */
  private record Leftovers(int temps, long bytes, int asides) {
    static Leftovers of(Path target) throws IOException {
      int temps = 0;
      int asides = 0;
      long bytes = 0;
      try (Stream<Path> walk = Files.walk(target)) {
        for (Path p : (Iterable<Path>) walk::iterator) {
          String name = p.getFileName().toString();
          if (name.startsWith(".cachemount-tmp-aside-")) {
            asides++;
          } else if (name.startsWith(".cachemount-tmp-")) {
            temps++;
            bytes += Files.size(p);
          }
        }
      }
      return new Leftovers(temps, bytes, asides);
    }
  }

  /** The figures of one scenario, and its violations; {@link #finish} reports them and fails on any. */
  private static final class Tally {
    final String scenario;
    final long duration;
    int killed;
    int completed;
    int oldSnapshot;
    int newSnapshot;
    int inPlace;
    final List<Integer> inPlacePerKill = new ArrayList<>();
    final List<Long> leftoverFiles = new ArrayList<>();
    final List<Long> leftoverBytes = new ArrayList<>();
    int keptByNextPull;
    int removedByNextPull;
    int toldByNextPull;
    final List<String> violations = new ArrayList<>();

    final long started = System.nanoTime();

    Tally(String scenario, long duration) {
      this.scenario = scenario;
      this.duration = duration;
    }

    void count(Killed run) {
      if (run.killed()) {
        killed++;
      } else {
        completed++;
      }
    }

    void outcome(boolean old) {
      if (old) {
        oldSnapshot++;
      } else {
        newSnapshot++;
      }
    }

    boolean check(boolean ok, String violation) {
      if (!ok) {
        violations.add(violation);
      }
      return ok;
    }

    void sameTree(Path expected, Path actual, String violation) {
      try {
        assertSameTreeBesideTemporaryFiles(expected, actual);
      } catch (Exception | AssertionError e) {
        violations.add(violation + ": " + e.getMessage());
      }
    }

    /** The files a killed push left in its staging directory: the store's, or the cache directory's for a registry. */
    void staging(Path staging) throws IOException {
      long files = 0;
      long bytes = 0;
      if (Files.isDirectory(staging)) {
        try (Stream<Path> walk = Files.walk(staging)) {
          for (Path p : (Iterable<Path>) walk::iterator) {
            if (Files.isRegularFile(p, LinkOption.NOFOLLOW_LINKS)) {
              files++;
              bytes += Files.size(p);
            }
          }
        }
      }
      leftoverFiles.add(files);
      leftoverBytes.add(bytes);
    }

    void leftovers(Leftovers left) {
      inPlacePerKill.add(inPlace);
      inPlace = 0;
      leftoverFiles.add((long) left.temps());
      leftoverBytes.add(left.bytes());
    }

    void nextPull(Leftovers before, Leftovers after, int toldOf) {
      keptByNextPull += after.temps();
      removedByNextPull += Math.max(0, before.temps() - after.temps());
      toldByNextPull += toldOf;
    }

    void finish() {
      check(killed > 0, "no run was killed: every one completed before its delay, so nothing here was tested");
      StringBuilder s = new StringBuilder(String.format("%s: T = %d ms; %d killed, %d completed before the kill", scenario, duration, killed, completed));
      if (oldSnapshot + newSnapshot > 0) {
        s.append(String.format("; tag names A after %d, B after %d", oldSnapshot, newSnapshot));
      }
      if (!inPlacePerKill.isEmpty() && oldSnapshot + newSnapshot == 0) {
        long none = inPlacePerKill.stream().filter(n -> n == 0).count();
        long all = inPlacePerKill.stream().filter(n -> n == changedEntries).count();
        s.append(String.format("; of the %d entries where B differs from A, none was in place after %d runs, some after %d, all after %d",
            changedEntries, none, inPlacePerKill.size() - none - all, all));
      }
      String what = oldSnapshot + newSnapshot > 0 ? "staging files" : "temporary files in the target";
      s.append(String.format("; %s after a kill: median %d (%,d bytes), max %d (%,d bytes), %d kills left any", what,
          median(leftoverFiles), median(leftoverBytes), max(leftoverFiles), max(leftoverBytes), leftoverFiles.stream().filter(n -> n > 0).count()));
      if (oldSnapshot + newSnapshot == 0) {
        s.append(String.format("; the next pull removed %d, kept %d and told of %d", removedByNextPull, keptByNextPull, toldByNextPull));
      }
      s.append(String.format("; %d violations; the kills and checks took %d s", violations.size(), TimeUnit.NANOSECONDS.toSeconds(System.nanoTime() - started)));
      reportLine(s.toString());
      violations.stream().limit(20).forEach(v -> reportLine("  VIOLATION " + v));
      assertTrue(violations.isEmpty(), scenario + ": " + violations.size() + " violations:\n" + String.join("\n", violations.stream().limit(20).toList()));
    }

    private static long median(List<Long> values) {
      if (values.isEmpty()) {
        return 0;
      }
      List<Long> sorted = values.stream().sorted().toList();
      return sorted.get(sorted.size() / 2);
    }

    private static long max(List<Long> values) {
      return values.stream().mapToLong(Long::longValue).max().orElse(0);
    }
  }

  // ---------------------------------------------------------------- helpers

  /** {@code TreeCompare.assertSameTree}, leaving out the temporary files a killed pull may have left in {@code actual}. */
  static void assertSameTreeBesideTemporaryFiles(Path expected, Path actual) throws Exception {
    Processes.Result diff = Processes.run(List.of("diff", "-r", "--no-dereference", "--exclude=.cachemount-tmp-*", expected.toString(), actual.toString()));
    assertEquals(0, diff.exitCode(), "diff -r found differences:\n" + diff);
    TreeCompare.assertSameListing(TreeCompare.findListing(expected),
        TreeCompare.findListing(actual).stream().filter(line -> !line.matches("(.*/)?\\.cachemount-tmp-.*")).toList());
  }

  /** Pushes {@code tree} to {@code repository}'s tag; returns the repository's ref. */
  private static String pushTo(RegistryAccess access, String repository, Path tree) throws IOException, InterruptedException {
    String ref = access.ref(repository);
    Cli.Result pushed = access.cli("push", "id=" + TAG + ",ref=" + ref + ",target=" + tree);
    assertEquals(0, pushed.exitCode(), pushed.toString());
    return ref;
  }

  private static String spec(Path store, Path target) {
    return "id=" + TAG + ",dir=" + store + ",target=" + target;
  }

  /** Whether every file under {@code blobs/sha256/} has the SHA-256 its name says: none was cut short in place. */
  private static boolean everyBlobIsWhole(Path store) throws IOException {
    try (Stream<Path> blobs = Files.list(store.resolve("blobs/sha256"))) {
      for (Path blob : (Iterable<Path>) blobs::iterator) {
        java.security.MessageDigest sha256 = Digest.newMessageDigest();
        try (java.io.InputStream in = new java.security.DigestInputStream(Files.newInputStream(blob), sha256)) {
          in.transferTo(java.io.OutputStream.nullOutputStream());
        }
        if (!Digest.finish(sha256).hex().equals(blob.getFileName().toString())) {
          return false;
        }
      }
    }
    return true;
  }

  private static String taggedDigest(Path store) throws IOException {
    List<String> digests = new ArrayList<>();
    for (JsonNode d : Json.mapper().readTree(store.resolve("index.json").toFile()).get("manifests")) {
      if (TAG.equals(d.path("annotations").path("org.opencontainers.image.ref.name").asText())) {
        digests.add(d.get("digest").asText());
      }
    }
    assertEquals(1, digests.size(), "index.json names the tag once: " + digests);
    return digests.get(0);
  }

  private static Map<String, String> env(Path home) {
    return env(home, Map.of());
  }

  private static Map<String, String> env(Path home, RegistryAccess access) {
    return env(home, access.env());
  }

  /** {@code extra}, with a private cache directory (locks, index cache) in {@code home} and an empty Docker config. */
  private static Map<String, String> env(Path home, Map<String, String> extra) {
    Map<String, String> env = new HashMap<>(extra);
    env.put("XDG_CACHE_HOME", home.resolve("cache").toString());
    env.put("DOCKER_CONFIG", dir.resolve("docker").toString()); // empty: no credentials of this machine
    return env;
  }

  /** {@code cp -a}: times kept, so that a pull finds the shared files in place. */
  private static Path copyOf(Path source, Path copy) throws IOException, InterruptedException {
    deleteTree(copy);
    Files.createDirectories(copy.getParent());
    Processes.Result cp = Processes.run(List.of("cp", "-a", source.toString(), copy.toString()));
    assertEquals(0, cp.exitCode(), cp.toString());
    return copy;
  }

  private static void deleteTree(Path root) throws IOException {
    if (Files.exists(root, LinkOption.NOFOLLOW_LINKS)) {
      try (Stream<Path> walk = Files.walk(root)) {
        for (Path p : walk.sorted(Comparator.reverseOrder()).toList()) {
          Files.delete(p);
        }
      }
    }
  }
}
