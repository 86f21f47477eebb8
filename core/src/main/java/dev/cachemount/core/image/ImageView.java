package dev.cachemount.core.image;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.cachemount.core.CachemountException;
import dev.cachemount.core.OperationListener;
import dev.cachemount.core.blob.Digest;
import dev.cachemount.core.index.SnapshotIndex;
import dev.cachemount.core.internal.CleanupOnExit;
import dev.cachemount.core.internal.FileTrees;
import dev.cachemount.core.internal.Workers;
import dev.cachemount.core.oci.Json;
import dev.cachemount.core.oci.MediaTypes;
import dev.cachemount.core.snapshot.CoarseTimes;
import dev.cachemount.core.store.BlobPut;
import dev.cachemount.core.store.ManifestBytes;
import dev.cachemount.core.store.SnapshotStore;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Future;

/**
 * The image view of a snapshot: an ordinary container image whose file system is the cache directory,
 * stored under a tag of its own beside the snapshot, so that a builder can seed a cache mount from it
 * ({@code RUN --mount=type=cache,target=/root/.m2/repository,from=REGISTRY/REPO:TAG}) or any image
 * tool can read it, without cachemount. It is an OCI image index naming one image manifest per
 * common Linux platform (the same layers; only the config's platform differs), whose layers are the
 * snapshot's entries cut into groups ({@link LayerGroups}), each a tar compressed with zstd
 * ({@link LayerTar}). The layers cannot share the snapshot's packs, so the view costs what its layers
 * cost; a group whose entries equal a group of the view it replaces keeps that layer, unread and
 * not uploaded again. The format is written down in docs/format.md.
 */
public final class ImageView {
  /** On the index: the format of the view. Its presence is what makes a tag an image view. */
  public static final String VIEW = "dev.cachemount.image.view";
  public static final String VIEW_VERSION = "1";
  /** On the index: the digest of the snapshot's manifest the view shows. */
  public static final String SNAPSHOT = "dev.cachemount.image.snapshot";
  /** On each layer: its group's key ({@link LayerGroups.Group#key}). */
  public static final String LAYER_KEY = "dev.cachemount.image.layer.key";
  /** The media type of a layer compressed with zstd, the default ({@link LayerCompression}). */
  public static final String LAYER = LayerCompression.ZSTD.mediaType();
  /** On the index: how its layers are compressed ({@link LayerCompression#value}); a view without it is zstd's. */
  public static final String COMPRESSION = "dev.cachemount.image.compression";
  public static final String CONFIG = "application/vnd.oci.image.config.v1+json";

  /** A platform the index names: every one gets the same layers. */
  record Platform(String os, String architecture, String variant) {}

  /** The Linux platforms builders run on; a builder picks its own, and all of them hold the same files. */
  static final List<Platform> PLATFORMS = List.of(
      new Platform("linux", "amd64", null), new Platform("linux", "arm64", null), new Platform("linux", "arm", "v7"),
      new Platform("linux", "arm", "v6"), new Platform("linux", "386", null), new Platform("linux", "ppc64le", null),
      new Platform("linux", "s390x", null), new Platform("linux", "riscv64", null));

  /** The snapshot a view shows: its index, and its creation time (RFC 3339), the view's too. */
  public record Snapshot(SnapshotIndex index, String created) {}

  /** Reads the snapshot's index when the view must be written: not when it already shows the snapshot. */
  public interface SnapshotSource {
    Snapshot get() throws IOException;
  }

  /** What a publication did. */
  public record Result(String ref, String digest, int layers, int layersReused, long bytesWritten, boolean unchanged) {}

  /** Told, on the thread that publishes, that the view no longer reads the directory. */
  public interface DirectoryRead {
    void done() throws IOException;
  }

  private final SnapshotStore store;
  private final String tag;
  private final OperationListener listener;
  /** The groups' average size; 0 for {@link LayerGroups#target}'s choice. */
  private final long layerTarget;
  private DirectoryRead directoryRead = () -> { };
  private java.util.Set<String> takenFromStore = java.util.Set.of();
  private LayerCompression compression = LayerCompression.ZSTD;

  public ImageView(SnapshotStore store, String tag, OperationListener listener) {
    this(store, tag, listener, 0);
  }

