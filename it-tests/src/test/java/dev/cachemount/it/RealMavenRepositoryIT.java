package dev.cachemount.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The acceptance of the foundation, run as a user would: the README's launcher pushes a real Maven
 * repository (a copy of the one this build resolved its dependencies into) to the embedded default
 * store and pulls it into a fresh directory; {@code diff -r} and a {@code find} listing of types,
 * permissions, sizes, link targets and modification times find the trees identical; a second push is
 * unchanged and transfers nothing.
 */
class RealMavenRepositoryIT {
  /** How much of the local repository to copy: enough to be real, little enough to stay quick. */
  private static final long CORPUS_BYTES = 250L << 20;

  @TempDir static Path dir;
  static Path corpus;
  static long corpusBytes;
  static long corpusFiles;

  @BeforeAll
  static void copyTheLocalRepository() throws IOException {
    MavenCorpus c = MavenCorpus.copy(dir.resolve("m2-repository"), CORPUS_BYTES);
    corpus = c.root();
    corpusBytes = c.bytes();
    corpusFiles = c.files();
  }

  @Test
  void pushPullRoundTripThroughTheLauncherIsExact() throws Exception {
    Path store = dir.resolve("store");
    Cli.Result push = Cli.launcher("push", "--json", "--cache-id", "id=m2,dir=" + store + ",target=" + corpus);
    assertEquals(0, push.exitCode(), push.toString());
    JsonNode pushed = push.json().get(0);
    assertEquals("pushed", pushed.get("result").asText());
    assertEquals(corpusFiles, pushed.get("files").asLong());
    assertEquals(corpusBytes, pushed.get("bytes").asLong());

    Path restored = dir.resolve("restored");
    Cli.Result pull = Cli.launcher("pull", "--json", "--cache-id", "id=m2,dir=" + store + ",target=" + restored);
    assertEquals(0, pull.exitCode(), pull.toString());
    assertEquals("restored", pull.json().get(0).get("result").asText());

    Processes.Result diff = Processes.run(List.of("diff", "-r", "--no-dereference", corpus.toString(), restored.toString()));
    assertEquals(0, diff.exitCode(), "diff -r found differences:\n" + diff);
    TreeCompare.assertSameListing(TreeCompare.findListing(corpus), TreeCompare.findListing(restored));

    Cli.Result again = Cli.launcher("push", "--json", "--cache-id", "id=m2,dir=" + store + ",target=" + corpus);
    assertEquals(0, again.exitCode(), again.toString());
    assertEquals("unchanged", again.json().get(0).get("result").asText());
    assertEquals(0, again.json().get(0).get("bytesTransferred").asLong());
    assertEquals(pushed.get("digest"), again.json().get(0).get("digest"));
  }

  @Test
  void exitCodesOfTheLauncher() throws Exception {
    Path store = dir.resolve("store-codes");
    Cli.Result unknown = Cli.launcher("push", "--cache-id", "id=m2,colour=blue,target=" + corpus);
    assertEquals(2, unknown.exitCode(), unknown.toString());
    assertTrue(unknown.err().contains("unknown key 'colour'"), unknown.err());

    assertEquals(2, Cli.launcher("push", "--cache-id", "target=" + corpus).exitCode());
    Path file = Files.writeString(dir.resolve("not-a-dir"), "x");
    assertEquals(2, Cli.launcher("push", "--cache-id", "id=m2,dir=" + store + ",target=" + file).exitCode());
    Cli.Result miss = Cli.launcher("pull", "--cache-id", "id=nothing,dir=" + store + ",target=" + dir.resolve("t"));
    assertEquals(0, miss.exitCode(), miss.toString());
    assertTrue(miss.out().contains("miss"), miss.out());

    assertEquals(0, Cli.launcher("push", "--cache-id", "id=m2,dir=" + store + ",target=" + corpus).exitCode());
    Path biggest;
    try (Stream<Path> blobs = Files.list(store.resolve("blobs/sha256"))) {
      biggest = blobs.max(java.util.Comparator.comparingLong(p -> p.toFile().length())).orElseThrow();
    }
    byte[] bytes = Files.readAllBytes(biggest);
    bytes[bytes.length / 4] ^= 0x10;
    Files.write(biggest, bytes);
    Cli.Result corrupt = Cli.launcher("pull", "--cache-id", "id=m2,dir=" + store + ",target=" + dir.resolve("corrupt-target"));
    assertEquals(4, corrupt.exitCode(), corrupt.toString());
  }

