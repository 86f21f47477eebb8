package dev.cachemount.core.registry;

import com.google.cloud.tools.jib.http.Response;
import com.google.cloud.tools.jib.registry.RegistryClient;
import dev.cachemount.core.CachemountException;
import dev.cachemount.core.FailureKind;
import dev.cachemount.core.blob.Digest;
import dev.cachemount.core.internal.Workers;
import dev.cachemount.core.store.TagRemoval;
import java.io.IOException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Future;

/**
 * Removes tags of a registry's repository (see {@link RegistryStore#removeTags}). The distribution API
 * deletes a manifest by its digest ({@code DELETE /v2/NAME/manifests/DIGEST}), and with it every tag
 * that names it; deleting a tag alone ({@code DELETE .../manifests/TAG}) is optional in the OCI
 * specification and distribution 2.x does not offer it. So the digest of every other tag of the
 * repository is read first ({@code HEAD}); a manifest another tag names too is deleted only by its tag,
 * where the registry allows that, and otherwise kept ({@link TagRemoval.Result#SHARED}).
 */
final class TagRemover {
  private final RegistryStore store;
  private final RegistrySession session;
  private final RegistryRef ref;

  TagRemover(RegistryStore store, RegistrySession session, RegistryRef ref) {
    this.store = store;
    this.session = session;
    this.ref = ref;
  }

  TagRemoval remove(Map<String, Digest> tags) throws IOException {
    Map<String, TagRemoval.Result> results = new HashMap<>();
    if (tags.isEmpty()) {
      return new TagRemoval(results, Optional.empty());
    }
    List<String> others = new ArrayList<>(store.listTags());
    others.removeAll(tags.keySet());
    Set<Digest> namedByOthers = new HashSet<>(digestsOf(others).values());
    List<String> asked = new ArrayList<>(new TreeMap<>(tags).keySet());
    ExecutorService deletes = Workers.pool("cachemount-tag-removal", Math.min(store.parallelReads(), asked.size()));
    try {
      List<Future<TagRemoval.Result>> removals = new ArrayList<>();
      for (String tag : asked) {
        removals.add(deletes.submit(() -> removeOne(tag, tags.get(tag), namedByOthers)));
      }
      for (int i = 0; i < asked.size(); i++) {
        results.put(asked.get(i), Workers.await(removals.get(i), "removing tag " + asked.get(i)));
      }
    } finally {
      Workers.stop(deletes);
    }
    return new TagRemoval(results, Optional.empty());
  }

  private TagRemoval.Result removeOne(String tag, Digest expected, Set<Digest> namedByOthers) throws IOException {
    Optional<Digest> now = digestOf(tag);
    if (now.isEmpty()) {
      return TagRemoval.Result.GONE;
    }
    if (!now.get().equals(expected)) {
      return TagRemoval.Result.MOVED;
    }
    if (namedByOthers.contains(expected)) {
      return deleteTagOnly(tag) ? TagRemoval.Result.REMOVED : TagRemoval.Result.SHARED;
    }
    if (delete(expected.toString())) {
      return TagRemoval.Result.REMOVED;
    }
    if (digestOf(tag).isEmpty()) {
      return TagRemoval.Result.GONE;
    }
    // Not found, yet the tag still names it: the registry (or a proxy before it) hides its deletes.
    throw new CachemountException(FailureKind.OPERATIONAL, ref.registry() + "/" + ref.repository() + ": the registry answered"
        + " 404 (not found) to the delete of manifest " + expected + ", which tag " + tag + " still names; it does not seem to"
        + " let manifests be deleted through its API: remove old tags with the registry's own tools, or have its operator allow"
        + " deletes (and a proxy before it pass DELETE requests on)");
  }

  /** The digests {@code tags} name now (a tag gone meanwhile is left out), read several at once. */
  private Map<String, Digest> digestsOf(List<String> tags) throws IOException {
    Map<String, Digest> found = new HashMap<>();
    if (tags.isEmpty()) {
      return found;
    }
    ExecutorService heads = Workers.pool("cachemount-tag-digests", Math.min(store.parallelReads(), tags.size()));
    try {
      List<Future<Optional<Digest>>> reads = new ArrayList<>();
      for (String tag : tags) {
        reads.add(heads.submit(() -> digestOf(tag)));
      }
      for (int i = 0; i < tags.size(); i++) {
        String tag = tags.get(i);
        Workers.await(reads.get(i), "reading the digest of tag " + tag).ifPresent(d -> found.put(tag, d));
      }
      return found;
    } finally {
      Workers.stop(heads);
    }
  }

  /** The digest of the manifest {@code tag} names, from a {@code HEAD} (its bytes, where the registry sends no digest); empty when there is no such tag. */
  Optional<Digest> digestOf(String tag) throws IOException {
    RegistryClient client = session.reader();
    Optional<String> header = session.call("look-up of tag " + tag, () -> headDigest(client, tag, true));
    if (header == null) {
      return Optional.empty();
    }
    if (header.isPresent()) {
      try {
        return Optional.of(Digest.parse(header.get()));
      } catch (IllegalArgumentException e) {
        // not a sha256 digest: read the manifest itself
      }
    }
    return store.fetchManifest(tag).map(m -> m.digest());
  }

  /** The {@code Docker-Content-Digest} of the tag's manifest (empty: none sent); null when there is no such tag. */
  private Optional<String> headDigest(RegistryClient client, String tag, boolean mayReauthenticate) throws IOException {
    try (Response response = session.head(client, "manifests/" + tag, RegistryStore.MANIFEST_ACCEPT)) {
      List<String> digest = response.getHeader("Docker-Content-Digest");
      return digest.isEmpty() ? Optional.empty() : Optional.of(digest.get(0).trim());
    } catch (IOException e) {
      if (RegistrySession.isNotFound(e)) {
        return null;
      }
      if (mayReauthenticate && RegistrySession.isUnauthorized(e)) {
        session.reauthenticate(client);
        return headDigest(client, tag, false);
      }
      throw e;
    }
  }

  /** Deletes the manifest {@code reference} names; false when there was none. */
  private boolean delete(String reference) throws IOException {
    RegistryClient client = session.writer();
    try {
      return session.call("delete of manifest " + reference, () -> session.delete(client, "manifests/" + reference));
    } catch (CachemountException e) {
      int status = RegistryFailures.status(e);
      if (status == 405 || (status == 400 && String.valueOf(e.getMessage()).contains("UNSUPPORTED"))) {
        throw new CachemountException(FailureKind.OPERATIONAL, ref.registry() + "/" + ref.repository()
            + ": the registry does not let manifests be deleted through its API (HTTP " + status + "), so no tag was removed;"
            + " remove old tags with the registry's own tools (GitHub: the package's versions; Docker Hub: its web interface),"
            + " or have its operator allow deletes (distribution: storage.delete.enabled: true)", e);
      }
      throw e;
    }
  }

  /** Deletes {@code tag} alone (OCI 1.1, optional); false when the registry does not offer that. */
  private boolean deleteTagOnly(String tag) throws IOException {
    try {
      return delete(tag);
    } catch (CachemountException e) {
      if (e.kind() == FailureKind.OPERATIONAL && RegistryFailures.status(e) >= 400 && RegistryFailures.status(e) < 500) {
        return false;
      }
      throw e;
    }
  }
}
