package dev.cachemount.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.PosixFilePermissions;
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
    Path local = Path.of(System.getProperty("cachemount.localRepository", System.getProperty("user.home") + "/.m2/repository"));
    assertTrue(Files.isDirectory(local), "no local Maven repository at " + local);
    corpus = dir.resolve("m2-repository");
    long[] copied = new long[2];
    Files.walkFileTree(local, new SimpleFileVisitor<>() {
      @Override
      public FileVisitResult preVisitDirectory(Path d, BasicFileAttributes attrs) throws IOException {
        if (local.relativize(d).startsWith(Path.of("dev/cachemount"))) {
          return FileVisitResult.SKIP_SUBTREE; // this build's own artifacts change while it runs
        }
        Files.createDirectories(corpus.resolve(local.relativize(d).toString()));
        return FileVisitResult.CONTINUE;
      }

      @Override
      public FileVisitResult visitFile(Path f, BasicFileAttributes attrs) throws IOException {
        if (copied[0] >= CORPUS_BYTES) {
          return FileVisitResult.TERMINATE;
        }
        if (attrs.isRegularFile()) {
          Files.copy(f, corpus.resolve(local.relativize(f).toString()), StandardCopyOption.COPY_ATTRIBUTES);
          copied[0] += attrs.size();
          copied[1]++;
        }
        return FileVisitResult.CONTINUE;
      }
    });
    // Directory times after their contents were copied in.
    try (Stream<Path> walk = Files.walk(local)) {
      for (Path d : (Iterable<Path>) walk.filter(Files::isDirectory)::iterator) {
        Path copy = corpus.resolve(local.relativize(d).toString());
        if (Files.isDirectory(copy)) {
          Files.setLastModifiedTime(copy, Files.getLastModifiedTime(d));
        }
      }
    }
    // What a Maven repository rarely has but a cache directory may: links, an executable, an empty directory.
    Files.createDirectories(corpus.resolve("zz-extra/empty"));
    Path script = Files.writeString(corpus.resolve("zz-extra/run.sh"), "#!/bin/sh\nexit 0\n");
    Files.setPosixFilePermissions(script, PosixFilePermissions.fromString("rwxr-x---"));
    Files.createSymbolicLink(corpus.resolve("zz-extra/link"), Path.of("run.sh"));
    Files.createSymbolicLink(corpus.resolve("zz-extra/dangling"), Path.of("../nowhere"));
    corpusBytes = copied[0];
    corpusFiles = copied[1];
    assertTrue(corpusFiles > 100, "the local repository holds only " + corpusFiles + " files");
  }

  @Test
  void pushPullRoundTripThroughTheLauncherIsExact() throws Exception {
    Path store = dir.resolve("store");
    Cli.Result push = Cli.launcher("push", "--json", "--cache-id", "id=m2,dir=" + store + ",target=" + corpus);
    assertEquals(0, push.exitCode(), push.toString());
    JsonNode pushed = push.json().get(0);
    assertEquals("pushed", pushed.get("result").asText());
    assertEquals(corpusFiles + 1, pushed.get("files").asLong());
    assertEquals(corpusBytes + Files.size(corpus.resolve("zz-extra/run.sh")), pushed.get("bytes").asLong());

    Path restored = dir.resolve("restored");
    Cli.Result pull = Cli.launcher("pull", "--json", "--cache-id", "id=m2,dir=" + store + ",target=" + restored);
    assertEquals(0, pull.exitCode(), pull.toString());
    assertEquals("restored", pull.json().get(0).get("result").asText());

    Processes.Result diff = Processes.run(List.of("diff", "-r", "--no-dereference", corpus.toString(), restored.toString()));
    assertEquals(0, diff.exitCode(), "diff -r found differences:\n" + diff);
    assertSameListing(findListing(corpus), findListing(restored));

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

  /** Fails with the lines that differ, not with two whole listings. */
  static void assertSameListing(List<String> expected, List<String> actual) {
    java.util.Set<String> missing = new java.util.TreeSet<>(expected);
    actual.forEach(missing::remove);
    java.util.Set<String> unexpected = new java.util.TreeSet<>(actual);
    expected.forEach(unexpected::remove);
    if (!missing.isEmpty() || !unexpected.isEmpty()) {
      throw new AssertionError("listings differ\n  only in the source:\n    " + String.join("\n    ", missing.stream().limit(20).toList())
          + "\n  only in the restored tree:\n    " + String.join("\n    ", unexpected.stream().limit(20).toList()));
    }
  }

  /**
   * {@code find -printf}: path, type, owner-executable bit, size, link target and modification time
   * of every entry (a restore reproduces the executable bit; the other permission bits follow the
   * caller's umask).
   */
  private static List<String> findListing(Path root) throws Exception {
    Processes.Result find = Processes.run(List.of("find", root.toString(), "-mindepth", "1", "-printf", "%P %y %M %s %l %T@\\n"));
    assertEquals(0, find.exitCode(), find.toString());
    return find.out().lines().map(RealMavenRepositoryIT::withoutSymlinkSize).sorted().toList();
  }

  /**
   * Keeps the owner's execute bit of the permissions; drops directory and symlink sizes (a
   * directory's depends on the file system's history); cuts symlink times to microseconds (lutimes).
   */
  private static String withoutSymlinkSize(String line) {
    String[] f = line.split(" ");
    f[2] = f[1].equals("f") ? "x=" + f[2].charAt(3) : "-";
    if (f.length >= 5 && (f[1].equals("l") || f[1].equals("d"))) {
      f[3] = "-";
      if (f[1].equals("l")) {
        String t = f[f.length - 1];
        f[f.length - 1] = t.length() > 4 ? t.substring(0, t.length() - 4) : t;
      }
    }
    return String.join(" ", f);
  }
}
