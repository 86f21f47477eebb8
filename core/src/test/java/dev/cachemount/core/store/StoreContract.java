package dev.cachemount.core.store;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.cachemount.core.CachemountException;
import dev.cachemount.core.FailureKind;
import dev.cachemount.core.blob.Digest;
import dev.cachemount.core.oci.Descriptor;
import dev.cachemount.core.oci.ImageManifest;
import dev.cachemount.core.oci.Json;
import dev.cachemount.core.oci.MediaTypes;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.Test;

/**
 * The contract every {@link SnapshotStore} keeps. Each store's test extends this class and says how
 * to make a fresh, empty store; the same assertions then run against an OCI layout directory and
 * a real registry (RegistryStoreContractIT in it-tests, in four configurations).
 */
public abstract class StoreContract {
  /** A new, empty store. */
  protected abstract SnapshotStore newStore() throws IOException;

  private static byte[] random(int seed, int n) {
    byte[] b = new byte[n];
    new Random(seed).nextBytes(b);
    return b;
  }

  private static byte[] read(SnapshotStore store, Digest digest, long size) throws IOException {
    try (InputStream in = store.openBlob(digest, size)) {
      return in.readAllBytes();
    }
  }

  /** A manifest naming the given blobs, as a snapshot would. */
  protected static ManifestBytes manifest(Digest config, long configSize, Digest layer, long layerSize) {
    ImageManifest m = new ImageManifest(2, MediaTypes.OCI_MANIFEST, MediaTypes.SNAPSHOT_ARTIFACT,
        Descriptor.of(MediaTypes.SNAPSHOT_CONFIG, config, configSize),
        List.of(Descriptor.of(MediaTypes.SNAPSHOT_INDEX, layer, layerSize)), Map.of(MediaTypes.CREATED, "2026-01-01T00:00:00Z"));
    return ManifestBytes.of(MediaTypes.OCI_MANIFEST, Json.write(m));
  }

  @Test
  void blobsRoundTripFromMemoryAndFromFiles() throws IOException {
    try (SnapshotStore store = newStore()) {
      byte[] small = "config".getBytes(StandardCharsets.UTF_8);
      Digest smallDigest = Digest.of(small);
      assertFalse(store.hasBlob(smallDigest));
      assertEquals(BlobPut.written(small.length), store.putBlob(smallDigest, small));
      assertTrue(store.hasBlob(smallDigest));
      assertTrue(store.hasBlob(smallDigest, small.length), "held, with the size it was stored with");
      assertArrayEquals(small, read(store, smallDigest, small.length));

      byte[] large = random(1, 3 << 20);
      Digest largeDigest = Digest.of(large);
      Path staging = store.newStagingDirectory();
      Path file = staging.resolve("pack");
      Files.write(file, large);
      assertEquals(BlobPut.written(large.length), store.putBlob(largeDigest, large.length, file));
      assertArrayEquals(large, read(store, largeDigest, large.length));
    }
  }

  @Test
  void rangesOfABlobYieldTheirBytesAndNothingBetween() throws IOException {
    try (SnapshotStore store = newStore()) {
      byte[] content = random(7, 300_000);
      Digest digest = Digest.of(content);
      store.putBlob(digest, content);
      try (InputStream in = store.openRange(digest, content.length, 1_000, 5_000)) {
        assertArrayEquals(java.util.Arrays.copyOfRange(content, 1_000, 6_000), in.readAllBytes());
      }
      // Neighbours, a one-byte range, far-apart ones, the last byte; then a hundred small ones.
      List<List<BlobRange>> sets = new ArrayList<>();
      sets.add(List.of(new BlobRange(0, 10), new BlobRange(10, 1), new BlobRange(4_096, 30_000), new BlobRange(200_000, 17), new BlobRange(299_999, 1)));
      List<BlobRange> many = new ArrayList<>();
      for (int i = 0; i < 100; i++) {
        many.add(new BlobRange(i * 2_999L + 7, 100 + i));
      }
      sets.add(many);
      for (List<BlobRange> ranges : sets) {
        java.io.ByteArrayOutputStream expected = new java.io.ByteArrayOutputStream();
        for (BlobRange r : ranges) {
          expected.write(content, (int) r.offset(), (int) r.length());
        }
        for (int round = 0; round < 2; round++) { // the second time, a registry knows how it answers
          try (InputStream in = store.openRanges(digest, content.length, ranges)) {
            assertArrayEquals(expected.toByteArray(), in.readAllBytes(), ranges.size() + " ranges, round " + round);
          }
        }
      }
      assertThrows(IllegalArgumentException.class, () -> store.openRanges(digest, content.length, List.of(new BlobRange(0, 10), new BlobRange(5, 10))));
    }
  }

