package dev.cachemount.cli;

import picocli.CommandLine.Command;

@Command(
    name = "push",
    mixinStandardHelpOptions = true,
    description = {
      "Snapshot each cache's target directory and store it under its id.",
      "Only new chunks are written; a tree equal to the stored snapshot writes nothing (result: unchanged)."
    })
final class PushCommand extends CacheCommand {
  @Override
  public Integer call() {
    return runEach((s, listener) -> client.push(s, listener));
  }
}
