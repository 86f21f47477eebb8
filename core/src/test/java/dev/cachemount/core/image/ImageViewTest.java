package dev.cachemount.core.image;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.cachemount.core.CacheSpec;
import dev.cachemount.core.Cachemount;
import dev.cachemount.core.CachemountException;
import dev.cachemount.core.FailureKind;
import dev.cachemount.core.OperationListener;
import dev.cachemount.core.OperationResult;
import dev.cachemount.core.Outcome;
import dev.cachemount.core.blob.Digest;
import dev.cachemount.core.index.Entry;
import dev.cachemount.core.index.EntryType;
import dev.cachemount.core.snapshot.LoadedSnapshot;
import dev.cachemount.core.snapshot.SnapshotReader;
import dev.cachemount.core.store.LayoutStore;
import dev.cachemount.core.testing.MutableClock;
import dev.cachemount.core.testing.TestTrees;
import dev.cachemount.core.testing.TreeListing;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.time.Duration;
import java.time.Instant;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code image=}: a push also stores its snapshot as an ordinary image whose file system is the
 * directory, which reads back as the tree pushed, for every platform, and which a later push keeps
 * (unchanged) or rewrites layer by layer (changed).
 */
class ImageViewTest {
  @TempDir Path dir;
  Path store;
  MutableClock clock;
  Cachemount client;

  @BeforeEach
  void setUp() {
    store = dir.resolve("store");
    clock = new MutableClock(Instant.now().plus(Duration.ofHours(1)));
    client = Cachemount.builder().home(dir).env(Map.of()).workers(2).packTarget(128 * 1024).clock(clock).build();
  }

  private CacheSpec spec(String id, Path target, String image) {
    return client.parseSpec("id=" + id + ",dir=" + store + ",target=" + target + (image == null ? "" : ",image=" + image));
  }

  @Test
  void theViewExtractsToTheTreePushedOnEveryPlatform() throws IOException {
    Path tree = dir.resolve("tree");
    TestTrees.mixed(tree, 7);
    OperationResult r = client.push(spec("m2", tree, "m2-image"), OperationListener.NONE);
    assertEquals(Outcome.PUSHED, r.result());
    assertNotNull(r.image());
    assertFalse(r.image().unchanged());
    assertTrue(r.image().bytesWritten() > 0);

    ImageViews.Read view = ImageViews.read(store, "m2-image");
    assertEquals(r.digest(), view.index().path("annotations").path(ImageView.SNAPSHOT).asText());
    assertEquals(ImageView.VIEW_VERSION, view.index().path("annotations").path(ImageView.VIEW).asText());
    assertTrue(view.manifests().keySet().containsAll(List.of("linux/amd64", "linux/arm64", "linux/arm/v7", "linux/ppc64le", "linux/s390x")),
        view.manifests().keySet().toString());
    assertEquals(r.image().layers(), view.layers().size());

    Path extracted = dir.resolve("extracted");
    ImageViews.extract(store, "m2-image", extracted);
    assertEquals(ImageViews.listing(tree), ImageViews.listing(extracted));
    // The snapshot itself is untouched and still restores.
    Path restored = dir.resolve("restored");
    assertEquals(Outcome.RESTORED, client.pull(spec("m2", restored, null), OperationListener.NONE).result());
    assertEquals(TreeListing.of(tree), TreeListing.of(restored));
  }

  /**
   * image-compression=gzip, for image tools older than zstd layers (the Docker Engine 20.10 of Debian
   * 12, whose BuildKit reads a zstd layer as a broken tar): gzip layers that give the same tree; a
   * push that asks for the other compression writes the view again, none of its layers kept, and an
   * unchanged push that asks for the same leaves it.
   */
  @Test
  void aGzipViewGivesTheSameTreeAndASwitchOfCompressionWritesItAgain() throws IOException {
    Path tree = dir.resolve("tree");
    TestTrees.mixed(tree, 9);
    OperationResult gzip = client.push(client.parseSpec("id=m2,dir=" + store + ",target=" + tree + ",image=m2-image,image-compression=gzip"),
        OperationListener.NONE);
    assertEquals(Outcome.PUSHED, gzip.result());
    ImageViews.Read view = ImageViews.read(store, "m2-image");
    assertEquals("gzip", view.index().path("annotations").path(ImageView.COMPRESSION).asText());
    assertEquals("application/vnd.oci.image.layer.v1.tar+gzip", view.manifests().get("linux/amd64").path("layers").path(0).path("mediaType").asText());
    try (dev.cachemount.core.store.LayoutStore s = new dev.cachemount.core.store.LayoutStore(store)) {
      byte[] layer = ImageViews.blob(s, view.layers().get(0), view.manifests().get("linux/amd64").path("layers").path(0).path("size").asLong());
      assertEquals(0x1f, layer[0] & 0xff, "gzip's magic");
      assertEquals(0x8b, layer[1] & 0xff);
    }
    List<String> gzipKeys = view.keys();
    Path extracted = dir.resolve("extracted-gzip");
    ImageViews.extract(store, "m2-image", extracted);
    assertEquals(ImageViews.listing(tree), ImageViews.listing(extracted));

    clock.now = clock.now.plus(Duration.ofMinutes(5));
    OperationResult again = client.push(client.parseSpec("id=m2,dir=" + store + ",target=" + tree + ",image=m2-image,image-compression=gzip"),
        OperationListener.NONE);
    assertTrue(again.image().unchanged());
    assertEquals(gzip.image().digest(), again.image().digest());

    OperationResult zstd = client.push(spec("m2", tree, "m2-image"), OperationListener.NONE);
    assertEquals(Outcome.UNCHANGED, zstd.result(), "the snapshot is the same");
    assertFalse(zstd.image().unchanged(), "but its view is not zstd's");
    assertEquals(0, zstd.image().layersReused());
    view = ImageViews.read(store, "m2-image");
    assertEquals("zstd", view.index().path("annotations").path(ImageView.COMPRESSION).asText());
    assertTrue(java.util.Collections.disjoint(gzipKeys, view.keys()), "the compression is part of every layer's key");
    Path extractedZstd = dir.resolve("extracted-zstd");
    ImageViews.extract(store, "m2-image", extractedZstd);
    assertEquals(ImageViews.listing(tree), ImageViews.listing(extractedZstd));
    assertTrue(client.push(spec("m2", tree, "m2-image"), OperationListener.NONE).image().unchanged());
  }

