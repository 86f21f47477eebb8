package dev.cachemount.core;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.cachemount.core.index.SnapshotIndex;
import dev.cachemount.core.snapshot.LoadedSnapshot;
import dev.cachemount.core.snapshot.SnapshotReader;
import dev.cachemount.core.store.LayoutStore;
import dev.cachemount.core.testing.TestTrees;
import dev.cachemount.core.testing.TreeListing;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.api.io.TempDir;

/**
 * Pushes that cost what changed: packs of the previous snapshot (and of {@code from=} snapshots) are
 * referenced again, files the parent vouches for are not read, and packs too little used are
 * compacted instead of referenced.
 */
class IncrementalPushTest {
  @TempDir Path dir;
  Path source;
  Path store;
  Cachemount client;

  @BeforeEach
  void setUp() throws IOException {
    source = dir.resolve("source");
    TestTrees.mixed(source, 7);
    store = dir.resolve("store");
    client = Cachemount.builder().home(dir).env(Map.of()).workers(2).packTarget(128 * 1024).build();
  }

  private CacheSpec spec(String id, Path target, String... from) {
    StringBuilder text = new StringBuilder("id=" + id + ",dir=" + store + ",target=" + target);
    for (String f : from) {
      text.append(",from=").append(f);
    }
    return client.parseSpec(text.toString());
  }

  private LoadedSnapshot load(String id) throws IOException {
    try (LayoutStore s = new LayoutStore(store)) {
      return new SnapshotReader(s, s).load(id, id).orElseThrow();
    }
  }

  private static Set<String> packs(LoadedSnapshot s) {
    return s.index().packs().stream().map(p -> p.digest().toString()).collect(Collectors.toSet());
  }

  private void assertRestoresExactly(CacheSpec spec, Path tree) throws IOException {
    Path out = dir.resolve("out-" + System.nanoTime());
    assertEquals(Outcome.RESTORED, client.pull(spec.withTarget(out), OperationListener.NONE).result());
    assertEquals(TreeListing.of(tree), TreeListing.of(out));
  }

  /** Appends to a file and gives it an old, distinct time, as a build that rewrote it would. */
  private static void change(Path file, String extra) throws IOException {
    Files.writeString(file, extra, java.nio.file.StandardOpenOption.APPEND);
    Files.setLastModifiedTime(file, FileTime.fromMillis(1_600_000_000_000L + extra.length()));
  }

  @Test
  void aSmallChangeUploadsOnlyItsChunksAndReferencesThePreviousPacks() throws IOException {
    OperationResult first = client.push(spec("m2", source), OperationListener.NONE);
    LoadedSnapshot parent = load("m2");
    assertTrue(parent.index().packs().size() >= 8, "enough packs to see reuse: " + parent.index().packs().size());

    change(source.resolve("org/example/group2/1.1/artifact-1.1.pom"), "<!-- changed -->\n");
    Files.write(source.resolve("org/example/group2/new.jar"), TestTrees.randomBytes(new Random(3), 40_000));
    OperationResult second = client.push(spec("m2", source), OperationListener.NONE);
    assertEquals(Outcome.PUSHED, second.result());
    LoadedSnapshot child = load("m2");

    Set<String> kept = new HashSet<>(packs(child));
    kept.retainAll(packs(parent));
    assertTrue(kept.size() >= parent.index().packs().size() - 2, "most earlier packs are referenced again: " + kept.size());
    assertTrue(second.blobsSkipped() >= kept.size(), "and not stored again: " + second);
    assertTrue(second.bytesTransferred() < first.bytesTransferred() / 5,
        "the second push stores little: " + second.bytesTransferred() + " of " + first.bytesTransferred());
    var lineage = child.config().lineage();
    assertEquals(first.digest(), lineage.parent(), "the config names the parent");
    assertEquals(kept.size(), lineage.reusedPacks());
    assertTrue(lineage.garbageRatio() >= 0 && lineage.garbageRatio() < 0.5, "garbage ratio " + lineage.garbageRatio());
    assertEquals(null, parent.config().lineage(), "a first push has no lineage");
    var counts = child.config().counts();
    assertEquals(child.index().chunkCount(), counts.chunks());
    long distinct = 0;
    for (int c = 0; c < child.index().chunkCount(); c++) {
      distinct += child.index().chunkLength(c);
    }
    assertEquals(distinct, counts.chunkBytes(), "the counts describe the whole snapshot, not what this push packed");
    assertTrue(counts.chunkBytes() > parent.config().counts().chunkBytes(), counts.chunkBytes() + " after " + parent.config().counts().chunkBytes());
    assertRestoresExactly(spec("m2", source), source);
  }

