package dev.cachemount.core.store;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.cachemount.core.CachemountException;
import dev.cachemount.core.FailureKind;
import dev.cachemount.core.blob.Digest;
import dev.cachemount.core.oci.Json;
import dev.cachemount.core.testing.MutableClock;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** What is specific to the OCI image-layout store: the files on disk and garbage collection. */
class LayoutStoreTest {
  @TempDir Path dir;

  @Test
  void writesAnImageLayoutThatOtherToolsRead() throws IOException {
    Path root = dir.resolve("store");
    LayoutStore store = new LayoutStore(root);
    byte[] config = "{}".getBytes(StandardCharsets.UTF_8);
    byte[] layer = "layer".getBytes(StandardCharsets.UTF_8);
    store.putBlob(Digest.of(config), config);
    store.putBlob(Digest.of(layer), layer);
    ManifestBytes m = StoreContract.manifest(Digest.of(config), config.length, Digest.of(layer), layer.length);
    store.putManifest("m2", m);

    assertEquals("{\"imageLayoutVersion\":\"1.0.0\"}", Files.readString(root.resolve("oci-layout")));
    JsonNode index = Json.mapper().readTree(root.resolve("index.json").toFile());
    assertEquals(2, index.get("schemaVersion").asInt());
    assertEquals("application/vnd.oci.image.index.v1+json", index.get("mediaType").asText());
    JsonNode entry = index.get("manifests").get(0);
    assertEquals(m.digest().toString(), entry.get("digest").asText());
    assertEquals(m.bytes().length, entry.get("size").asLong());
    assertEquals("m2", entry.get("annotations").get("org.opencontainers.image.ref.name").asText());
    assertEquals("application/vnd.cachemount.snapshot.v1", entry.get("artifactType").asText());
    assertTrue(Files.isRegularFile(root.resolve("blobs/sha256/" + m.digest().hex())));
    assertEquals("oci:" + root + ":m2", store.describe("m2"));
  }

  @Test
  void readingANonexistentStoreIsAMissAndCreatesNothing() throws IOException {
    Path root = dir.resolve("absent");
    assertTrue(new LayoutStore(root).fetchManifest("m2").isEmpty());
    assertFalse(Files.exists(root));
  }

  @Test
  void readingADirectoryThatIsNotALayoutIsAUsageErrorNotAMiss() throws IOException {
    Path root = dir.resolve("busy");
    Files.createDirectories(root);
    Files.writeString(root.resolve("precious.txt"), "mine");
    CachemountException e = assertThrows(CachemountException.class, () -> new LayoutStore(root).fetchManifest("m2"));
    assertEquals(FailureKind.USAGE, e.kind());
    assertTrue(e.getMessage().contains("not an OCI image layout") && e.getMessage().contains("dir="), e.getMessage());
    Path empty = Files.createDirectories(dir.resolve("empty"));
    assertTrue(new LayoutStore(empty).fetchManifest("m2").isEmpty(), "an empty directory is a store with nothing in it yet");
  }

  @Test
  void readingAFileAsTheStoreIsAUsageErrorNotAMiss() throws IOException {
    Path file = Files.writeString(dir.resolve("a-file"), "mine");
    CachemountException e = assertThrows(CachemountException.class, () -> new LayoutStore(file).fetchManifest("m2"));
    assertEquals(FailureKind.USAGE, e.kind());
    assertTrue(e.getMessage().contains("is not a directory; set dir= to a directory"), e.getMessage());
    assertEquals("mine", Files.readString(file));
  }

  @Test
  void refusesToWriteIntoADirectoryThatIsNotALayout() throws IOException {
    Path root = dir.resolve("busy");
    Files.createDirectories(root);
    Files.writeString(root.resolve("precious.txt"), "mine");
    CachemountException e = assertThrows(CachemountException.class, () -> new LayoutStore(root).putBlob(Digest.of(new byte[1]), new byte[1]));
    assertEquals(FailureKind.USAGE, e.kind());
    assertTrue(e.getMessage().contains("not an OCI image layout"), e.getMessage());
    assertEquals(List.of(root.resolve("precious.txt")), Files.list(root).toList());
  }

