package dev.cachemount.core;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.cachemount.core.blob.Digest;
import dev.cachemount.core.index.SnapshotIndex;
import dev.cachemount.core.oci.ImageManifest;
import dev.cachemount.core.oci.Json;
import dev.cachemount.core.snapshot.LoadedSnapshot;
import dev.cachemount.core.snapshot.SnapshotReader;
import dev.cachemount.core.store.BlobPut;
import dev.cachemount.core.store.LayoutStore;
import dev.cachemount.core.testing.ForwardingStore;
import dev.cachemount.core.testing.TestTrees;
import dev.cachemount.core.testing.TreeListing;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A push makes the same packs from the same tree and the same stored snapshot, whatever the number
 * of workers and their timing: a retried push finds the packs it stored before it failed, and two
 * machines pushing one tree make blobs a store holds once.
 */
class ReproduciblePacksTest {
  @TempDir Path dir;
  Path source;

  @BeforeEach
  void setUp() throws IOException {
    source = dir.resolve("source");
    TestTrees.mixed(source, 11);
    // Enough small files for several batches, with copies far apart (in other batches), and one file
    // larger than a worker holds while it waits for its turn.
    Random random = new Random(17);
    for (int i = 0; i < 700; i++) {
      Path p = source.resolve(String.format("small/%02d/%04d", i / 100, i));
      Files.createDirectories(p.getParent());
      Files.write(p, TestTrees.randomBytes(random, 1000 + random.nextInt(3000)));
    }
    byte[] huge = TestTrees.randomBytes(random, 9 << 20);
    System.arraycopy(Files.readAllBytes(source.resolve("big.bin")), 0, huge, 5 << 20, 1 << 20);
    Files.write(source.resolve("huge.bin"), huge);
    Files.createDirectories(source.resolve("zz-copies"));
    try (Stream<Path> small = Files.walk(source.resolve("small"))) {
      List<Path> files = small.filter(Files::isRegularFile).sorted().toList();
      for (int i = 0; i < files.size(); i += 50) {
        Files.write(source.resolve("zz-copies/copy-" + i), Files.readAllBytes(files.get(i)));
      }
    }
    for (Path p : List.of(source.resolve("huge.bin"), source.resolve("zz-copies"))) {
      Files.setLastModifiedTime(p, FileTime.fromMillis(1_600_000_000_000L));
    }
  }

  private Cachemount client(int workers) {
    return Cachemount.builder().home(dir.resolve("home-" + workers)).env(Map.of()).workers(workers).packTarget(256 * 1024).build();
  }

  private CacheSpec spec(Cachemount client, Path store) {
    return client.parseSpec("id=m2,dir=" + store + ",target=" + source);
  }

  private static LoadedSnapshot load(Path store) throws IOException {
    try (LayoutStore s = new LayoutStore(store)) {
      return new SnapshotReader(s, s).load("m2", "m2").orElseThrow();
    }
  }

  private static List<Digest> packs(LoadedSnapshot s) {
    return s.index().packs().stream().map(SnapshotIndex.PackRef::digest).toList();
  }

  private static String indexDigest(Path store) throws IOException {
    try (LayoutStore layout = new LayoutStore(store)) {
      ImageManifest manifest = Json.readManifest(layout.fetchManifest("m2").orElseThrow().bytes(), "manifest");
      return manifest.layers().get(0).digest();
    }
  }

  /** The same packs in the same order; on failure, how many differ rather than two lists of digests. */
  private static void assertSamePacks(List<Digest> expected, List<Digest> actual, String what) {
    if (!expected.equals(actual)) {
      java.util.Set<Digest> common = new java.util.HashSet<>(expected);
      common.retainAll(new java.util.HashSet<>(actual));
      org.junit.jupiter.api.Assertions.fail(what + ": " + expected.size() + " packs against " + actual.size() + ", " + common.size() + " of them the same");
    }
  }

