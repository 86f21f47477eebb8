package dev.cachemount.cli;

import dev.cachemount.core.CacheSpec;
import dev.cachemount.core.Cachemount;
import java.util.List;
import picocli.CommandLine.Model.CommandSpec;

final class PullCommand extends CacheCommand {
  static CommandSpec model(Cachemount client) {
    return withProgress(model(new PullCommand(), client, "pull",
        "Restore each cache's stored snapshot into its target directory (created if missing).",
        "Files the snapshot does not hold are left alone, unless mode=mirror. An id that is not stored is a miss: exit 0, target untouched."));
  }

  @Override
  void checkTogether(List<CacheSpec> specs) {
    client.checkPulls(specs);
  }

  @Override
  int run() {
    return runEach((s, listener) -> client.pull(s, listener));
  }
}