  @Test
  void aTamperedManifestIsAnIntegrityFailure() throws IOException {
    Path root = dir.resolve("store");
    LayoutStore store = new LayoutStore(root);
    byte[] config = "{}".getBytes(StandardCharsets.UTF_8);
    ManifestBytes m = StoreContract.manifest(Digest.of(config), config.length, Digest.of(config), config.length);
    store.putBlob(Digest.of(config), config);
    store.putManifest("t", m);
    Path blob = root.resolve("blobs/sha256/" + m.digest().hex());
    byte[] bytes = Files.readAllBytes(blob);
    bytes[bytes.length - 2] ^= 1;
    Files.write(blob, bytes);
    assertEquals(FailureKind.INTEGRITY, assertThrows(CachemountException.class, () -> store.fetchManifest("t")).kind());
  }

  @Test
  void collectsUnreferencedBlobsOnceTheyAreOlderThanTheGracePeriod() throws IOException {
    Path root = dir.resolve("gc");
    MutableClock clock = new MutableClock(Instant.parse("2026-01-01T00:00:00Z"));
    List<String> warnings = new ArrayList<>();
    LayoutStore store = new LayoutStore(root, Duration.ofHours(1), clock, warnings::add);
    byte[] config = "{}".getBytes(StandardCharsets.UTF_8);
    byte[] oldLayer = "old".getBytes(StandardCharsets.UTF_8);
    byte[] newLayer = "new".getBytes(StandardCharsets.UTF_8);
    byte[] stray = "stray, pushed moments ago".getBytes(StandardCharsets.UTF_8);
    store.putBlob(Digest.of(config), config);
    store.putBlob(Digest.of(oldLayer), oldLayer);
    ManifestBytes first = StoreContract.manifest(Digest.of(config), config.length, Digest.of(oldLayer), oldLayer.length);
    store.putManifest("t", first);

    clock.now = clock.now.plus(Duration.ofHours(2));
    store.putBlob(Digest.of(newLayer), newLayer);
    store.putBlob(Digest.of(stray), stray);
    ManifestBytes second = StoreContract.manifest(Digest.of(config), config.length, Digest.of(newLayer), newLayer.length);
    store.putBlob(Digest.of(config), config);
    store.putManifest("t", second);

    assertTrue(store.hasBlob(Digest.of(oldLayer)), "the snapshot the tag named until now gets a grace period, for pulls reading it");
    assertTrue(store.hasBlob(first.digest()));
    assertTrue(store.hasBlob(Digest.of(stray)), "unreferenced but fresh: perhaps a push in progress");

    clock.now = clock.now.plus(Duration.ofHours(2));
    byte[] another = "another".getBytes(StandardCharsets.UTF_8);
    store.putBlob(Digest.of(another), another);
    store.putManifest("other-tag", StoreContract.manifest(Digest.of(config), config.length, Digest.of(another), another.length));
    assertFalse(store.hasBlob(Digest.of(oldLayer)), "unreferenced and older than the grace period");
    assertFalse(store.hasBlob(first.digest()), "the replaced manifest is garbage too");
    assertFalse(store.hasBlob(Digest.of(stray)));
    assertTrue(store.hasBlob(Digest.of(newLayer)));
    assertTrue(store.hasBlob(Digest.of(config)), "still referenced");
    assertTrue(store.hasBlob(second.digest()));
    assertEquals(List.of(), warnings);
  }

