package dev.cachemount.core.snapshot;

import dev.cachemount.core.CachemountException;
import dev.cachemount.core.NewerFormatException;
import dev.cachemount.core.FailureKind;
import dev.cachemount.core.blob.Digest;
import dev.cachemount.core.chunk.ChunkerParameters;
import dev.cachemount.core.index.FormatLimits;
import dev.cachemount.core.index.IndexCodec;
import dev.cachemount.core.index.SnapshotIndex;
import dev.cachemount.core.oci.Descriptor;
import dev.cachemount.core.oci.ImageManifest;
import dev.cachemount.core.oci.Json;
import dev.cachemount.core.oci.MediaTypes;
import dev.cachemount.core.oci.SnapshotConfig;
import dev.cachemount.core.store.BlobSource;
import dev.cachemount.core.store.IndexCache;
import dev.cachemount.core.store.ManifestBytes;
import dev.cachemount.core.store.ManifestSource;
import dev.cachemount.core.store.SnapshotStore;
import java.io.IOException;
import java.io.InputStream;
import java.util.List;
import java.util.Optional;

/**
 * Loads a snapshot's manifest, config and index from a store and checks each against its digest and
 * against each other before anything uses them. Stateless apart from its sources; thread-safe.
 */
public final class SnapshotReader {
  private final ManifestSource manifests;
  private final BlobSource blobs;
  private final IndexCache indexes;

  public SnapshotReader(ManifestSource manifests, BlobSource blobs) {
    this(manifests, blobs, IndexCache.NONE);
  }

  /** @param indexes indexes this machine holds already, and keeps those it fetches */
  public SnapshotReader(ManifestSource manifests, BlobSource blobs, IndexCache indexes) {
    this.manifests = manifests;
    this.blobs = blobs;
    this.indexes = indexes;
  }

  /** A reader of {@code store}, with the store's index cache. */
  public static SnapshotReader of(SnapshotStore store) {
    return new SnapshotReader(store, store, store.indexCache());
  }

  /**
   * Loads the snapshot {@code reference} (a tag or digest) names.
   *
   * @param where names the reference in messages, e.g. {@code oci:/store:m2}
   * @return empty when the store has no such reference
   * @throws CachemountException OPERATIONAL when the reference is not a cachemount snapshot or has a
   *     newer format; INTEGRITY when it is corrupt or inconsistent
   */
  public Optional<LoadedSnapshot> load(String reference, String where) throws IOException {
    Optional<ManifestBytes> fetched = manifests.fetchManifest(reference);
    if (fetched.isEmpty()) {
      return Optional.empty();
    }
    return Optional.of(load(fetched.get(), where));
  }

  /**
   * Loads the snapshot of a manifest already fetched.
   *
   * @throws CachemountException as {@link #load(String, String)}
   */
  public LoadedSnapshot load(ManifestBytes bytes, String where) throws IOException {
    return load(loadHead(bytes, where), where);
  }

