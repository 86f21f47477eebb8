package dev.cachemount.cli;

import java.util.List;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Model.OptionSpec;

/**
 * Helpers for the commands' models, which are built by code with picocli's programmatic API rather
 * than read from annotations: picocli reads annotations by reflection, and the JDK makes a proxy
 * class for each annotation type at run time, which no start-up cache keeps. That took 40 ms of
 * every command (docs/benchmarks.md). The help and error texts are picocli's, as before.
 */
final class Models {
  private Models() {}

  /**
   * {@code -h}/{@code --help} and {@code -V}/{@code --version}, as picocli's {@code mixinStandardHelpOptions} adds them; every
   * command's {@code -V} prints the version (a command without a version provider printed nothing).
   */
  static CommandSpec withStandardHelpOptions(CommandSpec spec) {
    spec.addOption(OptionSpec.builder("-h", "--help").usageHelp(true).description("Show this help message and exit.").build());
    spec.addOption(OptionSpec.builder("-V", "--version").versionHelp(true).description("Print version information and exit.").build());
    spec.versionProvider(new VersionCommand.Provider());
    return spec;
  }

  /** A flag: no parameter, false unless given. */
  static OptionSpec flag(String[] names, String... description) {
    return OptionSpec.builder(names).type(boolean.class).initialValue(false).description(description).build();
  }

  /** A repeatable option with a parameter each time. */
  static OptionSpec.Builder repeatable(String name, String paramLabel) {
    return OptionSpec.builder(name).paramLabel(paramLabel).type(List.class).auxiliaryTypes(String.class);
  }

  /** The value the command line gave an option of {@code spec} (its initial value if none). */
  @SuppressWarnings("unchecked")
  static <T> T value(CommandSpec spec, String option) {
    return (T) spec.findOption(option).getValue();
  }
}
