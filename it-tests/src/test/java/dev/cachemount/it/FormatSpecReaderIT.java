package dev.cachemount.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.cachemount.core.oci.Json;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributeView;
import java.nio.file.attribute.FileTime;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * docs/format.md is complete enough to read what cachemount writes: a reader written from it alone
 * ({@code it-tests/src/test/python/cachemount_reader.py}, Python's standard library and the zstd
 * CLI) verifies every digest, size and count the format defines and restores each snapshot of a
 * varied tree, pushed cold, then onto itself (reusing the parent's pack), then after a deletion that
 * compacts that pack, with an image view; and it refuses a damaged pack or index, naming the blob.
 * A change to the format that the document does not follow fails here.
 */
class FormatSpecReaderIT {
  static String python;
  @TempDir Path dir;

  @BeforeAll
  static void requireTools() {
    python = Processes.require("python3", "apt-get install -y python3");
    Processes.require("zstd", "apt-get install -y zstd");
  }

  static Path reader() {
    Path script = Cli.repoRoot().resolve("it-tests/src/test/python/cachemount_reader.py");
    assertTrue(Files.isRegularFile(script), "the reader is missing: " + script);
    return script;
  }

  @Test
  void aReaderWrittenFromTheSpecRestoresEverySnapshot() throws Exception {
    Path source = dir.resolve("source");
    Path store = dir.resolve("store");
    varied(source);
    String spec = "id=spec,dir=" + store + ",target=" + source;

    JsonNode cold = push(spec);
    assertEquals("pushed", cold.get("result").asText(), cold.toString());
    assertReaderRestores(store, source, "1", "--check-writer", "--check-chunker");

    // One file changed, files added: the parent's pack is still mostly used, so it is referenced again.
    Files.writeString(source.resolve("many/d3/f3.txt"), "changed\n", StandardCharsets.UTF_8);
    Files.createDirectories(source.resolve("added/sub"));
    Random random = new Random(2);
    for (int i = 0; i < 10; i++) {
      Files.write(source.resolve("added/sub/n" + i + ".dat"), bytes(random, 1 + random.nextInt(40_000)));
    }
    JsonNode incremental = push(spec);
    assertEquals("pushed", incremental.get("result").asText(), incremental.toString());
    assertTrue(incremental.get("blobsSkipped").asInt() >= 1, "the second push reuses the first one's pack: " + incremental);
    assertReaderRestores(store, source, "2", "--check-writer");

    // Most of that pack's bytes gone: its used chunks are packed anew (compaction); with an image view.
    Files.delete(source.resolve("big/random.bin"));
    Files.delete(source.resolve("big/random-copy.bin"));
    JsonNode compacted = push(spec + ",image=spec-view");
    assertEquals("pushed", compacted.get("result").asText(), compacted.toString());
    assertReaderRestores(store, source, "3", "--check-writer", "--check-image", "spec-view");
  }

  @Test
  void theReaderRefusesADamagedPackOrIndexNamingIt() throws Exception {
    Path source = dir.resolve("source");
    RandomTrees.write(source, 5, 30, 3, 1_000, 40_000);
    Path store = dir.resolve("store");
    push("id=spec,dir=" + store + ",target=" + source);
    assertReaderRestores(store, source, "ok");

    JsonNode manifest = Json.mapper().readTree(Files.readAllBytes(blob(store, tagDigest(store, "spec"))));
    JsonNode layers = manifest.get("layers");
    assertTrue(layers.size() >= 2, "an index and at least one pack: " + manifest);
    for (String digest : List.of(layers.get(layers.size() - 1).get("digest").asText(), layers.get(0).get("digest").asText())) {
      Path file = blob(store, digest);
      byte[] good = Files.readAllBytes(file);
      byte[] bad = good.clone();
      bad[bad.length / 2] ^= 0x01;
      file.toFile().setWritable(true);
      Files.write(file, bad);
      try {
        Processes.Result r = runReader(store, "spec", dir.resolve("restored-bad-" + digest.substring(7, 15)));
        assertEquals(4, r.exitCode(), "a flipped bit in " + digest + " is an integrity failure:\n" + r);
        assertTrue(r.stderr().contains(digest), "the failure names " + digest + ":\n" + r);
      } finally {
        Files.write(file, good);
      }
    }
  }

  private void assertReaderRestores(Path store, Path source, String name, String... options) throws Exception {
    Path restored = dir.resolve("restored-" + name);
    Processes.Result r = runReader(store, "spec", restored, options);
    assertEquals(0, r.exitCode(), "the reader of docs/format.md failed:\n" + r);
    assertFalse(r.stderr().contains("less than half"), "a pack referenced again although less than half of it is used:\n" + r);
    TreeCompare.assertSameTree(source, restored);
  }

  private static Processes.Result runReader(Path store, String tag, Path restored, String... options) throws Exception {
    List<String> command = new ArrayList<>(List.of(python, reader().toString(), store.toString(), tag, restored.toString()));
    command.addAll(List.of(options));
    return Processes.run(null, Duration.ofMinutes(5), command);
  }

  private static JsonNode push(String spec) throws Exception {
    Cli.Result push = Cli.run("push", "--json", "--cache-id", spec);
    assertEquals(0, push.exitCode(), push.toString());
    return push.json().get(0);
  }

  private static String tagDigest(Path store, String tag) throws IOException {
    for (JsonNode d : Json.mapper().readTree(store.resolve("index.json").toFile()).get("manifests")) {
      if (tag.equals(d.path("annotations").path("org.opencontainers.image.ref.name").asText())) {
        return d.get("digest").asText();
      }
    }
    throw new AssertionError("no tag " + tag + " in " + store);
  }

  private static Path blob(Path store, String digest) {
    return store.resolve("blobs/sha256/" + digest.substring("sha256:".length()));
  }

  /** Every kind of entry the format holds, with times to the nanosecond and before 1970. */
  static void varied(Path root) throws IOException {
    Random random = new Random(1);
    Files.createDirectories(root);
    write(root.resolve("empty.txt"), new byte[0], Instant.ofEpochSecond(1_700_000_000L, 123_456_789));
    write(root.resolve("tiny.txt"), "hi\n".getBytes(StandardCharsets.UTF_8), Instant.ofEpochSecond(1_600_000_000L, 1));
    write(root.resolve("bin/run.sh"), "#!/bin/sh\necho hi\n".getBytes(StandardCharsets.UTF_8), null);
    Files.setPosixFilePermissions(root.resolve("bin/run.sh"), PosixFilePermissions.fromString("rwxr-xr-x"));
    write(root.resolve("bin/empty-exec"), new byte[0], null);
    Files.setPosixFilePermissions(root.resolve("bin/empty-exec"), PosixFilePermissions.fromString("rwx------"));
    byte[] big = bytes(random, 700_000);
    write(root.resolve("big/random.bin"), big, null);
    write(root.resolve("big/random-copy.bin"), big, null);
    StringBuilder log = new StringBuilder();
    for (int i = 0; i < 8_000; i++) {
      log.append("line ").append(i).append(" of a compressible log\n");
    }
    write(root.resolve("big/text.log"), log.toString().getBytes(StandardCharsets.UTF_8), null);
    byte[] jar = bytes(random, 70_000);
    write(root.resolve("dup/a.jar"), jar, null);
    write(root.resolve("dup/b.jar"), jar, null);
    write(root.resolve("old/1969.txt"), "old\n".getBytes(StandardCharsets.UTF_8), Instant.ofEpochSecond(-86_400L * 365));
    write(root.resolve("old/epoch.txt"), "epoch\n".getBytes(StandardCharsets.UTF_8), Instant.EPOCH);
    write(root.resolve("naïve/日本語/ファイル.txt"), "non-ascii ✓\n".getBytes(StandardCharsets.UTF_8), null);
    write(root.resolve("naïve/\uE000 private use"), "sorts before the emoji\n".getBytes(StandardCharsets.UTF_8), null);
    write(root.resolve("naïve/\uD83D\uDE00 emoji"), "a code point above U+FFFF\n".getBytes(StandardCharsets.UTF_8), null);
    for (int i = 0; i < 120; i++) {
      write(root.resolve("many/d" + (i % 7) + "/f" + i + ".txt"),
          ("small file " + i + " " + "y".repeat(random.nextInt(3_000)) + "\n").getBytes(StandardCharsets.UTF_8), null);
    }
    write(root.resolve("a/c"), "a/c sorts after a-b\n".getBytes(StandardCharsets.UTF_8), null);
    write(root.resolve("a-b/x"), "dash\n".getBytes(StandardCharsets.UTF_8), null);
    Files.createDirectories(root.resolve("emptydir/nested/deeper"));
    Files.createSymbolicLink(root.resolve("bin/rel-link"), Path.of("../tiny.txt"));
    Files.createSymbolicLink(root.resolve("link-to-dir"), Path.of("many"));
    Files.createSymbolicLink(root.resolve("dangling"), Path.of("does/not/exist"));
    Files.createSymbolicLink(root.resolve("ünicode-link"), Path.of("naïve/日本語"));
    setTime(root.resolve("dangling"), Instant.ofEpochSecond(1_650_000_000L, 987_654_000));
    setTime(root.resolve("emptydir/nested"), Instant.ofEpochSecond(1_500_000_000L, 555_555_555));
    setTime(root.resolve("old"), Instant.ofEpochSecond(-3));
  }

  private static void write(Path file, byte[] content, Instant mtime) throws IOException {
    Files.createDirectories(file.getParent());
    Files.write(file, content);
    if (mtime != null) {
      setTime(file, mtime);
    }
  }

  private static void setTime(Path path, Instant mtime) throws IOException {
    Files.getFileAttributeView(path, BasicFileAttributeView.class, LinkOption.NOFOLLOW_LINKS).setTimes(FileTime.from(mtime), null, null);
  }

  private static byte[] bytes(Random random, int n) {
    byte[] b = new byte[n];
    random.nextBytes(b);
    return b;
  }
}
