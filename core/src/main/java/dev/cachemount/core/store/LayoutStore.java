package dev.cachemount.core.store;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.cachemount.core.CachemountException;
import dev.cachemount.core.blob.Digest;
import dev.cachemount.core.index.FormatLimits;
import dev.cachemount.core.internal.ExclusiveLock;
import dev.cachemount.core.internal.FileTrees;
import dev.cachemount.core.oci.Descriptor;
import dev.cachemount.core.oci.ImageIndex;
import dev.cachemount.core.oci.ImageManifest;
import dev.cachemount.core.oci.Json;
import dev.cachemount.core.oci.MediaTypes;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.channels.FileChannel;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.DirectoryStream;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.FileTime;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.UUID;
import java.util.function.Consumer;
import java.util.stream.Stream;

/**
 * A store in an OCI image-layout directory (image-spec v1.1, "image-layout"): {@code oci-layout},
 * {@code index.json}, {@code blobs/sha256/<hex>}. Tags are the {@value MediaTypes#REF_NAME}
 * annotations of index.json's descriptors, which is how skopeo, umoci and BuildKit name them.
 *
 * <p>Commit order and atomicity: a blob is written to a staging file under {@code .cachemount-tmp},
 * forced to disk and renamed into {@code blobs/}; an existing blob is never rewritten. A manifest
 * is itself a blob; the tag is moved last by rewriting index.json to a temporary file and renaming
 * it over the old one, under {@link ExclusiveLock}. Readers therefore see the old snapshot or the new
 * one.
 *
 * <p>Garbage: after a tag moves, blobs that no manifest in index.json reaches any more and that are
 * older than a grace period are deleted, as are staging files of pushes that died. A push refreshes
 * the modification time of every blob it reuses (under the lock), so collection never removes a
 * blob that a push in progress is about to reference.
 *
 * <p>Thread-safe; several processes may push to one directory at once.
 */
public final class LayoutStore implements SnapshotStore {
  /** How old an unreferenced blob must be before it is collected, by default. */
  public static final Duration DEFAULT_GRACE = Duration.ofHours(1);

  static final String OCI_LAYOUT = "oci-layout";
  static final String INDEX_JSON = "index.json";
  static final String STAGING = ".cachemount-tmp";
  static final String LOCK = ".cachemount.lock";
  /** What a damaged index.json is renamed to by {@code --force}, with the time in milliseconds after it. */
  static final String DAMAGED_SUFFIX = ".damaged-";
  private static final byte[] OCI_LAYOUT_CONTENT = "{\"imageLayoutVersion\":\"1.0.0\"}".getBytes(java.nio.charset.StandardCharsets.UTF_8);

  private final Path root;
  private final Duration grace;
  private final Clock clock;
  private final Consumer<String> warnings;
  private volatile boolean initialised;

  /** A store at {@code root}; nothing is read or created until first use. */
  public LayoutStore(Path root) {
    this(root, DEFAULT_GRACE, Clock.systemUTC(), message -> { });
  }

  public LayoutStore(Path root, Duration grace, Clock clock, Consumer<String> warnings) {
    this.root = root.toAbsolutePath().normalize();
    this.grace = grace;
    this.clock = clock;
    this.warnings = warnings;
  }

  public Path root() {
    return root;
  }

  @Override
  public String describe(String tag) {
    return "oci:" + root + ":" + tag;
  }

  // ---------------------------------------------------------------- reading

  @Override
  public InputStream openBlob(Digest digest, long size) throws IOException {
    Path file = blobPath(digest);
    long actual;
    try {
      actual = Files.size(file);
    } catch (NoSuchFileException e) {
      throw new BlobNotFoundException(digest,
          "store " + root + " lacks blob " + digest + " that the snapshot references");
    }
    if (actual != size) {
      throw CachemountException.integrity("blob " + digest + " in " + root + " has " + actual + " bytes, its descriptor says " + size);
    }
    return Files.newInputStream(file, LinkOption.NOFOLLOW_LINKS);
  }