  /**
   * Loads the manifest and config of a manifest already fetched, verified as {@link #load} verifies
   * them, without fetching the index.
   *
   * @throws CachemountException as {@link #load(String, String)}
   */
  public SnapshotHead loadHead(ManifestBytes bytes, String where) throws IOException {
    long read = bytes.bytes().length;
    if (!MediaTypes.OCI_MANIFEST.equals(bytes.mediaType())) {
      throw notASnapshot(where, "its media type is " + bytes.mediaType());
    }
    ImageManifest manifest = Json.readManifest(bytes.bytes(), "manifest of " + where);
    Descriptor config = manifest.config();
    boolean ours = MediaTypes.SNAPSHOT_ARTIFACT.equals(manifest.artifactType())
        || (config != null && MediaTypes.SNAPSHOT_CONFIG.equals(config.mediaType()));
    if (!ours) {
      throw notASnapshot(where, (manifest.artifactType() == null ? "it has no artifactType" : "its artifactType is " + manifest.artifactType())
          + " and " + (config == null ? "no config" : "its config media type is " + config.mediaType()));
    }
    List<Descriptor> layers = manifest.layers();
    for (int i = 0; i < layers.size(); i++) {
      String type = layers.get(i).mediaType();
      String expected = i == 0 ? MediaTypes.SNAPSHOT_INDEX : MediaTypes.SNAPSHOT_PACK;
      if (type != null && !type.equals(expected) && type.startsWith(expected.substring(0, expected.indexOf(".v1") + 2))) {
        throw newerFormat(where, "layer " + i + " has media type " + type);
      }
    }
    if (config == null || layers.isEmpty() || !MediaTypes.SNAPSHOT_INDEX.equals(layers.get(0).mediaType())) {
      throw CachemountException.integrity("snapshot " + where + " is malformed: it needs a config and the index as its first layer");
    }
    for (int i = 1; i < layers.size(); i++) {
      if (!MediaTypes.SNAPSHOT_PACK.equals(layers.get(i).mediaType())) {
        throw CachemountException.integrity("snapshot " + where + " is malformed: layer " + i + " has media type " + layers.get(i).mediaType());
      }
    }
    byte[] configBytes = fetchSmall(config, FormatLimits.MAX_CONFIG, "config of " + where);
    read += configBytes.length;
    SnapshotConfig cfg = Json.readConfig(configBytes, "config of " + where);
    if (cfg.formatVersion() > SnapshotConfig.FORMAT_VERSION) {
      throw newerFormat(where, "format version " + cfg.formatVersion());
    }
    if (cfg.formatVersion() != SnapshotConfig.FORMAT_VERSION) {
      throw new CachemountException(FailureKind.OPERATIONAL, "snapshot " + where + " has format version " + cfg.formatVersion()
          + "; this cachemount reads version " + SnapshotConfig.FORMAT_VERSION);
    }
    if (cfg.chunker() != null && cfg.chunker().algorithm() != null && !ChunkerParameters.FASTCDC_2020.equals(cfg.chunker().algorithm())) {
      throw newerFormat(where, "chunker algorithm '" + cfg.chunker().algorithm() + "'");
    }
    checkConfig(cfg, where);
    return new SnapshotHead(bytes, manifest, cfg, read);
  }

  /**
   * Fetches and verifies the index of a snapshot whose head {@link #loadHead} loaded.
   *
   * @throws CachemountException as {@link #load(String, String)}
   */
  public LoadedSnapshot load(SnapshotHead head, String where) throws IOException {
    List<Descriptor> layers = head.manifest().layers();
    SnapshotConfig cfg = head.config();
    long read = head.bytesRead();
    Descriptor indexLayer = layers.get(0);
    String what = "index of " + where;
    byte[] cached = cachedIndex(indexLayer).orElse(null);
    SnapshotIndex index = null;
    if (cached != null) {
      Digest expected = Digest.parse(indexLayer.digest());
      index = decodeWhileHashing(cached, expected, what);
      if (index == null) {
        indexes.discard(expected); // not what the manifest names: fetched below
      }
    }
    if (index == null) {
      byte[] fetched = fetchUnverified(indexLayer, FormatLimits.MAX_INDEX, what);
      read += fetched.length;
      Digest expected = Digest.parse(indexLayer.digest());
      index = decodeWhileHashing(fetched, expected, what);
      if (index == null) {
        throw CachemountException.integrity(what + " does not match its digest " + expected + " (got " + Digest.of(fetched) + ")");
      }
      indexes.put(expected, fetched);
    }
    SnapshotConfig.Counts counts = cfg.counts();
    if (counts.entries() != index.entries().size() || counts.files() != index.fileCount() || counts.bytes() != index.totalBytes()) {
      throw CachemountException.integrity("snapshot " + where + ": its index holds " + index.entries().size() + " entries, " + index.fileCount()
          + " files and " + index.totalBytes() + " bytes, but its config says " + counts.entries() + ", " + counts.files() + " and " + counts.bytes());
    }
    if (index.packs().size() != layers.size() - 1) {
      throw CachemountException.integrity("snapshot " + where + " lists " + (layers.size() - 1) + " packs but its index names " + index.packs().size());
    }
    for (int i = 0; i < index.packs().size(); i++) {
      SnapshotIndex.PackRef pack = index.packs().get(i);
      Descriptor layer = layers.get(i + 1);
      if (!pack.digest().toString().equals(layer.digest()) || pack.size() != layer.size()) {
        throw CachemountException.integrity("snapshot " + where + ": layer " + (i + 1) + " is not the pack its index names");
      }
    }
    return new LoadedSnapshot(head.manifestBytes(), head.manifest(), cfg, index, read);
  }

  private static NewerFormatException newerFormat(String where, String marker) {
    return new NewerFormatException(where, marker, SnapshotConfig.FORMAT_VERSION);
  }

