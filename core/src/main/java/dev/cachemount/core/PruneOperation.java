package dev.cachemount.core;

import dev.cachemount.core.blob.Digest;
import dev.cachemount.core.store.SnapshotStore;
import dev.cachemount.core.store.TagRemoval;
import java.io.IOException;
import java.time.Clock;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Removes the older keys of a keyed cache: the snapshots whose tags start with one of the spec's
 * {@code fallback=} prefixes (what a fallback chooses among), the newest first, but for those the
 * {@link PruneOptions} keep, and never the keys in use: the own tags of the command's specs in this
 * store and the snapshots their {@code from=} names. Tags that are not snapshots this version reads
 * are never removed.
 */
final class PruneOperation {
  private final SnapshotStore store;
  private final Clock clock;
  private final OperationListener listener;

  PruneOperation(SnapshotStore store, Clock clock, OperationListener listener) {
    this.store = store;
    this.clock = clock;
    this.listener = listener;
  }

  /**
   * @param inUse what is never removed: the tags and pinned digests of {@link SpecConflicts#keysInUse}
   */
  PruneResult prune(CacheSpec spec, Set<String> inUse, PruneOptions options) throws IOException {
    long started = System.nanoTime();
    String ref = store.describe(spec.storeReference());
    List<String> matching = store.listTags().stream()
        .filter(t -> !inUse.contains(t) && spec.fallback().stream().anyMatch(t::startsWith))
        .distinct().sorted().toList();
    List<SnapshotTags.Candidate> snapshots = matching.isEmpty() ? List.of() : SnapshotTags.newestFirst(store, matching, "prune", listener);
    Instant cutoff = options.keepWithin().map(d -> clock.instant().minus(d)).orElse(null);
    Map<String, PruneResult.Tag> fates = new LinkedHashMap<>();
    Map<String, Digest> doomed = new LinkedHashMap<>();
    int counted = 0; // newer snapshots that --keep-last counts (not those a from= keeps)
    for (SnapshotTags.Candidate c : snapshots) {
      String why = null;
      if (inUse.contains(c.manifest().digest().toString())) {
        why = "a from= of this command names its manifest";
      } else {
        if (options.keepLast().isPresent() && counted < options.keepLast().getAsInt()) {
          why = "one of the newest " + options.keepLast().getAsInt();
        } else if (cutoff != null && !c.created().isBefore(cutoff)) {
          why = "made within " + age(options.keepWithin().get());
        }
        counted++;
      }
      fates.put(c.tag(), tag(c, why == null ? PruneResult.Fate.REMOVED : PruneResult.Fate.KEPT, why == null ? "" : why));
      if (why == null) {
        doomed.put(c.tag(), c.manifest().digest());
      }
    }
    TagRemoval.Collected collected = null;
    if (!options.dryRun()) {
      TagRemoval removal = store.removeTags(doomed);
      for (Map.Entry<String, TagRemoval.Result> r : removal.results().entrySet()) {
        String why = switch (r.getValue()) {
          case REMOVED -> null;
          case GONE -> "it was gone already";
          case MOVED -> "a push moved it since it was read: it names a newer snapshot";
          case SHARED -> "another tag names the same manifest, and this registry removes a tag only with its manifest";
        };
        PruneResult.Tag t = fates.get(r.getKey());
        if (why != null) {
          fates.put(r.getKey(), new PruneResult.Tag(t.tag(), t.ref(), t.created(), t.digest(),
              r.getValue() == TagRemoval.Result.GONE ? PruneResult.Fate.REMOVED : PruneResult.Fate.LEFT, why));
        }
      }
      collected = removal.collected().orElse(null);
    }
    return new PruneResult(spec.id(), ref, spec.fallback(), new ArrayList<>(fates.values()), matching.size() - snapshots.size(),
        collected, options.dryRun(), Engine.millisSince(started));
  }

  /** {@code 14 days}, {@code 36 hours}: an age as --keep-within gives it (whole hours). */
  static String age(java.time.Duration d) {
    return d.toHours() % 24 == 0 ? ResultText.count(d.toDays(), "day", "days") : ResultText.count(d.toHours(), "hour", "hours");
  }

  private PruneResult.Tag tag(SnapshotTags.Candidate c, PruneResult.Fate fate, String why) {
    return new PruneResult.Tag(c.tag(), store.describe(c.tag()), c.created().toString(), c.manifest().digest().toString(), fate, why);
  }
}
