package dev.cachemount.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.cachemount.core.Cachemount;
import dev.cachemount.core.oci.Json;
import dev.cachemount.core.testing.TestTrees;
import dev.cachemount.core.testing.TreeListing;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The CLI's contract: exit codes, messages, and the --json fields. */
class MainTest {
  @TempDir Path dir;
  Path source;
  Path store;
  String out;
  String err;
  /** The environment of the client the CLI runs with. */
  Map<String, String> env;

  @BeforeEach
  void setUp() throws IOException {
    source = dir.resolve("source");
    store = dir.resolve("store");
    TestTrees.mixed(source, 5);
    env = new java.util.HashMap<>(Map.of("XDG_CACHE_HOME", dir.resolve("xdg").toString()));
  }

  private int run(String... args) {
    StringWriter o = new StringWriter();
    StringWriter e = new StringWriter();
    Cachemount client = Cachemount.builder().home(dir).env(env).build();
    int code = Main.run(args, new PrintWriter(o), new PrintWriter(e), client);
    out = o.toString();
    err = e.toString();
    return code;
  }

  private List<JsonNode> jsonLines() throws IOException {
    List<JsonNode> nodes = new ArrayList<>();
    for (String line : out.split("\n")) {
      if (!line.isBlank()) {
        nodes.add(Json.mapper().readTree(line));
      }
    }
    return nodes;
  }

  private String spec(String id, Path target) {
    return "id=" + id + ",dir=" + store + ",target=" + target;
  }

  @Test
  void pushAndPullPrintOneJsonObjectPerCacheIdWithTheDocumentedFields() throws IOException {
    assertEquals(0, run("push", "--json", "--cache-id", spec("m2", source)), err);
    JsonNode pushed = jsonLines().get(0);
    for (String field : List.of("id", "ref", "digest", "result", "files", "bytes", "bytesTransferred", "durationMs")) {
      assertTrue(pushed.has(field), field + " in " + pushed);
    }
    assertEquals("m2", pushed.get("id").asText());
    assertEquals("pushed", pushed.get("result").asText());
    assertEquals("oci:" + store + ":m2", pushed.get("ref").asText());
    assertTrue(pushed.get("bytesTransferred").asLong() > 0);

    assertEquals(0, run("push", "--json", "--cache-id", spec("m2", source)), err);
    JsonNode again = jsonLines().get(0);
    assertEquals("unchanged", again.get("result").asText());
    assertEquals(0, again.get("bytesTransferred").asLong());
    assertEquals(pushed.get("digest"), again.get("digest"));
    assertEquals(0, again.get("warnings").asLong(), "a push that warned of nothing says so");
    // A leftover of a killed pull of an earlier version (no marker's name): skipped with a warning, counted.
    Files.writeString(source.resolve(".cachemount-tmp-5f2a"), "half a file");
    assertEquals(0, run("push", "--json", "--cache-id", spec("m2", source)), err);
    assertEquals(1, jsonLines().get(0).get("warnings").asLong(), err);
    Files.delete(source.resolve(".cachemount-tmp-5f2a"));

    Path restored = dir.resolve("restored");
    assertEquals(0, run("pull", "--json", "--cache-id", spec("m2", restored)), err);
    JsonNode pulled = jsonLines().get(0);
    assertEquals("restored", pulled.get("result").asText());
    assertEquals(pushed.get("digest"), pulled.get("digest"));
    assertEquals(pushed.get("files"), pulled.get("files"));
    assertEquals(pushed.get("bytes"), pulled.get("bytes"));
    assertEquals(TreeListing.of(source), TreeListing.of(restored));
  }

  /** A key that holds nothing yet, with fallback=: the pull and the push say which snapshot they used, in both outputs. */
  @Test
  void aFallbackIsNamedInTheJsonAndTheLine() throws IOException {
    assertEquals(0, run("push", "--cache-id", spec("m2-old", source)), err);
    Path restored = dir.resolve("restored");
    assertEquals(0, run("pull", "--json", "--cache-id", spec("m2-new", restored) + ",fallback=m2-"), err);
    JsonNode pulled = jsonLines().get(0);
    assertEquals("restored", pulled.get("result").asText());
    assertEquals("oci:" + store + ":m2-new", pulled.get("ref").asText());
    assertEquals("oci:" + store + ":m2-old", pulled.get("fallback").asText());
    assertEquals(TreeListing.of(source), TreeListing.of(restored));

    assertEquals(0, run("push", "--cache-id", spec("m2-new", restored) + ",fallback=m2-"), err);
    assertTrue(out.startsWith("m2-new: pushed sha256:") && out.contains(", built on oci:" + store + ":m2-old ("), out);
    assertEquals(0, run("pull", "--json", "--cache-id", spec("m2-new", dir.resolve("again")) + ",fallback=m2-"), err);
    assertTrue(!jsonLines().get(0).has("fallback"), "the key's own snapshot: no fallback field");
    assertEquals(0, run("pull", "--cache-id", spec("m2-other", dir.resolve("other")) + ",fallback=m2-old"), err);
    assertTrue(out.startsWith("m2-other: restored sha256:") && out.contains(" from fallback oci:" + store + ":m2-old into "), out);
  }