  @Test
  void aPullCancelledWithSigtermLeavesNoTemporaryFiles() throws Exception {
    Path store = dir.resolve("store-term");
    assertEquals(0, Cli.run("push", "--cache-id", "id=m2,dir=" + store + ",target=" + corpus).exitCode());
    Path target = dir.resolve("term-target");
    int exit = terminateOnce(dir.resolve("term.log"), () -> !temporaryFiles(target).isEmpty(),
        "pull", "--cache-id", "id=m2,dir=" + store + ",target=" + target);
    assertEquals(143, exit, "terminated by SIGTERM");
    assertEquals(List.of(), temporaryFiles(target));
  }

  @Test
  void aPushCancelledWithSigtermLeavesNoStagingFilesAndTheOldSnapshot() throws Exception {
    Path store = dir.resolve("store-term-push");
    Path small = Files.createDirectories(dir.resolve("small-tree"));
    Files.writeString(small.resolve("only-file"), "the previous snapshot");
    Cli.Result first = Cli.run("push", "--json", "--cache-id", "id=m2,dir=" + store + ",target=" + small);
    assertEquals(0, first.exitCode(), first.toString());
    String previous = first.json().get(0).get("digest").asText();
    Path staging = store.resolve(".cachemount-tmp");
    int exit = terminateOnce(dir.resolve("term-push.log"), () -> !stagedPacks(staging).isEmpty(),
        "push", "--cache-id", "id=m2,dir=" + store + ",target=" + corpus);
    assertEquals(143, exit, "terminated by SIGTERM");
    assertEquals(List.of(), stagedPacks(staging));
    Cli.Result inspect = Cli.run("inspect", "--json", "--cache-id", "id=m2,dir=" + store);
    assertEquals(previous, inspect.json().get(0).get("snapshot").get("digest").asText(), "the tag still names the previous snapshot");
  }

  private static List<Path> stagedPacks(Path staging) throws IOException {
    if (!Files.isDirectory(staging)) {
      return List.of();
    }
    try (Stream<Path> walk = Files.walk(staging)) {
      return walk.filter(p -> p.getFileName().toString().startsWith("pack-")).toList();
    } catch (java.io.UncheckedIOException e) {
      return List.of(staging);
    }
  }

  /** A condition polled while a process runs. */
  interface Probe {
    boolean holds() throws IOException;
  }

  /**
   * Starts the CLI with {@code args}, sends it SIGTERM (what a CI system sends when it cancels a job)
   * as soon as {@code ready} holds, and returns its exit code; fails if it finished first.
   */
  private static int terminateOnce(Path log, Probe ready, String... args) throws Exception {
    List<String> command = new java.util.ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-jar",
        Cli.jar().toString()));
    command.addAll(List.of(args));
    Process process = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(log.toFile()).start();
    boolean seen = false;
    while (process.isAlive() && !seen) {
      seen = ready.holds();
      if (!seen) {
        Thread.sleep(2);
      }
    }
    process.destroy();
    int exit = process.waitFor();
    assertTrue(seen, "the process finished before it could be cancelled (exit " + exit + "): " + Files.readString(log));
    return exit;
  }

  private static List<Path> temporaryFiles(Path target) throws IOException {
    if (!Files.isDirectory(target)) {
      return List.of();
    }
    try (Stream<Path> walk = Files.walk(target)) {
      return walk.filter(p -> p.getFileName().toString().startsWith(".cachemount-tmp-")).toList();
    } catch (java.io.UncheckedIOException e) {
      return List.of(target); // a directory vanished or appeared mid-walk: look again
    }
  }
}