  @Test
  void oneTreeMakesTheSamePacksAndIndexWhateverTheWorkers() throws IOException {
    List<List<Digest>> packs = new ArrayList<>();
    List<String> indexes = new ArrayList<>();
    int[] workers = {1, 2, 4, 8, 8};
    for (int i = 0; i < workers.length; i++) {
      Path store = dir.resolve("store-" + i);
      Cachemount client = client(workers[i]);
      assertEquals(Outcome.PUSHED, client.push(spec(client, store), OperationListener.NONE).result());
      packs.add(packs(load(store)));
      indexes.add(indexDigest(store));
    }
    assertTrue(packs.get(0).size() >= 20, "enough packs to tell orders apart: " + packs.get(0).size());
    for (int i = 1; i < workers.length; i++) {
      assertSamePacks(packs.get(0), packs.get(i), workers[i] + " workers against 1");
      assertEquals(indexes.get(0), indexes.get(i), "the index too, with " + workers[i] + " workers");
    }
    LoadedSnapshot one = load(dir.resolve("store-0"));
    long distinct = 0;
    for (int c = 0; c < one.index().chunkCount(); c++) {
      distinct += one.index().chunkLength(c);
    }
    assertEquals(distinct, one.config().counts().chunkBytes(), "every chunk stored once");
    Path out = dir.resolve("out");
    Cachemount client = client(4);
    assertEquals(Outcome.RESTORED, client.pull(client.parseSpec("id=m2,dir=" + dir.resolve("store-3") + ",target=" + out), OperationListener.NONE).result());
    assertEquals(TreeListing.of(source), TreeListing.of(out));
  }

  @Test
  void aTreeWithAFileAddedEarlyAndOneChangedSharesAllButAFewPacksWithoutAParent() throws IOException {
    // Packs of 64 KiB: the 700 small files fill about 25 of them.
    Cachemount one = Cachemount.builder().home(dir.resolve("home-one")).env(Map.of()).workers(2).packTarget(64 * 1024).build();
    Path storeA = dir.resolve("store-a");
    one.push(spec(one, storeA), OperationListener.NONE);
    List<Digest> before = packs(load(storeA));

    // Another branch's tree: a file added near the start of the tree's order, one changed in the middle.
    Files.write(source.resolve("small/00/0000-added"), TestTrees.randomBytes(new Random(23), 2500));
    Path changed = source.resolve("small/03/0350");
    byte[] bytes = Files.readAllBytes(changed);
    bytes[bytes.length / 2] ^= 1;
    Files.write(changed, bytes);
    Cachemount other = Cachemount.builder().home(dir.resolve("home-other")).env(Map.of()).workers(3).packTarget(64 * 1024).build();
    Path storeB = dir.resolve("store-b");
    other.push(spec(other, storeB), OperationListener.NONE);
    List<Digest> after = packs(load(storeB));

    java.util.Set<Digest> fresh = new java.util.LinkedHashSet<>(after);
    before.forEach(fresh::remove);
    assertTrue(before.size() >= 20, "enough packs to see the difference: " + before.size());
    // Each difference changes the pack it falls in and at most the next one or two, not every pack after it.
    assertTrue(fresh.size() <= 6, fresh.size() + " of " + after.size() + " packs differ from the " + before.size() + " of the first tree");
    assertEquals(TreeListing.of(source), TreeListing.of(pulled(storeB)), "and the second tree restores whole");
  }

  private Path pulled(Path store) {
    Path out = dir.resolve("pulled-" + store.getFileName());
    Cachemount client = client(2);
    assertEquals(Outcome.RESTORED, client.pull(client.parseSpec("id=m2,dir=" + store + ",target=" + out), OperationListener.NONE).result());
    return out;
  }

