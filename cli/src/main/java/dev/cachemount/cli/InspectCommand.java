package dev.cachemount.cli;

import dev.cachemount.core.Cachemount;
import picocli.CommandLine.Model.CommandSpec;

final class InspectCommand extends CacheCommand {
  static CommandSpec model(Cachemount client) {
    return model(new InspectCommand(), client, "inspect", "Show what is stored for each cache id.");
  }

  @Override
  int run() {
    return runLookups((s, listener) -> client.inspect(s, listener), "found", "snapshot", (id, summary) -> Text.describe(id, summary));
  }
}
