package dev.cachemount.core;

import dev.cachemount.core.internal.CleanupOnExit;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;

/**
 * {@code cachemount run -- CMD}: the caches pulled, the command run, the caches pushed, as a CI job
 * does in three steps. The command inherits this process's standard streams, working directory and
 * environment; its exit status is the run's. A cache that cannot be pulled leaves its target as it
 * was and the command runs all the same (a cold build, not a failed one); the pushes happen when the
 * command succeeded (or always, if asked), those whose target exists then (a command that never
 * needed a cache makes no directory: a warning, not a failure). A SIGTERM or Ctrl-C while the command runs is passed on
 * to it, and the run waits for it to end, and pushes nothing, whatever status the command ends with.
 */
public final class CachedCommand {
  /** How long a command that was sent SIGTERM may take to end before it is killed. */
  static final long TERMINATION_SECONDS = 10;

  /**
   * When the caches are pushed.
   */
  public enum PushWhen {
    /** Only after the command exited with status 0 (as actions/cache saves only after a job that succeeded). */
    SUCCESS,
    /** Whatever the command's status: a failed build's downloads are kept too. */
    ALWAYS
  }

  /**
   * How a run ended.
   *
   * @param pulls each spec's pull, in order
   * @param commandStatus the command's exit status (for a command killed by a signal, 128 + its number, as a shell says)
   * @param pushes each spec's push, in order; empty when the pushes were skipped
   * @param exitCode what the run exits with: the command's status when it failed, else 1 when a
   *     signal stopped the run (the JVM's own exit status is then the signal's), else the exit code
   *     of the first pull or push that failed, else 0
   */
  public record Result(List<SpecRuns.Run> pulls, int commandStatus, List<SpecRuns.Run> pushes, int exitCode) {}

  private final Cachemount client;
  private final Map<String, String> env;

  CachedCommand(Cachemount client, Map<String, String> env) {
    this.client = client;
    this.env = env;
  }

