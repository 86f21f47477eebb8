package dev.cachemount.cli;

import dev.cachemount.core.CacheSpec;
import dev.cachemount.core.Cachemount;
import dev.cachemount.core.PushOptions;
import java.util.List;
import picocli.CommandLine.Model.CommandSpec;

final class PushCommand extends CacheCommand {
  static CommandSpec model(Cachemount client) {
    CommandSpec spec = model(new PushCommand(), client, "push",
        "Snapshot each cache's target directory and store it under its id.",
        "Only new chunks are written; a tree equal to the stored snapshot writes nothing (result: unchanged).");
    spec.addOption(Models.flag(new String[] {"--force"},
        "Store a complete new snapshot even when the tree equals the stored one",
        "(repairs a store whose blobs were damaged)."));
    return withProgress(spec);
  }

  @Override
  void checkTogether(List<CacheSpec> specs) {
    client.checkPushes(specs);
  }

  @Override
  int run() {
    PushOptions options = new PushOptions(Models.value(spec, "--force"));
    return runEach((s, listener) -> client.push(s, options, listener));
  }
}
