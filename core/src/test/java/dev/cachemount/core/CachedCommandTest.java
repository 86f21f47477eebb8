package dev.cachemount.core;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.cachemount.core.testing.Processes;
import dev.cachemount.core.testing.RecordingListener;
import dev.cachemount.core.testing.TestTrees;
import dev.cachemount.core.testing.TreeListing;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code run -- CMD}: the caches pulled, the command run in between, the caches pushed after a
 * command that succeeded; the command's status is the run's.
 */
class CachedCommandTest {
  @TempDir Path dir;
  Path store;
  Path target;
  Cachemount client;
  final List<String> steps = new ArrayList<>();

  @BeforeEach
  void setUp() {
    store = dir.resolve("store");
    target = dir.resolve("target");
    client = Cachemount.builder().home(dir).env(Map.of("PATH", "/usr/bin:/bin", "HOME", dir.toString(), "WHERE", target.toString()))
        .workers(2).build();
  }

  private CacheSpec spec() {
    return client.parseSpec("id=m2,dir=" + store + ",target=" + target);
  }

  private final CachedCommand.Report report = new CachedCommand.Report() {
    @Override
    public void pulled(SpecRuns.Run run) {
      steps.add("pull " + run.result().result().key());
    }

    @Override
    public void commandEnded(int status) {
      steps.add("command " + status);
    }

    @Override
    public void pushed(SpecRuns.Run run) {
      steps.add("push " + run.result().result().key());
    }
  };

  /** sh -c SCRIPT, with the client's environment: $WHERE is the target. */
  private CachedCommand.Result run(String script, CachedCommand.PushWhen when, OperationListener listener) {
    return client.run(List.of(spec()), List.of("sh", "-c", script), when, report, listener);
  }

  /**
   * The CI job in one command: the first run misses, the command builds the cache, the push stores
   * it; the second run restores it before its command, which sees the files and adds one.
   */
  @Test
  void pullsRunsAndPushesInThatOrder() throws IOException {
    Path source = dir.resolve("source");
    TestTrees.mixed(source, 3);
    String copy = "cp -a " + source + "/. \"$WHERE\"";
    CachedCommand.Result first = run("mkdir -p \"$WHERE\" && " + copy, CachedCommand.PushWhen.SUCCESS, OperationListener.NONE);
    assertEquals(List.of("pull miss", "command 0", "push pushed"), steps);
    assertEquals(0, first.exitCode());

    Files.walk(target).sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
    steps.clear();
    // The command runs after the pull: it finds the restored tree, and what it adds is pushed.
    CachedCommand.Result second = run("test -f \"$WHERE/org/example/group0/1.0/artifact-1.0.jar\" && echo built > \"$WHERE/new-file\"",
        CachedCommand.PushWhen.SUCCESS, OperationListener.NONE);
    assertEquals(List.of("pull restored", "command 0", "push pushed"), steps);
    assertEquals(0, second.exitCode());
    Path out = dir.resolve("out");
    client.pull(spec().withTarget(out), OperationListener.NONE);
    assertEquals("built\n", Files.readString(out.resolve("new-file")));
    Files.delete(out.resolve("new-file"));
    assertEquals(TreeListing.of(source), TreeListing.of(out));
  }

  /** A failed command's tree is not pushed, unless asked: the run exits with the command's status. */
  @Test
  void aFailedCommandIsNotPushedUnlessAskedAndItsStatusIsTheRuns() {
    RecordingListener listener = new RecordingListener();
    CachedCommand.Result failed = run("mkdir -p \"$WHERE\" && echo x > \"$WHERE/f\" && exit 3", CachedCommand.PushWhen.SUCCESS, listener);
    assertEquals(3, failed.commandStatus());
    assertEquals(3, failed.exitCode());
    assertEquals(List.of("pull miss", "command 3"), steps);
    assertTrue(failed.pushes().isEmpty());
    assertTrue(listener.warned("the command failed (exit status 3), so the caches were not pushed; give --push-always"), listener.warnings().toString());
    assertFalse(Files.exists(store), "nothing stored");

    steps.clear();
    CachedCommand.Result always = run("exit 5", CachedCommand.PushWhen.ALWAYS, OperationListener.NONE);
    assertEquals(List.of("pull miss", "command 5", "push pushed"), steps);
    assertEquals(5, always.exitCode(), "the command's status, though the push succeeded");
  }

