package dev.cachemount.core.registry;

import com.google.cloud.tools.jib.api.DescriptorDigest;
import com.google.cloud.tools.jib.blob.Blob;
import com.google.cloud.tools.jib.blob.Blobs;
import com.google.cloud.tools.jib.http.Response;
import com.google.cloud.tools.jib.registry.RegistryClient;
import dev.cachemount.core.CachemountException;
import dev.cachemount.core.IoErrors;
import dev.cachemount.core.OperationListener;
import dev.cachemount.core.blob.Digest;
import dev.cachemount.core.oci.MediaTypes;
import dev.cachemount.core.store.BlobPut;
import dev.cachemount.core.store.BlobRange;
import dev.cachemount.core.store.IndexCache;
import dev.cachemount.core.store.ManifestBytes;
import dev.cachemount.core.store.SnapshotStore;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.DigestException;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;

/**
 * A snapshot store in one repository of an OCI registry, through jib-core's registry client.
 *
 * <p>A blob is uploaded only after an existence check finds it missing, and mounted from another
 * repository of the same registry when this machine saw it there ({@link BlobLocations}). The manifest
 * goes last, byte for byte as the snapshot wrote it, so its digest is the one the tag resolves to. Reads
 * are bounded: a manifest at most {@link #MAX_MANIFEST_BYTES}, a blob never past its descriptor's size.
 * Every request runs under the session's retry policy.
 */
public final class RegistryStore implements SnapshotStore {
  /** The largest manifest read, as registries commonly limit them (distribution: 4 MiB). */
  public static final int MAX_MANIFEST_BYTES = 4 << 20;

  static final List<String> MANIFEST_ACCEPT = List.of(
      MediaTypes.OCI_MANIFEST, "application/vnd.oci.image.index.v1+json",
      "application/vnd.docker.distribution.manifest.v2+json", "application/vnd.docker.distribution.manifest.list.v2+json");

  private final RegistrySession session;
  private final RegistryRef ref;
  private final BlobLocations locations;
  private final Path stagingParent;
  private final int parallelPuts;
  private final IndexCache indexes;
  private final MultiRangeRead.Support multiRanges;
  private final OperationListener listener;

  /**
   * @param ref the repository (its tag or digest is what the operation names; the store files by the references it is given)
   * @param specInsecure the spec's {@code insecure=true}
   * @param credential what {@link RegistryCredentials#resolve} found
   * @param locationsFile the record of where blobs were seen, for mounts; empty keeps it in memory
   * @param stagingParent where pushes stage their packs
   */
  public RegistryStore(RegistryRef ref, RegistrySettings settings, boolean specInsecure, Optional<RegistryCredential> credential,
      Optional<Path> locationsFile, Path stagingParent, OperationListener listener) {
    this(ref, settings, specInsecure, credential, locationsFile, stagingParent, IndexCache.NONE, listener);
  }

  /** @param indexes where this machine keeps the indexes it read or wrote, so as not to fetch them again */
  public RegistryStore(RegistryRef ref, RegistrySettings settings, boolean specInsecure, Optional<RegistryCredential> credential,
      Optional<Path> locationsFile, Path stagingParent, IndexCache indexes, OperationListener listener) {
    this(ref, settings, specInsecure, CredentialLookup.of(credential), locationsFile, stagingParent, indexes, listener);
  }

  /** @param credential what {@link RegistryCredentials#lookup} found, with a failing helper's complaint */
  public RegistryStore(RegistryRef ref, RegistrySettings settings, boolean specInsecure, CredentialLookup credential,
      Optional<Path> locationsFile, Path stagingParent, IndexCache indexes, OperationListener listener) {
    this.indexes = indexes;
    this.ref = ref;
    this.session = new RegistrySession(ref, settings, specInsecure, credential, listener);
    this.multiRanges = new MultiRangeRead.Support(how -> listener.info(ref.registry() + " does not serve several byte ranges in one request ("
        + how + "); a warm pull asks for one range per request from now on"));
    this.locations = new BlobLocations(locationsFile);
    this.stagingParent = stagingParent;
    this.listener = listener;
    this.parallelPuts = settings.parallelTransfers();
  }

  @Override
  public String describe(String reference) {
    String host = ref.registry().equals(RegistryRef.DOCKER_HUB) ? "docker.io" : ref.registry();
    return "docker://" + host + "/" + ref.repository() + (reference.startsWith(Digest.ALGORITHM + ":") ? "@" : ":") + reference;
  }

