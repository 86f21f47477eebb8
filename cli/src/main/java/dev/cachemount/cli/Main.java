package dev.cachemount.cli;

import dev.cachemount.core.Cachemount;
import dev.cachemount.core.CachemountException;
import java.io.PrintWriter;
import java.util.List;
import picocli.CommandLine;
import picocli.CommandLine.Model.CommandSpec;

/**
 * {@code cachemount}: push a cache directory to a store, pull it back, inspect what is stored. The
 * commands parse their input into the core's types and print its results; all logic is in the core.
 *
 * <p>Exit codes: 0 success or cache miss; 1 operational failure; 2 usage or spec error; 3
 * authentication refused; 4 integrity failure.
 */
public final class Main implements Runnable {
  private CommandSpec spec;

  @Override
  public void run() {
    throw new CommandLine.ParameterException(spec.commandLine(), "a command is required: push, pull, run, inspect, ls, verify, prune or version");
  }

  /** The top-level command's model (see {@link Models}). */
  private static CommandSpec model() {
    Main main = new Main();
    main.spec = Models.withStandardHelpOptions(CommandSpec.wrapWithoutInspection(main).name("cachemount"));
    main.spec.versionProvider(new VersionCommand.Provider());
    main.spec.usageMessage()
        .description("Build caches as deduplicated OCI artifacts: push a cache directory, pull it back.")
        .footerHeading("%nExit codes:%n")
        .footer(
            "  0  success, or a cache miss on pull",
            "  1  operational failure (I/O, store, network)",
            "  2  usage or spec error",
            "  3  authentication or authorization refused",
            "  4  integrity failure (digest mismatch, corrupt or unsafe artifact)");
    return main.spec;
  }

  public static void main(String[] args) {
    Cachemount client = Cachemount.builder().env(callerEnvironment(System.getenv())).build();
    System.exit(run(args, new PrintWriter(System.out, true), new PrintWriter(System.err, true), client));
  }

  /** What the launcher notes when it sets {@code LC_ALL=C.UTF-8}: the caller's {@code LC_ALL}, {@code set:VALUE}, or empty where it was unset. */
  static final String CALLER_LC_ALL = "CACHEMOUNT_CALLER_LC_ALL";

  /**
   * The environment the caller started cachemount in, for the commands it runs ({@code run}'s, a
   * preset's tool): the launcher's {@code LC_ALL=C.UTF-8}, which is for this JVM's file names, undone,
   * so that {@code run -- mvn} gets the locale (and the platform encoding) that {@code mvn} alone gets.
   */
  static java.util.Map<String, String> callerEnvironment(java.util.Map<String, String> env) {
    String was = env.get(CALLER_LC_ALL);
    if (was == null) {
      return env;
    }
    java.util.Map<String, String> caller = new java.util.HashMap<>(env);
    caller.remove(CALLER_LC_ALL);
    if (was.startsWith("set:")) {
      caller.put("LC_ALL", was.substring("set:".length()));
    } else {
      caller.remove("LC_ALL");
    }
    return java.util.Collections.unmodifiableMap(caller);
  }

  /** The subcommands, in the order the usage lists them. */
  private static final List<String> COMMANDS = List.of("push", "pull", "run", "inspect", "ls", "verify", "prune", "version", "help");

  /** A new model of the subcommand {@code name}. */
  private static CommandLine subcommand(String name, Cachemount client) {
    return switch (name) {
      case "push" -> new CommandLine(PushCommand.model(client));
      case "pull" -> new CommandLine(PullCommand.model(client));
      case "run" -> new CommandLine(RunCommand.model(client));
      case "inspect" -> new CommandLine(InspectCommand.model(client));
      case "ls" -> new CommandLine(LsCommand.model(client));
      case "verify" -> new CommandLine(VerifyCommand.model(client));
      case "prune" -> new CommandLine(PruneCommand.model(client));
      case "version" -> new CommandLine(VersionCommand.model());
      // Only usage and errors need it, and its model is picocli's own, read from its annotations.
      case "help" -> new CommandLine(new CommandLine.HelpCommand());
      default -> throw new IllegalArgumentException(name);
    };
  }

