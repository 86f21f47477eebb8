package dev.cachemount.core.image;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.cachemount.core.CacheSpec;
import dev.cachemount.core.Cachemount;
import dev.cachemount.core.OperationListener;
import dev.cachemount.core.index.Entry;
import dev.cachemount.core.index.EntryType;
import dev.cachemount.core.snapshot.LoadedSnapshot;
import dev.cachemount.core.snapshot.SnapshotReader;
import dev.cachemount.core.store.LayoutStore;
import dev.cachemount.core.testing.MutableClock;
import dev.cachemount.core.testing.TestTrees;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Consumer;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Review of 0f22069: a layer written with files changed (before or while read) equals the layer of the unchanged directory. */
class LayerTarTest {
  @TempDir Path dir;
  Path store;
  Cachemount client;

  @BeforeEach
  void setUp() {
    store = dir.resolve("store");
    MutableClock clock = new MutableClock(Instant.now().plus(Duration.ofHours(1)));
    client = Cachemount.builder().home(dir).env(Map.of()).workers(2).packTarget(128 * 1024).clock(clock).build();
  }

  private CacheSpec spec(String id, Path target) {
    return client.parseSpec("id=" + id + ",dir=" + store + ",target=" + target);
  }

  private LoadedSnapshot load(String tag) throws IOException {
    try (LayoutStore s = new LayoutStore(store)) {
      return new SnapshotReader(s, s).load(tag, tag).orElseThrow();
    }
  }

  /** Requests and bytes asked of the store by this test (JUnit makes an instance per test). */
  final AtomicInteger requests = new AtomicInteger();
  final java.util.concurrent.atomic.AtomicLong bytes = new java.util.concurrent.atomic.AtomicLong();

  /** Counts the requests and the bytes asked of the store. */
  dev.cachemount.core.store.BlobSource counting(dev.cachemount.core.store.BlobSource s) {
    return new dev.cachemount.core.store.BlobSource() {
      @Override
      public java.io.InputStream openBlob(dev.cachemount.core.blob.Digest d, long size) throws IOException {
        requests.incrementAndGet();
        bytes.addAndGet(size);
        return s.openBlob(d, size);
      }

      @Override
      public java.io.InputStream openRanges(dev.cachemount.core.blob.Digest d, long size, List<dev.cachemount.core.store.BlobRange> ranges)
          throws IOException {
        requests.incrementAndGet();
        ranges.forEach(r -> bytes.addAndGet(r.length()));
        return s.openRanges(d, size, ranges);
      }
    };
  }

  private List<String> layers(Path tree, LoadedSnapshot snap, String name, Consumer<String> hook) throws IOException {
    List<String> digests = new ArrayList<>();
    int i = 0;
    try (LayoutStore s = new LayoutStore(store)) {
      for (LayerGroups.Group g : LayerGroups.of(snap.index())) {
        LayerTar.Written w = new LayerTar(tree, 3, () -> 1L).readingChangedFilesFrom(counting(s), snap.index()).afterEachRead(hook)
            .write(g, dir.resolve(name + "-" + i++));
        digests.add(w.digest() + " " + w.diffId() + " " + w.size());
      }
    }
    return digests;
  }

  private static List<String> files(LoadedSnapshot snap) {
    List<String> files = new ArrayList<>();
    for (Entry e : snap.index().entries()) {
      if (e.type() == EntryType.FILE) {
        files.add(e.path());
      }
    }
    return files;
  }

  @Test
  void everyKindOfChangeBeforeTheReadGivesTheUnchangedLayers() throws Exception {
    Path tree = dir.resolve("tree");
    TestTrees.mixed(tree, 21);
    client.push(spec("m2", tree), OperationListener.NONE);
    LoadedSnapshot snap = load("m2");
    List<String> pristine = layers(tree, snap, "pristine", p -> { });
    List<String> fs = files(snap);
    int k = 0;
    for (String p : fs) {
      Path f = tree.resolve(p);
      long size = Files.size(f);
      switch (k++ % 8) {
        case 0 -> Files.write(f, new byte[0]);
        case 1 -> Files.write(f, new byte[] {1, 2, 3}, java.nio.file.StandardOpenOption.APPEND);
        case 2 -> Files.delete(f);
        case 3 -> { Files.delete(f); Files.createDirectory(f); Files.writeString(f.resolve("x"), "x"); }
        case 4 -> { Files.delete(f); Files.createSymbolicLink(f, Path.of("/etc/hostname")); }
        case 5 -> { Files.delete(f); new ProcessBuilder("mkfifo", f.toString()).start().waitFor(); }
        case 6 -> { Files.write(f, new byte[(int) size]); }
        default -> Files.setLastModifiedTime(f, FileTime.from(Instant.parse("2001-01-01T00:00:00Z")));
      }
    }
    assertEquals(pristine, layers(tree, snap, "changed", p -> { }));
  }