  /** Checks the fields every reader relies on; a config without them is corrupt. */
  private static void checkConfig(SnapshotConfig cfg, String where) {
    String missing = cfg.created() == null ? "created" : cfg.tool() == null ? "tool" : cfg.chunker() == null ? "chunker"
        : cfg.packing() == null ? "packing" : cfg.counts() == null ? "counts" : null;
    if (missing != null) {
      throw CachemountException.integrity("the config of " + where + " lacks its '" + missing + "' field");
    }
    try {
      java.time.Instant.parse(cfg.created());
      cfg.chunker().toParameters();
    } catch (RuntimeException e) {
      throw CachemountException.integrity("the config of " + where + " is invalid: " + e.getMessage());
    }
  }

  /** The index from this machine's cache, with the layer's size and within the format's limit; its digest is not checked yet. */
  private Optional<byte[]> cachedIndex(Descriptor layer) {
    if (layer.size() < 0 || layer.size() > FormatLimits.MAX_INDEX) {
      return Optional.empty();
    }
    try {
      return indexes.getUnchecked(Digest.parse(layer.digest()), layer.size());
    } catch (IllegalArgumentException e) {
      return Optional.empty(); // fetchSmall reports the malformed digest
    }
  }

  /**
   * Decodes an index while another thread checks its digest, or returns null when the bytes do not
   * match {@code expected}. In a JVM that has just started, hashing a few megabytes takes about as
   * long as decoding them, and the two need not wait for each other. Decoding bytes not yet verified
   * is safe: the decoder checks every field against the format's limits, as it must for a hostile
   * index that hashes right. Nothing decoded is returned unless the digest matches, and bytes that do
   * not match are reported as such, never as a decoding error.
   *
   * @throws CachemountException INTEGRITY when the bytes match the digest but are not a valid index
   */
  private static SnapshotIndex decodeWhileHashing(byte[] bytes, Digest expected, String what) throws IOException {
    java.util.concurrent.FutureTask<Digest> hashing = new java.util.concurrent.FutureTask<>(() -> Digest.of(bytes));
    Thread hasher = new Thread(hashing, "cachemount-index-digest");
    hasher.setDaemon(true);
    hasher.start();
    SnapshotIndex index = null;
    Throwable undecodable = null;
    try {
      index = IndexCodec.decode(bytes, FormatLimits.MAX_INDEX);
    } catch (Throwable e) {
      // Even an error (bytes whose frame header declares hundreds of megabytes run a small heap out
      // of memory): what the bytes are is known only once their digest is.
      undecodable = e;
    }
    if (!dev.cachemount.core.internal.Workers.await(hashing, "checking the digest of the " + what).equals(expected)) {
      return null;
    }
    if (undecodable instanceof NewerFormatException newer) {
      throw newerFormat(what, newer.marker()); // named: the codec does not know which snapshot it read
    }
    if (undecodable != null) {
      throw dev.cachemount.core.internal.Workers.rethrow(undecodable);
    }
    return index;
  }

  /** Fetches a small blob whole and verifies its size and digest. */
  private byte[] fetchSmall(Descriptor descriptor, int limit, String what) throws IOException {
    byte[] bytes = fetchUnverified(descriptor, limit, what);
    Digest digest = Digest.parse(descriptor.digest());
    Digest actual = Digest.of(bytes);
    if (!actual.equals(digest)) {
      throw CachemountException.integrity(what + " does not match its digest " + digest + " (got " + actual + ")");
    }
    return bytes;
  }

  /** Fetches a small blob whole and verifies its size; the caller verifies its digest. */
  private byte[] fetchUnverified(Descriptor descriptor, int limit, String what) throws IOException {
    Digest digest;
    try {
      digest = Digest.parse(descriptor.digest());
    } catch (IllegalArgumentException e) {
      throw CachemountException.integrity(what + ": " + e.getMessage());
    }
    if (descriptor.size() < 0 || descriptor.size() > limit) {
      throw CachemountException.integrity(what + " declares " + descriptor.size() + " bytes; at most " + limit + " are accepted");
    }
    byte[] bytes;
    try (InputStream in = blobs.openBlob(digest, descriptor.size())) {
      bytes = in.readNBytes((int) descriptor.size());
      if (in.read() >= 0) {
        throw CachemountException.integrity(what + " is longer than its descriptor's " + descriptor.size() + " bytes");
      }
    }
    if (bytes.length != descriptor.size()) {
      throw CachemountException.integrity(what + " has " + bytes.length + " bytes, its descriptor says " + descriptor.size());
    }
    return bytes;
  }

  private static CachemountException notASnapshot(String where, String detail) {
    return new NotASnapshotException(where + " is not a cachemount snapshot (" + detail + ")");
  }
}
