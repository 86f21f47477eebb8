package dev.cachemount.cli;

import dev.cachemount.core.Cachemount;
import picocli.CommandLine.Model.CommandSpec;

final class VerifyCommand extends CacheCommand {
  static CommandSpec model(Cachemount client) {
    return withProgress(model(new VerifyCommand(), client, "verify",
        "Check that each cache id's stored snapshot can be restored whole: read every pack as a pull would and check every chunk"
            + " against its digest, writing nothing.",
        "A missing or damaged blob is an integrity failure (exit 4) that names the packs and the files that need them."
            + " An id that is not stored is a miss: exit 0."));
  }

  @Override
  int run() {
    return runLookups((s, listener) -> client.verify(s, listener), "verified", "verification", (id, v) -> v.describe(id));
  }
}