  /** A fake {@code go} on the client's PATH: {@code go env GOCACHE} runs {@code script}. */
  private void fakeGo(String script) throws IOException {
    Path bin = Files.createDirectories(dir.resolve("bin"));
    Files.writeString(bin.resolve("go"), "#!/bin/sh\n[ \"$1 $2\" = 'env GOCACHE' ] || exit 9\n" + script + "\n");
    Files.setPosixFilePermissions(bin.resolve("go"), java.nio.file.attribute.PosixFilePermissions.fromString("rwxr-xr-x"));
    env.put("PATH", bin.toString());
  }

  /**
   * {@code preset=go-build}: push and pull the directory {@code go env GOCACHE} prints, under the id
   * go-build; a go that names none stops the command before anything runs (exit 2), saying why.
   */
  @Test
  void aPresetPushesAndPullsTheDirectoryTheToolNames() throws IOException {
    fakeGo("echo '" + source + "'");
    assertEquals(0, run("push", "--json", "--cache-id", "preset=go-build,dir=" + store), err);
    JsonNode pushed = jsonLines().get(0);
    assertEquals("go-build", pushed.get("id").asText());
    assertEquals("pushed", pushed.get("result").asText());
    assertEquals("oci:" + store + ":go-build", pushed.get("ref").asText());

    Path restored = dir.resolve("restored");
    fakeGo("echo '" + restored + "'");
    assertEquals(0, run("pull", "--cache-id", "preset=go-build,dir=" + store), err);
    assertTrue(out.startsWith("go-build: restored sha256:") && out.contains(" into " + restored + " ("), out);
    assertEquals(TreeListing.of(source), TreeListing.of(restored));

    fakeGo("echo 'go: GOCACHE is not defined' >&2; exit 3");
    assertEquals(2, run("push", "--cache-id", spec("other", source), "--cache-id", "preset=go-build,dir=" + store));
    assertEquals("cachemount: error: cache spec 'preset=go-build,dir=" + store + "': preset go-build: `go env GOCACHE` exited with status 3:"
        + " go: GOCACHE is not defined; set go up so that it prints its cache directory, or give the directory with target=DIR\n", err);
    assertEquals(0, run("inspect", "--cache-id", "id=other,dir=" + store));
    assertTrue(out.startsWith("other: miss"), "nothing ran: " + out);
    env.remove("PATH");
    assertEquals(2, run("pull", "--cache-id", "preset=go-mod,dir=" + store));
    assertTrue(err.contains("preset go-mod: go is not on PATH (PATH is not set); install go (on PATH), or give the directory with target=DIR"), err);
  }

  /**
   * run: the command's options after it are its own (-c is sh's, not run's), it runs between the
   * pull and the push, and what the caches did goes to standard error, standard output left alone.
   */
  @Test
  void runPullsRunsThePositionalCommandAndPushes() throws IOException {
    env.put("PATH", "/usr/bin:/bin");
    Path target = dir.resolve("target");
    String spec = "id=m2,dir=" + store + ",target=" + target;
    assertEquals(0, run("run", "--cache-id", spec, "sh", "-c", "mkdir -p " + target + " && echo one > " + target + "/f"), err);
    assertTrue(err.contains("cachemount: m2: miss, nothing stored") && err.contains("cachemount: m2: pushed sha256:"), err);
    assertEquals("", out, "standard output is the command's");

    assertEquals(7, run("run", "--cache-id", spec, "--", "sh", "-c", "test \"$(cat " + target + "/f)\" = one && exit 7"), err);
    assertTrue(err.contains("cachemount: m2: restored sha256:") && err.contains("the command exited with status 7")
        && err.contains("the caches were not pushed"), err);

    assertEquals(2, run("run", "--json", "--cache-id", spec, "--", "true"));
    assertTrue(err.contains("run does not take --json"), err);
    // nor does its help offer it
    assertEquals(0, run("run", "--help"));
    assertFalse(out.contains("--json"), out);
    assertTrue(out.contains("--push-always"), out);
    assertEquals(2, run("run", "--cache-id", spec));
    assertTrue(err.contains("run needs a command after --"), err);
  }

  /**
   * run passes the command's arguments on as given: an argument that starts with @ is the command's
   * (curl -d @body.json, javac @sources), not an argument file of cachemount's to expand, and @@x
   * stays @@x.
   */
  @Test
  void runPassesArgumentsThatStartWithAtOnAsGiven() throws IOException {
    env.put("PATH", "/usr/bin:/bin");
    Path argFile = Files.writeString(dir.resolve("body.json"), "{\"a\": 1}\n--push-always\n");
    Path seen = dir.resolve("seen");
    String spec = "id=m2,dir=" + store + ",target=" + dir.resolve("target");
    assertEquals(0, run("run", "--cache-id", spec, "--", "sh", "-c", "printf '%s\\n' \"$@\" > " + seen, "sh", "-d", "@" + argFile, "@@x", "a b"), err);
    assertEquals("-d\n@" + argFile + "\n@@x\na b\n", Files.readString(seen));
    // Without --, the same.
    assertEquals(0, run("run", "--cache-id", spec, "sh", "-c", "printf '%s\\n' \"$@\" > " + seen, "sh", "@" + argFile), err);
    assertEquals("@" + argFile + "\n", Files.readString(seen));
  }

