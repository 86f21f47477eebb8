package dev.cachemount.core;

import dev.cachemount.core.internal.CleanupOnExit;
import dev.cachemount.core.internal.FileNameEncoding;
import java.io.ByteArrayOutputStream;
import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.Charset;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.InvalidPathException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;

/**
 * A build tool asked where its cache is ({@code go env GOCACHE}): found on the {@code PATH} of the
 * client's environment (not this JVM's), run with that environment and the client's {@code HOME},
 * standard input empty, within a time limit and with its output bounded. The tool and everything it
 * started are killed when it runs over either bound, when the calling thread is interrupted, or when
 * the JVM exits meanwhile (SIGTERM).
 */
final class ToolCommand {
  /** How long a tool may take to answer. */
  static final Duration DEFAULT_TIMEOUT = Duration.ofSeconds(60);
  /** The most bytes of standard output or standard error kept; a tool that prints more on standard output is stopped. */
  static final int MAX_OUTPUT = 64 * 1024;
  /** How long the readers of its output may take, together, to finish once the tool has exited. */
  private static final long DRAIN_MILLIS = 500;
  /** How many lines of standard error a failure quotes. */
  private static final int STDERR_LINES = 3;

  private final List<String> command;

  ToolCommand(String... command) {
    this.command = List.of(command);
  }

  /** The command as the user would type it, for messages: {@code go env GOCACHE}. */
  @Override
  public String toString() {
    return String.join(" ", command);
  }

  /** The command in backquotes, as messages quote it. */
  String quoted() {
    return "`" + this + "`";
  }

  /** The tool's name: the command's first word. */
  String tool() {
    return command.get(0);
  }

  /** Why a run gave no answer: a message that names the command. */
  static final class Failure extends Exception {
    private static final long serialVersionUID = 1L;
    private final boolean notFound;

    private Failure(String message, boolean notFound) {
      super(message);
      this.notFound = notFound;
    }

    /** Whether the tool was not on PATH at all (rather than there and failing). */
    boolean notFound() {
      return notFound;
    }
  }

  /**
   * Runs the command and returns what it printed on standard output, when it exits with status 0.
   *
   * @param env the environment to find the tool in ({@code PATH}) and run it with
   * @param home its {@code HOME}
   * @throws Failure when the tool is not on PATH, cannot be started, exits with another status, takes
   *     longer than {@code timeout} or prints more than {@link #MAX_OUTPUT} bytes
   * @throws CachemountException of kind OPERATIONAL when the calling thread is interrupted (the
   *     interrupt is kept)
   */
  String run(Map<String, String> env, Path home, Duration timeout) throws Failure {
    Path executable = onPath(tool(), env).orElseThrow(() -> new Failure(tool() + " is not on PATH (" + searched(env) + ")"
        + onShellPath(tool(), env).map(p -> "; " + p.normalize() + " is in the relative PATH entry " + relativeEntry(p, env) + ", which is not searched"
            + " (a relative entry is the working directory's, not a tool cachemount runs)").orElse(""), true));
    List<String> argv = new ArrayList<>(command);
    argv.set(0, executable.toString());
    ProcessBuilder builder = new ProcessBuilder(argv).redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")));
    Map<String, String> environment = builder.environment();
    environment.clear();
    environment.putAll(env);
    environment.put("HOME", home.toString());
    Process process;
    try {
      process = builder.start();
    } catch (IOException e) {
      throw new Failure(quoted() + " could not be started (" + executable + "): " + e.getMessage(), false);
    }
    try (CleanupOnExit cleanup = CleanupOnExit.register("cachemount-stop-" + tool(), () -> kill(process))) {
      BoundedReader out = BoundedReader.start(process.getInputStream(), tool() + "-stdout");
      BoundedReader err = BoundedReader.start(process.getErrorStream(), tool() + "-stderr");
      long deadline = System.nanoTime() + timeout.toNanos();
      while (!process.waitFor(20, TimeUnit.MILLISECONDS) && !out.overflowed()) {
        if (System.nanoTime() - deadline > 0) {
          kill(process);
          throw new Failure(quoted() + " did not finish within " + Durations.text(timeout) + "; it was stopped", false);
        }
      }
      if (out.overflowed()) {
        kill(process); // it may go on printing
      }
      long drained = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(DRAIN_MILLIS);
      out.finish(drained);
      err.finish(drained);
      if (out.overflowed()) {
        throw new Failure(quoted() + " printed more than " + MAX_OUTPUT / 1024 + " KiB on standard output, which is not a directory's name", false);
      }
      if (process.exitValue() != 0) {
        String said = firstLines(err.text());
        throw new Failure(quoted() + " exited with status " + process.exitValue() + (said.isEmpty() ? " and printed nothing on standard error" : ": " + said), false);
      }
      return out.text();
    } catch (InterruptedException e) {
      kill(process);
      Thread.currentThread().interrupt();
      throw new CachemountException(FailureKind.OPERATIONAL, toString() + " was interrupted; it was stopped", e);
    }
  }