  /** Runs the CLI with the given streams and client; returns the exit code. */
  public static int run(String[] args, PrintWriter out, PrintWriter err, Cachemount client) {
    CommandLine cli = new CommandLine(model());
    // A command line that names its command gets only that one (its usage and errors name no
    // other); anything else (no command, an option first, "help", a typo) gets all of them, for the
    // usage and the error. Each model costs a little to build.
    if (args.length > 0 && !"help".equals(args[0]) && COMMANDS.contains(args[0])) {
      cli.addSubcommand(args[0], subcommand(args[0], client));
    } else {
      COMMANDS.forEach(name -> cli.addSubcommand(name, subcommand(name, client)));
    }
    // run's COMMAND is another program's argument list, passed on as given: picocli's @file
    // expansion (which its parser applies to every argument, after -- too) would put the words of
    // body.json in place of `curl -d @body.json` and make `@@x` `@x`.
    if (args.length > 0 && "run".equals(args[0])) {
      cli.setExpandAtFiles(false);
    }
    cli.setOut(out);
    cli.setErr(err);
    // picocli checks required options before it reports unknown ones: "push --cahce-id SPEC" said
    // only that --cache-id was missing. An unknown option is then what to name (with suggestions).
    CommandLine.IParameterExceptionHandler parameterErrors = cli.getParameterExceptionHandler();
    cli.setParameterExceptionHandler((e, arguments) -> {
      CommandLine.ParameterException shown = e;
      if (e instanceof CommandLine.MissingParameterException && !e.getCommandLine().getUnmatchedArguments().isEmpty()) {
        shown = new CommandLine.UnmatchedArgumentException(e.getCommandLine(), e.getCommandLine().getUnmatchedArguments());
      }
      return parameterErrors.handleParseException(shown, arguments);
    });
    cli.setExecutionExceptionHandler((e, commandLine, parseResult) -> {
      if (e instanceof CachemountException ce) {
        err.println("cachemount: error: " + ce.getMessage());
        return ce.kind().exitCode();
      }
      err.println("cachemount: unexpected error: " + e);
      e.printStackTrace(err);
      return 1;
    });
    int code;
    // A signal (Ctrl-C, a cancelled CI job's SIGTERM) ends the JVM in the middle of the command: the
    // core's exit hooks remove what it half-wrote; this one says why the command stopped, which
    // otherwise ended without a word (exit 130 or 143).
    Thread notice = new Thread(() -> stoppedNotice(cli, err), "cachemount-stopped-notice");
    boolean noticeRegistered = registerQuietly(notice);
    try {
      code = cli.execute(args);
    } catch (OutOfMemoryError e) {
      // A cache whose index outgrows the JVM's heap (by default a quarter of the machine's memory),
      // or a hostile one: said plainly, with the way out, not as the JVM's stack trace.
      err.println("cachemount: error: out of memory (" + e.getMessage() + "): the cache is too large for the JVM's heap (its index"
          + " of every file and chunk is held in memory: a push of 300,000 small files needs more than 256 MiB), or a stored snapshot is damaged;"
          + " give the JVM more with CACHEMOUNT_JAVA_OPTS='-XX:+UseSerialGC -Xmx4g'"
          + " (these replace the launcher's default options)");
      code = 1;
    } finally {
      if (noticeRegistered) {
        try {
          Runtime.getRuntime().removeShutdownHook(notice);
        } catch (IllegalStateException e) {
          // the JVM is exiting: the notice runs
        }
      }
    }
    out.flush();
    err.flush();
    return code;
  }

  /**
   * The notice that a signal stopped the command: on a line of its own, the progress bar taken down
   * first and drawn no more (the operation goes on while the JVM's exit hooks run).
   */
  static void stoppedNotice(CommandLine cli, PrintWriter err) {
    for (CommandLine sub : cli.getSubcommands().values()) {
      if (sub.getCommandSpec().userObject() instanceof CacheCommand command) {
        command.stopProgress();
      }
    }
    synchronized (err) {
      err.println("cachemount: stopped by a signal before its own work completed; what it had half-written is removed"
          + " (a pull keeps the files it completed, a push the blobs it stored); run it again to finish");
      err.flush();
    }
  }

  private static boolean registerQuietly(Thread hook) {
    try {
      Runtime.getRuntime().addShutdownHook(hook);
      return true;
    } catch (IllegalStateException e) {
      return false; // the JVM is exiting already
    }
  }
}