  @Test
  void anUnchangedPushLeavesTheViewAsItIs() throws IOException {
    Path tree = dir.resolve("tree");
    TestTrees.mixed(tree, 8);
    OperationResult first = client.push(spec("m2", tree, "m2-image"), OperationListener.NONE);
    clock.now = clock.now.plus(Duration.ofMinutes(5));
    OperationResult second = client.push(spec("m2", tree, "m2-image"), OperationListener.NONE);
    assertEquals(Outcome.UNCHANGED, second.result());
    assertTrue(second.image().unchanged());
    assertEquals(0, second.image().bytesWritten());
    assertEquals(first.image().digest(), second.image().digest());
  }

  /**
   * A view that shows this snapshot but lacks a part (a layer deleted by hand, a platform's manifest
   * that a registry's clean-up of untagged manifests took) is written again, with a warning, keeping
   * the layers still there: an unchanged push must not call a view that no builder can pull complete.
   */
  @Test
  void anUnchangedPushRepairsAViewThatLacksAPart() throws IOException {
    Path tree = dir.resolve("tree");
    TestTrees.mixed(tree, 16);
    OperationResult first = client.push(spec("m2", tree, "m2-image"), OperationListener.NONE);
    ImageViews.Read view = ImageViews.read(store, "m2-image");
    Path blobs = store.resolve("blobs").resolve("sha256");
    Files.delete(blobs.resolve(view.layers().get(view.layers().size() - 1).hex()));
    clock.now = clock.now.plus(Duration.ofMinutes(5));
    dev.cachemount.core.testing.RecordingListener listener = new dev.cachemount.core.testing.RecordingListener();
    OperationResult second = client.push(spec("m2", tree, "m2-image"), listener);
    assertEquals(Outcome.UNCHANGED, second.result());
    assertFalse(second.image().unchanged(), "a view that lacks a layer is not left as it is");
    assertTrue(listener.warned("m2-image"), listener.warnings().toString());
    Path extracted = dir.resolve("extracted");
    ImageViews.extract(store, "m2-image", extracted);
    assertEquals(ImageViews.listing(tree), ImageViews.listing(extracted));

    // A platform's manifest gone: the same.
    String arm64 = ImageViews.read(store, "m2-image").index().path("manifests").get(1).path("digest").asText();
    Files.delete(blobs.resolve(arm64.substring("sha256:".length())));
    clock.now = clock.now.plus(Duration.ofMinutes(5));
    OperationResult third = client.push(spec("m2", tree, "m2-image"), OperationListener.NONE);
    assertFalse(third.image().unchanged(), "a view that lacks a platform's manifest is not left as it is");
    assertEquals(third.image().layers(), third.image().layersReused(), "its layers are all there, and kept");
    ImageViews.read(store, "m2-image");
    assertEquals(first.image().digest(), third.image().digest(), "the same view again");

    // The index under the tag gone: replaced, not a failure that pushing again repeats.
    Files.delete(blobs.resolve(third.image().digest().substring("sha256:".length())));
    Files.writeString(tree.resolve("new.txt"), "new");
    clock.now = clock.now.plus(Duration.ofMinutes(5));
    dev.cachemount.core.testing.RecordingListener warned = new dev.cachemount.core.testing.RecordingListener();
    OperationResult fourth = client.push(spec("m2", tree, "m2-image"), warned);
    assertEquals(Outcome.PUSHED, fourth.result());
    assertFalse(fourth.image().unchanged());
    assertTrue(warned.warned("m2-image"), warned.warnings().toString());
    ImageViews.extract(store, "m2-image", dir.resolve("extracted-again"));
    assertEquals(ImageViews.listing(tree), ImageViews.listing(dir.resolve("extracted-again")));
  }

  /** A view that shows the snapshot but lost a layer (deleted by hand, a registry's clean-up) is not taken for unchanged. */
  @Test
  void aViewThatLostALayerIsWrittenAgain() throws IOException {
    Path tree = dir.resolve("tree");
    TestTrees.mixed(tree, 15);
    client.push(spec("m2", tree, "m2-image"), OperationListener.NONE);
    Digest lost = ImageViews.read(store, "m2-image").layers().get(0);
    Files.delete(store.resolve("blobs/sha256/" + lost.hex()));
    clock.now = clock.now.plus(Duration.ofMinutes(5));
    dev.cachemount.core.testing.RecordingListener listener = new dev.cachemount.core.testing.RecordingListener();
    OperationResult again = client.push(spec("m2", tree, "m2-image"), listener);
    assertEquals(Outcome.UNCHANGED, again.result());
    assertFalse(again.image().unchanged());
    assertTrue(again.image().bytesWritten() > 0);
    assertTrue(listener.warnings().stream().anyMatch(w -> w.contains("lacks blob")), listener.warnings().toString());
    Path extracted = dir.resolve("extracted");
    ImageViews.extract(store, "m2-image", extracted);
    assertEquals(ImageViews.listing(tree), ImageViews.listing(extracted));
  }