  /**
   * The executable file {@code tool} names in the absolute directories of {@code env}'s PATH: a tool
   * that cachemount runs of its own accord (a preset's) or whose files it reads. Relative entries
   * ({@code .}, an empty one, as in {@code PATH=$PATH:} with an extra variable unset) are passed over,
   * as Go's os/exec does since 1.19: they name the working directory, a checkout whose {@code ./go} a
   * pull request may have put there.
   */
  static Optional<Path> onPath(String tool, Map<String, String> env) {
    return search(tool, env, false);
  }

  /** The executable file {@code tool} names in the directories of {@code env}'s PATH, relative ones too, as a shell finds a command it is given. */
  static Optional<Path> onShellPath(String tool, Map<String, String> env) {
    return search(tool, env, true);
  }

  /** The first relative entry of {@code env}'s PATH in which {@code found} is, quoted ('' for an empty one). */
  private static String relativeEntry(Path found, Map<String, String> env) {
    for (String directory : env.getOrDefault("PATH", "").split(":", -1)) {
      if (!directory.startsWith("/") && found.getParent().equals(Path.of(directory.isEmpty() ? "." : directory).toAbsolutePath())) {
        return directory.isEmpty() ? "'' (empty)" : directory;
      }
    }
    return "";
  }

  private static Optional<Path> search(String tool, Map<String, String> env, boolean relativeEntries) {
    String path = env.get("PATH");
    if (path == null) {
      return Optional.empty();
    }
    for (String directory : path.split(":", -1)) {
      if (!relativeEntries && !directory.startsWith("/")) {
        continue;
      }
      try {
        Path candidate = Path.of(directory.isEmpty() ? "." : directory).resolve(tool).toAbsolutePath();
        if (Files.isRegularFile(candidate) && Files.isExecutable(candidate)) {
          return Optional.of(candidate);
        }
      } catch (InvalidPathException e) {
        // not a directory a shell could search either
      }
    }
    return Optional.empty();
  }

  /** The PATH a tool was looked for in, for messages. */
  static String searched(Map<String, String> env) {
    return shortened(Optional.ofNullable(env.get("PATH")).map(p -> "PATH=" + p).orElse("PATH is not set"));
  }

  /** Kills the tool and whatever it started (a shim's child holds its output open otherwise). */
  private static void kill(Process process) {
    process.descendants().forEach(ProcessHandle::destroyForcibly);
    process.destroyForcibly();
  }

  /** The first lines of a tool's standard error that say something, joined, each cut short. */
  private static String firstLines(String stderr) {
    List<String> lines = stderr.lines().map(String::strip).filter(l -> !l.isEmpty()).limit(STDERR_LINES).map(ToolCommand::shortened).toList();
    return String.join(" / ", lines);
  }

  private static String shortened(String text) {
    return text.length() <= 300 ? text : text.substring(0, 300) + "…";
  }

  /**
   * Reads one of the tool's streams on a thread of its own, so that neither fills its pipe while the
   * other is read: keeps the first {@link #MAX_OUTPUT} bytes, reads and drops the rest, and says when
   * there was more.
   */
  private static final class BoundedReader implements Runnable {
    private final InputStream in;
    private final ByteArrayOutputStream kept = new ByteArrayOutputStream();
    private final Thread thread;
    private volatile boolean overflowed;

    private BoundedReader(InputStream in, String name) {
      this.in = in;
      this.thread = new Thread(this, "cachemount-" + name);
      thread.setDaemon(true);
    }

    static BoundedReader start(InputStream in, String name) {
      BoundedReader reader = new BoundedReader(in, name);
      reader.thread.start();
      return reader;
    }

    @Override
    public void run() {
      byte[] buffer = new byte[8192];
      try (in) {
        for (int n; (n = in.read(buffer)) >= 0;) {
          synchronized (kept) {
            int room = Math.min(n, MAX_OUTPUT - kept.size());
            kept.write(buffer, 0, room);
            overflowed |= room < n;
          }
        }
      } catch (IOException e) {
        // the tool was killed, or its pipe closed: what was read stays
      }
    }

    boolean overflowed() {
      return overflowed;
    }

    /**
     * Waits, until {@code deadline} ({@link System#nanoTime()}) at the latest, for the end of the stream
     * once the tool has exited: a process it left behind may hold the stream open, and then what was
     * read so far is all there is.
     */
    void finish(long deadline) throws InterruptedException {
      long left = deadline - System.nanoTime();
      if (left > 0) {
        TimeUnit.NANOSECONDS.timedJoin(thread, left);
      }
    }

    String text() {
      synchronized (kept) {
        return kept.toString(charset());
      }
    }

    /** Output is decoded as file names are, so that a path the tool prints names the same bytes. */
    private static Charset charset() {
      String encoding = FileNameEncoding.encoding();
      return Charset.isSupported(encoding) ? Charset.forName(encoding) : StandardCharsets.UTF_8;
    }
  }
}
