package dev.cachemount.it;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * A Docker Engine whose BuildKit runs the builds of a test: one started for the test (the Debian
 * package {@code docker.io}'s {@code dockerd}, as root, with its own data directory, socket and
 * containerd, no bridge and no iptables rules, stopped at the end), or, where the tests do not run
 * as root, the engine the {@code docker} client already reaches. The client runs with BuildKit on
 * ({@code DOCKER_BUILDKIT=1}): the {@code docker} beside {@code dockerd} (the same package's), else
 * the one on {@code PATH}.
 */
final class DockerDaemon implements AutoCloseable {
  private static final String INSTALL = "apt-get install -y docker.io busybox-static";

  private final String client;
  /** The daemon this test started, or null for an engine it found running. */
  private final Process daemon;
  private final Path runDir;
  private final Path log;
  private final String host;
  private final Thread shutdownHook;

  private DockerDaemon(String client, Process daemon, Path runDir, Path log, String host) {
    this.client = client;
    this.daemon = daemon;
    this.runDir = runDir;
    this.log = log;
    this.host = host;
    this.shutdownHook = daemon == null ? null : new Thread(this::stop, "stop test dockerd");
    if (shutdownHook != null) {
      Runtime.getRuntime().addShutdownHook(shutdownHook);
    }
  }

  /** Starts a daemon (as root), or finds the one the client reaches, or fails saying what to install. */
  static DockerDaemon start() throws IOException, InterruptedException {
    String dockerd = find("dockerd");
    boolean root = "0".equals(Processes.run(List.of("id", "-u")).out().trim());
    if (root && dockerd != null) {
      String client = clientBeside(dockerd);
      // Short paths: the daemon's and containerd's sockets live under them (108 bytes at most).
      Path runDir = Files.createTempDirectory(Path.of("/tmp"), "cm-dockerd-");
      Path log = runDir.resolve("dockerd.log");
      String host = "unix://" + runDir.resolve("d.sock");
      ProcessBuilder pb = new ProcessBuilder(dockerd, "--host", host, "--data-root", runDir.resolve("data").toString(),
          "--exec-root", runDir.resolve("x").toString(), "--pidfile", runDir.resolve("pid").toString(), "--bridge=none", "--iptables=false",
          "--ip-masq=false", "--userland-proxy=false")
          .redirectErrorStream(true).redirectOutput(log.toFile()).redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null")));
      DockerDaemon d = new DockerDaemon(client, pb.start(), runDir, log, host);
      d.awaitReady();
      return d;
    }
    String client = find("docker");
    if (client != null && Processes.run(null, Duration.ofSeconds(30), List.of(client, "info")).exitCode() == 0) {
      return new DockerDaemon(client, null, null, null, null);
    }
    throw new AssertionError("this test builds with a real BuildKit, in a Docker Engine: run the tests as root with the engine's package"
        + " installed (" + INSTALL + "; the test starts its own dockerd, as .ci/run does), or where `docker info` reaches a running engine"
        + (root ? "; dockerd is not installed" : "; the tests do not run as root, and `docker info` failed"));
  }

  /** Runs the client with BuildKit on, against this engine. */
  Processes.Result docker(Path workingDirectory, Duration timeout, byte[] stdin, String... args) throws IOException, InterruptedException {
    List<String> command = new ArrayList<>(List.of(client));
    command.addAll(List.of(args));
    Map<String, String> env = new java.util.HashMap<>(Map.of("DOCKER_BUILDKIT", "1"));
    if (host != null) {
      env.put("DOCKER_HOST", host);
    }
    return Processes.run(workingDirectory, timeout, command, env, stdin);
  }

  Processes.Result docker(Path workingDirectory, String... args) throws IOException, InterruptedException {
    return docker(workingDirectory, Duration.ofMinutes(5), new byte[0], args);
  }

  /** The engine's version, as its {@code docker version} says. */
  String serverVersion() throws IOException, InterruptedException {
    return docker(null, "version", "--format", "{{.Server.Version}}").out().trim();
  }

  /** What the daemon this test started wrote, for a failure's message. */
  String logTail() {
    if (log == null) {
      return "(an engine the test found running; its log is its own)";
    }
    try {
      List<String> lines = Files.readAllLines(log);
      return String.join("\n", lines.subList(Math.max(0, lines.size() - 30), lines.size()));
    } catch (IOException e) {
      return "(its log could not be read: " + e.getMessage() + ")";
    }
  }

  private void awaitReady() throws IOException, InterruptedException {
    long deadline = System.nanoTime() + Duration.ofSeconds(90).toNanos();
    while (System.nanoTime() < deadline) {
      if (!daemon.isAlive()) {
        throw new AssertionError("dockerd exited with " + daemon.exitValue() + " before it answered:\n" + logTail());
      }
      if (docker(null, Duration.ofSeconds(20), new byte[0], "version").exitCode() == 0) {
        return;
      }
      Thread.sleep(250);
    }
    close();
    throw new AssertionError("dockerd did not answer within 90 s:\n" + logTail());
  }

  @Override
  public void close() {
    if (daemon != null) {
      stop();
      Runtime.getRuntime().removeShutdownHook(shutdownHook);
    }
  }

  private synchronized void stop() {
    try {
      if (daemon.isAlive()) {
        daemon.destroy(); // SIGTERM: dockerd stops its containerd and unmounts its layers
        if (!daemon.waitFor(60, java.util.concurrent.TimeUnit.SECONDS)) {
          daemon.destroyForcibly();
          daemon.waitFor(10, java.util.concurrent.TimeUnit.SECONDS);
        }
      }
      // Root-owned files it left go with the directory (not across a mount it failed to undo).
      Processes.run(null, Duration.ofMinutes(2), List.of("rm", "-rf", "--one-file-system", runDir.toString()));
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    } catch (IOException e) {
      System.err.println("could not remove " + runDir + ": " + e.getMessage());
    }
  }

  /** The {@code docker} of the same installation as {@code dockerd} (Debian's: a client whose BuildKit needs no buildx), else the one on PATH. */
  private static String clientBeside(String dockerd) throws IOException {
    Path real = Path.of(dockerd).toRealPath();
    for (Path candidate : List.of(real.resolveSibling("docker"), real.getParent().resolveSibling("bin").resolve("docker"))) {
      if (Files.isExecutable(candidate)) {
        return candidate.toString();
      }
    }
    String onPath = find("docker");
    if (onPath == null) {
      throw new AssertionError("dockerd is installed, but no docker client: " + INSTALL);
    }
    return onPath;
  }

  private static String find(String program) {
    List<String> dirs = new ArrayList<>(List.of(System.getenv().getOrDefault("PATH", "").split(":")));
    dirs.addAll(List.of("/usr/sbin", "/usr/bin", "/sbin", "/bin"));
    for (String dir : dirs) {
      java.io.File f = new java.io.File(dir, program);
      if (!dir.isEmpty() && f.canExecute()) {
        return f.getPath();
      }
    }
    return null;
  }
}