  /**
   * A store whose tag "a" names manifest {@code m}, damaged by {@code damage}, beside an old
   * unreferenced blob; then, a day later, a push of tag "b" runs collection.
   */
  private List<String> collectAfterDamage(String name, java.util.function.BiConsumer<Path, ManifestBytes> damage, byte[] garbage)
      throws IOException {
    Path root = dir.resolve(name);
    MutableClock clock = new MutableClock(Instant.parse("2026-01-01T00:00:00Z"));
    List<String> warnings = new ArrayList<>();
    LayoutStore store = new LayoutStore(root, Duration.ofHours(1), clock, warnings::add);
    store.putBlob(Digest.of(garbage), garbage);
    byte[] config = "{}".getBytes(StandardCharsets.UTF_8);
    store.putBlob(Digest.of(config), config);
    ManifestBytes m = StoreContract.manifest(Digest.of(config), config.length, Digest.of(config), config.length);
    store.putManifest("a", m);
    damage.accept(root.resolve("blobs/sha256/" + m.digest().hex()), m);
    Files.setLastModifiedTime(root.resolve("blobs/sha256/" + Digest.of(garbage).hex()), FileTime.from(Instant.parse("2020-01-01T00:00:00Z")));
    clock.now = clock.now.plus(Duration.ofDays(1));
    byte[] other = "other".getBytes(StandardCharsets.UTF_8);
    store.putBlob(Digest.of(other), other);
    store.putManifest("b", StoreContract.manifest(Digest.of(config), config.length, Digest.of(other), other.length));
    assertTrue(store.hasBlob(Digest.of(other)) && store.hasBlob(Digest.of(config)));
    return warnings;
  }

  @Test
  void aTagWhoseManifestIsMissingKeepsNothingAndIsNamed() throws IOException {
    byte[] garbage = "garbage".getBytes(StandardCharsets.UTF_8);
    String[] manifest = new String[1];
    List<String> warnings = collectAfterDamage("gc2", (file, m) -> {
      manifest[0] = m.digest().toString();
      try {
        Files.delete(file); // damage: a manifest is written before its tag
      } catch (IOException e) {
        throw new java.io.UncheckedIOException(e);
      }
    }, garbage);
    LayoutStore store = new LayoutStore(dir.resolve("gc2"));
    assertFalse(store.hasBlob(Digest.of(garbage)), "collection goes on: tag a can keep nothing, its manifest being gone");
    assertEquals(FailureKind.INTEGRITY, assertThrows(BlobNotFoundException.class, () -> store.fetchManifest("a")).kind(),
        "tag a names a missing manifest");
    assertTrue(store.fetchManifest("b").isPresent(), "tag b's manifest is there");
    assertEquals(1, warnings.size(), warnings.toString());
    assertTrue(warnings.get(0).contains("tag 'a' names manifest " + manifest[0] + ", which is missing; push that id again"), warnings.get(0));
  }

  @Test
  void collectionStopsWhenAReachableManifestCannotBeRead() throws IOException {
    byte[] garbage = "garbage".getBytes(StandardCharsets.UTF_8);
    List<String> warnings = collectAfterDamage("gc3", (file, m) -> {
      try {
        Files.writeString(file, "not a manifest"); // there, but unreadable: its blobs are unknown
      } catch (IOException e) {
        throw new java.io.UncheckedIOException(e);
      }
    }, garbage);
    assertTrue(new LayoutStore(dir.resolve("gc3")).hasBlob(Digest.of(garbage)), "nothing is deleted when the reachable set is unknown");
    assertEquals(1, warnings.size(), warnings.toString());
    assertTrue(warnings.get(0).contains("unreferenced blobs were not collected"), warnings.get(0));
  }