  /**
   * {@code --force} is the repair of a store whose blobs were damaged: a layer of the view whose bytes
   * were damaged (the same size, so that no unforced push notices) is written again and replaces the
   * damaged copy, not kept because a blob of its digest and size is there.
   */
  @Test
  void forceWritesEveryLayerAgainAndReplacesADamagedOne() throws IOException {
    Path tree = dir.resolve("tree");
    TestTrees.mixed(tree, 18);
    client.push(spec("m2", tree, "m2-image"), OperationListener.NONE);
    Digest layer = ImageViews.read(store, "m2-image").layers().get(0);
    Path blob = store.resolve("blobs/sha256/" + layer.hex());
    byte[] bytes = Files.readAllBytes(blob);
    bytes[bytes.length / 2] ^= 0x55;
    Files.write(blob, bytes);
    clock.now = clock.now.plus(Duration.ofMinutes(5));
    OperationResult forced = client.push(spec("m2", tree, "m2-image"), new dev.cachemount.core.PushOptions(true), OperationListener.NONE);
    assertEquals(Outcome.PUSHED, forced.result());
    assertFalse(forced.image().unchanged());
    assertEquals(0, forced.image().layersReused(), "--force keeps no layer of the view it replaces");
    assertEquals(layer, Digest.of(Files.readAllBytes(blob)), "the damaged copy of the layer is replaced");
    Path extracted = dir.resolve("extracted");
    ImageViews.extract(store, "m2-image", extracted);
    assertEquals(ImageViews.listing(tree), ImageViews.listing(extracted));
  }

  @Test
  void aViewAddedToAnUnchangedSnapshotIsWrittenFromItsIndex() throws IOException {
    Path tree = dir.resolve("tree");
    TestTrees.mixed(tree, 9);
    OperationResult first = client.push(spec("m2", tree, null), OperationListener.NONE);
    assertNull(first.image());
    clock.now = clock.now.plus(Duration.ofMinutes(5));
    OperationResult second = client.push(spec("m2", tree, "m2-image"), OperationListener.NONE);
    assertEquals(Outcome.UNCHANGED, second.result());
    assertFalse(second.image().unchanged());
    assertEquals(first.digest(), ImageViews.read(store, "m2-image").index().path("annotations").path(ImageView.SNAPSHOT).asText());
    Path extracted = dir.resolve("extracted");
    ImageViews.extract(store, "m2-image", extracted);
    assertEquals(ImageViews.listing(tree), ImageViews.listing(extracted));
  }

  /** Groups of 256 KiB on average over a tree of 4 MiB: a change to one file rewrites its layer, not the others. */
  @Test
  void aChangedFileRewritesItsLayerAndTheOthersAreReused() throws IOException {
    Path tree = dir.resolve("tree");
    Random random = new Random(3);
    writeJars(tree, "g%02d/a%03d.jar", 8, random);
    OperationResult pushed = client.push(spec("m2", tree, null), OperationListener.NONE);
    long target = 256 << 10;
    ImageView.Result one = publish(tree, pushed, target);
    assertTrue(one.layers() >= 6, one.layers() + " layers");
    assertEquals(0, one.layersReused());
    List<String> keysBefore = ImageViews.read(store, "m2-image").keys();

    Path changed = tree.resolve("g03/a030.jar");
    Files.write(changed, TestTrees.randomBytes(random, 64 << 10));
    Files.setLastModifiedTime(changed, FileTime.from(Instant.parse("2026-02-01T00:00:00Z")));
    clock.now = clock.now.plus(Duration.ofMinutes(5));
    OperationResult again = client.push(spec("m2", tree, null), OperationListener.NONE);
    assertEquals(Outcome.PUSHED, again.result());
    ImageView.Result two = publish(tree, again, target);
    List<String> keysAfter = ImageViews.read(store, "m2-image").keys();
    Set<String> kept = new HashSet<>(keysBefore);
    kept.retainAll(keysAfter);
    assertEquals(two.layersReused(), kept.size());
    assertTrue(two.layers() - two.layersReused() <= 2, "layers rewritten: " + (two.layers() - two.layersReused()) + " of " + two.layers());
    assertTrue(two.layersReused() >= two.layers() - 2);
    assertTrue(two.bytesWritten() < one.bytesWritten() / 2, two.bytesWritten() + " of " + one.bytesWritten());
    Path extracted = dir.resolve("extracted");
    ImageViews.extract(store, "m2-image", extracted);
    assertEquals(ImageViews.listing(tree), ImageViews.listing(extracted));
  }