  @Override
  public IndexCache indexCache() {
    return indexes;
  }

  /**
   * A new directory under the staging parent ({@code $XDG_CACHE_HOME/cachemount}); when that cannot
   * be made (a read-only or missing home, as in a container run as another user), one in the system's
   * temporary directory, with a warning: the packs are staged there and deleted after the push.
   */
  @Override
  public Path newStagingDirectory() throws IOException {
    try {
      Files.createDirectories(stagingParent);
      removeStaleStaging();
      return Files.createTempDirectory(stagingParent, "push-");
    } catch (IOException e) {
      Path fallback;
      try {
        fallback = Files.createTempDirectory("cachemount-push-");
      } catch (IOException alsoFailed) {
        e.addSuppressed(alsoFailed);
        throw CachemountException.operational("cannot make a staging directory for the push's packs in " + stagingParent + " ("
            + IoErrors.describe(e) + ") nor in " + System.getProperty("java.io.tmpdir") + "; set XDG_CACHE_HOME to a writable directory", e);
      }
      listener.warning("cannot stage packs in " + stagingParent + " (" + IoErrors.describe(e) + "); staging them in " + fallback
          + " instead; set XDG_CACHE_HOME to a writable directory");
      return fallback;
    }
  }

  /** How long a staging directory stands still before a push takes it for a killed push's leftover (as a layout store does). */
  private static final java.time.Duration STALE_STAGING = java.time.Duration.ofDays(1);

  /**
   * Removes the staging directories of pushes killed (SIGKILL: no shutdown hook) a day or more ago,
   * with the packs they hold; best effort. Pushes in progress add files to theirs, which keeps it young.
   */
  private void removeStaleStaging() {
    try {
      dev.cachemount.core.internal.FileTrees.deleteOlderThan(stagingParent, java.time.Instant.now().minus(STALE_STAGING),
          name -> name.startsWith("push-"));
    } catch (IOException | RuntimeException e) {
      // not ours to delete, or cannot list: left as it is
    }
  }

  @Override
  public int parallelPuts() {
    return parallelPuts;
  }

  @Override
  public int parallelReads() {
    return parallelPuts;
  }

  @Override
  public boolean hasBlob(Digest digest) throws IOException {
    RegistryClient client = session.writer();
    return session.call("existence check of blob " + digest, () -> client.checkBlob(jib(digest)).isPresent());
  }

  @Override
  public BlobPut putBlob(Digest digest, long size, Path file) throws IOException {
    try {
      return put(digest, size, KnownBlob.ofFile(digest, size, file));
    } finally {
      Files.deleteIfExists(file);
    }
  }

  @Override
  public BlobPut putBlob(Digest digest, byte[] content) throws IOException {
    return put(digest, content.length, KnownBlob.ofBytes(digest, content));
  }

  private BlobPut put(Digest digest, long size, Blob blob) throws IOException {
    if (hasBlob(digest)) {
      locations.record(ref.registry(), ref.repository(), digest);
      return BlobPut.PRESENT;
    }
    for (String source : locations.holders(ref.registry(), ref.repository(), digest)) {
      RegistryClient mounting = session.writerMountingFrom(source);
      boolean mounted = session.call("mount of blob " + digest + " from " + source,
          () -> mounting.pushBlob(jib(digest), blob, source, n -> { }));
      locations.record(ref.registry(), ref.repository(), digest);
      // jib-core falls back to an upload when the registry refuses the mount.
      return mounted ? BlobPut.MOUNTED : BlobPut.written(size);
    }
    RegistryClient client = session.writer();
    session.call("upload of blob " + digest, () -> client.pushBlob(jib(digest), blob, null, n -> { }));
    locations.record(ref.registry(), ref.repository(), digest);
    return BlobPut.written(size);
  }

