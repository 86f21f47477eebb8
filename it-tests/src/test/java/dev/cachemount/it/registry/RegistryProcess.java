package dev.cachemount.it.registry;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;

/**
 * {@code docker-registry serve CONFIG} as a child process, its stdout (the access log) and stderr
 * (everything else) read line by line into the test registry's log by a daemon thread.
 */
final class RegistryProcess implements RegistryServer {
  private static final long STOP_GRACE_SECONDS = 10;

  private final List<String> command;
  private final Consumer<String> log;
  private Process process;
  private Thread reader;

  RegistryProcess(Path binary, Path config, Consumer<String> log) {
    this.command = List.of(binary.toString(), "serve", config.toString());
    this.log = log;
  }

  @Override
  public synchronized void start() throws IOException {
    process = new ProcessBuilder(command).redirectErrorStream(true).start();
    process.getOutputStream().close();
    Process started = process;
    reader = new Thread(() -> readLines(started), "docker-registry log pid " + started.pid());
    reader.setDaemon(true);
    reader.start();
  }

  @Override
  public synchronized boolean isRunning() {
    return process != null && process.isAlive();
  }

  @Override
  public synchronized void stop() {
    if (process == null) {
      return;
    }
    try {
      process.destroy();
      if (!process.waitFor(STOP_GRACE_SECONDS, TimeUnit.SECONDS)) {
        process.destroyForcibly().waitFor();
      }
      // the last lines the registry wrote are in the log once stop returns
      reader.join(TimeUnit.SECONDS.toMillis(STOP_GRACE_SECONDS));
    } catch (InterruptedException e) {
      process.destroyForcibly();
      Thread.currentThread().interrupt();
    } finally {
      process = null;
      reader = null;
    }
  }

  private void readLines(Process started) {
    try (BufferedReader lines = new BufferedReader(new InputStreamReader(started.getInputStream(), StandardCharsets.UTF_8))) {
      for (String line = lines.readLine(); line != null; line = lines.readLine()) {
        log.accept(line);
      }
    } catch (IOException e) {
      log.accept("[test harness] lost the output of docker-registry pid " + started.pid() + ": " + e);
    }
  }
}
