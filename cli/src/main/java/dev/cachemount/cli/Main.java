package dev.cachemount.cli;

import dev.cachemount.core.Cachemount;
import dev.cachemount.core.CachemountException;
import java.io.PrintWriter;
import java.util.LinkedHashMap;
import java.util.Map;
import picocli.CommandLine.Command;
import picocli.CommandLine;

/**
 * {@code cachemount}: push a cache directory to a store, pull it back, inspect what is stored. The
 * commands parse their input into the core's types and print its results; all logic is in the core.
 *
 * <p>Exit codes: 0 success or cache miss; 1 operational failure; 2 usage or spec error; 3
 * authentication refused; 4 integrity failure.
 */
@Command(
    name = "cachemount",
    mixinStandardHelpOptions = true,
    versionProvider = VersionCommand.Provider.class,
    description = "Build caches as deduplicated OCI artifacts: push a cache directory, pull it back.",
    footerHeading = "%nExit codes:%n",
    footer = {
      "  0  success, or a cache miss on pull",
      "  1  operational failure (I/O, store, network)",
      "  2  usage or spec error",
      "  3  authentication or authorization refused",
      "  4  integrity failure (digest mismatch, corrupt or unsafe artifact)"
    })
public final class Main implements Runnable {
  @CommandLine.Spec CommandLine.Model.CommandSpec spec;

  @Override
  public void run() {
    throw new CommandLine.ParameterException(spec.commandLine(), "a command is required: push, pull, inspect or version");
  }

  public static void main(String[] args) {
    System.exit(run(args, new PrintWriter(System.out, true), new PrintWriter(System.err, true), Cachemount.create()));
  }

  /** The subcommands, in the order the usage lists them. */
  private static final Map<String, Class<?>> COMMANDS = commands();

  private static Map<String, Class<?>> commands() {
    Map<String, Class<?>> commands = new LinkedHashMap<>();
    commands.put("push", PushCommand.class);
    commands.put("pull", PullCommand.class);
    commands.put("inspect", InspectCommand.class);
    commands.put("version", VersionCommand.class);
    commands.put("help", CommandLine.HelpCommand.class);
    return commands;
  }

  /** Runs the CLI with the given streams and client; returns the exit code. */
  public static int run(String[] args, PrintWriter out, PrintWriter err, Cachemount client) {
    Factory factory = new Factory(client);
    CommandLine cli = new CommandLine(new Main(), factory);
    // picocli builds a command's model by reflection, a tenth of a short command's time: a command
    // line that names its command gets only that one (its usage and errors name no other); anything
    // else (no command, an option first, "help", a typo) gets all of them, for the usage and the error.
    Class<?> named = args.length > 0 && !"help".equals(args[0]) ? COMMANDS.get(args[0]) : null;
    if (named != null) {
      cli.addSubcommand(args[0], new CommandLine(named, factory));
    } else {
      COMMANDS.forEach((name, command) -> cli.addSubcommand(name, new CommandLine(command, factory)));
    }
    cli.setOut(out);
    cli.setErr(err);
    cli.setExecutionExceptionHandler((e, commandLine, parseResult) -> {
      if (e instanceof CachemountException ce) {
        err.println("cachemount: error: " + ce.getMessage());
        return ce.kind().exitCode();
      }
      err.println("cachemount: unexpected error: " + e);
      e.printStackTrace(err);
      return 1;
    });
    int code = cli.execute(args);
    out.flush();
    err.flush();
    return code;
  }

  /** Hands every command the same client. */
  private static final class Factory implements CommandLine.IFactory {
    private final Cachemount client;

    Factory(Cachemount client) {
      this.client = client;
    }

    @Override
    public <K> K create(Class<K> cls) throws Exception {
      if (CacheCommand.class.isAssignableFrom(cls)) {
        K command = CommandLine.defaultFactory().create(cls);
        ((CacheCommand) command).client = client;
        return command;
      }
      return CommandLine.defaultFactory().create(cls);
    }
  }
}