  @Override
  public BlobPut claimBlob(Digest digest, long size, Optional<String> fromRepository) throws IOException {
    if (hasBlob(digest)) {
      return BlobPut.PRESENT;
    }
    if (fromRepository.isEmpty() || fromRepository.get().equals(ref.repository())) {
      throw CachemountException.integrity(describe(digest.toString()) + " lacks blob " + digest
          + " of the snapshot this push builds on; push again with --force to store a complete snapshot");
    }
    String source = fromRepository.get();
    RegistryClient mounting = session.writerMountingFrom(source);
    // A registry that does not mount (it opens an ordinary upload instead: one without cross-repository
    // mounts, or one that refuses this one) gets the bytes copied from the source repository through
    // this machine, as what from= saved is worth more than the download: the snapshot was built on it.
    // jib-core also falls back without asking when the push's token grants no pull on the source; the
    // copy's download then fails, and that is final, not retried (it was, five times, and then blamed a
    // registry that never saw a mount).
    java.util.concurrent.atomic.AtomicBoolean fellBack = new java.util.concurrent.atomic.AtomicBoolean();
    java.util.concurrent.atomic.AtomicReference<IOException> copyFailed = new java.util.concurrent.atomic.AtomicReference<>();
    Blob copy = Blobs.from(out -> {
      fellBack.set(true);
      copyFromSource(mounting, source, digest, size, out, copyFailed);
    }, false);
    try {
      boolean mounted = session.call("mount of blob " + digest + " from " + source, () -> {
        fellBack.set(false);
        copyFailed.set(null);
        try {
          return mounting.pushBlob(jib(digest), copy, source, n -> { });
        } catch (IOException | com.google.cloud.tools.jib.api.RegistryException | RuntimeException e) {
          // Final only where asking again cannot help (the source refuses this token, or lacks the blob);
          // a failure of the moment (a 503, a connection cut) is tried again, as any upload's is.
          if (copyFailed.get() != null && !RegistryFailures.retryable(copyFailed.get())) {
            throw CachemountException.operational("registry " + ref.registry() + " did not mount blob " + digest + " of the snapshot from= names"
                + " into " + ref.repository() + ", and copying it from " + source + " failed ("
                + (RegistryFailures.status(copyFailed.get()) != 0 ? "HTTP " + RegistryFailures.status(copyFailed.get()) : RegistryFailures.rootMessage(copyFailed.get()))
                + "): the source no longer holds it, or the token the registry issued for this push grants no pull on " + source, e);
          }
          throw e;
        }
      });
      if (!mounted && fellBack.get()) {
        if (copiesReported.compareAndSet(false, true)) {
          listener.warning("registry " + ref.registry() + " did not mount blobs of " + source + " into " + ref.repository()
              + " (from=): they are copied through this machine instead, a download and an upload each; a registry with"
              + " cross-repository mounts (and credentials that read " + source + ") saves that");
        }
        locations.record(ref.registry(), ref.repository(), digest);
        return BlobPut.written(size);
      }
    } catch (CachemountException e) {
      throw CachemountException.operational(e.getMessage() + "; from= needs credentials that read " + source
          + " (with them, a blob the registry does not mount is copied), or push without from=", e);
    }
    locations.record(ref.registry(), ref.repository(), digest);
    return BlobPut.MOUNTED;
  }

  /** Whether a copy in place of a refused mount was reported: once per store. */
  private final java.util.concurrent.atomic.AtomicBoolean copiesReported = new java.util.concurrent.atomic.AtomicBoolean();

  /**
   * Writes the {@code size} bytes of blob {@code digest} of repository {@code source} of this registry to
   * {@code out}, the upload's body. A failure to read the source is also set in {@code copyFailed}; one to
   * write {@code out} is the upload's own, and is not.
   */
  private void copyFromSource(RegistryClient client, String source, Digest digest, long size, java.io.OutputStream out,
      java.util.concurrent.atomic.AtomicReference<IOException> copyFailed) throws IOException {
    Response r;
    try {
      r = session.get(client, source, "blobs/" + digest, List.of("*/*"), null);
    } catch (IOException e) {
      copyFailed.set(e);
      throw e;
    }
    try (r; InputStream in = r.getBody()) {
      byte[] buffer = new byte[64 << 10];
      long left = size;
      while (left > 0) {
        int n;
        try {
          n = in.read(buffer, 0, (int) Math.min(buffer.length, left));
          if (n < 0) {
            throw new IOException("blob " + digest + " of " + source + " ended after " + (size - left) + " of its " + size + " bytes");
          }
        } catch (IOException e) {
          copyFailed.set(e);
          throw e;
        }
        out.write(buffer, 0, n);
        left -= n;
      }
    }
  }

  @Override
  public InputStream openBlob(Digest digest, long size) throws IOException {
    RegistryClient client = session.reader();
    InputStream in = RangedBlobStream.open(session, client, digest, size);
    locations.record(ref.registry(), ref.repository(), digest);
    return in;
  }