  @Test
  void filesTheParentVouchesForAreNotRead() throws IOException {
    client.push(spec("m2", source), OperationListener.NONE);
    Path jar = source.resolve("org/example/group0/1.0/artifact-1.0.jar");
    byte[] before = Files.readAllBytes(jar);
    FileTime time = Files.getLastModifiedTime(jar);
    // Same size, same time, other bytes: only reading the file could tell; git would not either.
    byte[] other = before.clone();
    other[other.length / 2] ^= 1;
    Files.write(jar, other);
    Files.setLastModifiedTime(jar, time);
    change(source.resolve("org/example/group1/1.0/artifact-1.0.pom"), "x");
    assertEquals(Outcome.PUSHED, client.push(spec("m2", source), OperationListener.NONE).result());

    Path out = dir.resolve("out");
    client.pull(spec("m2", out), OperationListener.NONE);
    assertTrue(java.util.Arrays.equals(before, Files.readAllBytes(out.resolve("org/example/group0/1.0/artifact-1.0.jar"))),
        "the unread file kept the content the parent recorded");
  }

  /** Packs of 1 MiB: files under 256 KiB (every jar of the tree) share packs rather than having their own. */
  private void withSharedPacks() {
    client = Cachemount.builder().home(dir).env(Map.of()).workers(2).packTarget(1 << 20).build();
  }

  @Test
  void packsTooLittleUsedAreCompactedNotReferenced() throws IOException {
    withSharedPacks();
    client.push(spec("m2", source), OperationListener.NONE);
    LoadedSnapshot parent = load("m2");
    // Most of the tree goes; what stays is spread over many packs.
    try (Stream<Path> walk = Files.walk(source.resolve("org"))) {
      List<Path> jars = walk.filter(p -> p.toString().endsWith(".jar")).sorted().toList();
      for (int i = 0; i < jars.size(); i++) {
        if (i % 6 != 0) {
          Files.delete(jars.get(i));
        }
      }
    }
    Files.delete(source.resolve("big.bin"));
    assertEquals(Outcome.PUSHED, client.push(spec("m2", source), OperationListener.NONE).result());
    LoadedSnapshot child = load("m2");
    SnapshotIndex index = child.index();
    long[] live = new long[index.packs().size()];
    Set<Integer> frames = new HashSet<>();
    for (int c = 0; c < index.chunkCount(); c++) {
      int f = index.chunkFrame(c);
      if (frames.add(f)) {
        live[index.frames().get(f).pack()] += index.frames().get(f).storedLength();
      }
    }
    Set<String> old = packs(parent);
    for (int p = 0; p < live.length; p++) {
      SnapshotIndex.PackRef ref = index.packs().get(p);
      if (old.contains(ref.digest().toString())) {
        assertTrue(live[p] >= ref.size() / 2 || ref.size() < 64 << 10,
            "an earlier pack is referenced only when at least half of it is used, or it is tiny: " + live[p] + " of " + ref.size());
      }
    }
    assertFalse(old.containsAll(packs(child)), "some chunks were packed anew");
    assertRestoresExactly(spec("m2", source), source);
  }