  /** A command that is not there is a usage error before anything runs: nothing pulled, no target made. */
  @Test
  void aCommandThatIsNotThereFailsBeforeThePull() {
    CachemountException e = assertThrows(CachemountException.class,
        () -> client.run(List.of(spec()), List.of("no-such-tool-here", "x"), CachedCommand.PushWhen.SUCCESS, report, OperationListener.NONE));
    assertEquals(FailureKind.USAGE, e.kind());
    assertTrue(e.getMessage().contains("the command no-such-tool-here is not on PATH (PATH=/usr/bin:/bin); nothing was pulled"), e.getMessage());
    assertTrue(steps.isEmpty());
    CachemountException empty = assertThrows(CachemountException.class,
        () -> client.run(List.of(spec()), List.of(), CachedCommand.PushWhen.SUCCESS, report, OperationListener.NONE));
    assertTrue(empty.getMessage().contains("run needs a command after --"), empty.getMessage());
    CachemountException notExecutable = assertThrows(CachemountException.class,
        () -> client.run(List.of(spec()), List.of(dir.resolve("none").toString()), CachedCommand.PushWhen.SUCCESS, report, OperationListener.NONE));
    assertTrue(notExecutable.getMessage().contains("is not there"), notExecutable.getMessage());
  }

  /**
   * A cache that cannot be pulled (here a store that is not one) leaves the command to run cold; the
   * run then exits with the pull's failure though the command succeeded, as a pull step would.
   */
  @Test
  void aFailedPullStillRunsTheCommandAndDecidesTheExitOfAGoodOne() throws IOException {
    Files.createDirectories(store);
    Files.writeString(store.resolve("precious"), "not a store");
    CachedCommand.Result r = run("mkdir -p \"$WHERE\"", CachedCommand.PushWhen.SUCCESS, OperationListener.NONE);
    assertEquals(List.of("pull failed", "command 0", "push failed"), steps, "the push of the target the command made fails as the pull did");
    assertEquals(0, r.commandStatus());
    assertEquals(FailureKind.USAGE.exitCode(), r.exitCode());
    assertEquals("not a store", Files.readString(store.resolve("precious")));
  }

  /**
   * A SIGTERM (a cancelled job) while the command runs: the command is stopped, and nothing is pushed
   * after it, neither with --push-always nor after a command that ends its build early with status 0
   * on SIGTERM, since the JVM is exiting (a push begun then is cut off) and the build did not finish.
   */
  @Test
  void aRunStoppedByASignalPushesNothingWhateverTheCommandsStatus() throws Exception {
    Path started = dir.resolve("started");
    String build = "mkdir -p \"$WHERE\" && echo half > \"$WHERE/f\" && touch " + started + " && ";
    for (String script : List.of(build + "exec sleep 30", build + "trap 'exit 0' TERM; while :; do sleep 0.1; done")) {
      steps.clear();
      java.nio.file.Files.deleteIfExists(started);
      RecordingListener listener = new RecordingListener();
      CachedCommand.Result r = signalledOnceStarted(started, () -> run(script, CachedCommand.PushWhen.ALWAYS, listener));
      assertEquals(1, steps.stream().filter(s -> s.startsWith("command ")).count(), steps.toString());
      assertEquals(List.of("pull miss"), steps.subList(0, 1), steps.toString());
      assertTrue(r.pushes().isEmpty(), steps.toString());
      assertTrue(r.exitCode() != 0, "a stopped run does not succeed: " + r);
      assertTrue(listener.warned("stopped by a signal while the command ran, so the caches were not pushed"), listener.warnings().toString());
      assertFalse(Files.exists(store), "nothing stored");
    }
  }