  /**
   * A new directory high in the tree (a dependency of a new group id: {@code org/new/...}) changes the
   * time of the directory it is made in ({@code org}), which every layer of that part of the tree
   * writes into. Only the layers that write its new entries name it again: the others keep theirs.
   */
  @Test
  void aNewDirectoryHighInTheTreeRewritesOnlyTheLayersNearIt() throws IOException {
    Path tree = dir.resolve("tree");
    Random random = new Random(5);
    writeJars(tree, "org/g%02d/lib/1.0/a%03d.jar", 4, random);
    long target = 256 << 10;
    OperationResult pushed = client.push(spec("m2", tree, null), OperationListener.NONE);
    ImageView.Result one = publish(tree, pushed, target);
    assertTrue(one.layers() >= 8, one.layers() + " layers");

    Path added = tree.resolve("org/g07x/lib/1.0/new.jar");
    Files.createDirectories(added.getParent());
    Files.write(added, TestTrees.randomBytes(random, 16 << 10));
    Files.setLastModifiedTime(tree.resolve("org"), FileTime.from(Instant.parse("2026-03-01T00:00:00Z")));
    clock.now = clock.now.plus(Duration.ofMinutes(5));
    OperationResult again = client.push(spec("m2", tree, null), OperationListener.NONE);
    assertEquals(Outcome.PUSHED, again.result());
    ImageView.Result two = publish(tree, again, target);
    assertTrue(two.layers() - two.layersReused() <= 3, "layers rewritten: " + (two.layers() - two.layersReused()) + " of " + two.layers());
    Path extracted = dir.resolve("extracted");
    ImageViews.extract(store, "m2-image", extracted);
    assertEquals(ImageViews.listing(tree), ImageViews.listing(extracted));
  }

  /**
   * A build that writes into the directory after the push read it (here: a file cut short): the view
   * shows the snapshot all the same, that file read back from the snapshot's packs, and says so.
   */
  @Test
  void aFileChangedSinceTheSnapshotIsShownFromItsPacksWithAWarning() throws IOException {
    Path tree = dir.resolve("tree");
    TestTrees.mixed(tree, 10);
    List<String> asPushed = ImageViews.listing(tree);
    OperationResult pushed = client.push(spec("m2", tree, null), OperationListener.NONE);
    LoadedSnapshot snapshot = load("m2");
    Path big = tree.resolve("big.bin");
    byte[] before = Files.readAllBytes(big);
    Files.write(big, new byte[10]);
    var listener = new dev.cachemount.core.testing.RecordingListener();
    try (LayoutStore s = new LayoutStore(store)) {
      ImageView.Result r = new ImageView(s, "m2-image", listener)
          .publish(tree, Digest.parse(pushed.digest()), () -> new ImageView.Snapshot(snapshot.index(), snapshot.config().created()), 3, 2);
      assertFalse(r.unchanged());
    }
    assertEquals(List.of("1 files changed in the directory after the snapshot was made; the image view " + store + ":m2-image shows the snapshot's"
        + " versions, read back from its packs: big.bin"), listener.warnings().stream().map(w -> w.replace("oci:", "")).toList());
    Path extracted = dir.resolve("extracted");
    ImageViews.extract(store, "m2-image", extracted);
    assertEquals(asPushed, ImageViews.listing(extracted));
    assertEquals(-1, java.util.Arrays.mismatch(before, Files.readAllBytes(extracted.resolve("big.bin"))));
  }

  /** A changed file whose stored chunk is damaged: the view fails, saying what is damaged and what to do. */
  @Test
  void aChangedFileWhosePackIsDamagedFailsTheViewAndSaysWhatToDo() throws IOException {
    Path tree = dir.resolve("tree");
    TestTrees.mixed(tree, 12);
    OperationResult pushed = client.push(spec("m2", tree, null), OperationListener.NONE);
    LoadedSnapshot snapshot = load("m2");
    Entry big = snapshot.index().entries().stream().filter(e -> e.path().equals("big.bin")).findFirst().orElseThrow();
    dev.cachemount.core.index.SnapshotIndex index = snapshot.index();
    dev.cachemount.core.index.SnapshotIndex.Frame frame = index.frames().get(index.chunkFrame(big.chunk(0)));
    Path blob = store.resolve("blobs/sha256/" + index.packs().get(frame.pack()).digest().toString().substring("sha256:".length()));
    blob.toFile().setWritable(true);
    byte[] bytes = Files.readAllBytes(blob);
    bytes[(int) frame.offset() + frame.storedLength() / 2] ^= 1;
    Files.write(blob, bytes);
    Files.write(tree.resolve("big.bin"), new byte[10]);
    try (LayoutStore s = new LayoutStore(store)) {
      CachemountException e = assertThrows(CachemountException.class, () -> new ImageView(s, "m2-image", OperationListener.NONE)
          .publish(tree, Digest.parse(pushed.digest()), () -> new ImageView.Snapshot(snapshot.index(), snapshot.config().created()), 3, 2));
      assertEquals(FailureKind.INTEGRITY, e.kind(), e.getMessage());
      assertTrue(e.getMessage().contains("big.bin") && e.getMessage().contains("cachemount verify") && e.getMessage().contains("--force"),
          e.getMessage());
      assertTrue(s.fetchManifest("m2-image").isEmpty(), "no view under the tag");
    }
  }

