package dev.cachemount.core;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.cachemount.core.testing.TestTrees;
import dev.cachemount.core.testing.TreeListing;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A local store damaged by hand or by a full disk, repaired through the commands a user has: a tag
 * whose manifest is gone is replaced by the next push of its id; a damaged index.json stops every
 * command with a message that says {@code push --force} sets it aside, and that does.
 */
class DamagedLocalStoreTest {
  @TempDir Path dir;
  Path a;
  Path b;
  Path store;
  Cachemount client;
  final List<String> warnings = new ArrayList<>();
  final OperationListener listener = new OperationListener() {
    @Override
    public void warning(String message) {
      warnings.add(message);
    }
  };

  @BeforeEach
  void twoIdsInOneStore() throws IOException {
    a = dir.resolve("a");
    b = dir.resolve("b");
    TestTrees.mixed(a, 3);
    TestTrees.mixed(b, 4);
    store = dir.resolve("store");
    client = Cachemount.builder().home(dir).env(Map.of()).packTarget(256 * 1024).build();
    client.push(spec("a", a), listener);
    client.push(spec("b", b), listener);
  }

  private CacheSpec spec(String id, Path target) {
    return CacheSpec.local(id, store, target);
  }

  @Test
  void aTagWhoseManifestIsGoneIsReplacedByTheNextPushOfItsId() throws IOException {
    String manifest = client.inspect(spec("b", null)).orElseThrow().digest().substring("sha256:".length());
    Files.delete(store.resolve("blobs/sha256").resolve(manifest));
    CachemountException pull = assertThrows(CachemountException.class, () -> client.pull(spec("b", dir.resolve("out")), listener));
    assertEquals(FailureKind.INTEGRITY, pull.kind());
    assertTrue(pull.getMessage().contains("which is missing; push the cache again"), pull.getMessage());

    warnings.clear();
    assertEquals(Outcome.PUSHED, client.push(spec("b", b), listener).result());
    assertTrue(warnings.stream().anyMatch(w -> w.contains("is unreadable") && w.contains("pushing a complete new one")), warnings.toString());
    client.pull(spec("b", dir.resolve("out")), listener);
    assertEquals(TreeListing.of(b), TreeListing.of(dir.resolve("out")));
  }

  /**
   * A manifest blob damaged on disk (a byte flipped, or cut short): the pull's message says a push
   * replaces the snapshot, and a push does, plain or forced. Both had failed on the manifest they
   * were to replace, so the only way out was to delete the blob by hand.
   */
  @org.junit.jupiter.params.ParameterizedTest
  @org.junit.jupiter.params.provider.CsvSource({"flipped,false", "flipped,true", "cut,false", "cut,true"})
  void aTagWhoseManifestIsDamagedIsReplacedByTheNextPushOfItsId(String damage, boolean force) throws IOException {
    Path manifest = store.resolve("blobs/sha256").resolve(client.inspect(spec("b", null)).orElseThrow().digest().substring("sha256:".length()));
    byte[] bytes = Files.readAllBytes(manifest);
    if (damage.equals("flipped")) {
      bytes[bytes.length / 2] ^= 0x01;
    } else {
      bytes = java.util.Arrays.copyOf(bytes, bytes.length - 10);
    }
    Files.write(manifest, bytes);
    CachemountException pull = assertThrows(CachemountException.class, () -> client.pull(spec("b", dir.resolve("out")), listener));
    assertEquals(FailureKind.INTEGRITY, pull.kind());
    assertTrue(pull.getMessage().contains("push"), pull.getMessage());

    warnings.clear();
    assertEquals(Outcome.PUSHED, client.push(spec("b", b), new PushOptions(force), listener).result());
    assertTrue(warnings.stream().anyMatch(w -> w.contains("is unreadable") && w.contains("pushing a complete new one")), warnings.toString());
    client.pull(spec("b", dir.resolve("out")), listener);
    assertEquals(TreeListing.of(b), TreeListing.of(dir.resolve("out")));
    client.pull(spec("a", dir.resolve("out-a")), listener);
    assertEquals(TreeListing.of(a), TreeListing.of(dir.resolve("out-a")), "the other id of the store is untouched");
  }

  /**
   * A merge into a tag whose snapshot lacks a pack builds on its {@code fallback=} snapshot instead,
   * in one try: the tag it checks before moving is its own, which still names the snapshot it found
   * unreadable, not the fallback's (taking the fallback's tag, or none, for its own made each try
   * think another push had moved the tag, upload again, and the last warn of a push that never was).
   */
  @Test
  void aMergeIntoATagWhoseSnapshotLacksAPackBuildsOnItsFallbackInOneTry() throws IOException {
    List<String> aPacks = client.inspect(spec("a", null)).orElseThrow().packs().stream().map(SnapshotSummary.Pack::digest).toList();
    String bOnly = client.inspect(spec("b", null)).orElseThrow().packs().stream().map(SnapshotSummary.Pack::digest)
        .filter(p -> !aPacks.contains(p)).findFirst().orElseThrow();
    Files.delete(store.resolve("blobs/sha256").resolve(bOnly.substring("sha256:".length())));
    Path c = dir.resolve("c");
    TestTrees.mixed(c, 5);
    List<String> infos = new ArrayList<>();
    warnings.clear();
    OperationResult pushed = client.push(spec("b", c).withMode(CacheSpec.Mode.MERGE).withFallback(List.of("a")), new OperationListener() {
      @Override
      public void warning(String message) {
        warnings.add(message);
      }

      @Override
      public void info(String message) {
        infos.add(message);
      }
    });
    assertEquals(Outcome.PUSHED, pushed.result(), pushed.toString());
    assertEquals("oci:" + store + ":a", pushed.fallback(), infos.toString());
    assertTrue(warnings.stream().anyMatch(w -> w.contains("lacks pack " + bOnly)), warnings.toString());
    assertTrue(infos.stream().noneMatch(i -> i.contains("another push moved")), "one try: " + infos);
    assertTrue(warnings.stream().noneMatch(w -> w.contains("another push moved")), warnings.toString());
    client.pull(spec("b", dir.resolve("out")), listener);
    assertEquals(TreeListing.of(c), TreeListing.of(dir.resolve("out")));
  }