  @Test
  void aDamagedIndexJsonIsReportedAndSetAsideOnlyWhenAsked() throws IOException {
    Path root = dir.resolve("damaged");
    MutableClock clock = new MutableClock(Instant.parse("2026-01-01T00:00:00Z"));
    List<String> warnings = new ArrayList<>();
    LayoutStore store = new LayoutStore(root, Duration.ofHours(1), clock, warnings::add);
    byte[] config = "{}".getBytes(StandardCharsets.UTF_8);
    store.putBlob(Digest.of(config), config);
    byte[] garbage = "garbage".getBytes(StandardCharsets.UTF_8);
    store.putBlob(Digest.of(garbage), garbage);
    store.putManifest("a", StoreContract.manifest(Digest.of(config), config.length, Digest.of(config), config.length));
    byte[] whole = Files.readAllBytes(root.resolve("index.json"));
    Files.write(root.resolve("index.json"), java.util.Arrays.copyOf(whole, whole.length / 2)); // a disk filled while it was written by hand
    for (org.junit.jupiter.api.function.Executable read : List.<org.junit.jupiter.api.function.Executable>of(
        () -> store.fetchManifest("a"), store::checkIndex)) {
      CachemountException e = assertThrows(CachemountException.class, read);
      assertEquals(FailureKind.INTEGRITY, e.kind());
      assertTrue(e.getMessage().contains("index.json is damaged") && e.getMessage().contains("A push with --force (of any id) moves it aside"),
          e.getMessage());
    }
    Path aside = store.setAsideDamagedIndex().orElseThrow();
    assertEquals("index.json.damaged-" + clock.now.toEpochMilli(), aside.getFileName().toString());
    assertArrayEquals(java.util.Arrays.copyOf(whole, whole.length / 2), Files.readAllBytes(aside), "kept as it was, for a hand repair");
    assertEquals(Optional.empty(), store.fetchManifest("a"), "a new index.json: no tag yet");
    assertEquals(Optional.empty(), store.setAsideDamagedIndex(), "nothing more to set aside");

    // While the damaged copy is there, nothing is collected: the snapshots it named may be recovered from it.
    Files.setLastModifiedTime(root.resolve("blobs/sha256/" + Digest.of(garbage).hex()), FileTime.from(Instant.parse("2020-01-01T00:00:00Z")));
    clock.now = clock.now.plus(Duration.ofDays(1));
    store.putManifest("b", StoreContract.manifest(Digest.of(config), config.length, Digest.of(config), config.length));
    assertTrue(store.hasBlob(Digest.of(garbage)));
    assertTrue(warnings.get(warnings.size() - 1).contains("unreferenced blobs are kept while " + aside), warnings.toString());
    Files.delete(aside);
    store.putManifest("c", StoreContract.manifest(Digest.of(config), config.length, Digest.of(config), config.length));
    assertFalse(store.hasBlob(Digest.of(garbage)), "collected once it is gone");
  }

  @Test
  void whatOtherToolsWroteIntoIndexJsonSurvivesATagUpdate() throws IOException {
    Path root = dir.resolve("shared");
    LayoutStore store = new LayoutStore(root);
    store.create();
    byte[] config = "{}".getBytes(StandardCharsets.UTF_8);
    store.putBlob(Digest.of(config), config);
    String foreign = "{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.index.v1+json\",\"x-top\":{\"kept\":true},"
        + "\"manifests\":[{\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\",\"digest\":\"" + Digest.of(config)
        + "\",\"size\":2,\"platform\":{\"architecture\":\"arm64\",\"os\":\"linux\"},\"urls\":[\"https://example.invalid/x\"],"
        + "\"annotations\":{\"org.opencontainers.image.ref.name\":\"theirs\",\"com.example\":\"v\"}}]}";
    Files.writeString(root.resolve("index.json"), foreign);
    ManifestBytes m = StoreContract.manifest(Digest.of(config), config.length, Digest.of(config), config.length);
    store.putManifest("ours", m);
    JsonNode index = Json.mapper().readTree(root.resolve("index.json").toFile());
    assertTrue(index.get("x-top").get("kept").asBoolean());
    JsonNode theirs = index.get("manifests").get(0);
    assertEquals("arm64", theirs.get("platform").get("architecture").asText());
    assertEquals("https://example.invalid/x", theirs.get("urls").get(0).asText());
    assertEquals("v", theirs.get("annotations").get("com.example").asText());
    assertEquals("ours", index.get("manifests").get(1).get("annotations").get("org.opencontainers.image.ref.name").asText());
  }

