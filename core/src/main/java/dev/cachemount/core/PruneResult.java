package dev.cachemount.core;

import dev.cachemount.core.store.TagRemoval;
import java.util.List;
import java.util.Locale;

/**
 * What {@code prune} did for one cache id: the fate of every older key its {@code fallback=} prefixes
 * matched, and what the store collected.
 *
 * @param id the spec's id
 * @param ref the spec's own tag in skopeo's syntax (always kept)
 * @param prefixes the {@code fallback=} prefixes whose tags were looked at
 * @param tags every snapshot those prefixes matched besides the own tag, newest first, with its fate
 * @param passedOver tags the prefixes matched that are not snapshots this version can read (image
 *     views, other artifacts, a newer cachemount's snapshots, damaged manifests): never removed
 * @param collected what the store collected afterwards: null for a registry (its own garbage
 *     collection frees the blobs) or when nothing could be collected (a warning said why), and on a dry run
 * @param dryRun whether nothing was removed, only told
 * @param millis the wall time of the prune
 */
public record PruneResult(String id, String ref, List<String> prefixes, List<Tag> tags, int passedOver, TagRemoval.Collected collected,
    boolean dryRun, long millis) {
  public PruneResult {
    prefixes = List.copyOf(prefixes);
    tags = List.copyOf(tags);
  }

  /** What became of a tag. */
  public enum Fate {
    /** Removed (on a dry run: would be). */
    REMOVED,
    /** Kept by the options. */
    KEPT,
    /** To be removed, but left: a push moved it meanwhile, or removing it would take another tag with it. */
    LEFT
  }

  /**
   * @param tag the tag
   * @param ref the tag in skopeo's syntax
   * @param created when its push began (ISO-8601)
   * @param digest its manifest's digest, as read
   * @param fate what became of it
   * @param why the reason, in words
   */
  public record Tag(String tag, String ref, String created, String digest, Fate fate, String why) {}

  public long count(Fate fate) {
    return tags.stream().filter(t -> t.fate() == fate).count();
  }

  /** The result in lines: a summary, then one line per tag. */
  public String describe() {
    StringBuilder b = new StringBuilder();
    long removed = count(Fate.REMOVED);
    b.append(id).append(": prune of the older keys beside ").append(ref).append(" (fallback=").append(String.join(", fallback=", prefixes))
        .append("): ");
    if (tags.isEmpty()) {
      b.append("no other tag that starts so holds a snapshot");
    } else {
      b.append(dryRun ? "would remove " : "removed ").append(removed).append(" of ")
          .append(ResultText.count(tags.size(), "snapshot", "snapshots")).append(", kept ").append(count(Fate.KEPT));
    }
    if (count(Fate.LEFT) > 0) {
      b.append(", left ").append(count(Fate.LEFT));
    }
    if (passedOver > 0) {
      b.append("; ").append(ResultText.count(passedOver, "matching tag is", "matching tags are")).append(" not a snapshot and left alone");
    }
    if (!dryRun && collected != null) {
      b.append(String.format(Locale.ROOT, "; the store deleted %s of blobs no tag needs (%s)", ResultText.bytes(collected.bytesDeleted()),
          ResultText.count(collected.blobsDeleted(), "blob", "blobs")));
      if (collected.blobsKeptForGrace() > 0) {
        b.append(String.format(Locale.ROOT, ", and keeps %s (%s) written or used within its grace period until a later push or prune",
            ResultText.bytes(collected.bytesKeptForGrace()), ResultText.count(collected.blobsKeptForGrace(), "blob", "blobs")));
      }
    } else if (!dryRun && removed > 0 && ref.startsWith("docker://")) {
      b.append("; the registry's own garbage collection frees their blobs");
    }
    b.append(String.format(Locale.ROOT, " (%s)", ResultText.seconds(millis)));
    for (Tag t : tags) {
      String verb = switch (t.fate()) {
        case REMOVED -> dryRun ? "would remove" : "removed";
        case KEPT -> "kept";
        case LEFT -> "left";
      };
      b.append(String.format(Locale.ROOT, "%n  %-12s %s (made %s)%s", verb, t.tag(), t.created(), t.why().isEmpty() ? "" : ": " + t.why()));
    }
    return b.toString();
  }
}
