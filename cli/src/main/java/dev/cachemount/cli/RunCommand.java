package dev.cachemount.cli;

import dev.cachemount.core.CachedCommand;
import dev.cachemount.core.CacheSpec;
import dev.cachemount.core.Cachemount;
import dev.cachemount.core.CachemountException;
import dev.cachemount.core.SpecRuns;
import java.util.List;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Model.OptionSpec;
import picocli.CommandLine.Model.PositionalParamSpec;

/** {@code run -- CMD}: pull, run the command, push ({@link CachedCommand}); what the caches did goes to standard error. */
final class RunCommand extends CacheCommand {
  static CommandSpec model(Cachemount client) {
    CommandSpec spec = model(new RunCommand(), client, "run",
        "Pull each cache, run COMMAND, then push each cache if COMMAND succeeded; exit with COMMAND's status.",
        "A cache that cannot be pulled leaves its target as it was, and COMMAND runs all the same. What the caches did is said on"
            + " standard error, so that COMMAND's output stays its own; the exit status is COMMAND's when it failed, else that of"
            + " the first cache that failed, else 0.");
    // --json stays an option, so that run() can say why it is refused, but its help does not offer it.
    OptionSpec json = spec.findOption("--json");
    spec.remove(json);
    spec.addOption(json.toBuilder().hidden(true).build());
    spec.addOption(Models.flag(new String[] {"--push-always"}, "Push the caches even when COMMAND failed (a failed build's downloads are kept too)."));
    spec.addPositional(PositionalParamSpec.builder().paramLabel("COMMAND").arity("1..*").type(List.class).auxiliaryTypes(String.class)
        .description("The command and its arguments, after --: run -- mvn -B verify").build());
    // Everything from the command on is the command's: `run --cache-id X mvn -B` does not read -B as an option of run.
    spec.parser().stopAtPositional(true);
    return withProgress(spec);
  }

  @Override
  int run() {
    if (json) {
      throw CachemountException.usage("run does not take --json: its standard output is the command's; the caches' results go to"
          + " standard error as lines (use push and pull for JSON)");
    }
    List<String> given = spec.positionalParameters().get(0).getValue();
    List<String> command = given == null ? List.of() : given;
    List<CacheSpec> specs = specs();
    specCount = specs.size();
    client = configuredClient();
    CachedCommand.PushWhen when = Boolean.TRUE.equals(Models.value(spec, "--push-always")) ? CachedCommand.PushWhen.ALWAYS
        : CachedCommand.PushWhen.SUCCESS;
    CachedCommand.Result result = client.run(specs, command, when, new CachedCommand.Report() {
      @Override
      public void pulled(SpecRuns.Run run) {
        report(run);
      }

      @Override
      public void commandEnded(int status) {
        if (status != 0) {
          err().println("cachemount: the command exited with status " + status);
          err().flush();
        }
      }

      @Override
      public void pushed(SpecRuns.Run run) {
        report(run);
      }
    }, listener());
    return result.exitCode();
  }

  /** How many specs the command runs: its failure lines name the id where there are several. */
  private int specCount;

  private void report(SpecRuns.Run run) {
    if (run.defect() != null) {
      err().println("cachemount: " + run.failure().getMessage());
      run.defect().printStackTrace(err());
    } else if (run.failed()) {
      err().println(failureLine(run, specCount));
    } else {
      err().println("cachemount: " + Text.describe(run.result(), run.spec()));
    }
    err().flush();
  }
}