  /**
   * Whether the store has been made. Not yet: nothing stored, so a miss. A directory of something
   * else, or a file, is a wrong dir=, refused as a push refuses it, rather than reported as a miss.
   */
  private boolean made() throws IOException {
    if (Files.isRegularFile(root.resolve(OCI_LAYOUT))) {
      return true;
    }
    if (Files.isDirectory(root)) {
      refuseForeignContent();
    } else if (Files.exists(root)) {
      throw CachemountException.usage("store " + root + " is not a directory; set dir= to a directory for the store");
    }
    return false;
  }

  @Override
  public List<String> listTags() throws IOException {
    if (!made()) {
      return List.of();
    }
    Set<String> tags = new java.util.LinkedHashSet<>();
    for (Descriptor d : readIndex().manifests()) {
      String tag = d.annotation(MediaTypes.REF_NAME);
      if (tag != null) {
        tags.add(tag);
      }
    }
    return List.copyOf(tags);
  }

  @Override
  public Optional<ManifestBytes> fetchManifest(String reference) throws IOException {
    if (!made()) {
      return Optional.empty();
    }
    if (reference.startsWith(Digest.ALGORITHM + ":")) {
      Digest digest = Digest.parse(reference);
      Path file = blobPath(digest);
      if (!Files.isRegularFile(file, LinkOption.NOFOLLOW_LINKS)) {
        return Optional.empty();
      }
      byte[] bytes = readBounded(file, FormatLimits.MAX_MANIFEST, "manifest " + digest);
      verify(digest, bytes, "manifest");
      return Optional.of(new ManifestBytes(mediaTypeOf(bytes), bytes, digest));
    }
    Descriptor found = null;
    for (Descriptor d : readIndex().manifests()) {
      if (reference.equals(d.annotation(MediaTypes.REF_NAME))) {
        found = d;
      }
    }
    if (found == null) {
      return Optional.empty();
    }
    Digest digest = parseDigest(found.digest(), "index.json's descriptor for tag '" + reference + "'");
    if (found.size() < 0 || found.size() > FormatLimits.MAX_MANIFEST) {
      throw CachemountException.integrity("tag '" + reference + "' in " + root + " names a manifest of " + found.size() + " bytes; at most " + FormatLimits.MAX_MANIFEST + " are accepted");
    }
    Path file = blobPath(digest);
    if (!Files.isRegularFile(file, LinkOption.NOFOLLOW_LINKS)) {
      throw new BlobNotFoundException(digest, "tag '" + reference + "' in " + root + " names manifest " + digest + ", which is missing; push the cache again");
    }
    long onDisk = Files.size(file);
    if (onDisk != found.size()) { // cut short, or grown (past the limit of a manifest, even)
      throw new DamagedManifestException("manifest " + digest + " in " + root + " has " + onDisk + " bytes, index.json says " + found.size());
    }
    byte[] bytes = readBounded(file, FormatLimits.MAX_MANIFEST, "manifest " + digest);
    if (bytes.length != found.size()) {
      throw new DamagedManifestException("manifest " + digest + " in " + root + " has " + bytes.length + " bytes, index.json says " + found.size());
    }
    Digest actual = Digest.of(bytes);
    if (!actual.equals(digest)) {
      throw new DamagedManifestException("manifest " + digest + " in " + root + " does not match its content (" + actual + ")");
    }
    String mediaType = found.mediaType() != null ? found.mediaType() : mediaTypeOf(bytes);
    return Optional.of(new ManifestBytes(mediaType, bytes, digest));
  }

  // ---------------------------------------------------------------- writing

  @Override
  public Path newStagingDirectory() throws IOException {
    initialise();
    return Files.createTempDirectory(root.resolve(STAGING), "push-");
  }

  @Override
  public boolean hasBlob(Digest digest) throws IOException {
    return Files.isRegularFile(blobPath(digest), LinkOption.NOFOLLOW_LINKS);
  }