  /**
   * A tag another tool wrote twice into index.json (two descriptors, two manifests; readers take the
   * last): removing it by one manifest leaves the other descriptor, so the tag still names something
   * and is reported MOVED, whichever comes first.
   */
  @Test
  void removingATagWrittenTwiceLeavesTheOtherAndSaysSo() throws IOException {
    Path root = dir.resolve("twice");
    LayoutStore store = new LayoutStore(root);
    byte[] config = "{}".getBytes(StandardCharsets.UTF_8);
    byte[] layer = "layer".getBytes(StandardCharsets.UTF_8);
    store.putBlob(Digest.of(config), config);
    store.putBlob(Digest.of(layer), layer);
    ManifestBytes first = StoreContract.manifest(Digest.of(config), config.length, Digest.of(config), config.length);
    ManifestBytes second = StoreContract.manifest(Digest.of(config), config.length, Digest.of(layer), layer.length);
    store.putManifest("t", second);
    store.putManifest("other", first);
    // What the other tool wrote: "t" again, naming the first manifest, before the one cachemount wrote.
    com.fasterxml.jackson.databind.node.ObjectNode index = (com.fasterxml.jackson.databind.node.ObjectNode) Json.mapper().readTree(root.resolve("index.json").toFile());
    com.fasterxml.jackson.databind.node.ArrayNode manifests = (com.fasterxml.jackson.databind.node.ArrayNode) index.get("manifests");
    com.fasterxml.jackson.databind.node.ObjectNode again = manifests.get(1).deepCopy();
    ((com.fasterxml.jackson.databind.node.ObjectNode) again.get("annotations")).put("org.opencontainers.image.ref.name", "t");
    manifests.insert(0, again);
    Files.write(root.resolve("index.json"), Json.write(index));

    TagRemoval removal = store.removeTags(java.util.Map.of("t", second.digest()));

    assertEquals(TagRemoval.Result.MOVED, removal.results().get("t"));
    assertEquals(first.digest(), store.fetchManifest("t").orElseThrow().digest(), "t still names the manifest the other entry names");
  }

  @Test
  void manyProcessesMayCreateOneStoreAtOnce() throws Exception {
    Path root = dir.resolve("contended");
    java.util.concurrent.ExecutorService pool = java.util.concurrent.Executors.newFixedThreadPool(16);
    try {
      List<java.util.concurrent.Future<BlobPut>> results = new ArrayList<>();
      for (int i = 0; i < 64; i++) {
        byte[] content = ("blob " + i).getBytes(StandardCharsets.UTF_8);
        // A store object each, as separate processes would have.
        results.add(pool.submit(() -> new LayoutStore(root).putBlob(Digest.of(content), content)));
      }
      for (java.util.concurrent.Future<BlobPut> r : results) {
        assertEquals(BlobPut.How.WRITTEN, r.get().how());
      }
    } finally {
      pool.shutdownNow();
    }
    assertEquals("{\"imageLayoutVersion\":\"1.0.0\"}", Files.readString(root.resolve("oci-layout")));
  }

  @Test
  void aDamagedCopyOfABlobIsReplacedNotKept() throws IOException {
    Path root = dir.resolve("damaged");
    List<String> warnings = new ArrayList<>();
    LayoutStore store = new LayoutStore(root, Duration.ofHours(1), Clock.systemUTC(), warnings::add);
    byte[] content = "the real content".getBytes(StandardCharsets.UTF_8);
    Digest digest = Digest.of(content);
    store.putBlob(digest, content);
    Files.writeString(root.resolve("blobs/sha256/" + digest.hex()), "the real c0ntent");
    assertEquals(BlobPut.written(content.length), store.putBlob(digest, content), "rewritten");
    assertEquals("the real content", Files.readString(root.resolve("blobs/sha256/" + digest.hex())));
    assertEquals(1, warnings.size(), warnings.toString());
    assertEquals(BlobPut.PRESENT, store.putBlob(digest, content), "a sound copy is kept");
  }
}
