package dev.cachemount.cli;

import dev.cachemount.core.Version;
import dev.cachemount.core.oci.SnapshotConfig;
import picocli.CommandLine.Command;
import picocli.CommandLine;

@Command(name = "version", description = "Print the version of cachemount, its snapshot format and its runtime.")
final class VersionCommand implements Runnable {
  @CommandLine.Spec CommandLine.Model.CommandSpec spec;

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
