package dev.cachemount.core.snapshot;

import dev.cachemount.core.Version;
import dev.cachemount.core.blob.Digest;
import dev.cachemount.core.chunk.ChunkerParameters;
import dev.cachemount.core.index.Entry;
import dev.cachemount.core.index.IndexCodec;
import dev.cachemount.core.index.SnapshotIndex;
import dev.cachemount.core.oci.Descriptor;
import dev.cachemount.core.oci.ImageManifest;
import dev.cachemount.core.oci.Json;
import dev.cachemount.core.oci.MediaTypes;
import dev.cachemount.core.oci.SnapshotConfig;
import dev.cachemount.core.pack.PackWriter;
import dev.cachemount.core.store.BlobPut;
import dev.cachemount.core.store.BlobSink;
import dev.cachemount.core.store.IndexCache;
import dev.cachemount.core.store.ManifestBytes;
import dev.cachemount.core.store.ManifestSink;
import dev.cachemount.core.store.SnapshotStore;
import java.io.IOException;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Future;

/**
 * Stores a staged snapshot in the commit order of docs/format.md: packs, index and config, in
 * parallel, all of them stored before the manifest and with it the tag. Until the last step nothing
 * names the new blobs, so an interrupted push leaves the previous snapshot in place.
 */
public final class SnapshotPublisher {
  /** What a publish wrote. */
  public record Published(ManifestBytes manifest, SnapshotConfig config, long bytesWritten, BlobCounts blobs) {}

  /** How the blobs of a publish were stored: uploaded (written), skipped (already there), mounted. */
  public record BlobCounts(long uploaded, long skipped, long mounted) {
    BlobCounts plus(BlobPut put) {
      return switch (put.how()) {
        case WRITTEN -> new BlobCounts(uploaded + 1, skipped, mounted);
        case PRESENT -> new BlobCounts(uploaded, skipped + 1, mounted);
        case MOUNTED -> new BlobCounts(uploaded, skipped, mounted + 1);
      };
    }
  }

  /**
   * Asked once every blob of a publish is stored, just before the manifest moves the tag: whether
   * the tag may move. A refusal is thrown, and the tag stays where it is; what the publish wrote until
   * then is told, as it is written all the same.
   */
  @FunctionalInterface
  public interface TagCheck {
    TagCheck NONE = (bytesWritten, blobs) -> { };

    /** @param bytesWritten and {@code blobs}: what the publish stored until now, every blob but the manifest */
    void beforeMovingTag(long bytesWritten, BlobCounts blobs) throws IOException;
  }

  private final BlobSink blobs;
  private final ManifestSink manifests;
  private final IndexCache indexes;

  public SnapshotPublisher(BlobSink blobs, ManifestSink manifests) {
    this(blobs, manifests, IndexCache.NONE);
  }

  /** @param indexes where this machine keeps the index it publishes, for the next push's parent */
  public SnapshotPublisher(BlobSink blobs, ManifestSink manifests, IndexCache indexes) {
    this.blobs = blobs;
    this.manifests = manifests;
    this.indexes = indexes;
  }

  /** A publisher to {@code store}, with the store's index cache. */
  public static SnapshotPublisher of(SnapshotStore store) {
    return new SnapshotPublisher(store, store, store.indexCache());
  }

  /** Builds config and manifest for {@code staged} and stores everything under {@code tag}. */
  public Published publish(String tag, String id, StagedSnapshot staged, ChunkerParameters chunker, int level, int frameTarget, long packTarget)
      throws IOException {
    try (PackUploader uploader = new PackUploader(blobs)) {
      return publish(tag, id, staged, chunker, level, frameTarget, packTarget, null, uploader, TagCheck.NONE);
    }
  }