  /**
   * What a push replaces is a damaged manifest of its own tag, not any manifest it cannot read: an
   * image's manifest too large to be a snapshot's (over 4 MiB) under the tag is refused, and kept.
   */
  @Test
  void aForeignManifestTooLargeForASnapshotIsNeitherReadNorReplaced() throws IOException {
    dev.cachemount.core.store.ManifestBytes foreign;
    try (dev.cachemount.core.store.LayoutStore layout = new dev.cachemount.core.store.LayoutStore(store)) {
      byte[] config = "{\"architecture\":\"amd64\"}".getBytes(java.nio.charset.StandardCharsets.UTF_8);
      layout.putBlob(dev.cachemount.core.blob.Digest.of(config), config);
      List<dev.cachemount.core.oci.Descriptor> layers = new ArrayList<>();
      for (int i = 0; i < 40_000; i++) { // an image of many layers: a manifest of about 5 MiB
        layers.add(dev.cachemount.core.oci.Descriptor.of("application/vnd.oci.image.layer.v1.tar+gzip",
            dev.cachemount.core.blob.Digest.of(("layer " + i).getBytes(java.nio.charset.StandardCharsets.UTF_8)), 10));
      }
      dev.cachemount.core.oci.ImageManifest image = new dev.cachemount.core.oci.ImageManifest(2, dev.cachemount.core.oci.MediaTypes.OCI_MANIFEST, null,
          dev.cachemount.core.oci.Descriptor.of("application/vnd.oci.image.config.v1+json", dev.cachemount.core.blob.Digest.of(config), config.length),
          layers, null);
      foreign = dev.cachemount.core.store.ManifestBytes.of(dev.cachemount.core.oci.MediaTypes.OCI_MANIFEST, dev.cachemount.core.oci.Json.write(image));
      layout.putManifest("app", foreign);
    }
    assertThrows(CachemountException.class, () -> client.push(spec("app", a), listener));
    String index = Files.readString(store.resolve("index.json"));
    assertTrue(index.contains(foreign.digest().toString()), "the image under the tag is kept: " + index);
  }

  @org.junit.jupiter.params.ParameterizedTest
  @org.junit.jupiter.params.provider.ValueSource(strings = {"truncated", "{\"schemaVersion\":2,\"manifests\":[42]}",
      "{\"schemaVersion\":2,\"manifests\":[null]}", "{\"schemaVersion\":\"two\",\"manifests\":[]}"})
  void aDamagedIndexJsonStopsEveryCommandUntilAForcedPushSetsItAside(String damage) throws IOException {
    byte[] whole = Files.readAllBytes(store.resolve("index.json"));
    byte[] damaged = damage.equals("truncated") ? java.util.Arrays.copyOf(whole, 200) : damage.getBytes(java.nio.charset.StandardCharsets.UTF_8);
    Files.write(store.resolve("index.json"), damaged);
    for (org.junit.jupiter.api.function.Executable command : List.<org.junit.jupiter.api.function.Executable>of(
        () -> client.pull(spec("a", dir.resolve("out")), listener), () -> client.push(spec("a", a), listener))) {
      CachemountException e = assertThrows(CachemountException.class, command);
      assertEquals(FailureKind.INTEGRITY, e.kind());
      assertTrue(e.getMessage().contains("index.json is damaged") && e.getMessage().contains("A push with --force (of any id) moves it aside"),
          e.getMessage());
    }
    assertEquals(damaged.length, Files.size(store.resolve("index.json")), "an unforced push changes nothing");

    warnings.clear();
    assertEquals(Outcome.PUSHED, client.push(spec("a", a), new PushOptions(true), listener).result());
    List<Path> aside;
    try (var list = Files.list(store)) {
      aside = list.filter(p -> p.getFileName().toString().startsWith("index.json.damaged-")).toList();
    }
    assertEquals(1, aside.size(), aside.toString());
    assertTrue(warnings.stream().anyMatch(w -> w.contains("was damaged; it is now " + aside.get(0))), warnings.toString());
    client.pull(spec("a", dir.resolve("out")), listener);
    assertEquals(TreeListing.of(a), TreeListing.of(dir.resolve("out")));
    assertEquals(Outcome.MISS, client.pull(spec("b", dir.resolve("out-b")), listener).result(), "b's tag went with the damaged index");
    client.push(spec("b", b), listener);
    client.pull(spec("b", dir.resolve("out-b")), listener);
    assertEquals(TreeListing.of(b), TreeListing.of(dir.resolve("out-b")));
  }
}