  ImageView(SnapshotStore store, String tag, OperationListener listener, long layerTarget) {
    this.store = store;
    this.tag = tag;
    this.listener = listener;
    this.layerTarget = layerTarget;
  }

  /**
   * Compresses the layers with {@code c} (zstd unless told). A view written with another compression
   * does not show the snapshot as asked: it is written again, none of its layers kept.
   */
  public ImageView compressedWith(LayerCompression c) {
    this.compression = java.util.Objects.requireNonNull(c, "compression");
    return this;
  }

  /**
   * Runs {@code read} on the thread that publishes once every layer is written, before they and the
   * manifests are all stored: a push gives the target's lock up then, so that a pull into the
   * directory waits for the reading, not for the uploads. Not run when publish fails first.
   */
  public ImageView onDirectoryRead(DirectoryRead read) {
    this.directoryRead = read;
    return this;
  }

  /**
   * Files of the snapshot that are not the directory's ({@code mode=merge} took them from the stored
   * snapshot): read from the snapshot's packs, as a changed file is, but without a warning.
   */
  public ImageView takingFromStore(java.util.Set<String> paths) {
    this.takenFromStore = java.util.Set.copyOf(paths);
    return this;
  }

  /**
   * Snapshots built on the one this view shows (a later push's, of a merge that built on it): a view
   * of one is left as it is, found before or after this view's layers are written, not replaced by
   * the view of an older snapshot (two pushes with the same {@code image=} that overlap).
   */
  public ImageView leavingViewsOf(java.util.function.Predicate<String> newerSnapshot) {
    this.newerSnapshot = newerSnapshot;
    return this;
  }

  private java.util.function.Predicate<String> newerSnapshot = digest -> false;

  /** Whether the view {@code annotations} describe shows a snapshot built on {@code snapshot}, said so. */
  private boolean showsNewer(JsonNode annotations, Digest snapshot, String ref) {
    String shown = annotations.path(SNAPSHOT).asText("");
    if (shown.isEmpty() || shown.equals(snapshot.toString()) || !newerSnapshot.test(shown)) {
      return false;
    }
    listener.info("the image view " + ref + " shows " + shown + ", which another push built on " + snapshot + "; left as it is");
    return true;
  }

  /**
   * The digest of the snapshot the view under the tag shows; empty when the tag names nothing.
   *
   * @throws CachemountException USAGE when the tag names anything but an image view: never overwritten
   */
  public Optional<String> shownSnapshot() throws IOException {
    return current().map(c -> c.annotations().path(SNAPSHOT).asText(""));
  }

  /**
   * Writes the view of the snapshot whose manifest is {@code snapshot}, from the directory it was made
   * of (a file the directory no longer holds as the snapshot does from the snapshot's packs in the
   * store, with a warning), and points the tag at it. A view of that snapshot already there is left as it is.
   *
   * @param source the snapshot's index, asked for only when the view is to be written
   * @param level the zstd level of the layers
   * @param workers how many layers are written at once
   */
  public Result publish(Path root, Digest snapshot, SnapshotSource source, int level, int workers) throws IOException {
    return publish(root, snapshot, source, level, workers, false);
  }

