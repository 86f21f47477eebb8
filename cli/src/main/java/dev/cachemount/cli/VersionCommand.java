package dev.cachemount.cli;

import dev.cachemount.core.Version;
import dev.cachemount.core.oci.SnapshotConfig;
import picocli.CommandLine;
import picocli.CommandLine.Model.CommandSpec;

final class VersionCommand implements Runnable {
  private CommandSpec spec;

  static CommandSpec model() {
    VersionCommand command = new VersionCommand();
    command.spec = CommandSpec.wrapWithoutInspection(command).name("version");
    command.spec.usageMessage().description("Print the version of cachemount, its snapshot format and its runtime.");
    command.spec.addOption(CommandLine.Model.OptionSpec.builder("-h", "--help").usageHelp(true).description("Show this help message and exit.").build());
    return command.spec;
  }

  @Override
  public void run() {
    for (String line : lines()) {
      spec.commandLine().getOut().println(line);
    }
  }

  static String[] lines() {
    return new String[] {
      "cachemount " + Version.get(),
      "snapshot format " + SnapshotConfig.FORMAT_VERSION + " (application/vnd.cachemount.snapshot.v1)",
      "java " + System.getProperty("java.version") + " (" + System.getProperty("java.vm.name") + ")"
    };
  }

  /** Feeds {@code --version}. */
  static final class Provider implements CommandLine.IVersionProvider {
    @Override
    public String[] getVersion() {
      return lines();
    }
  }
}