  /** The launcher's LC_ALL=C.UTF-8 is this JVM's; the commands it runs get the caller's LC_ALL back, or none. */
  @Test
  void theCommandsRunGetTheCallersLcAllBack() {
    assertEquals(Map.of("LC_ALL", "C", "PATH", "/bin"), Main.callerEnvironment(Map.of("LC_ALL", "C.UTF-8", Main.CALLER_LC_ALL, "set:C", "PATH", "/bin")));
    assertEquals(Map.of("LANG", "en_US.ISO-8859-1"), Main.callerEnvironment(Map.of("LC_ALL", "C.UTF-8", Main.CALLER_LC_ALL, "", "LANG", "en_US.ISO-8859-1")));
    assertEquals(Map.of("LC_ALL", "C.UTF-8"), Main.callerEnvironment(Map.of("LC_ALL", "C.UTF-8")), "not started by the launcher, or in UTF-8 already");
  }

  @Test
  void humanOutputSaysWhatHappened() {
    assertEquals(0, run("push", "--cache-id", spec("m2", source)));
    assertTrue(out.startsWith("m2: pushed sha256:"), out);
    assertEquals(0, run("push", "--cache-id", spec("m2", source)));
    assertTrue(out.startsWith("m2: unchanged"), out);
    Path restored = dir.resolve("restored-human");
    assertEquals(0, run("pull", "--cache-id", spec("m2", restored)));
    assertTrue(out.startsWith("m2: restored sha256:") && !out.contains("already in place"), out);
    assertEquals(0, run("pull", "--cache-id", spec("m2", restored)));
    assertTrue(out.contains("files, ") && out.contains(", all already in place; read "), "a pull that wrote nothing says so: " + out);
    assertEquals(0, run("inspect", "--cache-id", "id=m2,dir=" + store));
    assertTrue(out.contains("fastcdc-2020") && out.contains("packs"), out);
    // The targets are averages: frames and packs end where their content says.
    assertTrue(out.contains("frames of about 16.0 KiB, packs of about 32.0 MiB"), out);
  }

  @Test
  void oneFileIsOneFile() throws IOException {
    Path single = Files.createDirectories(dir.resolve("single"));
    Files.writeString(single.resolve("only"), "x");
    assertEquals(0, run("push", "--cache-id", spec("one", single)), err);
    assertTrue(out.contains("(1 file, 1 B;"), out);
    Files.createSymbolicLink(single.resolve("link"), Path.of("only"));
    assertEquals(0, run("push", "--cache-id", spec("one", single)), err);
    assertEquals(0, run("inspect", "--cache-id", "id=one,dir=" + store));
    assertTrue(out.contains("2 (1 file, 0 directories, 1 symlink)"), out);
  }

  /** Out of memory (a huge or hostile index): exit 1 with what to do, not the JVM's trace. */
  @Test
  void outOfMemoryIsAnErrorThatSaysHowToGiveTheJvmMore() {
    StringWriter o = new StringWriter();
    StringWriter e = new StringWriter();
    Cachemount starved = Cachemount.builder().home(dir).env(Map.of("XDG_CACHE_HOME", dir.resolve("xdg").toString()))
        .stores((spec, defaultDir, listener) -> {
          throw new OutOfMemoryError("Java heap space");
        }).build();
    int code = Main.run(new String[] {"pull", "--cache-id", spec("m2", dir.resolve("t"))}, new PrintWriter(o), new PrintWriter(e), starved);
    assertEquals(1, code, e.toString());
    assertTrue(e.toString().startsWith("cachemount: error: out of memory (Java heap space)") && e.toString().contains("CACHEMOUNT_JAVA_OPTS="),
        e.toString());
  }

  @Test
  void aMissExitsZeroAndSaysSo() throws IOException {
    Path target = dir.resolve("t");
    assertEquals(0, run("pull", "--json", "--cache-id", spec("absent", target)));
    assertEquals("miss", jsonLines().get(0).get("result").asText());
    assertFalse(Files.exists(target));
    assertEquals(0, run("pull", "--cache-id", spec("absent", target)));
    assertTrue(out.contains("miss"), out);
  }

  /** A mode=mirror pull's line says what it removed (a directory with what it holds counts once), as its JSON's removed does. */
  @Test
  void aMirrorPullSaysWhatItRemoved() throws IOException {
    assertEquals(0, run("push", "--cache-id", spec("m2", source)), err);
    Path target = dir.resolve("t");
    Files.createDirectories(target.resolve("extra/sub"));
    Files.writeString(target.resolve("extra/sub/f"), "x");
    Files.writeString(target.resolve("stray"), "y");
    assertEquals(0, run("pull", "--cache-id", spec("m2", target) + ",mode=mirror"), err);
    assertTrue(out.contains(", removed 2 entries the snapshot lacks;"), out);
    assertFalse(Files.exists(target.resolve("extra")) || Files.exists(target.resolve("stray")));
    assertEquals(0, run("pull", "--cache-id", spec("m2", target) + ",mode=mirror"), err);
    assertFalse(out.contains("removed"), out);
  }

