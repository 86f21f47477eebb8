package dev.cachemount.cli.training;

import dev.cachemount.cli.Main;
import dev.cachemount.core.Cachemount;
import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.time.Instant;
import java.util.Comparator;
import java.util.Map;
import java.util.Random;
import java.util.stream.Stream;

/**
 * The workload the launcher runs once after it builds the CLI, on a JDK with ahead-of-time caches
 * (JDK 25 and later: {@code -XX:AOTCacheOutput}), so that later runs start with the CLI's classes
 * already loaded and linked and with method profiles to compile from. It runs the commands users run,
 * in this process, on a generated tree of a few MB: push and pull with the default local store, then
 * through {@link TrainingRegistry} on loopback (cold, unchanged, changed; cold and identical pulls).
 *
 * <p>Nothing here is reachable from the CLI; every file it makes is under one temporary directory,
 * removed at the end. Exits non-zero if a command fails, so that a broken build is not trained on.
 */
public final class StartupTraining {
  /** Enough files that the per-file paths (scan, index, warm checks) get profiled as on a real cache. */
  private static final int DIRECTORIES = Integer.getInteger("cachemount.training.directories", 24);
  private static final int FILES_PER_DIRECTORY = 40;

  private StartupTraining() {}

  public static void main(String[] args) throws IOException {
    Path work = Files.createTempDirectory("cachemount-training");
    try (TrainingRegistry registry = new TrainingRegistry()) {
      Cachemount client = Cachemount.builder()
          .env(Map.of("XDG_CACHE_HOME", work.resolve("state").toString()))
          .home(work)
          .build();
      Path tree = work.resolve("tree");
      generate(tree, new Random(20261127L));
      String local = "id=training,dir=" + work.resolve("store") + ",target=";
      String remote = "id=training,type=registry,ref=" + registry.address() + "/training/cache,target=";
      run(client, "push", local + tree);
      run(client, "push", local + tree);
      run(client, "pull", local + work.resolve("pulled-local"));
      run(client, "pull", local + work.resolve("pulled-local"));
      run(client, "push", remote + tree);
      run(client, "push", remote + tree);
      change(tree, new Random(7L));
      run(client, "push", remote + tree);
      run(client, "pull", remote + work.resolve("pulled-remote"));
      run(client, "pull", remote + work.resolve("pulled-remote"));
      Files.delete(work.resolve("pulled-remote").resolve("d3").resolve("f6.jar"));
      run(client, "pull", remote + work.resolve("pulled-remote"));
      run(client, "inspect", remote + tree);
    } finally {
      delete(work);
    }
  }

  private static void run(Cachemount client, String command, String spec) {
    StringWriter err = new StringWriter();
    PrintWriter out = new PrintWriter(OutputStream.nullOutputStream(), false, StandardCharsets.UTF_8);
    int code = Main.run(new String[] {command, "--json", "--cache-id", spec}, out, new PrintWriter(err), client);
    if (code != 0) {
      throw new IllegalStateException("training: " + command + " " + spec + " exited " + code + ": " + err);
    }
  }

  /** A small cache-like tree: incompressible "jars", text, a link, an executable, an empty directory. */
  private static void generate(Path tree, Random random) throws IOException {
    Files.createDirectories(tree.resolve("empty"));
    for (int d = 0; d < DIRECTORIES; d++) {
      Path dir = Files.createDirectories(tree.resolve("d" + d));
      for (int f = 0; f < FILES_PER_DIRECTORY; f++) {
        byte[] bytes;
        String name;
        if (f % 3 == 0) {
          bytes = new byte[4 << 10 << random.nextInt(6)];
          random.nextBytes(bytes);
          name = "f" + f + ".jar";
        } else {
          StringBuilder text = new StringBuilder();
          for (int line = 0, n = 50 + random.nextInt(400); line < n; line++) {
            text.append("<dependency><groupId>org.example.g").append(random.nextInt(50)).append("</groupId><version>1.")
                .append(random.nextInt(20)).append("</version></dependency>\n");
          }
          bytes = text.toString().getBytes(StandardCharsets.UTF_8);
          name = "f" + f + ".pom";
        }
        Files.write(dir.resolve(name), bytes);
        Files.setLastModifiedTime(dir.resolve(name), FileTime.from(Instant.parse("2026-01-01T00:00:00Z").plusSeconds(d * 100L + f)));
      }
    }
    Files.createSymbolicLink(tree.resolve("d0").resolve("latest.jar"), Path.of("f0.jar"));
    Path tool = tree.resolve("d1").resolve("tool.sh");
    Files.writeString(tool, "#!/bin/sh\necho training\n");
    tool.toFile().setExecutable(true, true);
  }

  /** Rewrites a few files and adds one, as a build between two pushes does. */
  private static void change(Path tree, Random random) throws IOException {
    for (int d = 0; d < DIRECTORIES; d += 4) {
      byte[] bytes = new byte[40 << 10];
      random.nextBytes(bytes);
      Files.write(tree.resolve("d" + d).resolve("f3.jar"), bytes);
    }
    Files.writeString(tree.resolve("d5").resolve("new.pom"), "<project/>\n".repeat(1000));
  }

  private static void delete(Path root) throws IOException {
    if (!Files.exists(root)) {
      return;
    }
    try (Stream<Path> walk = Files.walk(root)) {
      for (Path p : walk.sorted(Comparator.reverseOrder()).toList()) {
        p.toFile().setWritable(true, true);
        Files.deleteIfExists(p);
      }
    }
  }
}