  /**
   * A cache that projects merge into, kept under a budget: the files the directory lacks come from
   * the stored snapshot unread, and eviction leaves a sixth of each earlier pack in use. Those packs
   * are compacted all the same, their used chunks read from the stored packs (before, a pack that
   * held any chunk of such a file was kept whatever its use: garbage ratio 0.83 here).
   */
  @Test
  void aMergeCompactsPacksOfFilesItTookUnreadFromTheStoredPacks() throws IOException {
    withSharedPacks();
    Path shared = dir.resolve("shared");
    List<String> newest = TestTrees.everySixthUsedLast(shared, 120, 11);
    long newestBytes = (long) newest.size() * TestTrees.SHARED_FILE_BYTES;
    client.push(client.parseSpec("id=deps,dir=" + store + ",target=" + shared + ",mode=merge"), OperationListener.NONE);
    LoadedSnapshot parent = load("deps");
    assertTrue(parent.index().packs().size() >= 4, "the files spread over packs: " + parent.index().packs().size());

    Path project = dir.resolve("project");
    Files.createDirectories(project);
    Files.writeString(project.resolve("built.txt"), "a project's own file");
    long budget = newestBytes + Files.size(project.resolve("built.txt"));
    OperationResult merged = client.push(client.parseSpec("id=deps,dir=" + store + ",target=" + project + ",mode=merge,max-size=" + budget),
        OperationListener.NONE);
    assertEquals(Outcome.PUSHED, merged.result());
    assertEquals(100L, merged.evictedFiles(), merged.toString());
    LoadedSnapshot child = load("deps");
    var lineage = child.config().lineage();
    assertTrue(lineage.garbageRatio() < 0.5, "the packs of files taken unread are compacted: garbage ratio " + lineage.garbageRatio());
    Set<String> old = packs(parent);
    for (SnapshotIndex.PackRef ref : child.index().packs()) {
      assertFalse(old.contains(ref.digest().toString()), "no earlier pack is a sixth used: " + ref);
    }
    Path out = dir.resolve("merged-out");
    assertEquals(Outcome.RESTORED, client.pull(client.parseSpec("id=deps,dir=" + store + ",target=" + out), OperationListener.NONE).result());
    for (String name : newest) {
      assertEquals(-1L, Files.mismatch(shared.resolve(name), out.resolve(name)), name);
    }
    assertEquals("a project's own file", Files.readString(out.resolve("built.txt")));
    try (Stream<Path> files = Files.walk(out)) {
      assertEquals(newest.size() + 1, files.filter(Files::isRegularFile).count(), "the budget's files and the project's");
    }
    assertEquals(newest.size() + 1L, client.verify(client.parseSpec("id=deps,dir=" + store + ",target=" + out), OperationListener.NONE).orElseThrow().files(),
        "every chunk checks against its digest");
  }

  /**
   * The same merge, with a byte of a kept file's frame flipped in the stored pack: compaction cannot
   * read that chunk back, says so, and references the pack as it is; the push succeeds.
   */
  @Test
  void aMergeThatFindsAStoredPackDamagedReferencesItAndSaysSo() throws IOException {
    withSharedPacks();
    Path shared = dir.resolve("shared");
    TestTrees.everySixthUsedLast(shared, 120, 11);
    client.push(client.parseSpec("id=deps,dir=" + store + ",target=" + shared + ",mode=merge"), OperationListener.NONE);
    LoadedSnapshot stored = load("deps");
    Set<String> parentPacks = packs(stored);
    SnapshotIndex parent = stored.index();
    var kept = parent.entries().stream().filter(e -> e.path().equals("lib/a000.jar")).findFirst().orElseThrow();
    SnapshotIndex.Frame frame = parent.frames().get(parent.chunkFrame(kept.chunk(0)));
    SnapshotIndex.PackRef damaged = parent.packs().get(frame.pack());
    Path blob = store.resolve("blobs/sha256/" + damaged.digest().toString().substring("sha256:".length()));
    blob.toFile().setWritable(true);
    byte[] bytes = Files.readAllBytes(blob);
    bytes[(int) frame.offset() + 10] ^= 1;
    Files.write(blob, bytes);

    Path project = Files.createDirectories(dir.resolve("project"));
    Files.writeString(project.resolve("built.txt"), "a project's own file");
    var listener = new dev.cachemount.core.testing.RecordingListener();
    OperationResult merged = client.push(client.parseSpec("id=deps,dir=" + store + ",target=" + project + ",mode=merge,max-size=" + (20 * 40_000 + 20)),
        listener);
    assertEquals(Outcome.PUSHED, merged.result());
    List<String> warnings = listener.warnings();
    assertTrue(warnings.stream().anyMatch(w -> w.startsWith("compaction could not read 1 chunks from the stored pack " + damaged.digest()
        + " (it is damaged: the bytes of chunk ") && w.contains("--force")), warnings.toString());
    Set<String> now = packs(load("deps"));
    now.retainAll(parentPacks);
    assertEquals(Set.of(damaged.digest().toString()), now, "the damaged pack is referenced as it is, the others compacted");
  }