  /**
   * As {@link #publish(String, String, StagedSnapshot, ChunkerParameters, int, int, long)}, recording
   * the snapshots it built on, with packs that {@code uploader} may have begun storing already, and
   * moving the tag only if {@code check} lets it.
   */
  public Published publish(String tag, String id, StagedSnapshot staged, ChunkerParameters chunker, int level, int frameTarget, long packTarget,
      SnapshotConfig.Lineage lineage, PackUploader uploader, TagCheck check) throws IOException {
    List<Descriptor> layers = new ArrayList<>();
    byte[] index = IndexCodec.encode(staged.index(), level);
    Digest indexDigest = Digest.of(index);
    layers.add(Descriptor.of(MediaTypes.SNAPSHOT_INDEX, indexDigest, index.length));
    for (PackWriter.FinishedPack pack : staged.packs()) {
      layers.add(Descriptor.of(MediaTypes.SNAPSHOT_PACK, pack.digest(), pack.size()));
    }
    for (ReusedPack pack : staged.reused()) {
      layers.add(Descriptor.of(MediaTypes.SNAPSHOT_PACK, pack.digest(), pack.size()));
    }
    // The index and the config go up beside the packs still uploading; the manifest, last, once all are stored.
    Future<BlobPut> indexPut = uploader.submit(indexDigest, index);
    List<BlobPut> puts = new ArrayList<>();
    List<Future<BlobPut>> claims = new ArrayList<>();
    for (ReusedPack pack : staged.reused()) {
      // The parent's packs were seen in the store when it was loaded: no second request for each,
      // but where a prune may collect them under this push (a local store), each is claimed.
      if (pack.knownPresent() && !uploader.claimsKnownBlobs()) {
        puts.add(BlobPut.PRESENT);
      } else {
        claims.add(uploader.claim(pack.digest(), pack.size(), pack.repository()));
      }
    }

    String created = DateTimeFormatter.ISO_INSTANT.format(staged.scanStarted().atOffset(ZoneOffset.UTC));
    SnapshotConfig config = new SnapshotConfig(
        SnapshotConfig.FORMAT_VERSION, id, created, new SnapshotConfig.Tool("cachemount", Version.get()),
        SnapshotConfig.Chunker.of(chunker),
        new SnapshotConfig.Packing("zstd", level, frameTarget, packTarget),
        counts(staged), lineage, TreeDigest.ofIndex(staged.index().entries()));
    byte[] configBytes = Json.write(config);
    Digest configDigest = Digest.of(configBytes);
    Future<BlobPut> configPut = uploader.submit(configDigest, configBytes);
    for (Future<BlobPut> claim : claims) {
      puts.add(PackUploader.await(claim));
    }
    puts.addAll(uploader.finish(staged.packs()));
    puts.add(PackUploader.await(indexPut));
    puts.add(PackUploader.await(configPut));
    long written = 0;
    BlobCounts counts = new BlobCounts(0, 0, 0);
    for (BlobPut put : puts) {
      written += put.bytesWritten();
      counts = counts.plus(put);
    }

    ImageManifest manifest = new ImageManifest(
        2, MediaTypes.OCI_MANIFEST, MediaTypes.SNAPSHOT_ARTIFACT,
        Descriptor.of(MediaTypes.SNAPSHOT_CONFIG, configDigest, configBytes.length),
        layers,
        Map.of(MediaTypes.CREATED, created));
    ManifestBytes manifestBytes = ManifestBytes.of(MediaTypes.OCI_MANIFEST, Json.write(manifest));
    check.beforeMovingTag(written, counts);
    written += manifests.putManifest(tag, manifestBytes);
    indexes.put(indexDigest, index);
    return new Published(manifestBytes, config, written, counts);
  }

  private static SnapshotConfig.Counts counts(StagedSnapshot staged) {
    SnapshotIndex index = staged.index();
    long dirs = 0;
    long links = 0;
    for (Entry e : index.entries()) {
      switch (e.type()) {
        case DIRECTORY -> dirs++;
        case SYMLINK -> links++;
        default -> { }
      }
    }
    return new SnapshotConfig.Counts(
        index.entries().size(), index.fileCount(), dirs, links, index.totalBytes(), index.chunkCount(), index.distinctChunkBytes(),
        index.frames().size(), index.packs().size(), index.packBytes());
  }

  /** Parses a config's {@code created} time. */
  public static Instant parseCreated(String created) {
    return Instant.parse(created);
  }
}