  @Test
  void theDefaultStoreIsUnderXdgCacheHome() {
    assertEquals(0, run("push", "--cache-id", "id=m2,target=" + source), err);
    assertTrue(Files.isRegularFile(dir.resolve("xdg/cachemount/store/oci-layout")));
    assertTrue(out.contains(dir.resolve("xdg/cachemount/store").toString()), out);
  }

  @Test
  void anUnknownSpecKeyExitsTwoAndNamesTheKey() {
    assertEquals(2, run("push", "--cache-id", "id=m2,colour=blue,target=" + source));
    assertTrue(err.contains("unknown key 'colour'"), err);
    assertFalse(Files.exists(store));
  }

  @Test
  void aSpecWithoutIdExitsTwo() {
    assertEquals(2, run("push", "--cache-id", "target=" + source));
    assertTrue(err.contains("has no id"), err);
  }

  @Test
  void missingOptionsAndCommandsExitTwo() {
    assertEquals(2, run("push"));
    assertTrue(err.contains("--cache-id"), err);
    assertEquals(2, run());
    assertEquals(2, run("frobnicate"));
  }

  @Test
  void aTargetThatIsNotADirectoryExitsTwo() throws IOException {
    Path file = Files.writeString(dir.resolve("file"), "x");
    assertEquals(2, run("push", "--cache-id", spec("m2", file)));
    assertTrue(err.contains("not a directory"), err);
    assertEquals(0, run("push", "--cache-id", spec("m2", source)));
    assertEquals(2, run("pull", "--cache-id", spec("m2", file)));
    assertTrue(err.contains("not a directory"), err);
  }

  @Test
  void aTargetOrStoreBelowAFileExitsTwoAndNamesTheFile() throws IOException {
    Path file = Files.writeString(dir.resolve("file"), "x");
    assertEquals(0, run("push", "--cache-id", spec("m2", source)));
    assertEquals(2, run("pull", "--cache-id", spec("m2", file.resolve("sub/repo"))));
    assertTrue(err.contains("target " + file.resolve("sub/repo") + " cannot be made: " + file + " is a file"), err);
    assertEquals(2, run("push", "--cache-id", "id=m2,dir=" + file.resolve("store") + ",target=" + source));
    assertTrue(err.contains("store " + file.resolve("store") + " cannot be made: " + file + " is a file"), err);
    assertEquals("x", Files.readString(file));
  }

  @Test
  void aFailingCacheIdDoesNotStopTheOthersAndItsExitCodeIsTheCommands() throws IOException {
    Path notALayout = Files.createDirectories(dir.resolve("not-a-layout"));
    Files.writeString(notALayout.resolve("precious"), "x");
    assertEquals(2, run("push", "--json", "--cache-id", "id=a,dir=" + notALayout + ",target=" + source, "--cache-id", spec("b", source)), err);
    List<JsonNode> results = jsonLines();
    assertEquals("failed", results.get(0).get("result").asText());
    assertEquals(2, results.get(0).get("exitCode").asInt());
    assertEquals("pushed", results.get(1).get("result").asText(), "b ran after a failed");
  }

  /**
   * A push whose snapshot was stored and whose image view then failed (its tag holds a snapshot,
   * never overwritten): failed, exit 2, and the JSON still names the snapshot stored, which pulls.
   */
  @Test
  void aPushWhoseImageViewFailsNamesTheSnapshotItStored() throws IOException {
    assertEquals(0, run("push", "--cache-id", spec("other", source)), err);
    assertEquals(2, run("push", "--json", "--cache-id", spec("m2", source) + ",image=other"), err);
    JsonNode failed = jsonLines().get(0);
    assertEquals("failed", failed.get("result").asText(), out);
    assertEquals(2, failed.get("exitCode").asInt());
    String digest = failed.get("digest").asText();
    assertTrue(digest.startsWith("sha256:"), out);
    assertEquals("oci:" + store + ":m2", failed.get("ref").asText());
    assertTrue(failed.get("error").asText().startsWith("pushed " + digest + " to oci:" + store + ":m2, but its image view image=other failed"), out);
    assertTrue(failed.get("files").asLong() > 0, out);
    assertEquals(0, run("pull", "--json", "--cache-id", spec("m2", dir.resolve("restored-m2"))), err);
    assertEquals(digest, jsonLines().get(0).get("digest").asText(), "the snapshot named is the one stored");
  }

  /** With several ids, a failure's line says whose it is, as the other ids' lines do; with one id it needs not. */
  @Test
  void withSeveralIdsAFailureNamesItsId() throws IOException {
    Path missing = dir.resolve("no-such-cache");
    assertEquals(2, run("push", "--cache-id", spec("a", source), "--cache-id", spec("b", missing)), err);
    assertTrue(err.contains("cachemount: error: b: target " + missing + " does not exist"), err);
    assertEquals(2, run("push", "--cache-id", spec("b", missing)), err);
    assertTrue(err.contains("cachemount: error: target " + missing + " does not exist"), err);
  }