  @Test
  void anIncrementalPushThatCompactsMakesTheSamePacksWhateverTheWorkers() throws IOException {
    Path storeA = dir.resolve("store-a");
    Path storeB = dir.resolve("store-b");
    Cachemount one = client(1);
    Cachemount many = client(6);
    one.push(spec(one, storeA), OperationListener.NONE);
    many.push(spec(many, storeB), OperationListener.NONE);
    List<Digest> parentPacks = packs(load(storeA));
    assertSamePacks(parentPacks, packs(load(storeB)), "the first pushes");

    // Five of every six small files gone, in runs (a frame is live when any of its chunks is): the packs that held them fall under half used and are compacted.
    try (Stream<Path> small = Files.walk(source.resolve("small"))) {
      List<Path> files = small.filter(Files::isRegularFile).sorted().toList();
      for (int i = 0; i < files.size(); i++) {
        if (i % 60 >= 10) {
          Files.delete(files.get(i));
        }
      }
    }
    Files.write(source.resolve("small/new-file"), TestTrees.randomBytes(new Random(4), 50_000));
    Files.writeString(source.resolve("org/example/group1/1.1/artifact-1.1.pom"), "<!-- changed -->\n", java.nio.file.StandardOpenOption.APPEND);
    Files.setLastModifiedTime(source.resolve("org/example/group1/1.1/artifact-1.1.pom"), FileTime.fromMillis(1_600_000_500_000L));

    one.push(spec(one, storeA), OperationListener.NONE);
    many.push(spec(many, storeB), OperationListener.NONE);
    LoadedSnapshot a = load(storeA);
    assertSamePacks(packs(a), packs(load(storeB)), "the same packs kept and the same packs made");
    assertEquals(indexDigest(storeA), indexDigest(storeB));
    int repacked = 0;
    java.util.Set<Digest> earlier = new java.util.HashSet<>(parentPacks);
    SnapshotIndex index = a.index();
    for (int c = 0; c < index.chunkCount(); c++) {
      Digest pack = index.packs().get(index.frames().get(index.chunkFrame(c)).pack()).digest();
      if (!earlier.contains(pack) && index.chunkLength(c) > 0 && isSmallFileChunk(index, c)) {
        repacked++;
      }
    }
    assertTrue(repacked > 0, "some small files' chunks were packed anew (compaction ran)");
    assertTrue(a.config().lineage().reusedPacks() < parentPacks.size(), "and some earlier packs were dropped");
  }

  /** Whether chunk {@code c} belongs to a file under small/ other than the new one. */
  private static boolean isSmallFileChunk(SnapshotIndex index, int c) {
    for (var e : index.entries()) {
      if (e.path().startsWith("small/") && !e.path().equals("small/new-file")) {
        for (int i = 0; i < e.chunkCount(); i++) {
          if (e.chunk(i) == c) {
            return true;
          }
        }
      }
    }
    return false;
  }

  @Test
  void aPushRetriedAfterAFailureFindsThePacksItHadStored() throws IOException {
    Path store = dir.resolve("store");
    AtomicInteger stored = new AtomicInteger();
    Cachemount failing = Cachemount.builder().home(dir.resolve("home-failing")).env(Map.of()).workers(4).packTarget(256 * 1024)
        .stores((spec, defaultDir, l) -> new ForwardingStore(new LayoutStore(store)) {
          @Override
          public BlobPut putBlob(Digest digest, long size, Path file) throws IOException {
            if (stored.incrementAndGet() > 8) {
              throw new IOException("injected: the connection dropped");
            }
            return super.putBlob(digest, size, file);
          }
        }).build();
    CachemountException failed = org.junit.jupiter.api.Assertions.assertThrows(CachemountException.class,
        () -> failing.push(failing.parseSpec("id=m2,dir=" + store + ",target=" + source), OperationListener.NONE));
    assertTrue(failed.getMessage().contains("injected"), failed.getMessage());
    long storedBefore;
    try (Stream<Path> blobs = Files.list(store.resolve("blobs/sha256"))) {
      storedBefore = blobs.count();
    }
    assertTrue(storedBefore >= 8, "the failed push stored packs first: " + storedBefore);

    Cachemount retrying = client(3);
    OperationResult retried = retrying.push(spec(retrying, store), OperationListener.NONE);
    assertEquals(Outcome.PUSHED, retried.result());
    assertTrue(retried.blobsSkipped() >= 8, "the retry found the 8 packs stored before the failure: " + retried);
  }
}