  /**
   * A file rewritten with the same size within the same second as the snapshot saw it (a build's
   * status file, rewritten while the push runs) is another file: the view shows the snapshot's, from
   * its packs, under a key that says the snapshot's chunks.
   */
  @Test
  void aFileRewrittenWithinTheSameSecondIsShownFromThePacks() throws IOException {
    Path tree = dir.resolve("tree");
    TestTrees.mixed(tree, 15);
    Path status = tree.resolve("status.properties");
    Files.writeString(status, "state=aaaa\n");
    Instant before = Instant.parse("2026-01-01T00:00:00.100000000Z");
    Files.setLastModifiedTime(status, FileTime.from(before));
    OperationResult pushed = client.push(spec("m2", tree, null), OperationListener.NONE);
    LoadedSnapshot snapshot = load("m2");
    Files.writeString(status, "state=bbbb\n");
    Files.setLastModifiedTime(status, FileTime.from(before.plusMillis(700)));
    var listener = new dev.cachemount.core.testing.RecordingListener();
    try (LayoutStore s = new LayoutStore(store)) {
      new ImageView(s, "m2-image", listener)
          .publish(tree, Digest.parse(pushed.digest()), () -> new ImageView.Snapshot(snapshot.index(), snapshot.config().created()), 3, 2);
    }
    assertTrue(listener.warned("read back from its packs: status.properties"), listener.warnings().toString());
    Path extracted = dir.resolve("extracted");
    ImageViews.extract(store, "m2-image", extracted);
    assertEquals("state=aaaa\n", Files.readString(extracted.resolve("status.properties")));
  }