  @Test
  void aCorruptBlobExitsFourAndWritesNoWrongContent() throws IOException {
    assertEquals(0, run("push", "--cache-id", spec("m2", source)));
    Path pack;
    try (Stream<Path> blobs = Files.list(store.resolve("blobs/sha256"))) {
      pack = blobs.max(java.util.Comparator.comparingLong(p -> p.toFile().length())).orElseThrow();
    }
    byte[] bytes = Files.readAllBytes(pack);
    bytes[bytes.length / 2] ^= 0x01;
    Files.write(pack, bytes);
    Path target = dir.resolve("t");
    assertEquals(4, run("pull", "--json", "--cache-id", spec("m2", target)));
    JsonNode failed = jsonLines().get(0);
    assertEquals("failed", failed.get("result").asText());
    assertEquals(4, failed.get("exitCode").asInt());
    assertTrue(failed.get("error").asText().contains("does not match") || failed.get("error").asText().contains("decompress"), failed.toString());
    List<String> expected = TreeListing.of(source);
    for (String line : TreeListing.of(target)) {
      if (line.contains(" | f | ")) {
        assertTrue(expected.contains(line), "wrong content written: " + line);
      }
    }
  }

  @Test
  void eachCacheIdRunsAndTheFirstFailureSetsTheExitCode() throws IOException {
    Path file = Files.writeString(dir.resolve("file"), "x");
    assertEquals(2, run("push", "--json", "--cache-id", spec("bad", file), "--cache-id", spec("good", source)));
    List<JsonNode> results = jsonLines();
    assertEquals(2, results.size());
    assertEquals("failed", results.get(0).get("result").asText());
    assertEquals("pushed", results.get(1).get("result").asText());
  }

  @Test
  void specsThatWouldUndoEachOtherExitTwoBeforeAnythingRuns() throws IOException {
    Path other = Files.createDirectories(dir.resolve("other"));
    assertEquals(2, run("push", "--json", "--cache-id", spec("m2", source), "--cache-id", spec("m2", other)));
    assertTrue(err.contains("cache id 'm2' is given twice, with the targets " + source + " and " + other + ", which both push to"), err);
    assertEquals("", out);
    assertFalse(Files.exists(store), "nothing was pushed");
    assertEquals(2, run("push", "--cache-id", spec("m2", source), "--cache-id", spec("m2", source)));
    assertTrue(err.contains("cache id 'm2' is given twice, for the same snapshot and target; give it once"), err);
    assertEquals(2, run("pull", "--cache-id", spec("m2", dir.resolve("t")), "--cache-id", spec("m2", dir.resolve("t"))));
    assertTrue(err.contains("cache id 'm2' is given twice"), err);

    assertEquals(0, run("push", "--cache-id", spec("m2", source)));
    Path target = dir.resolve("t");
    assertEquals(2, run("pull", "--cache-id", spec("m2", target), "--cache-id", spec("m2", target.resolve("sub"))));
    assertTrue(err.contains("lies inside"), err);
    assertFalse(Files.exists(target), "nothing was pulled");
  }

  @Test
  void pushForceStoresANewSnapshotOfAnUnchangedTree() throws IOException {
    assertEquals(0, run("push", "--json", "--cache-id", spec("m2", source)));
    String first = jsonLines().get(0).get("digest").asText();
    assertEquals(0, run("push", "--json", "--force", "--cache-id", spec("m2", source)));
    JsonNode forced = jsonLines().get(0);
    assertEquals("pushed", forced.get("result").asText());
    assertFalse(first.equals(forced.get("digest").asText()), "a new snapshot (its config records a new creation time)");
  }

  @Test
  void inspectJsonDescribesTheStoredSnapshot() throws IOException {
    assertEquals(0, run("push", "--json", "--cache-id", spec("m2", source)));
    String digest = jsonLines().get(0).get("digest").asText();
    assertEquals(0, run("inspect", "--json", "--cache-id", "id=m2,dir=" + store, "--cache-id", "id=absent,dir=" + store));
    List<JsonNode> results = jsonLines();
    JsonNode found = results.get(0);
    assertEquals("found", found.get("result").asText());
    assertEquals(digest, found.get("snapshot").get("digest").asText());
    assertEquals(1, found.get("snapshot").get("config").get("formatVersion").asInt());
    assertEquals("fastcdc-2020", found.get("snapshot").get("config").get("chunker").get("algorithm").asText());
    assertTrue(found.get("snapshot").get("packs").size() > 0);
    assertEquals("miss", results.get(1).get("result").asText());
  }

