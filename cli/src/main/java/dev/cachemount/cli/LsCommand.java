package dev.cachemount.cli;

import dev.cachemount.core.Cachemount;
import dev.cachemount.core.Listing;
import dev.cachemount.core.index.SnapshotIndex;
import java.util.List;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Model.PositionalParamSpec;

/** {@code ls}: the entries of each cache id's stored snapshot, or those at or below some paths. */
final class LsCommand extends CacheCommand {
  static CommandSpec model(Cachemount client) {
    CommandSpec spec = model(new LsCommand(), client, "ls",
        "List the entries of each cache id's stored snapshot (the one a pull would restore), or those at or below PATH, relative to the cache"
            + " directory; a directory's name ends in /. Reads the index only, no pack.",
        "A PATH that nothing is at or below is said on standard error. An id that is not stored is a miss: exit 0.");
    spec.addOption(Models.flag(new String[] {"-l", "--long"}, "Also show each entry's type and permissions, size and modification time (UTC)."));
    spec.addPositional(PositionalParamSpec.builder().paramLabel("PATH").arity("0..*").type(List.class).auxiliaryTypes(String.class)
        .description("Only the entries at or below these paths: org/apache/maven").build());
    return spec;
  }

  @Override
  int run() {
    List<String> given = spec.positionalParameters().get(0).getValue();
    List<String> paths = Listing.paths(given == null ? List.of() : given);
    boolean details = Models.value(spec, "--long");
    boolean several = cacheIds.size() > 1;
    return runLookups((s, listener) -> {
      java.util.Optional<Listing> listing = client.list(s, paths, listener);
      listing.ifPresent(l -> {
        // Standard output holds the entries only: what a fallback chose is said beside them, as inspect says it.
        if (l.fallback() != null && !json) {
          err().println("cachemount: " + s.id() + ": listing " + l.fallback() + " (a fallback: this id's own tag holds no snapshot)");
        }
        l.notFound().forEach(p -> err().println("cachemount: " + s.id() + ": nothing at or below " + SnapshotIndex.printable(p) + " in " + l.ref()));
      });
      return listing;
    }, "found", "listing", (id, listing) -> String.join(System.lineSeparator(), listing.lines(details, several ? id + ": " : "")));
  }
}
