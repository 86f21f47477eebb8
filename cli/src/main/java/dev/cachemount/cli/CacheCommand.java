package dev.cachemount.cli;

import dev.cachemount.core.CacheSpec;
import dev.cachemount.core.Cachemount;
import dev.cachemount.core.CachemountException;
import dev.cachemount.core.OperationListener;
import dev.cachemount.core.OperationResult;
import dev.cachemount.core.SpecRuns;
import dev.cachemount.core.oci.Json;
import dev.cachemount.core.registry.RegistrySettings;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Model.OptionSpec;

/**
 * What push, pull, inspect and verify share: the repeatable {@code --cache-id} spec, {@code --json} and
 * {@code --verbose}, and running one core operation per cache id.
 */
abstract class CacheCommand implements Callable<Integer> {
  Cachemount client;
  CommandSpec spec;
  List<String> cacheIds;
  Path caFile;
  List<String> insecureRegistries;
  boolean passwordStdin;
  boolean json;
  boolean verbose;
  /** How progress is shown: {@code --progress}, where the command has it (push, pull, run, verify). */
  ProgressOutput.Mode progress = ProgressOutput.Mode.NONE;
  /** Standard error as the progress and the warnings share it; set while the command runs. */
  private ProgressOutput output;
  /** Set while the command runs (tests set it); volatile: {@link #stopProgress} reads it on the thread of a shutdown hook. */
  volatile java.util.Optional<dev.cachemount.core.ProgressTicker> ticker = java.util.Optional.empty();

  /**
   * The model of a cache command (see {@link Models}): its name and description, the standard help
   * options and the options every cache command takes; the command adds its own.
   */
  static CommandSpec model(CacheCommand command, Cachemount client, String name, String... description) {
    CommandSpec spec = CommandSpec.wrapWithoutInspection(command).name(name);
    spec.usageMessage().description(description);
    spec.addOption(Models.repeatable("--cache-id", "SPEC").required(true).description(
        "Which cache, where it is stored, which directory it mirrors; repeatable.",
        "Local:    id=NAME[,type=local][,dir=STORE_DIR][,target=DIR][,compression-level=N]",
        "Registry: id=NAME,[type=registry,]ref=HOST[:PORT]/REPO[:TAG|@sha256:D][,insecure=true][,target=DIR]",
        "Also: from=REF (repeatable), fallback=TAG_PREFIX (repeatable), mode=mirror|merge, max-size=SIZE, verify=metadata|content.",
        "image=TAG (push): also store the directory as an image under TAG, to seed a BuildKit cache mount from (--mount=type=cache,from=...);"
            + " image-compression=gzip for Docker Engines before 23 (zstd, the default, needs BuildKit 0.10 or newer).",
        "preset=NAME: the cache directory the tool names (go env GOCACHE, Maven's settings, ...) as target, and NAME as id unless"
            + " id= is given: " + dev.cachemount.core.CachePreset.names() + ".",
        "Comma-separated key=value fields, CSV-quoted as buildx reads --cache-to.",
        "dir defaults to $${XDG_CACHE_HOME:-~/.cache}/cachemount/store; the tag defaults to the id.").build());
    spec.addOption(OptionSpec.builder("--ca-file").paramLabel("PEM").type(Path.class).description(
        "Trust the certificates in PEM (besides the system's) for registry TLS: a registry with a private CA.").build());
    spec.addOption(Models.repeatable("--insecure-registry", "HOST[:PORT]").description(
        "Allow plain HTTP and unverified TLS to this registry; repeatable. A registry on this machine (loopback) may always answer in plain HTTP, but its TLS is verified unless it is named here.").build());
    spec.addOption(Models.flag(new String[] {"--password-stdin"},
        "Read the registry password (or token) from standard input; the user name comes from CACHEMOUNT_REGISTRY_USER."));
    spec.addOption(Models.flag(new String[] {"--json"}, "Print one JSON object per cache id on standard output."));
    spec.addOption(Models.flag(new String[] {"-v", "--verbose"}, "Say more on standard error."));
    command.spec = spec;
    command.client = client;
    return Models.withStandardHelpOptions(spec);
  }

