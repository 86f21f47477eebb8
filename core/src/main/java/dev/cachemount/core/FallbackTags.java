package dev.cachemount.core;

import dev.cachemount.core.internal.Workers;
import dev.cachemount.core.oci.ImageManifest;
import dev.cachemount.core.oci.Json;
import dev.cachemount.core.oci.MediaTypes;
import dev.cachemount.core.snapshot.NotASnapshotException;
import dev.cachemount.core.snapshot.SnapshotHead;
import dev.cachemount.core.snapshot.SnapshotReader;
import dev.cachemount.core.store.ManifestBytes;
import dev.cachemount.core.store.SnapshotStore;
import java.io.IOException;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Future;

/**
 * Chooses the snapshot a spec's {@code fallback=} prefixes fall back on when its own tag holds none,
 * as actions/cache's {@code restore-keys} do: the prefixes in the order given, the first that starts
 * any snapshot's tag wins, and of its tags the one whose snapshot was made last (the manifest's
 * {@value MediaTypes#CREATED}, the time its push began to scan; equal times: the greater tag). Tags of
 * other artifacts, of a newer format (by the manifest, or the config of the one chosen), or whose
 * manifest or config is unreadable are passed over, with a word.
 */
final class FallbackTags {
  /**
   * The snapshot a fallback chose.
   *
   * @param prefix the {@code fallback=} prefix that matched
   * @param tag its tag
   * @param ref the tag in skopeo's syntax, for messages and results
   * @param created when its push began
   * @param head its manifest and config, as read to check that this version reads them (a pull and
   *     a push start from it rather than fetch them again)
   */
  record Match(String prefix, String tag, String ref, Instant created, SnapshotHead head) {}

  private FallbackTags() {}

  /**
   * The newest snapshot the spec's fallbacks match, other than its own tag; empty when there are no
   * fallbacks or none matches.
   */
  static Optional<Match> newest(SnapshotStore store, CacheSpec spec, OperationListener listener) throws IOException {
    if (spec.fallback().isEmpty()) {
      return Optional.empty();
    }
    String own = spec.storeReference();
    List<String> tags;
    try {
      tags = store.listTags();
    } catch (CachemountException e) {
      if (e.kind() != FailureKind.AUTH) {
        throw e;
      }
      // A fallback saves work and is no reason to fail a build: as a from= the credentials may not read.
      listener.warning("fallback= cannot list the tags beside " + store.describe(own) + " with these credentials (" + e.getMessage()
          + "); going on without a fallback: give them the right to list tags (in ECR, ecr:ListImages) to use one");
      return Optional.empty();
    }
    for (String prefix : spec.fallback()) {
      List<String> matching = tags.stream().filter(t -> t.startsWith(prefix) && !t.equals(own)).sorted().toList();
      if (matching.isEmpty()) {
        continue;
      }
      for (SnapshotTags.Candidate c : SnapshotTags.newestFirst(store, matching, "fallback=" + prefix, listener)) {
        String ref = store.describe(c.tag());
        Optional<SnapshotHead> head = readableHead(store, c, prefix, ref, listener);
        if (head.isPresent()) {
          listener.info(String.format("fallback=%s: %s is %s (made %s)", prefix, ref,
              matching.size() == 1 ? "the only matching tag" : String.format("the newest of %,d matching tags", matching.size()), c.created()));
          return Optional.of(new Match(prefix, c.tag(), ref, c.created(), head.get()));
        }
      }
    }
    listener.info("fallback=" + String.join(", fallback=", spec.fallback()) + ": no other tag beside " + store.describe(own)
        + " that starts so holds a snapshot");
    return Optional.empty();
  }

  /**
   * The snapshot's head (its config, fetched) when this version can read it: a newer cachemount's
   * snapshot may show its format only there (a {@code formatVersion}, a chunker algorithm), and a
   * damaged config is damage. Either is passed over (empty), with a warning, as a {@code from=} of
   * that kind is.
   */
  private static Optional<SnapshotHead> readableHead(SnapshotStore store, SnapshotTags.Candidate c, String prefix, String ref, OperationListener listener)
      throws IOException {
    try {
      return Optional.of(SnapshotReader.of(store).loadHead(c.manifest(), ref));
    } catch (NewerFormatException e) {
      listener.warning("fallback=" + prefix + ": passed over " + ref + ", written by a newer cachemount (" + e.marker() + ")");
    } catch (NotASnapshotException e) {
      listener.info("fallback=" + prefix + ": passed over " + ref + ", which is not a cachemount snapshot");
    } catch (CachemountException e) {
      if (e.kind() != FailureKind.INTEGRITY) {
        throw e;
      }
      listener.warning("fallback=" + prefix + ": passed over " + ref + ", which is damaged (" + e.getMessage() + ")");
    }
    return Optional.empty();
  }

}