  @Test
  void aBlobAlreadyStoredIsNotWrittenAgain() throws IOException {
    try (SnapshotStore store = newStore()) {
      byte[] content = random(2, 10_000);
      Digest digest = Digest.of(content);
      assertEquals(BlobPut.written(content.length), store.putBlob(digest, content));
      assertEquals(BlobPut.PRESENT, store.putBlob(digest, content));
      Path file = store.newStagingDirectory().resolve("again");
      Files.write(file, content);
      assertEquals(BlobPut.PRESENT, store.putBlob(digest, content.length, file));
      assertArrayEquals(content, read(store, digest, content.length));
    }
  }

  @Test
  void readingABlobTheStoreLacksIsAnIntegrityFailure() throws IOException {
    try (SnapshotStore store = newStore()) {
      Digest missing = Digest.of("missing".getBytes(StandardCharsets.UTF_8));
      store.putBlob(Digest.of(new byte[] {1}), new byte[] {1});
      CachemountException e = assertThrows(CachemountException.class, () -> read(store, missing, 7));
      assertEquals(FailureKind.INTEGRITY, e.kind());
    }
  }

  @Test
  void anUnknownTagOrDigestIsAMissNotAnError() throws IOException {
    try (SnapshotStore store = newStore()) {
      assertTrue(store.fetchManifest("nothing-here").isEmpty());
      assertTrue(store.fetchManifest(Digest.of(new byte[] {9}).toString()).isEmpty());
    }
  }

  @Test
  void aManifestIsFoundByTagAndByDigestAndATagMovesToTheNewest() throws IOException {
    try (SnapshotStore store = newStore()) {
      byte[] config = "{}".getBytes(StandardCharsets.UTF_8);
      byte[] layer1 = random(3, 100);
      byte[] layer2 = random(4, 100);
      store.putBlob(Digest.of(config), config);
      store.putBlob(Digest.of(layer1), layer1);
      store.putBlob(Digest.of(layer2), layer2);
      ManifestBytes first = manifest(Digest.of(config), config.length, Digest.of(layer1), layer1.length);
      ManifestBytes second = manifest(Digest.of(config), config.length, Digest.of(layer2), layer2.length);

      store.putManifest("cache", first);
      ManifestBytes fetched = store.fetchManifest("cache").orElseThrow();
      assertArrayEquals(first.bytes(), fetched.bytes());
      assertEquals(first.digest(), fetched.digest());
      assertEquals(MediaTypes.OCI_MANIFEST, fetched.mediaType());

      store.putManifest("cache", second);
      store.putManifest("other", first);
      assertEquals(second.digest(), store.fetchManifest("cache").orElseThrow().digest());
      assertEquals(first.digest(), store.fetchManifest("other").orElseThrow().digest());
      assertArrayEquals(first.bytes(), store.fetchManifest(first.digest().toString()).orElseThrow().bytes());
    }
  }

