package dev.cachemount.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code cachemount run -- CMD} as a CI system runs it, a process of its own: a cancelled job's
 * SIGTERM reaches cachemount, which must not leave the command running on its own (a build that
 * goes on writing into the cache after its job ended), nor push what it half-built.
 */
class RunCommandIT {
  @TempDir Path dir;

  @Test
  void aSigtermWhileTheCommandRunsStopsTheCommandAndPushesNothing() throws Exception {
    sigtermWhileRunning("echo $$ > PID.tmp && mv PID.tmp PID && exec sleep 300");
  }

  /** A script's shell dies of SIGTERM without passing it on: what it started is sent SIGTERM too, not left running. */
  @Test
  void aSigtermStopsWhatTheCommandStartedToo() throws Exception {
    sigtermWhileRunning("sleep 300 & echo $! > PID.tmp && mv PID.tmp PID && wait");
  }

  /** Runs {@code script} under run, its PID file made where it says PID; a SIGTERM to cachemount stops the process named there. */
  private void sigtermWhileRunning(String script) throws Exception {
    Path store = dir.resolve("store");
    Path target = Files.createDirectories(dir.resolve("target"));
    Path pidFile = dir.resolve("command.pid");
    List<String> command = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-jar",
        Cli.jar().toString(), "run", "--cache-id", "id=m2,dir=" + store + ",target=" + target, "--",
        "sh", "-c", script.replace("PID", pidFile.toString())));
    ProcessBuilder builder = new ProcessBuilder(command).redirectOutput(dir.resolve("out").toFile()).redirectError(dir.resolve("err").toFile());
    builder.environment().put("XDG_CACHE_HOME", dir.resolve("xdg").toString());
    Process cachemount = builder.start();
    try {
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
      while (!Files.exists(pidFile)) {
        assertTrue(cachemount.isAlive(), "cachemount ended before the command started: " + Files.readString(dir.resolve("err")));
        assertTrue(System.nanoTime() < deadline, "the command did not start");
        Thread.sleep(20);
      }
      long pid = Long.parseLong(Files.readString(pidFile, StandardCharsets.UTF_8).trim());
      Optional<ProcessHandle> child = ProcessHandle.of(pid);
      assertTrue(child.isPresent() && child.get().isAlive(), "the command runs");

      cachemount.destroy(); // SIGTERM, as a cancelled CI job sends
      assertTrue(cachemount.waitFor(30, TimeUnit.SECONDS), "cachemount ended");
      assertEquals(143, cachemount.exitValue(), Files.readString(dir.resolve("err")));
      for (long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(5); child.get().isAlive() && System.nanoTime() < until;) {
        Thread.sleep(10); // a process whose shell died is reaped by init, maybe a moment later
      }
      assertFalse(child.get().isAlive(), "the command was stopped with it, not left running");
      assertFalse(Files.exists(store), "nothing was pushed");
      assertTrue(Files.readString(dir.resolve("err")).contains("stopped by a signal"), Files.readString(dir.resolve("err")));
    } finally {
      cachemount.destroyForcibly();
      if (Files.exists(pidFile)) {
        ProcessHandle.of(Long.parseLong(Files.readString(pidFile).trim())).ifPresent(ProcessHandle::destroyForcibly);
      }
    }
  }
}