  @Test
  void verifyReadsEveryPackAndSaysWhatItChecked() throws IOException {
    assertEquals(0, run("push", "--json", "--cache-id", spec("m2", source)));
    String digest = jsonLines().get(0).get("digest").asText();
    assertEquals(0, run("verify", "--cache-id", "id=m2,dir=" + store, "--cache-id", "id=absent,dir=" + store), err);
    assertTrue(out.startsWith("m2: verified " + digest + " at oci:" + store + ":m2 ("), out);
    assertTrue(out.contains(" checked against their digests; read "), out);
    assertTrue(out.contains("absent: miss, nothing stored for this id"), out);
    assertEquals(0, run("verify", "--json", "--cache-id", "id=m2,dir=" + store));
    JsonNode verified = jsonLines().get(0);
    assertEquals("verified", verified.get("result").asText());
    assertEquals(digest, verified.get("verification").get("digest").asText());
    assertTrue(verified.get("verification").get("chunks").asLong() > 0, verified.toString());
  }

  @Test
  void verifyOfADamagedPackExits4AndNamesIt() throws IOException {
    assertEquals(0, run("push", "--cache-id", spec("m2", source)), err);
    assertEquals(0, run("inspect", "--json", "--cache-id", "id=m2,dir=" + store));
    String pack = jsonLines().get(0).get("snapshot").get("packs").get(0).get("digest").asText();
    Path blob = store.resolve("blobs/sha256").resolve(pack.substring("sha256:".length()));
    byte[] bytes = Files.readAllBytes(blob);
    bytes[bytes.length / 2] ^= 0x10;
    Files.write(blob, bytes);
    assertEquals(4, run("verify", "--cache-id", "id=m2,dir=" + store));
    assertTrue(err.startsWith("cachemount: error: the snapshot oci:" + store + ":m2 is damaged: 1 of ") && err.contains(pack), err);
  }

  @Test
  void usageAndErrorsNameEveryCommandWhateverTheCommandLine() {
    // Only a command line that names its command builds that command alone (Main.run).
    assertEquals(2, run());
    for (String command : List.of("push", "pull", "inspect", "verify", "version")) {
      assertTrue(err.contains("  " + command + " "), command + " in " + err);
    }
    assertEquals(2, run("pusj"));
    assertTrue(err.contains("Did you mean: cachemount push or cachemount pull?"), err);
    assertEquals(0, run("help", "pull"));
    assertTrue(out.startsWith("Usage: cachemount pull "), out);
    assertEquals(0, run("--version"));
    assertTrue(out.contains("snapshot format 1"), out);
    assertEquals(0, run("inspect", "--help"));
    assertTrue(out.startsWith("Usage: cachemount inspect "), out);
    for (String help : List.of("-h", "--help")) {
      assertEquals(0, run("version", help), err);
      assertTrue(out.startsWith("Usage: cachemount version"), out);
    }
  }

  @Test
  void inspectJsonPrintsAFailedObjectAsPushAndPullDo() throws IOException {
    assertEquals(0, run("push", "--cache-id", spec("m2", source)), err);
    Files.writeString(store.resolve("index.json"), "{ not json");
    assertEquals(4, run("inspect", "--json", "--cache-id", "id=m2,dir=" + store));
    JsonNode failed = jsonLines().get(0);
    assertEquals("m2", failed.get("id").asText());
    assertEquals("failed", failed.get("result").asText());
    assertEquals(4, failed.get("exitCode").asInt());
    assertTrue(failed.get("error").asText().contains("index.json"), failed.toString());
    assertFalse(err.contains("cachemount: error:"), "with --json, the failure is told once, in the JSON: " + err);
  }

  @Test
  void theUsageOfACacheCommandListsItsOptionsAsBefore() {
    // The models are built by code (Models); the help text is what the annotations gave.
    assertEquals(0, run("push", "--help"));
    assertTrue(out.startsWith("""
        Usage: cachemount push [-hvV] [--force] [--json] [--password-stdin]
                               [--ca-file=PEM] [--progress=MODE] --cache-id=SPEC
                               [--cache-id=SPEC]... [--insecure-registry=HOST[:PORT]]...
        Snapshot each cache's target directory and store it under its id.
        """), out);
    for (String line : List.of("      --ca-file=PEM      Trust the certificates in PEM", "      --cache-id=SPEC    Which cache, where it is stored",
        "                         dir defaults to ${XDG_CACHE_HOME:-~/.cache}",
        "                         preset=NAME: the cache directory the tool names", "      --force            Store a complete new snapshot",
        "  -h, --help             Show this help message and exit.", "      --insecure-registry=HOST[:PORT]",
        "      --json             Print one JSON object per cache id", "      --password-stdin   Read the registry password",
        "  -v, --verbose          Say more on standard error.", "  -V, --version          Print version information and exit.")) {
      assertTrue(out.contains(line), line + " in\n" + out);
    }
    assertEquals(2, run("pull", "--force", "--cache-id", spec("m2", source)));
    assertTrue(err.startsWith("Unknown option: '--force'"), err);
    assertEquals(2, run("inspect"));
    assertTrue(err.startsWith("Missing required option: '--cache-id=SPEC'"), err);
  }