  /**
   * What {@code fallback=} chooses among: a fresh store lists no tags (a registry: a repository that
   * does not exist yet, a 404, not a failure); once manifests are put under "a", "b" and "b" again
   * (the tag moved to another manifest), it lists each tag once, and only its own (a registry's other
   * repositories, which hold tags of other tests, are not listed). The put takes a tag, so no
   * manifest is put by digest alone.
   */
  @Test
  void aFreshStoreListsNoTagsAndAMovedTagIsListedOnce() throws IOException {
    try (SnapshotStore store = newStore()) {
      assertEquals(List.of(), store.listTags(), "a fresh store holds no tags");
      byte[] config = "{}".getBytes(StandardCharsets.UTF_8);
      byte[] layer1 = random(5, 100);
      byte[] layer2 = random(6, 100);
      store.putBlob(Digest.of(config), config);
      store.putBlob(Digest.of(layer1), layer1);
      store.putBlob(Digest.of(layer2), layer2);
      ManifestBytes first = manifest(Digest.of(config), config.length, Digest.of(layer1), layer1.length);
      ManifestBytes second = manifest(Digest.of(config), config.length, Digest.of(layer2), layer2.length);

      store.putManifest("a", first);
      store.putManifest("b", first);
      store.putManifest("b", second);
      List<String> tags = store.listTags();
      assertEquals(java.util.Set.of("a", "b"), java.util.Set.copyOf(tags), "the tags put: " + tags);
      assertEquals(2, tags.size(), "each tag once, though b was put twice: " + tags);
    }
  }

  /**
   * An image index under a tag, naming manifests put by their digest only ({@code putChildManifest}):
   * each child is fetched by its digest, byte for byte, and the tag gives the index with its media type.
   */
  @Test
  void anIndexNamesManifestsPutByDigestOnly() throws IOException {
    try (SnapshotStore store = newStore()) {
      byte[] config = "{}".getBytes(StandardCharsets.UTF_8);
      byte[] layer = random(7, 100);
      store.putBlob(Digest.of(config), config);
      store.putBlob(Digest.of(layer), layer);
      ManifestBytes child = manifest(Digest.of(config), config.length, Digest.of(layer), layer.length);
      assertEquals(child.bytes().length, store.putChildManifest(child));
      byte[] index = ("{\"schemaVersion\":2,\"mediaType\":\"" + dev.cachemount.core.oci.MediaTypes.OCI_INDEX + "\",\"manifests\":[{\"mediaType\":\""
          + dev.cachemount.core.oci.MediaTypes.OCI_MANIFEST + "\",\"digest\":\"" + child.digest() + "\",\"size\":" + child.bytes().length
          + ",\"platform\":{\"architecture\":\"amd64\",\"os\":\"linux\"}}]}").getBytes(StandardCharsets.UTF_8);
      ManifestBytes indexBytes = ManifestBytes.of(dev.cachemount.core.oci.MediaTypes.OCI_INDEX, index);
      store.putManifest("view", indexBytes);

      ManifestBytes fetched = store.fetchManifest("view").orElseThrow();
      assertEquals(indexBytes.digest(), fetched.digest());
      assertEquals(dev.cachemount.core.oci.MediaTypes.OCI_INDEX, fetched.mediaType());
      ManifestBytes fetchedChild = store.fetchManifest(child.digest().toString()).orElseThrow();
      assertArrayEquals(child.bytes(), fetchedChild.bytes());
      assertEquals(List.of("view"), store.listTags(), "a manifest put by digest gets no tag");
    }
  }

  @Test
  void concurrentTagUpdatesAreAllKept() throws Exception {
    try (SnapshotStore store = newStore()) {
      byte[] config = "{}".getBytes(StandardCharsets.UTF_8);
      store.putBlob(Digest.of(config), config);
      ExecutorService pool = Executors.newFixedThreadPool(8);
      try {
        List<Future<ManifestBytes>> futures = new ArrayList<>();
        for (int i = 0; i < 16; i++) {
          int n = i;
          futures.add(pool.submit(() -> {
            byte[] layer = random(100 + n, 64);
            store.putBlob(Digest.of(layer), layer);
            ManifestBytes m = manifest(Digest.of(config), config.length, Digest.of(layer), layer.length);
            store.putManifest("tag-" + n, m);
            return m;
          }));
        }
        for (int i = 0; i < 16; i++) {
          ManifestBytes expected = futures.get(i).get();
          assertEquals(expected.digest(), store.fetchManifest("tag-" + i).orElseThrow().digest(), "tag-" + i);
        }
      } finally {
        pool.shutdownNow();
      }
    }
  }