  /**
   * A script's shell dies of SIGTERM without passing it on to what it started: the SIGTERM goes to
   * the command's processes, all of them (as Ctrl-C reaches a terminal's whole job), so that its
   * build does not go on, orphaned, writing into the cache after the job ended.
   */
  @Test
  void aRunStoppedByASignalStopsWhatTheCommandStartedToo() throws Exception {
    Path started = dir.resolve("started");
    Path grandchild = dir.resolve("grandchild");
    try {
      signalledOnceStarted(started,
          () -> run("sleep 300 & echo $! > " + grandchild + " && touch " + started + " && wait", CachedCommand.PushWhen.SUCCESS, OperationListener.NONE));
      long pid = Long.parseLong(Files.readString(grandchild).strip());
      assertTrue(Processes.endsWithin(pid, java.time.Duration.ofSeconds(5)), "the shell's child was stopped with it");
    } finally {
      if (Files.exists(grandchild)) {
        ProcessHandle.of(Long.parseLong(Files.readString(grandchild).strip())).ifPresent(ProcessHandle::destroyForcibly);
      }
    }
  }

  /**
   * A SIGTERM just as the command is about to start (a job cancelled then): the run's exit hook is in
   * place already, so the command does not start, to be left running on its own when the JVM exits.
   */
  @Test
  void aSignalJustBeforeTheCommandStartsKeepsItFromStarting() {
    Path ran = dir.resolve("ran");
    OperationListener signalled = new OperationListener() {
      @Override
      public void info(String message) {
        if (message.startsWith("running ")) {
          dev.cachemount.core.internal.CleanupOnExit.runAllAsOnExit(); // what the JVM runs on SIGTERM, now
        }
      }
    };
    CachemountException e = assertThrows(CachemountException.class, () -> run("touch " + ran, CachedCommand.PushWhen.ALWAYS, signalled));
    assertEquals(FailureKind.OPERATIONAL, e.kind());
    assertTrue(e.getMessage().contains("run was stopped by a signal before the command started"), e.getMessage());
    assertFalse(Files.exists(ran), "the command did not start");
    assertEquals(List.of("pull miss"), steps);
  }

  /**
   * Runs {@code run}, and once the command has made {@code started}, what the JVM runs on SIGTERM,
   * again until the run returns: the run registers its exit hook just after it starts the command.
   */
  private static CachedCommand.Result signalledOnceStarted(Path started, java.util.function.Supplier<CachedCommand.Result> run)
      throws InterruptedException {
    Thread signal = new Thread(() -> {
      try {
        while (!Files.exists(started)) {
          Thread.sleep(10);
        }
        while (!Thread.currentThread().isInterrupted()) {
          dev.cachemount.core.internal.CleanupOnExit.runAllAsOnExit();
          Thread.sleep(20);
        }
      } catch (InterruptedException e) {
        // the run returned
      }
    });
    signal.start();
    try {
      return run.get();
    } finally {
      signal.interrupt();
      signal.join(30_000);
    }
  }

  /** -v's "running" line quotes the words as a shell would need them, so that it shows which word is which. */
  @Test
  void theRunningLineQuotesWordsAsAShellWould() {
    RecordingListener listener = new RecordingListener();
    run("true \"it's\"", CachedCommand.PushWhen.SUCCESS, listener);
    assertTrue(listener.infos().contains("running sh -c 'true \"it'\\''s\"'"), listener.infos().toString());
    listener = new RecordingListener();
    client.run(List.of(spec()), List.of("sh", "-c", "true", "sh", "", "a=b,c/d.e:f@g%h+i"), CachedCommand.PushWhen.SUCCESS, report, listener);
    assertTrue(listener.infos().contains("running sh -c true sh '' a=b,c/d.e:f@g%h+i"), listener.infos().toString());
  }

  /** A command that never needed the cache (go version) leaves no directory: nothing to push, a warning, exit 0. */
  @Test
  void aTargetTheCommandDidNotMakeIsNotPushedAndIsNoFailure() {
    RecordingListener listener = new RecordingListener();
    CachedCommand.Result r = run("true", CachedCommand.PushWhen.SUCCESS, listener);
    assertEquals(List.of("pull miss", "command 0"), steps);
    assertEquals(0, r.exitCode());
    assertTrue(listener.warned(target + " does not exist after the command, so there is nothing to push"), listener.warnings().toString());
  }
}