  /**
   * A misspelt {@code --cache-id} is the option a user meant, not one missing: the error names
   * what was typed and suggests the right spelling. It said only "Missing required option".
   */
  @Test
  void aMisspeltCacheIdOptionIsNamedAsUnknown() {
    assertEquals(2, run("push", "--cahce-id", spec("m2", source)));
    assertTrue(err.startsWith("Unknown options: '--cahce-id', "), err);
    assertTrue(err.contains("--cache-id"), err);
    assertEquals(2, run("pull", "--cache-id", spec("m2", source), "--jsno"));
    assertTrue(err.startsWith("Unknown option: '--jsno'"), err);
  }

  @Test
  void optionsReachTheCommand() throws IOException {
    assertEquals(0, run("push", "--json", "-v", "--cache-id", spec("m2", source), "--insecure-registry", "a.example", "--insecure-registry", "b.example"));
    assertEquals("pushed", jsonLines().get(0).get("result").asText());
    assertEquals(0, run("push", "--json", "--force", "--cache-id", spec("m2", source)));
    assertEquals("pushed", jsonLines().get(0).get("result").asText(), "--force stores a new snapshot of an unchanged tree");
    assertEquals(0, run("push", "--json", "--cache-id", spec("m2", source)));
    assertEquals("unchanged", jsonLines().get(0).get("result").asText());
    assertEquals(2, run("push", "--ca-file", dir.resolve("absent.pem").toString(), "--cache-id", "id=m2,ref=registry.example/r,target=" + source));
    assertTrue(err.contains("absent.pem"), err);
  }

  @Test
  void verbosePullSaysWhatItFetchedAndRestored() {
    assertEquals(0, run("push", "--cache-id", spec("m2", source)), err);
    Path target = dir.resolve("target");
    assertEquals(0, run("pull", "--cache-id", spec("m2", target)), err);
    assertFalse(err.contains("cachemount: restored"), "without -v a pull prints no notes: " + err);
    assertEquals(0, run("pull", "-v", "--cache-id", spec("m2", dir.resolve("target2"))), err);
    assertTrue(err.contains("fetched the manifest and config"), err);
    assertTrue(err.contains("fetched the index"), err);
    assertTrue(err.matches("(?s).*cachemount: restored [0-9,]+ files \\(0 already there.*"), err);
    assertEquals(0, run("pull", "-v", "--cache-id", spec("m2", target)), err);
    assertTrue(err.contains("already holds"), "an identical target is reported as such: " + err);
  }

  @Test
  void aStoreDirectoryOfSomethingElseIsRefusedByEveryCommand() throws IOException {
    Files.createDirectories(store);
    Files.writeString(store.resolve("notes.txt"), "not a store");
    for (String command : List.of("push", "pull", "inspect", "verify")) {
      assertEquals(2, run(command, "--cache-id", spec("m2", command.equals("pull") ? dir.resolve("target") : source)), command + ": " + err);
      assertTrue(err.contains("is not an OCI image layout"), command + ": " + err);
    }
    assertFalse(Files.exists(dir.resolve("target")), "a refused pull makes no target");
    assertEquals(List.of(store.resolve("notes.txt")), Files.list(store).toList());
  }

  @Test
  void everyCommandsVersionOptionPrintsTheVersion() {
    // Each command's --help lists "-V, --version  Print version information and exit."; under a
    // command it once printed nothing (exit 0): only the top-level command had a version provider.
    for (String command : List.of("push", "pull", "run", "inspect", "ls", "verify", "prune")) {
      for (String option : List.of("-V", "--version")) {
        assertEquals(0, run(command, option), command + " " + option + ": " + err);
        assertTrue(out.startsWith("cachemount ") && out.contains("snapshot format 1"), command + " " + option + ": " + out);
      }
    }
  }

  @Test
  void versionPrintsTheFormat() {
    assertEquals(0, run("version"));
    assertTrue(out.startsWith("cachemount "), out);
    assertTrue(out.contains("snapshot format 1"), out);
  }

  /**
   * prune through the CLI: the older keys its fallback= prefix matches go but for the newest
   * --keep-last, the key in use stays, each tag gets a line (or a JSON object per id with every tag's
   * fate), --dry-run removes nothing, and missing or bad options are usage errors (exit 2) before
   * anything is removed.
   */
  @Test
  void pruneRemovesTheOlderKeysAndSaysWhatBecameOfEach() throws IOException {
    for (String key : List.of("m2-a", "m2-b", "m2-c", "m2-own")) {
      Files.writeString(source.resolve("key.txt"), key);
      assertEquals(0, run("push", "--cache-id", "id=" + key + ",dir=" + store + ",target=" + source + ",fallback=m2-"), err);
    }
    String spec = "id=m2-own,dir=" + store + ",fallback=m2-";

    assertEquals(2, run("prune", "--cache-id", spec), out);
    assertTrue(err.contains("--keep-last N") && err.contains("--keep-within AGE"), err);
    assertEquals(2, run("prune", "--cache-id", spec, "--keep-within", "3 days"), out);
    assertTrue(err.contains("as 36h, 14d or 2w"), err);
    assertEquals(2, run("prune", "--cache-id", "id=m2-own,dir=" + store, "--keep-last", "1"), out);
    assertTrue(err.contains("has no fallback="), err);

    assertEquals(0, run("prune", "--cache-id", spec, "--keep-last", "1", "--dry-run"), err);
    assertTrue(out.contains("would remove 2 of 3 snapshots, kept 1"), out);
    assertTrue(out.lines().anyMatch(l -> l.matches("  would remove +m2-a \\(made .*")), out);

    assertEquals(0, run("prune", "--cache-id", spec, "--keep-last", "1", "--json"), err);
    JsonNode result = jsonLines().get(0);
    assertEquals("pruned", result.get("result").asText());
    Map<String, String> fates = new java.util.HashMap<>();
    result.get("prune").get("tags").forEach(t -> fates.put(t.get("tag").asText(), t.get("fate").asText()));
    assertEquals(Map.of("m2-c", "KEPT", "m2-b", "REMOVED", "m2-a", "REMOVED"), fates);

    assertEquals(0, run("inspect", "--cache-id", "id=m2-a,dir=" + store), err);
    assertTrue(out.contains("miss"), out);
    assertEquals(0, run("inspect", "--cache-id", "id=m2-own,dir=" + store), err);
    assertTrue(out.contains("digest:"), out);
  }