  /**
   * As {@link #publish(Path, Digest, SnapshotSource, int, int)}; with {@code rewrite} (a push's
   * {@code --force}, the repair of a store whose blobs were damaged) every layer is written again and
   * stored, none kept from the view it replaces: a kept layer is only looked for, by digest and size,
   * so one whose bytes were damaged would stay in the view, and no builder could pull it.
   */
  public Result publish(Path root, Digest snapshot, SnapshotSource source, int level, int workers, boolean rewrite) throws IOException {
    String ref = store.describe(tag);
    Optional<Current> current = current();
    if (!rewrite && current.isPresent() && snapshot.toString().equals(current.get().annotations().path(SNAPSHOT).asText())
        && compression.value().equals(current.get().annotations().path(COMPRESSION).asText(LayerCompression.ZSTD.value()))) {
      Optional<String> lacks = lacking(current.get());
      if (lacks.isEmpty()) {
        return new Result(ref, current.get().manifest().digest().toString(), current.get().layers().size(), current.get().layers().size(), 0, true);
      }
      // Left as it was, a view no builder can pull would stay so for as long as the cache does not change.
      listener.warning("the image view " + ref + " lacks " + lacks.get() + "; writing it again, keeping the layers still stored");
    }
    if (current.isPresent() && current.get().manifest() != null && showsNewer(current.get().annotations(), snapshot, ref)) {
      return new Result(ref, current.get().manifest().digest().toString(), current.get().layers().size(), current.get().layers().size(), 0, true);
    }
    Snapshot shown = source.get();
    SnapshotIndex index = shown.index();
    String created = shown.created();
    Map<String, Layer> earlier = new HashMap<>();
    for (Layer l : rewrite ? List.<Layer>of() : current.map(Current::layers).orElse(List.<Layer>of())) {
      earlier.put(l.key(), l);
    }
    List<LayerGroups.Group> groups = LayerGroups.of(index, layerTarget > 0 ? layerTarget : LayerGroups.target(index.totalBytes()), compression);
    List<String> leftOut = LayerGroups.leftOut(index);
    if (!leftOut.isEmpty()) {
      listener.warning(String.format("the image view %s leaves out %,d entries whose name starts with .wh. (image tools read such a name as the"
          + " deletion of another; the snapshot keeps them): %s", ref, leftOut.size(),
          String.join(", ", leftOut.subList(0, Math.min(5, leftOut.size()))) + (leftOut.size() > 5 ? ", ..." : "")));
    }
    Layer[] layers = new Layer[groups.size()];
    long written = 0;
    int reused = 0;
    Path staging = store.newStagingDirectory();
    // Layers are written on the workers and stored, each once written, on a pool of the store's own
    // (a registry uploads several at once), so that writing goes on while the upload of a layer waits.
    ExecutorService writers = Workers.pool("cachemount-image", Math.max(1, Math.min(workers, groups.size())));
    // Measured once, and only if a file's time is not the snapshot's exactly (see LayerTar).
    java.util.concurrent.atomic.AtomicLong measured = new java.util.concurrent.atomic.AtomicLong();
    java.util.function.LongSupplier granularity = () -> measured.updateAndGet(g -> g != 0 ? g : CoarseTimes.measure(root));
    ExecutorService uploads = Workers.pool("cachemount-image-upload", Math.max(1, store.parallelPuts()));
    java.util.Queue<String> fromStore = new java.util.concurrent.ConcurrentLinkedQueue<>();
    // On SIGTERM (a cancelled CI job) the staged layers go, as a push's staged packs do.
    try (CleanupOnExit hook = CleanupOnExit.register("cachemount-image-cleanup", () -> deleteQuietly(staging))) {
      List<Future<Future<Layer>>> building = new ArrayList<>();
      List<Integer> built = new ArrayList<>();
      for (int i = 0; i < groups.size(); i++) {
        LayerGroups.Group g = groups.get(i);
        Layer before = earlier.get(g.key());
        if (before != null && store.hasBlob(before.digest(), before.size())) {
          layers[i] = before;
          reused++;
          continue;
        }
        int number = i;
        building.add(writers.submit(() -> {
          LayerTar.Written w = new LayerTar(root, level, granularity).compressedWith(compression).readingChangedFilesFrom(store, index).takingFromStore(takenFromStore).write(g, staging.resolve("layer-" + number));
          fromStore.addAll(w.fromStore());
          return uploads.submit(() -> {
            BlobPut put = store.putBlob(w.digest(), w.size(), w.file());
            return new Layer(g.key(), w.digest(), w.size(), w.diffId(), put.bytesWritten());
          });
        }));
        built.add(i);
      }
      List<Future<Layer>> storing = new ArrayList<>();
      for (int k = 0; k < building.size(); k++) {
        storing.add(Workers.await(building.get(k), "writing the image view's layers"));
        for (Future<Layer> upload : storing) {
          if (upload.isDone()) {
            Workers.await(upload, "storing the image view's layers"); // one that failed ends the view now
          }
        }
      }
      // Every layer is written: the directory is not read again, and a pull into it need not wait for the uploads.
      directoryRead.done();
      if (!fromStore.isEmpty()) {
        List<String> paths = new ArrayList<>(fromStore);
        java.util.Collections.sort(paths);
        listener.warning(String.format("%,d files changed in the directory after the snapshot was made; the image view %s shows the snapshot's"
            + " versions, read back from its packs: %s", paths.size(), ref,
            String.join(", ", paths.subList(0, Math.min(5, paths.size()))) + (paths.size() > 5 ? ", ..." : "")));
      }
      for (int k = 0; k < storing.size(); k++) {
        Layer l = Workers.await(storing.get(k), "storing the image view's layers");
        layers[built.get(k)] = l;
        written += l.written();
      }
    } finally {
      Workers.stop(writers);
      Workers.stop(uploads);
      deleteQuietly(staging);
    }
    // Each platform's config and manifest: a few round trips each in a registry, so stored several at once.
    List<Future<PlatformManifest>> stored = new ArrayList<>();
    ExecutorService platforms = Workers.pool("cachemount-image-manifests", Math.max(1, Math.min(PLATFORMS.size(), store.parallelPuts())));
    try {
      for (Platform p : PLATFORMS) {
        stored.add(platforms.submit(() -> {
          byte[] config = Json.mapper().writeValueAsBytes(config(p, created, layers));
          Digest configDigest = Digest.of(config);
          long bytes = store.putBlob(configDigest, config).bytesWritten();
          ManifestBytes manifest = ManifestBytes.of(MediaTypes.OCI_MANIFEST,
              Json.mapper().writeValueAsBytes(manifest(configDigest, config.length, created, layers)));
          bytes += store.putChildManifest(manifest);
          return new PlatformManifest(p, manifest, bytes);
        }));
      }
      for (Future<PlatformManifest> f : stored) {
        Workers.await(f, "storing the image view's manifests");
      }
    } finally {
      Workers.stop(platforms); // after the waits: it cancels what still runs
    }
    ArrayNode manifests = Json.mapper().createArrayNode();
    for (Future<PlatformManifest> f : stored) {
      PlatformManifest pm = Workers.await(f, "storing the image view's manifests");
      written += pm.bytesWritten();
      ObjectNode d = manifests.addObject();
      d.put("mediaType", MediaTypes.OCI_MANIFEST);
      d.put("digest", pm.manifest().digest().toString());
      d.put("size", pm.manifest().bytes().length);
      ObjectNode platform = d.putObject("platform");
      platform.put("architecture", pm.platform().architecture());
      platform.put("os", pm.platform().os());
      if (pm.platform().variant() != null) {
        platform.put("variant", pm.platform().variant());
      }
    }
    ObjectNode imageIndex = Json.mapper().createObjectNode();
    imageIndex.put("schemaVersion", 2);
    imageIndex.put("mediaType", MediaTypes.OCI_INDEX);
    imageIndex.set("manifests", manifests);
    ObjectNode annotations = imageIndex.putObject("annotations");
    annotations.put(MediaTypes.CREATED, created);
    annotations.put(VIEW, VIEW_VERSION);
    annotations.put(SNAPSHOT, snapshot.toString());
    annotations.put(COMPRESSION, compression.value());
    ManifestBytes indexBytes = ManifestBytes.of(MediaTypes.OCI_INDEX, Json.mapper().writeValueAsBytes(imageIndex));
    // Another push may have written the view of a later snapshot meanwhile: looked at again, last.
    Optional<ManifestBytes> now;
    try {
      now = store.fetchManifest(tag);
    } catch (dev.cachemount.core.store.BlobNotFoundException | dev.cachemount.core.store.DamagedManifestException e) {
      now = Optional.empty();
    }
    if (now.isPresent() && (current.isEmpty() || current.get().manifest() == null || !now.get().digest().equals(current.get().manifest().digest()))) {
      JsonNode later;
      try {
        later = Json.mapper().readTree(now.get().bytes()).path("annotations");
      } catch (IOException e) {
        later = Json.mapper().createObjectNode();
      }
      if (showsNewer(later, snapshot, ref)) {
        return new Result(ref, now.get().digest().toString(), layers.length, reused, written, true);
      }
    }
    written += store.putManifest(tag, indexBytes);
    return new Result(ref, indexBytes.digest().toString(), layers.length, reused, written, false);
  }

