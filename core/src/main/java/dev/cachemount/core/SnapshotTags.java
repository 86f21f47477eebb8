package dev.cachemount.core;

import dev.cachemount.core.internal.Workers;
import dev.cachemount.core.oci.ImageManifest;
import dev.cachemount.core.oci.Json;
import dev.cachemount.core.oci.MediaTypes;
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
 * The cachemount snapshots among some tags of a store, the newest first: what {@code fallback=}
 * chooses among ({@link FallbackTags}) and {@code prune} removes ({@link PruneOperation}). A tag of
 * another artifact, of a newer cachemount's format, or whose manifest is damaged or has no valid
 * {@value MediaTypes#CREATED} time is passed over, with a word.
 */
final class SnapshotTags {
  /** Manifests read at once: a registry's round trip each, for a repository of many keys. */
  static final int PARALLEL_READS = 8;

  /** A snapshot's tag, when its push began (the manifest's {@value MediaTypes#CREATED}), and its manifest. */
  record Candidate(String tag, Instant created, ManifestBytes manifest) {}

  private SnapshotTags() {}

  /** The snapshots of {@code tags}, the newest first (equal times: the greater tag first). */
  static List<Candidate> newestFirst(SnapshotStore store, List<String> tags, String who, OperationListener listener)
      throws IOException {
    ExecutorService readers = Workers.pool("cachemount-fallback", Math.min(PARALLEL_READS, tags.size()));
    try {
      List<Future<Optional<Candidate>>> reads = new ArrayList<>();
      for (String tag : tags) {
        reads.add(readers.submit(() -> candidate(store, tag, who, listener)));
      }
      List<Candidate> found = new ArrayList<>();
      for (Future<Optional<Candidate>> read : reads) {
        Workers.await(read, "reading the manifests of " + who).ifPresent(found::add);
      }
      return found.stream().sorted(Comparator.comparing(Candidate::created).thenComparing(Candidate::tag).reversed()).toList();
    } finally {
      Workers.stop(readers);
    }
  }

  private static Optional<Candidate> candidate(SnapshotStore store, String tag, String who, OperationListener listener) throws IOException {
    String ref = store.describe(tag);
    Optional<ManifestBytes> bytes;
    try {
      bytes = store.fetchManifest(tag);
    } catch (CachemountException e) {
      if (e.kind() != FailureKind.INTEGRITY) {
        throw e;
      }
      listener.warning(who + ": passed over " + ref + ", whose manifest is damaged (" + e.getMessage() + ")");
      return Optional.empty();
    }
    if (bytes.isEmpty()) {
      return Optional.empty(); // deleted since the tags were listed
    }
    ImageManifest manifest;
    try {
      manifest = Json.readManifest(bytes.get().bytes(), ref);
    } catch (CachemountException e) {
      listener.info(who + ": passed over " + ref + ", which is not an OCI manifest");
      return Optional.empty();
    }
    String type = manifest.artifactType();
    if (!MediaTypes.SNAPSHOT_ARTIFACT.equals(type)) {
      if (type != null && type.startsWith("application/vnd.cachemount.")) {
        listener.warning(who + ": passed over " + ref + ", written by a newer cachemount (" + type + ")");
      } else {
        listener.info(who + ": passed over " + ref + ", which is not a cachemount snapshot");
      }
      return Optional.empty();
    }
    String created = manifest.annotations() == null ? null : manifest.annotations().get(MediaTypes.CREATED);
    try {
      return Optional.of(new Candidate(tag, Instant.parse(created), bytes.get()));
    } catch (DateTimeParseException | NullPointerException e) {
      listener.warning(who + ": passed over " + ref + ", whose manifest has no valid " + MediaTypes.CREATED + " time");
      return Optional.empty();
    }
  }
}