  @Override
  public boolean hasBlob(Digest digest, long size) throws IOException {
    try {
      BasicFileAttributes attributes = Files.readAttributes(blobPath(digest), BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
      return attributes.isRegularFile() && attributes.size() == size;
    } catch (NoSuchFileException e) {
      return false;
    }
  }

  /**
   * A pack the snapshot a push builds on stored: present, and its modification time refreshed under
   * the lock as {@link #claimExisting} does (not hashed: reusing it is the point), so that a collection
   * spares it for the grace period even once no tag reaches it any more (a prune removed the snapshot
   * this push builds on).
   */
  @Override
  public boolean claimsKnownBlobs() {
    return true;
  }

  @Override
  public BlobPut claimBlob(Digest digest, long size, Optional<String> fromRepository) throws IOException {
    initialise();
    try (ExclusiveLock.Held lock = ExclusiveLock.acquire(root.resolve(LOCK))) {
      if (hasBlob(digest, size)) {
        Files.setLastModifiedTime(blobPath(digest), FileTime.from(clock.instant()));
        return BlobPut.PRESENT;
      }
    }
    // Seen when the push began: gone since. A prune that removed the snapshot this push builds on may
    // have collected it before the push claimed it (an old key's packs are past the grace period).
    throw CachemountException.integrity("the store " + root + " lacks blob " + digest + " of the snapshot this push builds on, which"
        + " it held when the push began: a prune of that snapshot's tag may have removed it meanwhile, or the store is damaged;"
        + " push again (it then builds on what the store holds now), and with --force should it happen again");
  }

  @Override
  public BlobPut putBlob(Digest digest, long size, Path file) throws IOException {
    initialise();
    Path target = blobPath(digest);
    if (claimExisting(target, digest, size)) {
      Files.deleteIfExists(file);
      return BlobPut.PRESENT;
    }
    // A fresh modification time travels with the rename, so collection never sees this blob as old.
    Files.setLastModifiedTime(file, FileTime.from(clock.instant()));
    try {
      Files.move(file, target, StandardCopyOption.ATOMIC_MOVE);
    } catch (AtomicMoveNotSupportedException e) {
      Path copy = stagingFile();
      try {
        Files.copy(file, copy);
        force(copy);
        Files.move(copy, target, StandardCopyOption.ATOMIC_MOVE);
      } finally {
        Files.deleteIfExists(copy);
        Files.deleteIfExists(file);
      }
    }
    return BlobPut.written(size);
  }

  @Override
  public BlobPut putBlob(Digest digest, byte[] content) throws IOException {
    initialise();
    Path target = blobPath(digest);
    if (claimExisting(target, digest, content.length)) {
      return BlobPut.PRESENT;
    }
    Path temp = stagingFile();
    try {
      writeDurably(temp, content);
      Files.setLastModifiedTime(temp, FileTime.from(clock.instant()));
      Files.move(temp, target, StandardCopyOption.ATOMIC_MOVE);
    } finally {
      Files.deleteIfExists(temp);
    }
    return BlobPut.written(content.length);
  }

  @Override
  public long putManifest(String tag, ManifestBytes manifest) throws IOException {
    initialise();
    long written = putBlob(manifest.digest(), manifest.bytes()).bytesWritten();
    forceDirectory(root.resolve("blobs").resolve(Digest.ALGORITHM));
    String artifactType = null;
    try {
      artifactType = Json.readManifest(manifest.bytes(), "manifest").artifactType();
    } catch (CachemountException e) {
      // A foreign manifest without the field is stored all the same.
    }
    Descriptor descriptor =
        new Descriptor(manifest.mediaType(), manifest.digest().toString(), manifest.bytes().length, artifactType, Map.of(MediaTypes.REF_NAME, tag));
    try (ExclusiveLock.Held lock = ExclusiveLock.acquire(root.resolve(LOCK))) {
      // Edited as a JSON tree, so that what other tools wrote into index.json survives unchanged.
      ObjectNode index = readIndexTree();
      ArrayNode kept = Json.mapper().createArrayNode();
      List<Descriptor> replaced = new ArrayList<>();
      List<Descriptor> live = new ArrayList<>();
      for (JsonNode d : manifestsOf(index)) {
        Descriptor parsed = Json.mapper().treeToValue(d, Descriptor.class);
        if (tag.equals(parsed.annotation(MediaTypes.REF_NAME))) {
          replaced.add(parsed);
        } else {
          kept.add(d);
          live.add(parsed);
        }
      }
      kept.add(Json.mapper().valueToTree(descriptor));
      live.add(descriptor);
      index.set("manifests", kept);
      writeIndexTree(index);
      // A pull may still be reading the snapshot the tag named until now: its blobs get a full grace period.
      refresh(replaced);
      collectGarbage(live);
    }
    return written;
  }

  @Override
  public TagRemoval removeTags(Map<String, Digest> tags) throws IOException {
    Map<String, TagRemoval.Result> results = new java.util.HashMap<>();
    if (!made()) {
      tags.keySet().forEach(tag -> results.put(tag, TagRemoval.Result.GONE));
      return new TagRemoval(results, Optional.of(new TagRemoval.Collected(0, 0, 0, 0)));
    }
    initialise();
    try (ExclusiveLock.Held lock = ExclusiveLock.acquire(root.resolve(LOCK))) {
      ObjectNode index = readIndexTree();
      ArrayNode kept = Json.mapper().createArrayNode();
      List<Descriptor> live = new ArrayList<>();
      Set<String> removed = new HashSet<>();
      for (JsonNode d : manifestsOf(index)) {
        Descriptor parsed = Json.mapper().treeToValue(d, Descriptor.class);
        String tag = parsed.annotation(MediaTypes.REF_NAME);
        Digest expected = tag == null ? null : tags.get(tag);
        if (expected != null && expected.toString().equals(parsed.digest())) {
          removed.add(tag);
          continue;
        }
        if (expected != null) {
          // The tag names another manifest (a push moved it; or another tool wrote the tag twice): it stays.
          results.put(tag, TagRemoval.Result.MOVED);
        }
        kept.add(d);
        live.add(parsed);
      }
      removed.forEach(tag -> results.putIfAbsent(tag, TagRemoval.Result.REMOVED));
      tags.keySet().forEach(tag -> results.putIfAbsent(tag, TagRemoval.Result.GONE));
      if (!removed.isEmpty()) {
        index.set("manifests", kept);
        writeIndexTree(index);
      }
      // The removed snapshots' blobs get no grace (a push's replaced ones do): removing them is the
      // point. A pull of a removed tag that is reading them at this moment fails, and leaves its target as it was.
      return new TagRemoval(results, collectGarbage(live));
    }
  }

  @Override
  public long putChildManifest(ManifestBytes manifest) throws IOException {
    initialise();
    // A blob like any other: what keeps it is an index that index.json names (see collectGarbage).
    return putBlob(manifest.digest(), manifest.bytes()).bytesWritten();
  }

  @Override
  public void close() {}

  // ---------------------------------------------------------------- layout

  private Path blobPath(Digest digest) {
    return root.resolve("blobs").resolve(Digest.ALGORITHM).resolve(digest.hex());
  }

  private Path stagingFile() {
    return root.resolve(STAGING).resolve("blob-" + UUID.randomUUID());
  }

  /** Creates the layout if it does not exist yet, or checks that an existing directory is one. */
  public void create() throws IOException {
    initialise();
  }

  /**
   * Refuses, before anything is written into it, a directory that cannot become this store: a file,
   * a path below a file, or a directory of something else (exit 2, naming it).
   */
  public void checkWritable() throws IOException {
    if (Files.exists(root) && !Files.isDirectory(root)) {
      throw CachemountException.usage("store " + root + " is not a directory; set dir= to a directory for the store");
    }
    if (!Files.exists(root)) {
      Optional<Path> file = FileTrees.blockingAncestor(root);
      if (file.isPresent()) {
        throw CachemountException.usage("store " + root + " cannot be made: " + file.get()
            + " is a file, not a directory; set dir= to a directory for the store (it is created if missing)");
      }
    }
    if (!Files.exists(root.resolve(OCI_LAYOUT)) && Files.isDirectory(root)) {
      refuseForeignContent();
    }
  }

  /**
   * Creates the layout on first write, or checks that an existing directory is one. Runs under the
   * lock, so that two processes creating one store at once both succeed.
   */
  private void initialise() throws IOException {
    if (initialised) {
      return;
    }
    synchronized (this) {
      if (initialised) {
        return;
      }
      checkWritable();
      Path layout = root.resolve(OCI_LAYOUT);
      Files.createDirectories(root);
      try (ExclusiveLock.Held lock = ExclusiveLock.acquire(root.resolve(LOCK))) {
        if (Files.exists(layout)) {
          checkLayoutVersion(layout);
        } else {
          refuseForeignContent();
        }
        Files.createDirectories(root.resolve("blobs").resolve(Digest.ALGORITHM));
        Files.createDirectories(root.resolve(STAGING));
        if (!Files.exists(root.resolve(INDEX_JSON))) {
          writeIndexTree(emptyIndexTree());
        }
        if (!Files.exists(layout)) {
          // oci-layout last: a directory that has it is a complete layout.
          Path temp = stagingFile();
          writeDurably(temp, OCI_LAYOUT_CONTENT);
          Files.move(temp, layout, StandardCopyOption.ATOMIC_MOVE);
        }
      }
      forceDirectory(root);
      initialised = true;
    }
  }

  /** Refuses a directory without oci-layout that holds anything but cachemount's own files. */
  private void refuseForeignContent() throws IOException {
    try (Stream<Path> children = Files.list(root)) {
      // Besides our own files, what an interrupted creation of a layout leaves is accepted, and
      // oci-layout itself: another process may have finished creating the layout since we looked.
      if (children.map(p -> p.getFileName().toString())
          .anyMatch(name -> !name.startsWith(".cachemount") && !name.equals("blobs") && !name.equals(INDEX_JSON) && !name.equals(OCI_LAYOUT))) {
        throw CachemountException.usage(
            "store directory " + root + " is not empty and is not an OCI image layout (it has no oci-layout file); choose a new or empty directory with dir=");
      }
    }
  }

  private void checkLayoutVersion(Path layout) throws IOException {
    byte[] bytes = readBounded(layout, 64 * 1024, "oci-layout");
    Map<?, ?> content = Json.read(bytes, Map.class, root + "/oci-layout");
    Object version = content.get("imageLayoutVersion");
    if (!"1.0.0".equals(version)) {
      throw CachemountException.usage("store " + root + " is an OCI image layout of version " + version + "; this cachemount writes version 1.0.0");
    }
  }

  private ImageIndex readIndex() throws IOException {
    Path file = root.resolve(INDEX_JSON);
    if (!Files.exists(file)) {
      return ImageIndex.empty();
    }
    try {
      return Json.read(readBounded(file, 64 << 20, "index.json"), ImageIndex.class, root + "/index.json");
    } catch (CachemountException e) {
      if (e.kind() != dev.cachemount.core.FailureKind.INTEGRITY) {
        throw e;
      }
      throw damagedIndex(e.getMessage(), e);
    }
  }

  /**
   * index.json cannot be read: no tag can be, and only a push with {@code --force} may set it aside
   * (the tags it held are lost with it), so the message says so.
   */
  private CachemountException damagedIndex(String why, Throwable cause) {
    return CachemountException.integrity("the store's index.json is damaged (" + why + "): no tag of " + root
        + " can be read. A push with --force (of any id) moves it aside and starts a new index.json with that snapshot; push the"
        + " store's other ids again after it (packs that come out the same are not written again)", cause);
  }

  /**
   * Checks that index.json can be read, before a push scans anything: a damaged one is reported
   * (see {@link #setAsideDamagedIndex}) rather than found when the tag is moved.
   */
  public void checkIndex() throws IOException {
    readIndexTree();
    readIndex(); // every descriptor too, as a read of a tag does
  }

  /**
   * {@code --force}: moves a damaged index.json aside, to {@code index.json.damaged-MILLIS} beside
   * it, so that the push starts a new one; returns where it went, or empty when index.json is sound
   * or absent. Unreferenced blobs are not collected while such a file exists (see
   * {@link #collectGarbage}): the snapshots it named may still be recovered from it by hand.
   */
  public Optional<Path> setAsideDamagedIndex() throws IOException {
    if (!Files.exists(root.resolve(INDEX_JSON))) {
      return Optional.empty();
    }
    initialise();
    try (ExclusiveLock.Held lock = ExclusiveLock.acquire(root.resolve(LOCK))) {
      try {
        checkIndex();
        return Optional.empty();
      } catch (CachemountException e) {
        if (e.kind() != dev.cachemount.core.FailureKind.INTEGRITY) {
          throw e;
        }
      }
      Path aside = root.resolve(INDEX_JSON + DAMAGED_SUFFIX + clock.millis());
      Files.move(root.resolve(INDEX_JSON), aside, StandardCopyOption.ATOMIC_MOVE);
      forceDirectory(root);
      return Optional.of(aside);
    }
  }

  private ObjectNode readIndexTree() throws IOException {
    Path file = root.resolve(INDEX_JSON);
    if (!Files.exists(file)) {
      return emptyIndexTree();
    }
    JsonNode tree;
    try {
      tree = Json.mapper().readTree(readBounded(file, 64 << 20, "index.json"));
    } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
      throw damagedIndex("not valid JSON: " + e.getOriginalMessage(), e);
    }
    if (!(tree instanceof ObjectNode object) || (object.has("manifests") && !object.get("manifests").isArray())) {
      throw damagedIndex("not an OCI image index", null);
    }
    return object;
  }