  private void deleteQuietly(Path staging) {
    try {
      FileTrees.deleteTree(staging);
    } catch (IOException e) {
      listener.warning("could not remove staging directory " + staging + ": " + e.getMessage());
    }
  }

  private static ObjectNode config(Platform p, String created, Layer[] layers) {
    ObjectNode c = Json.mapper().createObjectNode();
    c.put("created", created);
    c.put("architecture", p.architecture());
    c.put("os", p.os());
    if (p.variant() != null) {
      c.put("variant", p.variant());
    }
    c.putObject("config");
    ObjectNode rootfs = c.putObject("rootfs");
    rootfs.put("type", "layers");
    ArrayNode diffIds = rootfs.putArray("diff_ids");
    for (Layer l : layers) {
      diffIds.add(l.diffId().toString());
    }
    return c;
  }

  private ObjectNode manifest(Digest config, long configSize, String created, Layer[] layers) {
    ObjectNode m = Json.mapper().createObjectNode();
    m.put("schemaVersion", 2);
    m.put("mediaType", MediaTypes.OCI_MANIFEST);
    ObjectNode c = m.putObject("config");
    c.put("mediaType", CONFIG);
    c.put("digest", config.toString());
    c.put("size", configSize);
    ArrayNode array = m.putArray("layers");
    for (Layer l : layers) {
      ObjectNode d = array.addObject();
      d.put("mediaType", compression.mediaType());
      d.put("digest", l.digest().toString());
      d.put("size", l.size());
      d.putObject("annotations").put(LAYER_KEY, l.key());
    }
    m.putObject("annotations").put(MediaTypes.CREATED, created);
    return m;
  }