  /**
   * A file that a build rewrites while its layer is being written (same size, another time): the
   * bytes already in the layer may be the new file's, so the layer is written again, that file from
   * the packs. Without the packs, the layer fails.
   */
  @Test
  void aFileChangedWhileItsLayerIsWrittenIsWrittenAgainFromThePacks() throws IOException {
    Path tree = dir.resolve("tree");
    TestTrees.mixed(tree, 16);
    Path jar = tree.resolve("org/example/group1/1.0/artifact-1.0.jar");
    byte[] original = Files.readAllBytes(jar);
    client.push(spec("m2", tree, null), OperationListener.NONE);
    LoadedSnapshot snapshot = load("m2");
    LayerGroups.Group group = LayerGroups.of(snapshot.index()).stream()
        .filter(g -> g.entries().stream().anyMatch(e -> e.path().equals("org/example/group1/1.0/artifact-1.0.jar"))).findFirst().orElseThrow();
    java.util.function.Consumer<String> rewriteOnce = new java.util.function.Consumer<>() {
      boolean done;

      @Override
      public void accept(String path) {
        if (!done && path.equals("org/example/group1/1.0/artifact-1.0.jar")) {
          done = true;
          try {
            byte[] other = original.clone();
            other[0] ^= 1;
            Files.write(jar, other);
            Files.setLastModifiedTime(jar, FileTime.from(Instant.parse("2026-03-01T00:00:00Z")));
          } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
          }
        }
      }
    };
    try (LayoutStore s = new LayoutStore(store)) {
      LayerTar.Written w = new LayerTar(tree, 3, () -> 1L).readingChangedFilesFrom(s, snapshot.index()).afterEachRead(rewriteOnce)
          .write(group, dir.resolve("layer"));
      // Its bytes were checked against the snapshot's chunk digests as they were read: the layer holds them, not written again.
      assertEquals(List.of(), w.fromStore());
      byte[] tar = ImageViews.decompress(Files.readAllBytes(w.file()), LayerCompression.ZSTD);
      try (var in = new org.apache.commons.compress.archivers.tar.TarArchiveInputStream(new java.io.ByteArrayInputStream(tar))) {
        int files = 0;
        for (var e = in.getNextEntry(); e != null; e = in.getNextEntry()) {
          if (e.getName().equals("org/example/group1/1.0/artifact-1.0.jar")) {
            assertEquals(-1, java.util.Arrays.mismatch(original, in.readAllBytes()), "the snapshot's bytes, not the rewritten file's");
            files++;
          }
        }
        assertEquals(1, files, "the file is in the layer once");
      }
    }
    Files.write(jar, original);
    Files.setLastModifiedTime(jar, FileTime.from(Instant.parse("2026-04-01T00:00:00Z")));
    CachemountException e = assertThrows(CachemountException.class, () -> new LayerTar(tree, 3, () -> 1L).write(group, dir.resolve("layer-no-packs")));
    assertTrue(e.getMessage().contains("changed after the snapshot was made"), e.getMessage());
  }

  /**
   * A cache that two projects merge into has a view of the whole merge: the files a merge took from
   * the stored snapshot (the other project's) are read from its packs, without a warning.
   */
  @Test
  void aMergedCachesViewShowsTheWholeMergeWithoutAWarning() throws IOException {
    Path a = dir.resolve("project-a");
    Path b = dir.resolve("project-b");
    TestTrees.randomJars(a.resolve("from-a"), 12, 1);
    TestTrees.randomJars(b.resolve("from-b"), 12, 2);
    CacheSpec specA = client.parseSpec("id=deps,dir=" + store + ",target=" + a + ",mode=merge,image=deps-image");
    CacheSpec specB = client.parseSpec("id=deps,dir=" + store + ",target=" + b + ",mode=merge,image=deps-image");
    assertEquals(0L, client.push(specA, OperationListener.NONE).warnings());
    clock.now = clock.now.plus(Duration.ofMinutes(5));
    var listener = new dev.cachemount.core.testing.RecordingListener();
    OperationResult merged = client.push(specB, listener);
    assertEquals(Outcome.PUSHED, merged.result());
    assertFalse(merged.image().unchanged());
    assertEquals(List.of(), listener.warnings());
    assertEquals(0L, merged.warnings());
    Path restored = dir.resolve("restored");
    assertEquals(Outcome.RESTORED, client.pull(specB.withTarget(restored), OperationListener.NONE).result());
    assertTrue(Files.isDirectory(restored.resolve("from-a")) && Files.isDirectory(restored.resolve("from-b")), "the merge holds both");
    Path extracted = dir.resolve("extracted");
    ImageViews.extract(store, "deps-image", extracted);
    assertEquals(ImageViews.listing(restored), ImageViews.listing(extracted));
  }

  /** On a file system of whole seconds, the snapshot's time cut to the second is the file's own (as a push and a pull take it). */
  @Test
  void aTimeCutToTheFileSystemsGranularityIsTheSnapshotsOwn() throws IOException {
    Path tree = dir.resolve("tree");
    Files.createDirectories(tree);
    Path f = tree.resolve("a.jar");
    Files.writeString(f, "content");
    Instant t = Instant.parse("2026-01-01T00:00:00.500000000Z");
    Files.setLastModifiedTime(f, FileTime.from(t));
    client.push(spec("m2", tree, null), OperationListener.NONE);
    LoadedSnapshot snapshot = load("m2");
    Files.setLastModifiedTime(f, FileTime.from(Instant.parse("2026-01-01T00:00:00Z")));
    LayerGroups.Group group = LayerGroups.of(snapshot.index()).get(0);
    LayerTar.Written w = new LayerTar(tree, 3, () -> 1_000_000_000L).write(group, dir.resolve("layer"));
    assertTrue(w.size() > 0);
    assertThrows(CachemountException.class, () -> new LayerTar(tree, 3, () -> 1L).write(group, dir.resolve("layer-exact")));
  }

  @Test
  void aTagHoldingASnapshotIsNeverOverwrittenByAView() throws IOException {
    Path tree = dir.resolve("tree");
    TestTrees.mixed(tree, 11);
    OperationResult other = client.push(spec("other", tree, null), OperationListener.NONE);
    clock.now = clock.now.plus(Duration.ofMinutes(5));
    CachemountException e = assertThrows(CachemountException.class, () -> client.push(spec("m2", tree, "other"), OperationListener.NONE));
    assertEquals(FailureKind.USAGE, e.kind());
    assertTrue(e.getMessage().contains("holds a cachemount snapshot") && e.getMessage().contains("pushed ") && e.getMessage().contains("image="),
        e.getMessage());
    assertEquals(other.digest(), load("other").manifestBytes().digest().toString());
  }

  /**
   * A view of another format (a later cachemount's, pushed by a runner of that version to the same
   * image= tag) is left alone, as a snapshot of a later format is: exit 1 and "upgrade", not called
   * something that is not an image view (exit 2), which it is.
   */
  @Test
  void aViewOfAnotherFormatIsLeftAloneAndSaysUpgrade() throws IOException {
    Path tree = dir.resolve("tree");
    TestTrees.mixed(tree, 19);
    client.push(spec("m2", tree, "m2-image"), OperationListener.NONE);
    dev.cachemount.core.store.ManifestBytes later;
    try (LayoutStore s = new LayoutStore(store)) {
      com.fasterxml.jackson.databind.node.ObjectNode index = (com.fasterxml.jackson.databind.node.ObjectNode)
          dev.cachemount.core.oci.Json.mapper().readTree(s.fetchManifest("m2-image").orElseThrow().bytes());
      ((com.fasterxml.jackson.databind.node.ObjectNode) index.get("annotations")).put(ImageView.VIEW, "2");
      later = dev.cachemount.core.store.ManifestBytes.of(dev.cachemount.core.oci.MediaTypes.OCI_INDEX,
          dev.cachemount.core.oci.Json.mapper().writeValueAsBytes(index));
      s.putManifest("m2-image", later);
    }
    Files.writeString(tree.resolve("new.txt"), "new");
    clock.now = clock.now.plus(Duration.ofMinutes(5));
    CachemountException e = assertThrows(CachemountException.class, () -> client.push(spec("m2", tree, "m2-image"), OperationListener.NONE));
    assertEquals(FailureKind.OPERATIONAL, e.kind(), e.getMessage());
    assertTrue(e.getMessage().contains("image view of format 2") && e.getMessage().contains("upgrade cachemount"), e.getMessage());
    try (LayoutStore s = new LayoutStore(store)) {
      assertEquals(later.digest(), s.fetchManifest("m2-image").orElseThrow().digest(), "left alone");
    }
  }

  @Test
  void theViewSurvivesTheStoresCollectionOfOtherPushes() throws IOException {
    Path tree = dir.resolve("tree");
    TestTrees.mixed(tree, 12);
    client.push(spec("m2", tree, "m2-image"), OperationListener.NONE);
    Path other = dir.resolve("other");
    TestTrees.mixed(other, 13);
    for (int i = 0; i < 3; i++) {
      clock.now = clock.now.plus(Duration.ofDays(2)); // past every grace period
      Files.writeString(other.resolve("round"), "round " + i);
      client.push(spec("other", other, null), OperationListener.NONE);
    }
    Path extracted = dir.resolve("extracted");
    ImageViews.extract(store, "m2-image", extracted);
    assertEquals(ImageViews.listing(tree), ImageViews.listing(extracted));
  }

  /** An image view whose tag a fallback= prefix matches is passed over quietly: it is not a snapshot, nor damaged. */
  @Test
  void aFallbackPassesOverAnImageViewWithoutAWarning() throws IOException {
    Path tree = dir.resolve("tree");
    TestTrees.mixed(tree, 14);
    OperationResult old = client.push(spec("m2-old", tree, "m2-image"), OperationListener.NONE);
    clock.now = clock.now.plus(Duration.ofMinutes(5));
    dev.cachemount.core.testing.RecordingListener listener = new dev.cachemount.core.testing.RecordingListener();
    Path restored = dir.resolve("restored");
    OperationResult pulled = client.pull(spec("m2-new", restored, null).withFallback(List.of("m2-")), listener);
    assertEquals(Outcome.RESTORED, pulled.result());
    assertEquals(old.digest(), pulled.digest());
    assertTrue(listener.warnings().isEmpty(), listener.warnings().toString());
  }

  /**
   * A name that starts with .wh. is a deletion to image tools (.wh..wh..opq hides a whole directory of
   * the layers below): such entries, and what is below them, are left out of the view with a warning,
   * and the rest of the tree is there; the snapshot keeps them.
   */
  @Test
  void namesThatImageToolsReadAsDeletionsAreLeftOutWithAWarning() throws IOException {
    Path tree = dir.resolve("tree");
    TestTrees.mixed(tree, 17);
    Files.writeString(tree.resolve("org/.wh..wh..opq"), "x");
    Files.writeString(tree.resolve("org/example/.wh.big.bin"), "y");
    Files.createDirectories(tree.resolve(".wh.dir/sub"));
    Files.writeString(tree.resolve(".wh.dir/sub/f"), "z");
    dev.cachemount.core.testing.RecordingListener listener = new dev.cachemount.core.testing.RecordingListener();
    OperationResult r = client.push(spec("m2", tree, "m2-image"), listener);
    assertEquals(Outcome.PUSHED, r.result());
    assertTrue(listener.warnings().stream().anyMatch(w -> w.contains("leaves out 5 entries whose name starts with .wh.")),
        listener.warnings().toString());
    Path extracted = dir.resolve("extracted");
    ImageViews.extract(store, "m2-image", extracted);
    List<String> expected = ImageViews.listing(tree).stream().filter(l -> !l.contains(".wh.")).toList();
    assertEquals(expected, ImageViews.listing(extracted));
    Path restored = dir.resolve("restored");
    client.pull(spec("m2", restored, null), OperationListener.NONE);
    assertEquals(TreeListing.of(tree), TreeListing.of(restored), "the snapshot keeps them");
  }

  /**
   * A tree seeded from the view (a BuildKit cache mount made from it) has every time cut to 100 ns,
   * the tar's precision: its snapshot is new (the times differ), but its groups' tars equal the
   * view's, so every layer is kept, none written again.
   */
  @Test
  void aTreeSeededFromTheViewKeepsEveryLayer() throws IOException {
    Path tree = dir.resolve("tree");
    TestTrees.mixed(tree, 18);
    OperationResult first = client.push(spec("m2", tree, "m2-image"), OperationListener.NONE);
    Path seeded = dir.resolve("seeded");
    ImageViews.extract(store, "m2-image", seeded);
    clock.now = clock.now.plus(Duration.ofMinutes(5));
    OperationResult second = client.push(spec("m2", seeded, "m2-image"), OperationListener.NONE);
    assertEquals(Outcome.PUSHED, second.result(), "times cut to 100 ns: another snapshot");
    assertNotEquals(first.digest(), second.digest());
    assertFalse(second.image().unchanged());
    assertEquals(second.image().layers(), second.image().layersReused(), "every layer kept");
    assertTrue(second.image().bytesWritten() < 100_000, second.image().bytesWritten() + " bytes written");
  }

  @Test
  void groupsCoverEveryEntryOnceWithTheirDirectoriesFirst() throws IOException {
    Path tree = dir.resolve("tree");
    TestTrees.smallFiles(tree, 3000, 5);
    TestTrees.mixed(tree.resolve("mixed"), 5);
    client.push(spec("m2", tree, null), OperationListener.NONE);
    LoadedSnapshot s = load("m2");
    List<LayerGroups.Group> groups = LayerGroups.of(s.index(), 512 << 10);
    assertTrue(groups.size() > 4 && groups.size() <= LayerGroups.MAX_GROUPS, groups.size() + " groups");
    Set<String> seen = new HashSet<>();
    Set<String> made = new HashSet<>();
    Set<String> namedAgain = new HashSet<>(); // group:position of each directory named again
    java.util.Map<String, Integer> lastWriter = new java.util.HashMap<>();
    int files = 0;
    for (int gi = 0; gi < groups.size(); gi++) {
      for (int k = 0; k < groups.get(gi).entries().size(); k++) {
        Entry e = groups.get(gi).entries().get(k);
        String parent = dev.cachemount.core.index.EntryPaths.parent(e.path());
        assertTrue(parent.isEmpty() || made.contains(parent), e.path() + " before its directory");
        boolean again = e.type() == EntryType.DIRECTORY && made.contains(e.path()); // makes nothing
        if (again) {
          namedAgain.add(gi + ":" + k);
        }
        if (!parent.isEmpty() && !again) {
          lastWriter.put(parent, gi);
        }
        if (e.type() != EntryType.DIRECTORY) {
          assertTrue(seen.add(e.path()), e.path() + " twice");
          files++;
        } else {
          made.add(e.path());
        }
      }
    }
    // The last group that makes an entry in a directory names it, before that entry: its time is the snapshot's once extracted.
    lastWriter.forEach((directory, gi) -> {
      List<Entry> inGroup = groups.get(gi).entries();
      List<String> paths = inGroup.stream().map(Entry::path).toList();
      int named = paths.indexOf(directory);
      assertTrue(named >= 0, directory + " is not named by group " + gi + ", the last that makes an entry in it");
      for (int k = 0; k < named; k++) {
        assertTrue(namedAgain.contains(gi + ":" + k) || !directory.equals(dev.cachemount.core.index.EntryPaths.parent(paths.get(k))),
            directory + " after an entry made in it, " + paths.get(k));
      }
    });
    // A directory is named again only by that group.
    for (int gi = 0; gi < groups.size(); gi++) {
      for (Entry e : groups.get(gi).entries()) {
        if (e.type() == EntryType.DIRECTORY) {
          boolean first = groups.subList(0, gi).stream().noneMatch(g -> g.entries().contains(e));
          assertTrue(first || Integer.valueOf(gi).equals(lastWriter.get(e.path())), e.path() + " named again by group " + gi);
        }
      }
    }
    assertEquals(s.index().entries().stream().filter(e -> e.type() != EntryType.DIRECTORY).count(), files);
    // The same index, the same groups.
    assertEquals(groups.stream().map(LayerGroups.Group::key).toList(), LayerGroups.of(s.index(), 512 << 10).stream().map(LayerGroups.Group::key).toList());
  }

  /**
   * In index order {@code q-a} and {@code q-b} sort between {@code q} and {@code q/y}: a group that
   * starts after {@code q-a} goes on into {@code q}, which an earlier group holds. It names {@code q}
   * again (the last group to make an entry in it), so that extracting it layer by layer (as GNU tar
   * or an overlay does) keeps q's time.
   */
  @Test
  void aGroupNamesADirectoryItGoesIntoAfterItsFirstEntry() throws IOException {
    Path tree = dir.resolve("tree");
    Files.createDirectories(tree.resolve("q"));
    Files.write(tree.resolve("q/y"), new byte[] {1});
    Random random = new Random(4);
    Files.write(tree.resolve("q-a"), TestTrees.randomBytes(random, 40 << 10)); // at least half the target: the group ends after it
    Files.write(tree.resolve("q-b"), new byte[] {2});
    Files.setLastModifiedTime(tree.resolve("q"), FileTime.from(Instant.parse("2020-01-01T00:00:00.1234567Z")));
    OperationResult pushed = client.push(spec("m2", tree, null), OperationListener.NONE);
    LoadedSnapshot s = load("m2");
    long target = 64 << 10;
    List<LayerGroups.Group> groups = LayerGroups.of(s.index(), target);
    assertEquals(List.of(List.of("q", "q-a"), List.of("q-b", "q", "q/y")),
        groups.stream().map(g -> g.entries().stream().map(Entry::path).toList()).toList());
    try (LayoutStore ls = new LayoutStore(store)) {
      new ImageView(ls, "m2-image", OperationListener.NONE, target)
          .publish(tree, Digest.parse(pushed.digest()), () -> new ImageView.Snapshot(s.index(), s.config().created()), 3, 2);
    }
    Path extracted = dir.resolve("extracted");
    ImageViews.extract(store, "m2-image", extracted);
    assertEquals(ImageViews.listing(tree), ImageViews.listing(extracted));
  }

  @Test
  void theTargetIsAPowerOfTwoOfEightToSixteenGroups() {
    assertEquals(LayerGroups.MIN_TARGET, LayerGroups.target(0));
    assertEquals(LayerGroups.MIN_TARGET, LayerGroups.target(100L << 20));
    assertEquals(32L << 20, LayerGroups.target(500L << 20));
    assertEquals(32L << 20, LayerGroups.target(512L << 20));
    assertEquals(64L << 20, LayerGroups.target((512L << 20) + 1));
    assertNotEquals(0, LayerGroups.target(10L << 40));
  }

  /**
   * 64 incompressible files of 64 KiB, named by {@code format} from the file's group ({@code perGroup}
   * files each) and number, with times a second apart: 4 MiB in many groups at a small group size.
   */
  private static void writeJars(Path tree, String format, int perGroup, Random random) throws IOException {
    for (int i = 0; i < 64; i++) {
      Path f = tree.resolve(String.format(format, i / perGroup, i));
      Files.createDirectories(f.getParent());
      Files.write(f, TestTrees.randomBytes(random, 64 << 10));
      Files.setLastModifiedTime(f, FileTime.from(Instant.parse("2026-01-01T00:00:00Z").plusSeconds(i)));
    }
  }

  /** Writes the view of what the push stored under m2, with groups of {@code target} bytes on average. */
  private ImageView.Result publish(Path tree, OperationResult pushed, long target) throws IOException {
    LoadedSnapshot snapshot = load("m2");
    try (LayoutStore s = new LayoutStore(store)) {
      return new ImageView(s, "m2-image", OperationListener.NONE, target)
          .publish(tree, Digest.parse(pushed.digest()), () -> new ImageView.Snapshot(snapshot.index(), snapshot.config().created()), 3, 2);
    }
  }

  private LoadedSnapshot load(String tag) throws IOException {
    try (LayoutStore s = new LayoutStore(store)) {
      return new SnapshotReader(s, s).load(tag, tag).orElseThrow();
    }
  }
}
