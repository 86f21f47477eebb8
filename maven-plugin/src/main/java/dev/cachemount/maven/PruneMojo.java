package dev.cachemount.maven;

import dev.cachemount.core.CacheSpec;
import dev.cachemount.core.Cachemount;
import dev.cachemount.core.CachemountException;
import dev.cachemount.core.OperationListener;
import dev.cachemount.core.PruneOptions;
import dev.cachemount.core.PruneResult;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalInt;
import org.apache.maven.plugins.annotations.Mojo;
import org.apache.maven.plugins.annotations.Parameter;
import org.apache.maven.project.MavenProject;

/**
 * {@code cachemount:prune}: remove the older keys of each keyed cache, the snapshots whose tags start
 * with one of its {@code fallback=} prefixes, but for those {@code keepLast} and {@code keepWithin}
 * keep; as the CLI's {@code prune}. Never removed: the own tag of every spec of the goal, the
 * snapshots their {@code from=} names, and tags that hold no cachemount snapshot. Bound to no phase:
 * usually typed on the command line or run by a scheduled job; where a pom binds it (with a
 * {@code <phase>}), it runs once per build, in the last project, after the push.
 */
@Mojo(name = "prune", threadSafe = true, requiresProject = false)
public class PruneMojo extends CacheMojo<PruneResult> {
  /** Keep the newest N of the older keys (0: none by count), as the CLI's {@code --keep-last N}. */
  @Parameter(property = "cachemount.keepLast")
  Integer keepLast;

  /**
   * Keep the older keys made within this age, as the CLI's {@code --keep-within AGE}: a whole number
   * of hours, days or weeks ({@code 36h}, {@code 14d}, {@code 2w}). With {@code keepLast} too, a
   * snapshot either keeps is kept; one of them is required.
   */
  @Parameter(property = "cachemount.keepWithin")
  String keepWithin;

  /** Say what would be removed, and remove nothing. */
  @Parameter(property = "cachemount.dryRun", defaultValue = "false")
  boolean dryRun;

  /** The options, once {@link #checkTogether} made them of the parameters. */
  private PruneOptions options;

  /** Every spec of the goal: the own tag of each is kept, whichever spec is pruned. */
  private List<CacheSpec> together = List.of();

  /** The options, as the CLI makes them of its own: the same checks, the same messages, before anything runs. */
  @Override
  void checkTogether(Cachemount client, List<CacheSpec> specs) {
    try {
      options = new PruneOptions(keepLast == null ? OptionalInt.empty() : OptionalInt.of(keepLast),
          Optional.ofNullable(keepWithin).map(PruneOptions::parseAge), dryRun);
    } catch (CachemountException e) {
      throw CachemountException.usage(e.getMessage() + " (the goal's parameters keepLast, -Dcachemount.keepLast=N, and keepWithin,"
          + " -Dcachemount.keepWithin=AGE)");
    }
    together = List.copyOf(specs);
  }

  @Override
  PruneResult run(Cachemount client, CacheSpec spec, OperationListener listener) {
    return client.prune(spec, together, options, listener);
  }

  /** A summary, then one line per tag: removed, kept or left, and why; a dry run says that nothing was removed. */
  @Override
  String describe(PruneResult result, CacheSpec spec) {
    return result.describe() + (result.dryRun() ? "\n" + result.id() + ": dry run (dryRun=true): nothing was removed" : "");
  }

  /**
   * {@code result} ({@code pruned} or {@code failed}), and how many of the older keys were
   * {@code removed} (on a dry run: would be), {@code kept}, and {@code left} (to be removed, but a
   * push moved the tag meanwhile, or removing it would take another tag with it).
   */
  @Override
  Map<String, String> properties(PruneResult r) {
    Map<String, String> properties = new LinkedHashMap<>();
    properties.put("result", r == null ? "failed" : "pruned");
    properties.put("removed", r == null ? null : String.valueOf(r.count(PruneResult.Fate.REMOVED)));
    properties.put("kept", r == null ? null : String.valueOf(r.count(PruneResult.Fate.KEPT)));
    properties.put("left", r == null ? null : String.valueOf(r.count(PruneResult.Fate.LEFT)));
    return properties;
  }

  @Override
  String goal() {
    return "prune";
  }

  /** A keyed cache: its own key (kept) and the prefix of its older keys. */
  @Override
  String exampleSpec() {
    return "id=NAME-KEY,fallback=NAME-";
  }

  /**
   * The last, as for push: where a pom binds prune, it runs after the pull (first project) restored
   * from a fallback and after the push built on one, so that neither finds the snapshot it chose gone.
   */
  @Override
  MavenProject onceIn(List<MavenProject> reactor) {
    return reactor.get(reactor.size() - 1);
  }

  /** None: what the modules build does not change which tags the store holds. */
  @Override
  List<MavenProject> builtOnTheWrongSide(List<MavenProject> reactor, MavenProject once) {
    return List.of();
  }

  @Override
  String wrongSide() {
    return "";
  }
}