  /** A platform's manifest, stored, and the bytes storing it and its config wrote. */
  private record PlatformManifest(Platform platform, ManifestBytes manifest, long bytesWritten) {}

  /** A layer of a view: its group's key, the blob, the tar's digest, and the bytes this push wrote for it. */
  private record Layer(String key, Digest digest, long size, Digest diffId, long written) {}

  /** The view the tag names now: its index, the index's annotations, and its layers (from its first manifest). */
  private record Current(ManifestBytes manifest, JsonNode annotations, List<Layer> layers) {}

  /**
   * What of the view is not in the store, said for a warning: a platform's manifest (a registry's
   * clean-up of untagged manifests takes them), a config or a layer; empty when it is complete. Its
   * manifests are read and its blobs looked for several at a time, as the store stores them.
   */
  private Optional<String> lacking(Current c) throws IOException {
    JsonNode index = tree(c.manifest().bytes(), store.describe(tag));
    ExecutorService pool = Workers.pool("cachemount-image-check", Math.max(1, store.parallelPuts()));
    try {
      List<JsonNode> descriptors = new ArrayList<>();
      List<Future<Optional<ManifestBytes>>> manifests = new ArrayList<>();
      for (JsonNode d : index.path("manifests")) {
        String digest = d.path("digest").asText();
        descriptors.add(d);
        manifests.add(pool.submit(() -> store.fetchManifest(digest)));
      }
      if (descriptors.isEmpty()) {
        return Optional.of("its manifests");
      }
      Map<String, Long> blobs = new java.util.LinkedHashMap<>();
      for (int i = 0; i < descriptors.size(); i++) {
        JsonNode p = descriptors.get(i).path("platform");
        Optional<ManifestBytes> m = Workers.await(manifests.get(i), "reading the image view's manifests");
        if (m.isEmpty()) {
          return Optional.of("the manifest of " + p.path("os").asText() + "/" + p.path("architecture").asText()
              + (p.has("variant") ? "/" + p.path("variant").asText() : "") + " (" + descriptors.get(i).path("digest").asText() + ")");
        }
        JsonNode manifest = tree(m.get().bytes(), store.describe(tag));
        blobs.put(manifest.path("config").path("digest").asText(), manifest.path("config").path("size").asLong());
        for (JsonNode l : manifest.path("layers")) {
          blobs.put(l.path("digest").asText(), l.path("size").asLong());
        }
      }
      Map<String, Future<Boolean>> present = new java.util.LinkedHashMap<>();
      for (Map.Entry<String, Long> b : blobs.entrySet()) {
        present.put(b.getKey(), pool.submit(() -> store.hasBlob(Digest.parse(b.getKey()), b.getValue())));
      }
      for (Map.Entry<String, Future<Boolean>> b : present.entrySet()) {
        if (!Workers.await(b.getValue(), "looking for the image view's blobs")) {
          return Optional.of("blob " + b.getKey());
        }
      }
      return Optional.empty();
    } catch (IllegalArgumentException e) {
      return Optional.of("a readable manifest (" + e.getMessage() + ")");
    } catch (CachemountException e) {
      if (e.kind() != dev.cachemount.core.FailureKind.INTEGRITY) {
        throw e;
      }
      return Optional.of("a sound manifest (" + e.getMessage() + ")");
    } finally {
      Workers.stop(pool);
    }
  }

