package dev.cachemount.it;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/** Runs external programs (skopeo, diff, the launcher) and captures what they print. */
final class Processes {
  private Processes() {}

  /** What a process printed and how it ended. */
  record Result(int exitCode, byte[] stdout, String stderr) {
    String out() {
      return new String(stdout, StandardCharsets.UTF_8);
    }

    @Override
    public String toString() {
      return "exit " + exitCode + "\n--- stdout\n" + out() + "\n--- stderr\n" + stderr;
    }
  }

  static Result run(Path workingDirectory, Duration timeout, List<String> command) throws IOException, InterruptedException {
    return run(workingDirectory, timeout, command, Map.of(), new byte[0]);
  }

  /** Runs {@code command} with {@code env} added to this process's environment and {@code stdin} as its input. */
  static Result run(Path workingDirectory, Duration timeout, List<String> command, Map<String, String> env, byte[] stdin)
      throws IOException, InterruptedException {
    ProcessBuilder pb = new ProcessBuilder(command);
    if (workingDirectory != null) {
      pb.directory(workingDirectory.toFile());
    }
    pb.environment().putAll(env);
    Process p = pb.start();
    // Written on a thread of its own: a process that does not read its input (a docker client waiting
    // on an engine that hangs) would block this write, past the timeout, for as long as it runs.
    Thread feeder = new Thread(() -> {
      try (java.io.OutputStream in = p.getOutputStream()) {
        in.write(stdin);
      } catch (IOException e) {
        // it ended, or was stopped at the timeout, before it read everything
      }
    }, "stdin of " + command.get(0));
    feeder.setDaemon(true);
    feeder.start();
    CompletableFuture<byte[]> out = CompletableFuture.supplyAsync(() -> drain(p.getInputStream()));
    CompletableFuture<byte[]> err = CompletableFuture.supplyAsync(() -> drain(p.getErrorStream()));
    if (!p.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
      p.destroyForcibly();
      throw new IllegalStateException(String.join(" ", command) + " did not finish within " + timeout);
    }
    return new Result(p.exitValue(), out.join(), new String(err.join(), StandardCharsets.UTF_8));
  }

  static Result run(List<String> command) throws IOException, InterruptedException {
    return run(null, Duration.ofMinutes(5), command);
  }

  /** The path of {@code program} on PATH, or a failure that says what to install. */
  static String require(String program, String install) {
    for (String dir : System.getenv().getOrDefault("PATH", "").split(":")) {
      java.io.File f = new java.io.File(dir, program);
      if (f.canExecute()) {
        return f.getPath();
      }
    }
    throw new AssertionError(program + " is not installed, and this test checks interoperability with it; install it with: " + install);
  }

  private static byte[] drain(InputStream in) {
    try (in) {
      ByteArrayOutputStream b = new ByteArrayOutputStream();
      in.transferTo(b);
      return b.toByteArray();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
