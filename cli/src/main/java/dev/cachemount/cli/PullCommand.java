package dev.cachemount.cli;

import picocli.CommandLine.Command;

@Command(
    name = "pull",
    mixinStandardHelpOptions = true,
    description = {
      "Restore each cache's stored snapshot into its target directory (created if missing).",
      "Files the snapshot does not hold are left alone. An id that is not stored is a miss: exit 0, target untouched."
    })
final class PullCommand extends CacheCommand {
  @Override
  public Integer call() {
    return runEach((s, listener) -> client.pull(s, listener));
  }
}