  /** --progress takes auto, tty, plain or none on the commands whose operations report progress; anything else is a usage error. */
  @Test
  void progressModes() {
    String spec = "id=p,dir=" + store + ",target=" + source;
    assertEquals(0, run("push", "--progress=none", "--cache-id", spec));
    assertEquals("", err);
    assertEquals(0, run("pull", "--progress", "plain", "--cache-id", "id=p,dir=" + store + ",target=" + dir.resolve("back")));
    assertEquals(2, run("verify", "--progress=fancy", "--cache-id", spec));
    assertTrue(err.contains("--progress=fancy (or CACHEMOUNT_PROGRESS) is not a progress mode; use auto, tty, plain or none"), err);
    assertEquals(2, run("inspect", "--progress=none", "--cache-id", spec));
    assertTrue(err.contains("Unknown option: '--progress=none'"), err);
  }

  /** ls: the entries of the stored snapshot, as paths, with -l as ls -l, with --json as one object; a bad path is a usage error. */
  @Test
  void lsListsTheStoredEntries() throws IOException {
    String spec = "id=l,dir=" + store + ",target=" + source;
    assertEquals(0, run("ls", "--cache-id", spec));
    assertEquals("l: miss, nothing stored for this id" + System.lineSeparator(), out);
    assertEquals(0, run("push", "--cache-id", spec));
    assertEquals(0, run("ls", "--cache-id", spec, "bin", "no/such"));
    assertEquals(List.of("bin/", "bin/tool -> tool.sh", "bin/tool.sh"), List.of(out.split(System.lineSeparator())));
    assertEquals("cachemount: l: nothing at or below no/such in oci:" + store + ":l" + System.lineSeparator(), err);
    assertEquals(0, run("ls", "-l", "--cache-id", spec, "bin/tool.sh"));
    assertTrue(out.matches("-rwxr-xr-x  21  \\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d:\\d\\d  bin/tool.sh\\R"), out);
    assertEquals(0, run("ls", "--json", "--cache-id", spec, "--cache-id", "id=other,dir=" + store, "bin/tool.sh"));
    List<JsonNode> objects = jsonLines();
    assertEquals("found", objects.get(0).get("result").asText());
    JsonNode entry = objects.get(0).get("listing").get("entries").get(0);
    assertEquals("bin/tool.sh", entry.get("path").asText());
    assertEquals(21, entry.get("size").asLong());
    assertEquals("miss", objects.get(1).get("result").asText());
    assertEquals(2, run("ls", "--cache-id", spec, "../etc"));
    assertTrue(err.contains("'../etc' cannot name an entry of a snapshot"), err);
  }

  /**
   * ls: standard output holds entries only (no empty line for a listing without any); a fallback's
   * snapshot is said on standard error, as inspect says it; a path nothing is at is said escaped.
   */
  @Test
  void lsSaysAFallbackAndPrintsNoEmptyLine() throws IOException {
    assertEquals(0, run("push", "--cache-id", spec("m2-old", source)), err);
    assertEquals(0, run("ls", "--cache-id", spec("m2-new", source) + ",fallback=m2-", "no/such\u001b[31m"));
    assertEquals("", out);
    assertEquals(List.of("cachemount: m2-new: listing oci:" + store + ":m2-old (a fallback: this id's own tag holds no snapshot)",
        "cachemount: m2-new: nothing at or below no/such\\x1b[31m in oci:" + store + ":m2-old"), List.of(err.split(System.lineSeparator())));
    assertEquals(0, run("ls", "--json", "--cache-id", spec("m2-new", source) + ",fallback=m2-", "no/such"));
    assertEquals("oci:" + store + ":m2-old", jsonLines().get(0).get("listing").get("fallback").asText());
    assertFalse(err.contains("a fallback"), err);
    assertEquals(0, run("ls", "--cache-id", spec("m2-old", source), "--cache-id", spec("m2-new", source) + ",fallback=m2-", "no/such"));
    assertEquals("", out);
  }
}