  /** Adds {@code --progress} to the model of a command whose operations report progress. */
  static CommandSpec withProgress(CommandSpec spec) {
    spec.addOption(OptionSpec.builder("--progress").paramLabel("MODE").type(String.class).defaultValue("${env:CACHEMOUNT_PROGRESS:-auto}")
        .description("How progress is shown on standard error: auto (a bar on a terminal, else a line every "
            + ProgressOutput.LOG_INTERVAL.toSeconds() + " s once an operation has run that long), tty (a bar), plain (the lines)"
            + " or none. Default: $$CACHEMOUNT_PROGRESS, else auto.").build());
    return spec;
  }

  @Override
  public final Integer call() {
    cacheIds = Models.value(spec, "--cache-id");
    caFile = Models.value(spec, "--ca-file");
    List<String> insecure = Models.value(spec, "--insecure-registry");
    insecureRegistries = insecure == null ? List.of() : insecure;
    passwordStdin = Models.value(spec, "--password-stdin");
    json = Models.value(spec, "--json");
    verbose = Models.value(spec, "--verbose");
    if (spec.findOption("--progress") != null) {
      progress = ProgressOutput.Mode.parse(Models.value(spec, "--progress"));
    }
    ticker = ProgressOutput.ticker(progress, err(), ProgressOutput.stderrIsTerminal(), System.getenv("TERM"), ProgressOutput.columns());
    output = new ProgressOutput(err(), false, ProgressOutput.columns());
    try {
      return run();
    } finally {
      ticker.ifPresent(dev.cachemount.core.ProgressTicker::close);
    }
  }

  /**
   * Takes the progress bar down, if one is up, and shows no more progress: for a line that must not
   * land on the bar, from another thread (the notice that a signal stopped the command).
   */
  void stopProgress() {
    ticker.ifPresent(dev.cachemount.core.ProgressTicker::close);
  }

  /** Runs the command, its options read; returns the exit code. */
  abstract int run();

  /** The client with this command's registry flags applied. */
  Cachemount configuredClient() {
    RegistrySettings settings = client.registry();
    if (caFile != null) {
      settings = settings.withCaFile(caFile.toAbsolutePath());
    }
    if (!insecureRegistries.isEmpty()) {
      settings = settings.withInsecureRegistries(new java.util.HashSet<>(insecureRegistries));
    }
    if (passwordStdin) {
      try {
        settings = settings.withCredential(client.passwordFromStdin(new String(System.in.readAllBytes(), java.nio.charset.StandardCharsets.UTF_8)));
      } catch (java.io.IOException e) {
        throw CachemountException.usage("--password-stdin could not read standard input: " + e.getMessage());
      }
    }
    return settings == client.registry() ? client : client.withRegistry(settings);
  }

  static CachemountException unexpected(RuntimeException e) {
    return SpecRuns.unexpected(e);
  }

  /** Parses every spec first, so that one bad spec fails the command before anything runs. */
  List<CacheSpec> specs() {
    List<CacheSpec> specs = new ArrayList<>();
    for (String text : cacheIds) {
      specs.add(client.parseSpec(text));
    }
    return specs;
  }

  /** Refuses specs that would undo each other within this command; by default none do. */
  void checkTogether(List<CacheSpec> specs) {}

  PrintWriter out() {
    return spec.commandLine().getOut();
  }

  PrintWriter err() {
    return spec.commandLine().getErr();
  }

  /**
   * What an operation reports goes to standard error: warnings, notes with {@code -v}, and its
   * progress as {@code --progress} says.
   */
  OperationListener listener() {
    ProgressOutput lines = ticker.map(t -> t.display() instanceof ProgressOutput o ? o : null).orElse(output);
    boolean verbose = this.verbose;
    OperationListener says = new OperationListener() {
      @Override
      public void warning(String message) {
        lines.println("cachemount: warning: " + message);
      }

      @Override
      public void info(String message) {
        if (verbose) {
          lines.println("cachemount: " + message);
        }
      }
    };
    return ticker.map(t -> t.showing(says)).orElse(says);
  }