  /**
   * Runs {@code command} between the pulls and the pushes of {@code specs}.
   *
   * @param report hears each pull and push as it ends, and the command's status once it is known
   * @throws CachemountException USAGE before anything runs: an empty command, or one that is not on
   *     PATH or not executable; specs that would undo each other (as for push and pull)
   */
  Result run(List<CacheSpec> specs, List<String> command, PushWhen when, Report report, OperationListener listener) {
    Objects.requireNonNull(report, "report");
    if (command.isEmpty() || command.get(0).isEmpty()) {
      throw CachemountException.usage("run needs a command after --, as in: cachemount run --cache-id id=m2,target=DIR -- mvn -B verify");
    }
    client.checkPulls(specs);
    client.checkPushes(specs);
    Path executable = executable(command.get(0));
    List<SpecRuns.Run> pulls = SpecRuns.each(specs, s -> client.pull(s, listener), report::pulled);
    java.util.concurrent.atomic.AtomicBoolean stopped = new java.util.concurrent.atomic.AtomicBoolean();
    int status = runCommand(executable, command, env, listener, stopped);
    report.commandEnded(status);
    boolean push = !stopped.get() && (status == 0 || when == PushWhen.ALWAYS);
    if (stopped.get()) {
      // The JVM is exiting (SIGTERM, Ctrl-C): a push begun now would be cut off, and the build did not
      // finish, whatever status the command ended with.
      listener.warning("the run was stopped by a signal while the command ran, so the caches were not pushed");
    } else if (!push) {
      listener.warning("the command failed (exit status " + status + "), so the caches were not pushed; give --push-always to push them"
          + " after a failed command too");
    }
    List<CacheSpec> filled = new java.util.ArrayList<>();
    for (CacheSpec s : push ? specs : List.<CacheSpec>of()) {
      Path target = s.requireTarget("push");
      if (Files.exists(target, java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
        filled.add(s);
      } else {
        // A build that never needed the cache (go version) made no directory: nothing to keep, and no failure.
        listener.warning("cache id '" + s.id() + "': " + target + " does not exist after the command, so there is nothing to push");
      }
    }
    List<SpecRuns.Run> pushes = SpecRuns.each(filled, s -> client.push(s, listener), report::pushed);
    int exit = status != 0 ? status
        : stopped.get() ? FailureKind.OPERATIONAL.exitCode()
        : SpecRuns.firstFailure(pulls).or(() -> SpecRuns.firstFailure(pushes)).map(e -> e.kind().exitCode()).orElse(0);
    return new Result(pulls, status, pushes, exit);
  }

  /** Hears a run's steps as they end. */
  public interface Report {
    void pulled(SpecRuns.Run run);

    void commandEnded(int status);

    void pushed(SpecRuns.Run run);
  }

  /** The file the command's first word names: a path as given, else found on PATH as a shell finds it. */
  private Path executable(String name) {
    if (name.contains("/")) {
      Path file = Path.of(name).toAbsolutePath();
      if (!Files.isRegularFile(file) || !Files.isExecutable(file)) {
        throw CachemountException.usage("run: the command " + name + " is " + (Files.exists(file) ? "not an executable file" : "not there")
            + "; nothing was pulled");
      }
      return file;
    }
    // The command the user gave, found as the shell that ran cachemount would find it (relative PATH entries too).
    return ToolCommand.onShellPath(name, env).orElseThrow(() -> CachemountException.usage("run: the command " + name + " is not on PATH ("
        + ToolCommand.searched(env) + "); nothing was pulled"));
  }

  /** Runs the command to its end; {@code stopped} is set when the JVM's exit stopped it. */
  private static int runCommand(Path executable, List<String> command, Map<String, String> env, OperationListener listener,
      java.util.concurrent.atomic.AtomicBoolean stopped) {
    List<String> argv = new java.util.ArrayList<>(command);
    argv.set(0, executable.toString());
    ProcessBuilder builder = new ProcessBuilder(argv).inheritIO();
    builder.environment().clear();
    builder.environment().putAll(env);
    // A cancelled job's SIGTERM reaches this JVM, whose exit would leave the command running on its own.
    // The hook is in place before the command starts, and the start and the hook take turns: a signal
    // that comes while the command starts stops it once it has, one that came before keeps it from starting.
    Object handover = new Object();
    Process[] running = new Process[1];
    try (CleanupOnExit hook = CleanupOnExit.register("cachemount-run-command", () -> {
      Process started;
      synchronized (handover) {
        stopped.set(true);
        started = running[0];
      }
      if (started != null) {
        stop(started);
      }
    })) {
      listener.info("running " + command.stream().map(CachedCommand::shellWord).collect(java.util.stream.Collectors.joining(" ")));
      Process process;
      synchronized (handover) {
        if (stopped.get() || !hook.registered()) {
          stopped.set(true);
          throw new CachemountException(FailureKind.OPERATIONAL, "run was stopped by a signal before the command started; the caches are not pushed");
        }
        try {
          process = builder.start();
        } catch (IOException e) {
          throw new CachemountException(FailureKind.OPERATIONAL, "run: the command " + command.get(0) + " could not be started: " + e.getMessage()
              + "; the caches were pulled and are not pushed: check that it is a program this machine can run", e);
        }
        running[0] = process;
      }
      return waitFor(process);
    }
  }

  /** {@code word} as a shell would need it typed: as it is when it is plain, else in single quotes. */
  private static String shellWord(String word) {
    return word.matches("[A-Za-z0-9_@%+=:,./-]+") ? word : "'" + word.replace("'", "'\\''") + "'";
  }

  private static int waitFor(Process process) {
    try {
      return process.waitFor();
    } catch (InterruptedException e) {
      stop(process);
      Thread.currentThread().interrupt();
      throw new CachemountException(FailureKind.OPERATIONAL, "run was interrupted while the command ran; the command was stopped");
    }
  }

  /**
   * SIGTERM to the command and to every process it started, as a terminal's Ctrl-C reaches a whole
   * job (a script's shell dies of SIGTERM without passing it on, and its build would go on, orphaned,
   * writing into the cache); then SIGKILL to those still running after {@link #TERMINATION_SECONDS}.
   */
  private static void stop(Process process) {
    if (!process.isAlive()) {
      return;
    }
    // Taken first: a process whose parent dies is no longer the command's descendant.
    java.util.Set<ProcessHandle> tree = new java.util.LinkedHashSet<>(process.descendants().toList());
    process.destroy();
    tree.forEach(ProcessHandle::destroy);
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(TERMINATION_SECONDS);
    try {
      if (process.waitFor(TERMINATION_SECONDS, TimeUnit.SECONDS)) {
        for (ProcessHandle p : tree) {
          long left = deadline - System.nanoTime();
          if (left <= 0) {
            break;
          }
          try {
            p.onExit().get(left, TimeUnit.NANOSECONDS);
          } catch (java.util.concurrent.ExecutionException | java.util.concurrent.TimeoutException e) {
            break;
          }
        }
      } else {
        tree.addAll(process.descendants().toList()); // what it started since
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    process.destroyForcibly();
    tree.stream().filter(ProcessHandle::isAlive).forEach(ProcessHandle::destroyForcibly);
  }
}