  /**
   * A directory the scan saw, swapped for a link to a directory outside the tree before its files are
   * read: opening d/inner by its path would follow d and store the outside file's bytes under the
   * tree's name. The workers open files through the tree's directories without following links.
   */
  @Test
  void aDirectorySwappedForALinkAfterTheScanIsNotFollowedOutOfTheTree() throws IOException {
    Path tree = Files.createDirectories(dir.resolve("swap-tree/d"));
    Files.writeString(tree.resolve("inner"), "inside the tree");
    Files.writeString(tree.getParent().resolve("plain"), "a file beside it");
    Path outside = Files.createDirectories(dir.resolve("outside"));
    Files.writeString(outside.resolve("inner"), "OUTSIDE: must never be stored");
    Path root = tree.getParent();
    var scanned = new dev.cachemount.core.snapshot.TreeScanner(OperationListener.NONE).scan(root, Set.of(), Long.MAX_VALUE);
    Files.move(tree, dir.resolve("d-moved"));
    Files.createSymbolicLink(root.resolve("d"), outside);
    List<String> warnings = new java.util.ArrayList<>();
    dev.cachemount.core.snapshot.Snapshotter snapshotter = new dev.cachemount.core.snapshot.Snapshotter(
        new dev.cachemount.core.snapshot.Snapshotter.Settings(new dev.cachemount.core.chunk.FastCdcChunker(dev.cachemount.core.chunk.ChunkerParameters.DEFAULT),
            3, 16 * 1024, 1 << 20, 2),
        new OperationListener() {
          @Override
          public void warning(String message) {
            warnings.add(message);
          }
        }, java.time.Clock.systemUTC());
    var staged = snapshotter.snapshot(root, dev.cachemount.core.snapshot.TreePolicies.Tree.of(scanned), java.time.Instant.now().plusSeconds(10),
        Files.createDirectories(dir.resolve("swap-staging")), java.util.Optional.empty(), List.of());
    assertTrue(staged.index().entries().stream().noneMatch(e -> e.path().equals("d/inner")), "nothing stored as d/inner: " + staged.index().entries());
    assertTrue(staged.index().entries().stream().anyMatch(e -> e.path().equals("plain")), "the rest is stored");
    assertTrue(warnings.contains("d/inner is no longer a regular file (or a directory above it was replaced); skipped"), warnings.toString());
  }

  /**
   * Files gone from under compaction (deleted, or replaced by a FIFO, whose open would block, or by a
   * directory, whose read fails) after the workers took them from the parent unread.
   */
  @ParameterizedTest
  @ValueSource(strings = {"deleted", "fifo", "directory"})
  @org.junit.jupiter.api.Timeout(value = 120, threadMode = org.junit.jupiter.api.Timeout.ThreadMode.SEPARATE_THREAD) // a FIFO's open blocks
  void aFileGoneBeforeCompactionRereadsItKeepsItsChunksInTheirEarlierPacks(String replacedBy) throws IOException, InterruptedException {
    GoneBeforeCompaction gone = goneBeforeCompaction(replacedBy, null);
    assertTrue(gone.warnings().stream().anyMatch(w -> w.contains("chunks changed or vanished while the push ran")), gone.warnings().toString());
    assertTrue(gone.warnings().stream().noneMatch(w -> w.contains("vanished before it was read")), "the workers did not look for them: " + gone.warnings());
    for (Path jar : gone.jars()) {
      String path = source.relativize(jar).toString();
      assertTrue(gone.staged().index().entries().stream().anyMatch(e -> e.path().equals(path)), path + " stays in the snapshot, as scanned");
    }
    Set<String> earlier = packs(gone.parent());
    assertTrue(gone.staged().index().packs().stream().anyMatch(p -> earlier.contains(p.digest().toString())),
        "the vanished files' chunks stay in their earlier packs");
  }