  /** A look at what is stored for one spec: empty when nothing is (a miss). */
  interface Lookup<T> {
    java.util.Optional<T> run(CacheSpec spec, OperationListener listener);
  }

  /**
   * Runs {@code lookup} for every spec, printing what it found ({@code text}, or with --json an object
   * whose {@code result} is {@code found} and whose {@code key} holds it), a miss, or the failure; a
   * failure of one id does not stop the others. Returns the exit code of the first failure, else 0.
   */
  <T> int runLookups(Lookup<T> lookup, String found, String key, java.util.function.BiFunction<String, T, String> text) {
    int exit = 0;
    List<CacheSpec> specs = specs();
    client = configuredClient();
    for (CacheSpec s : specs) {
      try {
        java.util.Optional<T> value = lookup.run(s, listener());
        if (json) {
          java.util.Map<String, Object> object = new java.util.LinkedHashMap<>();
          object.put("id", s.id());
          object.put("result", value.isPresent() ? found : "miss");
          value.ifPresent(v -> object.put(key, v));
          out().println(new String(Json.write(object), java.nio.charset.StandardCharsets.UTF_8));
        } else {
          String shown = value.map(v -> text.apply(s.id(), v)).orElse(s.id() + ": miss, nothing stored for this id");
          // Nothing to show (ls of an empty snapshot, or of paths nothing is at): no empty line.
          if (!shown.isEmpty()) {
            out().println(shown);
          }
        }
      } catch (CachemountException e) {
        lookupFailed(s, e);
        if (exit == 0) {
          exit = e.kind().exitCode();
        }
      } catch (RuntimeException e) {
        // A defect: reported with its trace on standard error, with or without --json, as push and pull do.
        CachemountException wrapped = unexpected(e);
        err().println("cachemount: " + wrapped.getMessage());
        e.printStackTrace(err());
        if (json) {
          lookupFailed(s, wrapped);
        }
        if (exit == 0) {
          exit = wrapped.kind().exitCode();
        }
      }
      out().flush();
    }
    return exit;
  }

  /** As push and pull: the message on standard error, or with --json a {@code failed} object on standard output instead. */
  private void lookupFailed(CacheSpec s, CachemountException e) {
    if (!json) {
      err().println("cachemount: error: " + e.getMessage());
    } else {
      java.util.Map<String, Object> object = new java.util.LinkedHashMap<>();
      object.put("id", s.id());
      object.put("result", "failed");
      object.put("error", e.getMessage());
      object.put("exitCode", e.kind().exitCode());
      out().println(new String(Json.write(object), java.nio.charset.StandardCharsets.UTF_8));
    }
  }

  /** One operation on one spec. */
  interface Operation {
    OperationResult run(CacheSpec spec, OperationListener listener);
  }

  /** The line that tells of {@code run}'s failure; with several specs, it names the id, as the other ids' lines do. */
  static String failureLine(SpecRuns.Run run, int specs) {
    return "cachemount: error: " + (specs > 1 ? run.spec().id() + ": " : "") + run.failure().getMessage();
  }

  /**
   * Runs {@code operation} for every spec, printing each result; a failure of one id does not stop
   * the others. Returns the exit code of the first failure, else 0.
   */
  int runEach(Operation operation) {
    List<CacheSpec> specs = specs();
    checkTogether(specs);
    client = configuredClient();
    List<SpecRuns.Run> runs = SpecRuns.each(specs, s -> operation.run(s, listener()), run -> {
      if (run.defect() != null) {
        // A defect, not a condition the core classifies: report it with its trace; the other ids go on.
        err().println("cachemount: " + run.failure().getMessage());
        run.defect().printStackTrace(err());
      } else if (run.failed() && !json) {
        err().println(failureLine(run, specs.size()));
      }
      if (json) {
        out().println(new String(Json.write(run.result()), java.nio.charset.StandardCharsets.UTF_8));
      } else if (!run.failed()) {
        out().println(Text.describe(run.result(), run.spec()));
      }
      out().flush();
    });
    return SpecRuns.firstFailure(runs).map(e -> e.kind().exitCode()).orElse(0);
  }
}