  private static ObjectNode emptyIndexTree() {
    return Json.mapper().valueToTree(ImageIndex.empty());
  }

  private static Iterable<JsonNode> manifestsOf(ObjectNode index) {
    JsonNode manifests = index.get("manifests");
    return manifests == null ? List.of() : manifests;
  }

  private void writeIndexTree(ObjectNode index) throws IOException {
    Path temp = stagingFile();
    try {
      writeDurably(temp, Json.write(index));
      Files.move(temp, root.resolve(INDEX_JSON), StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
      forceDirectory(root);
    } finally {
      Files.deleteIfExists(temp);
    }
  }

  /** Gives the blobs of replaced manifests a fresh time; called under the lock. */
  private void refresh(List<Descriptor> replaced) {
    FileTime now = FileTime.from(clock.instant());
    for (Descriptor d : replaced) {
      try {
        Set<String> blobs = new HashSet<>();
        mark(d, blobs, 0);
        for (String hex : blobs) {
          Path blob = root.resolve("blobs").resolve(Digest.ALGORITHM).resolve(hex);
          if (Files.exists(blob, LinkOption.NOFOLLOW_LINKS)) {
            Files.setLastModifiedTime(blob, now);
          }
        }
      } catch (IOException | RuntimeException e) {
        // The replaced manifest is unreadable: nothing of it can be pulled anyway.
      }
    }
  }

  /**
   * If a sound copy of the blob exists, refreshes its modification time under the lock and returns
   * true: from then on, collection spares it for the grace period. A copy whose size or digest is
   * wrong (a damaged disk, a hand edit) is reported and left to be replaced by the caller's rename.
   */
  private boolean claimExisting(Path blob, Digest digest, long size) throws IOException {
    if (!Files.exists(blob, LinkOption.NOFOLLOW_LINKS)) {
      return false;
    }
    // Hashed outside the lock, so that other pushes' tag moves do not wait behind a large blob.
    Boolean sound = soundness(blob, digest, size);
    if (sound == null) {
      return false;
    }
    if (!sound) {
      warnings.accept("blob " + digest + " in " + root + " is damaged; it is replaced by the copy this push wrote");
      return false;
    }
    try (ExclusiveLock.Held lock = ExclusiveLock.acquire(root.resolve(LOCK))) {
      // Blobs are only ever replaced by renames of sound copies: still there means still sound.
      if (!Files.exists(blob, LinkOption.NOFOLLOW_LINKS)) {
        return false;
      }
      Files.setLastModifiedTime(blob, FileTime.from(clock.instant()));
      return true;
    }
  }

  /** Whether the blob's size and digest check; {@code null} when it is gone. */
  private static Boolean soundness(Path blob, Digest digest, long size) throws IOException {
    try {
      if (Files.size(blob) != size) {
        return false;
      }
      java.security.MessageDigest md = Digest.newMessageDigest();
      try (InputStream in = Files.newInputStream(blob, LinkOption.NOFOLLOW_LINKS)) {
        byte[] buffer = new byte[1 << 16];
        int n;
        while ((n = in.read(buffer)) > 0) {
          md.update(buffer, 0, n);
        }
      }
      return Digest.finish(md).equals(digest);
    } catch (NoSuchFileException e) {
      return null;
    }
  }


  // ---------------------------------------------------------------- garbage

  /**
   * Deletes blobs that no manifest in {@code manifests} reaches and that are older than the grace
   * period, and staging leftovers older than it. Called under the lock. When any reachable manifest
   * cannot be read, nothing is deleted.
   *
   * @return what was collected; empty when nothing could be (the warning says why)
   */
  private Optional<TagRemoval.Collected> collectGarbage(List<Descriptor> manifests) {
    Optional<Path> damaged = damagedIndexAside();
    if (damaged.isPresent()) {
      warnings.accept("store " + root + ": unreferenced blobs are kept while " + damaged.get() + " (a damaged index.json set aside by"
          + " --force) exists; delete it once the ids it named are pushed again");
      return Optional.empty();
    }
    Set<String> live = new HashSet<>();
    try {
      for (Descriptor d : manifests) {
        // Only a manifest known to be absent: one whose existence cannot be told (an I/O error) stops collection below.
        if (Files.notExists(blobPath(parseDigest(d.digest(), "a descriptor in index.json")), LinkOption.NOFOLLOW_LINKS)) {
          // A tag whose manifest is gone names nothing that can be pulled: it keeps nothing, until that id is pushed again.
          warnings.accept("store " + root + ": tag '" + d.annotation(MediaTypes.REF_NAME) + "' names manifest " + d.digest()
              + ", which is missing; push that id again");
          continue;
        }
        mark(d, live, 0);
      }
    } catch (IOException | RuntimeException e) {
      warnings.accept("store " + root + ": unreferenced blobs were not collected (" + e.getMessage() + ")");
      return Optional.empty();
    }
    Instant cutoff = clock.instant().minus(grace);
    try {
      TagRemoval.Collected collected = deleteUnreferenced(live, cutoff);
      // Staging files belong to pushes in progress; only those of pushes long dead are removed.
      FileTrees.deleteOlderThan(root.resolve(STAGING), clock.instant().minus(grace.multipliedBy(24)), name -> true);
      return Optional.of(collected);
    } catch (IOException | UncheckedIOException e) {
      warnings.accept("store " + root + ": collecting unreferenced blobs failed (" + e.getMessage() + ")");
      return Optional.empty();
    }
  }

  /** Deletes the blobs not in {@code live} last written or claimed before {@code cutoff}, and counts those left for their grace. */
  private TagRemoval.Collected deleteUnreferenced(Set<String> live, Instant cutoff) throws IOException {
    Path blobs = root.resolve("blobs").resolve(Digest.ALGORITHM);
    long deleted = 0;
    long deletedBytes = 0;
    long young = 0;
    long youngBytes = 0;
    if (!Files.isDirectory(blobs)) {
      return new TagRemoval.Collected(0, 0, 0, 0);
    }
    try (DirectoryStream<Path> children = Files.newDirectoryStream(blobs)) {
      for (Path child : children) {
        if (live.contains(child.getFileName().toString())) {
          continue;
        }
        BasicFileAttributes attributes;
        try {
          attributes = Files.readAttributes(child, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
        } catch (NoSuchFileException e) {
          continue; // gone already
        }
        if (attributes.lastModifiedTime().toInstant().isBefore(cutoff)) {
          FileTrees.deleteTree(child);
          deleted++;
          deletedBytes += attributes.size();
        } else {
          young++;
          youngBytes += attributes.size();
        }
      }
    }
    return new TagRemoval.Collected(deleted, deletedBytes, young, youngBytes);
  }

  /** A damaged index.json that {@link #setAsideDamagedIndex} moved aside, if one is still there. */
  private Optional<Path> damagedIndexAside() {
    try (DirectoryStream<Path> found = Files.newDirectoryStream(root, INDEX_JSON + DAMAGED_SUFFIX + "*")) {
      for (Path p : found) {
        return Optional.of(p);
      }
      return Optional.empty();
    } catch (IOException e) {
      return Optional.of(root.resolve(INDEX_JSON + DAMAGED_SUFFIX + "*")); // cannot tell: keep everything
    }
  }

  private void mark(Descriptor d, Set<String> live, int depth) throws IOException {
    Digest digest = parseDigest(d.digest(), "a descriptor in index.json");
    if (depth > 8) {
      throw new IOException("image indexes in index.json nest deeper than 8 levels");
    }
    if (!live.add(digest.hex())) {
      return;
    }
    String type = d.mediaType();
    if (MediaTypes.OCI_MANIFEST.equals(type) || MediaTypes.DOCKER_MANIFEST_V2.equals(type)) {
      ImageManifest m = Json.readManifest(readBounded(blobPath(digest), FormatLimits.MAX_MANIFEST, "manifest"), "manifest " + digest);
      if (m.config() != null) {
        live.add(parseDigest(m.config().digest(), "a config descriptor").hex());
      }
      for (Descriptor layer : m.layers()) {
        live.add(parseDigest(layer.digest(), "a layer descriptor").hex());
      }
    } else if (MediaTypes.OCI_INDEX.equals(type) || MediaTypes.DOCKER_MANIFEST_LIST.equals(type)) {
      ImageIndex index = Json.read(readBounded(blobPath(digest), FormatLimits.MAX_MANIFEST, "index"), ImageIndex.class, "index " + digest);
      for (Descriptor child : index.manifests()) {
        mark(child, live, depth + 1);
      }
    } else {
      throw new IOException("index.json names " + digest + " of unknown media type " + type);
    }
  }

  // ---------------------------------------------------------------- helpers

  private static Digest parseDigest(String text, String where) {
    try {
      return Digest.parse(text);
    } catch (IllegalArgumentException e) {
      throw CachemountException.integrity(where + ": " + e.getMessage());
    }
  }

  private static void verify(Digest digest, byte[] bytes, String what) {
    Digest actual = Digest.of(bytes);
    if (!actual.equals(digest)) {
      throw CachemountException.integrity(what + " " + digest + " does not match its content (" + actual + ")");
    }
  }

  private static String mediaTypeOf(byte[] manifest) {
    Map<?, ?> json = Json.read(manifest, Map.class, "manifest");
    Object type = json.get("mediaType");
    return type instanceof String s ? s : MediaTypes.OCI_MANIFEST;
  }

  private static byte[] readBounded(Path file, int limit, String what) throws IOException {
    try (InputStream in = Files.newInputStream(file, LinkOption.NOFOLLOW_LINKS)) {
      byte[] bytes = in.readNBytes(limit + 1);
      if (bytes.length > limit) {
        throw CachemountException.integrity(what + " in " + file.getParent() + " is larger than " + limit + " bytes");
      }
      return bytes;
    }
  }

  private static void writeDurably(Path file, byte[] content) throws IOException {
    try (FileChannel ch = FileChannel.open(file, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
      java.nio.ByteBuffer buffer = java.nio.ByteBuffer.wrap(content);
      while (buffer.hasRemaining()) {
        ch.write(buffer);
      }
      ch.force(true);
    } catch (FileAlreadyExistsException e) {
      throw new IOException("staging file " + file + " exists already", e);
    }
  }

  private static void force(Path file) throws IOException {
    try (FileChannel ch = FileChannel.open(file, StandardOpenOption.WRITE)) {
      ch.force(true);
    }
  }

  private static void forceDirectory(Path dir) throws IOException {
    try (FileChannel ch = FileChannel.open(dir, StandardOpenOption.READ)) {
      ch.force(true);
    } catch (IOException e) {
      // Some file systems cannot sync a directory; the rename is still atomic.
    }
  }
}