  /**
   * {@code prune}'s removal: a tag that still names the manifest given is removed, and what it named
   * can no longer be fetched by the tag; a tag that names another manifest now (moved by a push) and
   * one that does not exist are left as they are; and no other tag changes what it names, not even
   * one that names the same manifest as a removed tag (a registry, which deletes a manifest with
   * every tag that names it, keeps such a tag: SHARED). After a removal, the other tags' manifests
   * and blobs are all still there.
   */
  @Test
  void removingTagsTakesOnlyThoseThatStillNameTheManifestGiven() throws IOException {
    try (SnapshotStore store = newStore()) {
      byte[] config = "{}".getBytes(StandardCharsets.UTF_8);
      byte[][] layers = {random(11, 100), random(12, 100), random(13, 100), random(14, 100)};
      store.putBlob(Digest.of(config), config);
      List<ManifestBytes> m = new ArrayList<>();
      for (byte[] layer : layers) {
        store.putBlob(Digest.of(layer), layer);
        m.add(manifest(Digest.of(config), config.length, Digest.of(layer), layer.length));
      }
      store.putManifest("old-1", m.get(0));
      store.putManifest("old-2", m.get(1));
      store.putManifest("moved", m.get(2));
      store.putManifest("keep", m.get(3));
      store.putManifest("same-as-keep", m.get(3));

      TagRemoval removal = store.removeTags(Map.of("old-1", m.get(0).digest(), "old-2", m.get(1).digest(),
          "moved", m.get(0).digest(), "never-was", m.get(0).digest(), "same-as-keep", m.get(3).digest()));

      assertEquals(TagRemoval.Result.REMOVED, removal.results().get("old-1"));
      assertEquals(TagRemoval.Result.REMOVED, removal.results().get("old-2"));
      assertEquals(TagRemoval.Result.MOVED, removal.results().get("moved"));
      assertEquals(TagRemoval.Result.GONE, removal.results().get("never-was"));
      TagRemoval.Result shared = removal.results().get("same-as-keep");
      assertTrue(shared == TagRemoval.Result.REMOVED || shared == TagRemoval.Result.SHARED, "same-as-keep: " + shared);
      assertEquals(5, removal.results().size());

      assertTrue(store.fetchManifest("old-1").isEmpty(), "old-1 is gone");
      assertTrue(store.fetchManifest("old-2").isEmpty(), "old-2 is gone");
      assertEquals(m.get(2).digest(), store.fetchManifest("moved").orElseThrow().digest(), "a moved tag is left as it is");
      assertEquals(m.get(3).digest(), store.fetchManifest("keep").orElseThrow().digest(), "a tag not asked for is left as it is");
      List<String> tags = store.listTags();
      assertFalse(tags.contains("old-1") || tags.contains("old-2"), "tags now: " + tags);
      assertTrue(tags.containsAll(List.of("moved", "keep")), "tags now: " + tags);
      assertEquals(shared == TagRemoval.Result.SHARED, tags.contains("same-as-keep"), "tags now: " + tags);
      // What the kept tags name is whole.
      assertArrayEquals(layers[2], read(store, Digest.of(layers[2]), layers[2].length));
      assertArrayEquals(layers[3], read(store, Digest.of(layers[3]), layers[3].length));
      assertArrayEquals(config, read(store, Digest.of(config), config.length));

      TagRemoval again = store.removeTags(Map.of("old-1", m.get(0).digest()));
      assertEquals(Map.of("old-1", TagRemoval.Result.GONE), again.results(), "removing it again finds it gone");
    }
  }
}