  @Override
  public InputStream openRange(Digest digest, long size, long offset, long length) throws IOException {
    if (offset < 0 || length < 0 || offset + length > size) {
      throw new IllegalArgumentException("range " + offset + "+" + length + " outside a blob of " + size + " bytes");
    }
    return RangedBlobStream.open(session, session.reader(), digest, size, offset, length);
  }

  /** All the ranges in one request where the registry serves that (see {@link MultiRangeRead}). */
  @Override
  public InputStream openRanges(Digest digest, long size, List<BlobRange> ranges) throws IOException {
    BlobRange.checkSet(ranges, size);
    if (ranges.size() == 1) {
      return openRange(digest, size, ranges.get(0).offset(), ranges.get(0).length());
    }
    return MultiRangeRead.open(session, multiRanges, digest, size, ranges);
  }

  @Override
  public Optional<ManifestBytes> fetchManifest(String reference) throws IOException {
    RegistryClient client = session.reader();
    return session.call("fetch of manifest " + reference, () -> fetch(client, reference, true));
  }

  private Optional<ManifestBytes> fetch(RegistryClient client, String reference, boolean mayReauthenticate) throws IOException {
    Response response;
    try {
      response = session.get(client, "manifests/" + reference, MANIFEST_ACCEPT, null);
    } catch (IOException e) {
      if (RegistrySession.isNotFound(e)) {
        return Optional.empty();
      }
      if (mayReauthenticate && RegistrySession.isUnauthorized(e)) {
        session.reauthenticate(client);
        return fetch(client, reference, false);
      }
      throw e;
    }
    try (response) {
      long declared = contentLength(response);
      if (declared > MAX_MANIFEST_BYTES) {
        throw CachemountException.integrity(describe(reference) + ": the manifest is " + declared + " bytes, over the limit of "
            + MAX_MANIFEST_BYTES + "; this is not a cachemount snapshot");
      }
      byte[] bytes;
      try (InputStream body = response.getBody()) {
        bytes = body.readNBytes(MAX_MANIFEST_BYTES + 1);
      }
      if (bytes.length > MAX_MANIFEST_BYTES) {
        throw CachemountException.integrity(describe(reference) + ": the manifest is over the limit of " + MAX_MANIFEST_BYTES
            + " bytes; this is not a cachemount snapshot");
      }
      Digest digest = Digest.of(bytes);
      if (reference.startsWith(Digest.ALGORITHM + ":") && !digest.toString().equals(reference)) {
        throw CachemountException.integrity(describe(reference) + ": the registry sent a manifest whose digest is " + digest);
      }
      List<String> claimed = response.getHeader("Docker-Content-Digest");
      if (!claimed.isEmpty() && claimed.get(0).startsWith(Digest.ALGORITHM + ":") && !claimed.get(0).equals(digest.toString())) {
        throw CachemountException.integrity(describe(reference) + ": the registry says the manifest's digest is " + claimed.get(0)
            + " but its bytes hash to " + digest);
      }
      return Optional.of(new ManifestBytes(mediaType(response), bytes, digest));
    }
  }

  /** Tags asked for per page of {@code tags/list}; a registry may send fewer, and says so with a {@code Link} to the next page. */
  static final int TAGS_PER_PAGE = 1000;
  /** The most bytes one page of {@code tags/list} may have: 1000 tags of 128 characters, quoted, with room to spare. */
  static final int MAX_TAG_PAGE_BYTES = 4 << 20;
  /** The most pages followed: a million tags, far past any cache repository, so that a registry's loop of links ends. */
  static final int MAX_TAG_PAGES = 1000;

  /**
   * The repository's tags through the distribution API's {@code tags/list}, page by page as the
   * registry's {@code Link} headers lead; none when the repository does not exist yet.
   */
  @Override
  public List<String> listTags() throws IOException {
    RegistryClient client = session.reader();
    List<String> tags = new java.util.ArrayList<>();
    String page = "tags/list?n=" + TAGS_PER_PAGE;
    java.util.Set<String> asked = new java.util.HashSet<>();
    for (int pages = 0; page != null; pages++) {
      if (!asked.add(page)) {
        // A loop of links: asked again, the pages would go round until the limit, a request each.
        throw TagList.malformed(ref.registry() + "/" + ref.repository(), "its Link header leads back to a page it sent before (" + page + ")");
      }
      if (pages >= MAX_TAG_PAGES) {
        throw new CachemountException(dev.cachemount.core.FailureKind.OPERATIONAL, ref.registry() + "/" + ref.repository()
            + ": the registry's list of tags ran past " + MAX_TAG_PAGES + " pages; neither a fallback= nor a prune can go through them: delete old tags with the registry's own tools (or skopeo delete), or leave fallback= out");
      }
      String current = page;
      TagPage read;
      try {
        read = session.call("list of tags", () -> tagPage(client, current, true));
      } catch (CachemountException e) {
        if (pages > 0 || RegistryFailures.status(e) != 400) {
          throw e;
        }
        // A registry whose page limit is below the size asked for may refuse it (distribution with a
        // lower tags.maxtags answers 400): asked without one, it pages as it likes.
        listener.info(ref.registry() + " refused a page of " + TAGS_PER_PAGE + " tags; asking for the list without a page size");
        read = session.call("list of tags", () -> tagPage(client, "tags/list", true));
      }
      tags.addAll(read.tags());
      page = read.next();
    }
    return tags;
  }

