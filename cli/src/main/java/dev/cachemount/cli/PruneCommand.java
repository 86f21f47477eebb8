package dev.cachemount.cli;

import dev.cachemount.core.CacheSpec;
import dev.cachemount.core.Cachemount;
import dev.cachemount.core.PruneOptions;
import java.util.List;
import java.util.Optional;
import java.util.OptionalInt;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Model.OptionSpec;

final class PruneCommand extends CacheCommand {
  static CommandSpec model(Cachemount client) {
    CommandSpec spec = model(new PruneCommand(), client, "prune",
        "Remove the older keys of each keyed cache: the snapshots whose tags start with one of its fallback= prefixes, but for"
            + " those --keep-last and --keep-within keep.",
        "Never removed: the own tag of every --cache-id given, the snapshots their from= names, and a tag that holds no cachemount snapshot (an image= view,"
            + " another artifact). A local store then deletes the blobs no tag needs; a registry frees them in its own garbage"
            + " collection.",
        "Age is when a snapshot's push began: a push that found the tree unchanged leaves it as it was.");
    spec.addOption(OptionSpec.builder("--keep-last").paramLabel("N").type(Integer.class)
        .description("Keep the newest N of the older keys (0: none by count).").build());
    spec.addOption(OptionSpec.builder("--keep-within").paramLabel("AGE").type(String.class)
        .description("Keep the older keys made within AGE: hours, days or weeks, as 36h, 14d or 2w.").build());
    spec.addOption(Models.flag(new String[] {"--dry-run"}, "Say what would be removed, and remove nothing."));
    return spec;
  }

  @Override
  int run() {
    Integer keepLast = Models.value(spec, "--keep-last");
    String keepWithin = Models.value(spec, "--keep-within");
    PruneOptions options = new PruneOptions(keepLast == null ? OptionalInt.empty() : OptionalInt.of(keepLast),
        Optional.ofNullable(keepWithin).map(PruneOptions::parseAge), Models.value(spec, "--dry-run"));
    List<CacheSpec> together = specs();
    return runLookups((s, listener) -> Optional.of(client.prune(s, together, options, listener)), "pruned", "prune",
        (id, result) -> result.describe());
  }
}