  /** The same, for a push that can read the parent's packs: the chunks are read back from them and packed anew. */
  @Test
  void aFileGoneBeforeCompactionRereadsItIsReadBackFromTheStoredPacks() throws IOException, InterruptedException {
    GoneBeforeCompaction gone;
    try (LayoutStore stored = new LayoutStore(store)) {
      gone = goneBeforeCompaction("deleted", stored);
    }
    assertTrue(gone.warnings().isEmpty(), "nothing is lost, nothing to tell: " + gone.warnings());
    SnapshotIndex index = gone.staged().index();
    Set<String> earlier = packs(gone.parent());
    for (Path jar : gone.jars()) {
      String path = source.relativize(jar).toString();
      var entry = index.entries().stream().filter(e -> e.path().equals(path)).findFirst().orElseThrow(() -> new AssertionError(path + " stays"));
      for (int c = 0; c < entry.chunkCount(); c++) {
        int pack = index.frames().get(index.chunkFrame(entry.chunk(c))).pack();
        assertFalse(earlier.contains(index.packs().get(pack).digest().toString()), path + ": its chunks were packed anew");
      }
      assertTrue(Files.notExists(jar));
    }
  }

  private record GoneBeforeCompaction(LoadedSnapshot parent, List<Path> jars, dev.cachemount.core.snapshot.StagedSnapshot staged, List<String> warnings) {}

  /**
   * Pushes the tree, deletes most jars and pushes again through a snapshotter (reading the parent's
   * packs from {@code stored}, unless null), with the rest of the jars gone after the scan.
   */
  private GoneBeforeCompaction goneBeforeCompaction(String replacedBy, LayoutStore stored) throws IOException, InterruptedException {
    withSharedPacks();
    client.push(spec("m2", source), OperationListener.NONE);
    LoadedSnapshot parent = load("m2");
    List<Path> kept = new java.util.ArrayList<>();
    try (Stream<Path> walk = Files.walk(source.resolve("org"))) {
      List<Path> jars = walk.filter(p -> p.toString().endsWith(".jar")).sorted().toList();
      for (int i = 0; i < jars.size(); i++) {
        if (i % 6 != 0) {
          Files.delete(jars.get(i));
        } else {
          kept.add(jars.get(i));
        }
      }
    }
    Files.delete(source.resolve("big.bin"));
    byte[] added = new byte[300_000];
    new Random(5).nextBytes(added);
    Files.write(source.resolve("added.bin"), added);
    var scanned = new dev.cachemount.core.snapshot.TreeScanner(OperationListener.NONE).scan(source, Set.of(), Long.MAX_VALUE);
    java.time.Instant scanStarted = java.time.Instant.now().plusSeconds(10); // no file counts as modified close to the scan
    // Deleted after the scan: the workers take these jars from the parent unread (their size and mtime
    // match), so the first to find them gone is compaction, which reads their chunks again. Deleting
    // them here rather than from a callback during the push makes the order certain.
    for (Path jar : kept) {
      Files.delete(jar);
      if (replacedBy.equals("fifo")) {
        assertEquals(0, new ProcessBuilder("mkfifo", jar.toString()).start().waitFor(), "mkfifo " + jar);
      } else if (replacedBy.equals("directory")) {
        Files.createDirectory(jar);
      }
    }
    List<String> warnings = new java.util.ArrayList<>();
    dev.cachemount.core.snapshot.Snapshotter snapshotter = new dev.cachemount.core.snapshot.Snapshotter(
        new dev.cachemount.core.snapshot.Snapshotter.Settings(new dev.cachemount.core.chunk.FastCdcChunker(dev.cachemount.core.chunk.ChunkerParameters.DEFAULT),
            3, 16 * 1024, 1 << 20, 1), // packs of 1 MiB: the jars (at most 170 KB) share them
        new OperationListener() {
          @Override
          public void warning(String message) {
            warnings.add(message);
          }
        }, java.time.Clock.systemUTC());
    if (stored != null) {
      snapshotter.readingStoredPacksFrom(stored);
    }
    Path staging = Files.createDirectories(dir.resolve("staging"));
    var staged = snapshotter.snapshot(source, dev.cachemount.core.snapshot.TreePolicies.Tree.of(scanned), scanStarted, staging,
        java.util.Optional.of(new dev.cachemount.core.snapshot.ReuseSource(parent, java.util.Optional.empty(), "m2", true)), List.of());
    return new GoneBeforeCompaction(parent, kept, staged, warnings);
  }