  /**
   * Every file's time changes right after it is read: the bytes read are the snapshot's by its
   * digests, so the layers come out the same, each file read once and nothing fetched from the packs
   * (a layer used to be written again for each such file, fetching again every file taken from the
   * packs before: 4,130 requests for a snapshot of 9 MB).
   */
  @Test
  void filesWhoseTimesChangeWhileReadAreTakenAsReadWhenTheirBytesAreTheSnapshots() throws IOException {
    Path tree = dir.resolve("tree");
    TestTrees.mixed(tree, 22);
    client.push(spec("m2", tree), OperationListener.NONE);
    LoadedSnapshot snap = load("m2");
    List<String> pristine = layers(tree, snap, "pristine", p -> { });
    AtomicInteger reads = new AtomicInteger();
    List<String> changed = layers(tree, snap, "changed", p -> {
      reads.incrementAndGet();
      try {
        Files.setLastModifiedTime(tree.resolve(p), FileTime.from(Instant.parse("2001-01-01T00:00:00Z")));
      } catch (IOException e) {
        throw new java.io.UncheckedIOException(e);
      }
    });
    assertEquals(pristine, changed);
    assertEquals(files(snap).size(), reads.get(), "every file read from the directory once");
    assertEquals(0, requests.get(), "their bytes are the snapshot's by its digests: nothing fetched from the packs, no layer written again");
  }

  /**
   * Files whose chunks go backwards in a pack (content repeated within the file), jump between packs
   * (an incremental push: unchanged chunks in the parent's packs), and a file of no bytes: all read
   * from the packs once the directory lost them, the layers equal to those of the directory.
   */
  @Test
  void filesWhoseChunksGoBackwardsAndJumpBetweenPacksReadBackFromThePacks() throws IOException {
    for (long packTarget : new long[] {128 * 1024, 64L << 20}) {
      client = Cachemount.builder().home(dir).env(Map.of()).workers(2).packTarget(packTarget)
          .clock(new MutableClock(Instant.now().plus(Duration.ofHours(1)))).build();
      java.util.Random random = new java.util.Random(packTarget);
      Path tree = dir.resolve("tree-" + packTarget);
      Files.createDirectories(tree);
      byte[] a = TestTrees.randomBytes(random, 64 << 10);
      byte[] b = TestTrees.randomBytes(random, 200 << 10);
      byte[] c = TestTrees.randomBytes(random, 300 << 10);
      Files.write(tree.resolve("base.bin"), c);
      client.push(spec("x" + packTarget, tree), OperationListener.NONE);
      java.io.ByteArrayOutputStream f = new java.io.ByteArrayOutputStream();
      f.write(a); f.write(b); f.write(a); f.write(c, 0, 100 << 10); f.write(a); f.write(c, 150 << 10, 150 << 10); f.write(a, 0, 5000);
      Files.write(tree.resolve("mixed.bin"), f.toByteArray());
      Files.write(tree.resolve("empty"), new byte[0]);
      client.push(spec("x" + packTarget, tree), OperationListener.NONE);
      LoadedSnapshot snap = load("x" + packTarget);
      List<String> pristine = layers(tree, snap, "p" + packTarget, p -> { });
      for (String p : files(snap)) {
        Files.delete(tree.resolve(p));
      }
      assertEquals(pristine, layers(tree, snap, "c" + packTarget, p -> { }), "pack target " + packTarget);
    }
  }

  /**
   * A file rewritten with other bytes of the same size and given back its time (cp -p, rsync -t, a
   * tool that sets fixed times): nothing in its attributes says it changed, but the view must still
   * show the snapshot's bytes, as the user guide says ("the view always shows the snapshot").
   */
  @Test
  void aFileRewrittenWithItsSizeAndTimeKeptStillShowsTheSnapshot() throws IOException {
    Path tree = dir.resolve("tree");
    TestTrees.mixed(tree, 23);
    client.push(spec("m2", tree), OperationListener.NONE);
    LoadedSnapshot snap = load("m2");
    List<String> pristine = layers(tree, snap, "pristine", p -> { });
    for (String p : files(snap)) {
      Path f = tree.resolve(p);
      byte[] bytes = Files.readAllBytes(f);
      if (bytes.length > 0) {
        FileTime t = Files.getLastModifiedTime(f);
        bytes[bytes.length / 2] ^= 1;
        Files.write(f, bytes);
        Files.setLastModifiedTime(f, t);
      }
    }
    assertEquals(pristine, layers(tree, snap, "changed", p -> { }));
  }
}
