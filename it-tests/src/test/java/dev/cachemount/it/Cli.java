package dev.cachemount.it;

import com.fasterxml.jackson.databind.JsonNode;
import dev.cachemount.core.oci.Json;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/** Runs the packaged CLI as a user would: a separate process, real exit codes. */
final class Cli {
  private Cli() {}

  /** The repository root (where the ./cachemount launcher lives). */
  static Path repoRoot() {
    return Path.of(System.getProperty("cachemount.repoRoot", "..")).toAbsolutePath().normalize();
  }

  static Path jar() {
    Path jar = Path.of(System.getProperty("cachemount.cliJar", "../cli/target/cachemount.jar")).toAbsolutePath().normalize();
    if (!Files.isRegularFile(jar)) {
      throw new AssertionError("the CLI jar " + jar + " is missing; run mvn -B verify from the repository root");
    }
    return jar;
  }

  /** What the CLI printed; {@link #json()} parses its --json lines. */
  record Result(int exitCode, String out, String err) {
    List<JsonNode> json() throws IOException {
      List<JsonNode> nodes = new ArrayList<>();
      for (String line : out.split("\n")) {
        if (!line.isBlank()) {
          nodes.add(Json.mapper().readTree(line));
        }
      }
      return nodes;
    }

    @Override
    public String toString() {
      return "exit " + exitCode + "\n--- stdout\n" + out + "\n--- stderr\n" + err;
    }
  }

  /** {@code java -jar cachemount.jar ARGS}. */
  static Result run(String... args) throws IOException, InterruptedException {
    List<String> command = new ArrayList<>(List.of(javaBinary(), "-jar", jar().toString()));
    command.addAll(List.of(args));
    Processes.Result r = Processes.run(null, Duration.ofMinutes(10), command);
    return new Result(r.exitCode(), r.out(), r.stderr());
  }

  /** {@code java -jar cachemount.jar ARGS} with variables added to the environment and bytes on standard input. */
  static Result run(java.util.Map<String, String> env, byte[] stdin, String... args) throws IOException, InterruptedException {
    return run(Duration.ofMinutes(10), env, stdin, args);
  }

  /** As {@link #run(java.util.Map, byte[], String...)}, failing once {@code timeout} has passed (the process is killed). */
  static Result run(Duration timeout, java.util.Map<String, String> env, byte[] stdin, String... args) throws IOException, InterruptedException {
    List<String> command = new ArrayList<>(List.of(javaBinary(), "-jar", jar().toString()));
    command.addAll(List.of(args));
    Processes.Result r = Processes.run(null, timeout, command, env, stdin);
    return new Result(r.exitCode(), r.out(), r.stderr());
  }

  /** {@code ./cachemount ARGS}, the launcher of the README. */
  static Result launcher(String... args) throws IOException, InterruptedException {
    List<String> command = new ArrayList<>(List.of(repoRoot().resolve("cachemount").toString()));
    command.addAll(List.of(args));
    Processes.Result r = Processes.run(repoRoot(), Duration.ofMinutes(10), command);
    return new Result(r.exitCode(), r.out(), r.stderr());
  }

  private static String javaBinary() {
    return Path.of(System.getProperty("java.home"), "bin", "java").toString();
  }
}