  @Test
  void aSecondCacheReusesThePacksOfTheCacheItNamesWithFrom() throws IOException {
    OperationResult a = client.push(spec("project-a", source), OperationListener.NONE);
    Path other = dir.resolve("project-b");
    TestTrees.mixed(other, 7); // the same jars, downloaded at other times
    try (Stream<Path> walk = Files.walk(other)) {
      for (Path p : (Iterable<Path>) walk.filter(Files::isRegularFile)::iterator) {
        Files.setLastModifiedTime(p, FileTime.fromMillis(1_700_000_000_000L));
      }
    }
    Files.write(other.resolve("only-in-b.jar"), TestTrees.randomBytes(new Random(5), 60_000));
    OperationResult b = client.push(spec("project-b", other, "project-a"), OperationListener.NONE);
    assertEquals(Outcome.PUSHED, b.result());
    assertTrue(b.blobsSkipped() >= load("project-a").index().packs().size() / 2, "project-a's packs are referenced: " + b);
    assertTrue(b.bytesTransferred() < a.bytesTransferred() / 4, "b stores what a lacks: " + b.bytesTransferred() + " vs " + a.bytesTransferred());
    assertRestoresExactly(spec("project-b", other), other);

    OperationResult missing = client.push(spec("project-c", other, "no-such-cache"), OperationListener.NONE);
    assertEquals(Outcome.PUSHED, missing.result(), "a from= that names nothing is skipped with a warning");
  }

  @Test
  void aPackReachedThroughTheParentAndAFromSnapshotIsJudgedOnBothShares() throws IOException {
    // One pack: one worker, a pack target larger than the tree.
    client = Cachemount.builder().home(dir).env(Map.of()).workers(1).packTarget(64 << 20).build();
    Path a = dir.resolve("a");
    Path b = dir.resolve("b");
    Files.createDirectories(a);
    Files.createDirectories(b);
    Random random = new Random(11);
    for (int i = 0; i < 10; i++) {
      Files.write(a.resolve("a" + i + ".jar"), TestTrees.randomBytes(random, 64 * 1024));
    }
    client.push(spec("a", a), OperationListener.NONE);
    Set<String> packOfA = packs(load("a"));
    assertEquals(1, packOfA.size());
    // b holds 6 of a's 10 files: it references a's pack (60% used).
    for (int i = 0; i < 6; i++) {
      Files.copy(a.resolve("a" + i + ".jar"), b.resolve("a" + i + ".jar"));
    }
    client.push(spec("b", b, "a"), OperationListener.NONE);
    assertEquals(packOfA, packs(load("b")));
    // Now b holds 2 of its own (20% of the pack, reached through the parent; touched, so read again)
    // and 4 it did not have (40%, reached through a only). Each share is under half, together they
    // are over it: the pack is kept for both, and nothing is packed anew.
    for (int i = 2; i < 6; i++) {
      Files.delete(b.resolve("a" + i + ".jar"));
    }
    for (int i = 0; i < 2; i++) {
      Files.setLastModifiedTime(b.resolve("a" + i + ".jar"), FileTime.fromMillis(1_650_000_000_000L));
    }
    for (int i = 6; i < 10; i++) {
      Files.copy(a.resolve("a" + i + ".jar"), b.resolve("a" + i + ".jar"));
    }
    OperationResult third = client.push(spec("b", b, "a"), OperationListener.NONE);
    assertEquals(Outcome.PUSHED, third.result());
    assertEquals(packOfA, packs(load("b")), "the pack is kept, once, for both sources; no chunk is packed anew");
    assertRestoresExactly(spec("b", b), b);
  }

  @Test
  void forceReferencesNothingStoredBefore() throws IOException {
    client.push(spec("m2", source), OperationListener.NONE);
    LoadedSnapshot parent = load("m2");
    change(source.resolve("org/example/group3/1.2/artifact-1.2.pom"), "y");
    client.push(spec("m2", source), new PushOptions(true), OperationListener.NONE);
    Set<String> shared = new HashSet<>(packs(load("m2")));
    shared.retainAll(packs(parent));
    // Packs come out the same only when their content does; none of the old ones is merely referenced.
    assertTrue(shared.size() < parent.index().packs().size(), "a forced push packs the tree anew");
  }
}