  private Optional<Current> current() throws IOException {
    String ref = store.describe(tag);
    Optional<ManifestBytes> found;
    try {
      found = store.fetchManifest(tag);
    } catch (dev.cachemount.core.store.BlobNotFoundException | dev.cachemount.core.store.DamagedManifestException e) {
      // A tag whose index is gone or damaged names nothing a builder can pull: replaced, as a push
      // replaces a snapshot's. Failing here left no way out but deleting the tag by hand.
      listener.warning("the image view " + ref + " is damaged (" + e.getMessage() + "); writing a complete new one");
      return Optional.of(new Current(null, Json.mapper().createObjectNode(), List.of()));
    }
    if (found.isEmpty()) {
      return Optional.empty();
    }
    JsonNode index = tree(found.get().bytes(), ref);
    JsonNode annotations = index.path("annotations");
    String version = annotations.path(VIEW).asText(null);
    if (version != null && !VIEW_VERSION.equals(version)) {
      // Another cachemount's view (a runner of a later version pushes the same image=): left alone, as
      // a snapshot of a later format is (docs/format.md, "Compatibility rules"), and said so.
      throw new CachemountException(dev.cachemount.core.FailureKind.OPERATIONAL, ref + " holds an image view of format " + version
          + " (" + VIEW + "), written by another cachemount version; this one writes format " + VIEW_VERSION + " and leaves it alone:"
          + " upgrade cachemount, or give image= a tag of its own");
    }
    if (!VIEW_VERSION.equals(version)) {
      String what = MediaTypes.SNAPSHOT_ARTIFACT.equals(index.path("artifactType").asText(null)) ? "a cachemount snapshot"
          : "something that is not a cachemount image view (" + index.path("mediaType").asText("no media type") + ")";
      throw CachemountException.usage(ref + " holds " + what + ", which image= never overwrites; give image= a tag of its own, as in image=m2-image");
    }
    List<Layer> layers = new ArrayList<>();
    try {
      JsonNode first = index.path("manifests").path(0);
      Optional<ManifestBytes> manifest = store.fetchManifest(first.path("digest").asText());
      if (manifest.isEmpty()) {
        return Optional.of(new Current(found.get(), annotations, List.of()));
      }
      JsonNode m = tree(manifest.get().bytes(), ref);
      JsonNode config = m.path("config");
      Digest configDigest = Digest.parse(config.path("digest").asText());
      byte[] configBytes;
      try (InputStream in = store.openBlob(configDigest, config.path("size").asLong())) {
        configBytes = in.readNBytes(1 << 20);
      }
      if (!Digest.of(configBytes).equals(configDigest)) {
        throw new IllegalArgumentException("config does not match its digest");
      }
      JsonNode diffIds = tree(configBytes, ref).path("rootfs").path("diff_ids");
      JsonNode descriptors = m.path("layers");
      for (int i = 0; i < descriptors.size() && i < diffIds.size(); i++) {
        JsonNode d = descriptors.get(i);
        String key = d.path("annotations").path(LAYER_KEY).asText(null);
        if (key != null) {
          layers.add(new Layer(key, Digest.parse(d.path("digest").asText()), d.path("size").asLong(), Digest.parse(diffIds.get(i).asText()), 0));
        }
      }
    } catch (IllegalArgumentException | CachemountException e) {
      if (e instanceof CachemountException c && c.kind() != dev.cachemount.core.FailureKind.INTEGRITY) {
        throw c;
      }
      // A view whose parts are gone or damaged is replaced whole; nothing of it is reused.
      listener.warning("the image view " + ref + " is damaged (" + e.getMessage() + "); writing a complete new one");
      return Optional.of(new Current(found.get(), annotations, List.of()));
    }
    return Optional.of(new Current(found.get(), annotations, layers));
  }

  private static JsonNode tree(byte[] bytes, String ref) {
    try {
      return Json.mapper().readTree(bytes);
    } catch (IOException e) {
      throw CachemountException.integrity(ref + ": not valid JSON (" + e.getMessage() + ")");
    }
  }
}