  /** One page of {@code tags/list}: its tags, and the path of the next page (null for the last). */
  record TagPage(List<String> tags, String next) {}

  private TagPage tagPage(RegistryClient client, String path, boolean mayReauthenticate) throws IOException {
    Response response;
    try {
      response = session.get(client, path, List.of("application/json"), null);
    } catch (IOException e) {
      if (RegistrySession.isNotFound(e)) {
        return new TagPage(List.of(), null); // no such repository yet: nothing pushed to it
      }
      if (mayReauthenticate && RegistrySession.isUnauthorized(e)) {
        session.reauthenticate(client);
        return tagPage(client, path, false);
      }
      throw e;
    }
    try (response) {
      byte[] bytes;
      try (InputStream body = response.getBody()) {
        bytes = body.readNBytes(MAX_TAG_PAGE_BYTES + 1);
      }
      if (bytes.length > MAX_TAG_PAGE_BYTES) {
        throw new CachemountException(dev.cachemount.core.FailureKind.OPERATIONAL, ref.registry() + "/" + ref.repository()
            + ": a page of the registry's list of tags is over " + MAX_TAG_PAGE_BYTES + " bytes; neither a fallback= nor a prune can go through the list: tell the registry's operator, or leave fallback= out");
      }
      return new TagPage(TagList.parse(bytes, ref.registry() + "/" + ref.repository()),
          TagList.nextPage(response.getHeader("Link"), ref.repository()));
    }
  }

  private static long contentLength(Response response) {
    try {
      return response.getContentLength();
    } catch (NumberFormatException e) {
      return -1;
    }
  }

  private static String mediaType(Response response) {
    List<String> types = response.getHeader("Content-Type");
    if (types.isEmpty()) {
      return "application/octet-stream";
    }
    String type = types.get(0);
    int semicolon = type.indexOf(';');
    return (semicolon < 0 ? type : type.substring(0, semicolon)).trim().toLowerCase(Locale.ROOT);
  }

  @Override
  public long putManifest(String tag, ManifestBytes manifest) throws IOException {
    RegistryClient client = session.writer();
    DescriptorDigest stored = session.call("push of manifest " + tag, () -> client.pushManifest(new RawManifest(manifest), tag));
    if (!stored.toString().equals(manifest.digest().toString())) {
      throw new IllegalStateException("jib-core pushed a manifest whose digest is " + stored + ", not " + manifest.digest());
    }
    return manifest.bytes().length;
  }

  @Override
  public long putChildManifest(ManifestBytes manifest) throws IOException {
    // Put by its digest: a registry keeps a manifest no tag names while an index that names it exists.
    return putManifest(manifest.digest().toString(), manifest);
  }

  /**
   * Deletes each tag's manifest by its digest, as the distribution API offers, unless another tag of
   * the repository names it too (see {@link TagRemover}). The blobs stay until the registry's own
   * garbage collection.
   */
  @Override
  public dev.cachemount.core.store.TagRemoval removeTags(Map<String, Digest> tags) throws IOException {
    return new TagRemover(this, session, ref).remove(tags);
  }

  static DescriptorDigest jib(Digest digest) {
    try {
      return DescriptorDigest.fromDigest(digest.toString());
    } catch (DigestException e) {
      throw new IllegalArgumentException(e);
    }
  }

  @Override
  public void close() throws IOException {
    session.close();
  }

  @Override
  public boolean abort() {
    try {
      session.close(); // closes every connection: a read blocked in one fails at once
    } catch (IOException e) {
      // best effort: the read then fails at its timeout
    }
    return true;
  }
}
