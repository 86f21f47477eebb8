package dev.cachemount.cli;

import dev.cachemount.core.PushOptions;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

@Command(
    name = "push",
    mixinStandardHelpOptions = true,
    description = {
      "Snapshot each cache's target directory and store it under its id.",
      "Only new chunks are written; a tree equal to the stored snapshot writes nothing (result: unchanged)."
    })
final class PushCommand extends CacheCommand {
  @Option(names = "--force", description = {
      "Store a complete new snapshot even when the tree equals the stored one",
      "(repairs a store whose blobs were damaged)."})
  boolean force;

  @Override
  public Integer call() {
    PushOptions options = new PushOptions(force);
    return runEach((s, listener) -> client.push(s, options, listener));
  }
}
