package dev.cachemount.core.snapshot;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.cachemount.core.OperationListener;
import dev.cachemount.core.blob.Digest;
import dev.cachemount.core.chunk.ChunkerParameters;
import dev.cachemount.core.chunk.FastCdcChunker;
import dev.cachemount.core.index.Entry;
import dev.cachemount.core.index.EntryType;
import dev.cachemount.core.index.SnapshotIndex;
import dev.cachemount.core.pack.ChunkRef;
import dev.cachemount.core.testing.TestTrees;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SnapshotterTest {
  @TempDir Path dir;

  private static Snapshotter.Settings settings(int workers, long packTarget) {
    return new Snapshotter.Settings(new FastCdcChunker(ChunkerParameters.DEFAULT), 3, 16 * 1024, packTarget, workers);
  }

  @Test
  void everyFileIsMadeOfPlacedChunksAndEveryChunkIsStoredOnce() throws IOException {
    Path tree = dir.resolve("tree");
    TestTrees.mixed(tree, 9);
    Path staging = Files.createDirectories(dir.resolve("staging"));
    StagedSnapshot staged = new Snapshotter(settings(4, 128 * 1024), OperationListener.NONE, Clock.systemUTC()).snapshot(tree, staging);
    SnapshotIndex index = staged.index();
    assertTrue(staged.packs().size() > 3, "several packs");
    long sum = 0;
    for (Entry e : index.entries()) {
      if (e.type() == EntryType.FILE) {
        assertEquals(Files.size(tree.resolve(e.path())), e.size(), e.path());
        sum += e.size();
      }
    }
    assertEquals(sum, index.totalBytes());
    long distinct = 0;
    for (int c = 0; c < index.chunkCount(); c++) {
      distinct += index.chunkLength(c);
    }
    assertEquals(distinct, staged.chunkBytes());
    assertTrue(distinct < sum, "copy-of-big.bin and the zeros deduplicate");
    try (Stream<Path> files = Files.list(staging)) {
      assertEquals(staged.packs().size(), files.count(), "only finished packs are left in staging");
    }
    for (var pack : staged.packs()) {
      assertEquals(Digest.of(Files.readAllBytes(pack.file())), pack.digest());
    }
  }

  @Test
  void aFileOfAFrameOrMoreHasFramesOfItsOwnAndSmallFilesShareTheirs() throws IOException {
    Path tree = Files.createDirectories(dir.resolve("framed"));
    java.util.Random random = new java.util.Random(7);
    for (String name : List.of("a1.pom", "a2.pom", "a3.pom", "big.jar", "z1.pom", "z2.pom", "z3.pom")) {
      byte[] data = new byte[name.equals("big.jar") ? 70_000 : 900];
      random.nextBytes(data);
      Files.write(tree.resolve(name), data);
    }
    Path staging = Files.createDirectories(dir.resolve("framed-staging"));
    SnapshotIndex index = new Snapshotter(settings(1, 1 << 20), OperationListener.NONE, Clock.systemUTC()).snapshot(tree, staging).index();
    java.util.Map<Integer, java.util.Set<String>> filesOfFrame = new java.util.HashMap<>();
    for (Entry e : index.entries()) {
      for (int c = 0; c < e.chunkCount(); c++) {
        filesOfFrame.computeIfAbsent(index.chunkFrame(e.chunk(c)), f -> new java.util.TreeSet<>()).add(e.path());
      }
    }
    int framesOfBig = 0;
    int sharedFrames = 0;
    for (java.util.Set<String> files : filesOfFrame.values()) {
      if (files.contains("big.jar")) {
        assertEquals(java.util.Set.of("big.jar"), files, "a frame of big.jar holds nothing else");
        framesOfBig++;
      } else if (files.size() > 1) {
        sharedFrames++;
      }
    }
    assertTrue(framesOfBig >= 2, "big.jar spans several frames: " + framesOfBig);
    assertEquals(2, sharedFrames, "the three poms before it share one frame, the three after it another: " + filesOfFrame);
  }

  @Test
  void framesRunOnAcrossTheWorkersBatches() throws IOException {
    // Small files, many batches of them: a batch's end must not end a frame, or frames (and packs)
    // would depend on where batches fall, which moves when a file is added anywhere before.
    Path tree = Files.createDirectories(dir.resolve("batched"));
    java.util.Random random = new java.util.Random(12);
    int files = 4 * Snapshotter.BATCH_FILES;
    for (int i = 0; i < files; i++) {
      Files.write(tree.resolve(String.format("f%04d", i)), TestTrees.randomBytes(random, 300 + random.nextInt(400)));
    }
    for (int workers : new int[] {1, 3}) {
      Path staging = Files.createDirectories(dir.resolve("batched-staging-" + workers));
      SnapshotIndex index = new Snapshotter(settings(workers, 1 << 20), OperationListener.NONE, Clock.systemUTC()).snapshot(tree, staging).index();
      java.util.Map<String, Integer> frameOf = new java.util.HashMap<>();
      for (Entry e : index.entries()) {
        frameOf.put(e.path(), index.chunkFrame(e.chunk(0)));
      }
      for (int boundary = Snapshotter.BATCH_FILES; boundary < files; boundary += Snapshotter.BATCH_FILES) {
        String last = String.format("f%04d", boundary - 1);
        String first = String.format("f%04d", boundary);
        assertEquals(frameOf.get(last), frameOf.get(first), "with " + workers + " workers, " + last + " and " + first + " share a frame across their batches");
      }
    }
  }

  @Test
  void aFileOfAQuarterPackOrMoreHasPacksOfItsOwn() throws IOException {
    Path tree = Files.createDirectories(dir.resolve("packed"));
    java.util.Random random = new java.util.Random(8);
    for (String name : List.of("a1.pom", "a2.pom", "big.jar", "mid.jar", "z1.pom", "z2.pom")) {
      int size = switch (name) {
        case "big.jar" -> 1_100_000; // over the largest pack (two targets): two packs or more of its own
        case "mid.jar" -> 100_000; // a frame or more, under a quarter pack: frames of its own, a shared pack
        default -> 900;
      };
      Files.write(tree.resolve(name), TestTrees.randomBytes(random, size));
    }
    Path staging = Files.createDirectories(dir.resolve("packed-staging"));
    SnapshotIndex index = new Snapshotter(settings(3, 512 * 1024), OperationListener.NONE, Clock.systemUTC()).snapshot(tree, staging).index();
    java.util.Map<Integer, java.util.Set<String>> filesOfPack = new java.util.HashMap<>();
    for (Entry e : index.entries()) {
      for (int c = 0; c < e.chunkCount(); c++) {
        filesOfPack.computeIfAbsent(index.frames().get(index.chunkFrame(e.chunk(c))).pack(), p -> new java.util.TreeSet<>()).add(e.path());
      }
    }
    long packsOfBig = filesOfPack.values().stream().filter(f -> f.contains("big.jar")).count();
    assertTrue(packsOfBig >= 2, filesOfPack.toString());
    assertTrue(filesOfPack.values().stream().filter(f -> f.contains("big.jar")).allMatch(f -> f.equals(java.util.Set.of("big.jar"))),
        "big.jar's packs hold nothing else: " + filesOfPack);
    assertTrue(filesOfPack.values().stream().anyMatch(f -> f.containsAll(List.of("mid.jar", "z1.pom", "z2.pom"))),
        "a smaller file shares its pack: " + filesOfPack);
    assertEquals(packsOfBig + 2, filesOfPack.size(), "the poms before big.jar, its packs, and the rest: " + filesOfPack);
  }

  @Test
  void settingsThatCouldOverflowAFrameAreRefused() {
    FastCdcChunker huge = new FastCdcChunker(new ChunkerParameters(ChunkerParameters.FASTCDC_2020, 1024, 4096, 16 << 20, 2, 1));
    assertThrows(IllegalArgumentException.class, () -> new Snapshotter.Settings(huge, 3, 16 * 1024, 1 << 20, 1));
    assertThrows(IllegalArgumentException.class, () -> new Snapshotter.Settings(new FastCdcChunker(ChunkerParameters.DEFAULT), 3, 16 * 1024, 0, 1));
    // Frames grow to twice their target plus a chunk: the largest target that fits, and the next.
    FastCdcChunker chunker = new FastCdcChunker(ChunkerParameters.DEFAULT);
    int largest = (dev.cachemount.core.index.FormatLimits.MAX_FRAME + 1 - chunker.maxSize()) / 2;
    new Snapshotter.Settings(chunker, 3, largest, 1 << 20, 1);
    assertThrows(IllegalArgumentException.class, () -> new Snapshotter.Settings(chunker, 3, largest + 1, 1 << 20, 1));
  }

  private static byte[] frameOf(PackSink sink, byte[] data) {
    byte[] buffer = sink.buffer();
    System.arraycopy(data, 0, buffer, 0, data.length);
    return buffer;
  }

  @Test
  void aClosedPackSinkTakesNoMoreFramesAndDeletesWhatItHadOpen() throws IOException {
    Path staging = Files.createDirectories(dir.resolve("sink"));
    PackSink sink = new PackSink(staging, 1 << 20, 64, 3, 2, pack -> { });
    byte[] data = {1, 2, 3};
    sink.submit(frameOf(sink, data), 3, List.of(new ChunkRef(Digest.of(data), 3)));
    sink.close();
    try (Stream<Path> files = Files.list(staging)) {
      assertFalse(files.findAny().isPresent(), "the unfinished pack was deleted");
    }
    assertThrows(PackSink.Abandoned.class, () -> sink.submit(frameOf(sink, data), 3, List.of(new ChunkRef(Digest.of(data), 3))));
  }

  @Test
  void framesAreWrittenInTheOrderSubmittedWhateverThreadCompressesThem() throws IOException {
    Path staging = Files.createDirectories(dir.resolve("ordered"));
    List<Digest> heard = new java.util.ArrayList<>();
    PackSink sink = new PackSink(staging, 10_000, 8192, 3, 4, pack -> heard.add(pack.digest()));
    java.util.Random random = new java.util.Random(5);
    List<Digest> chunks = new java.util.ArrayList<>();
    for (int i = 0; i < 200; i++) {
      // Compressible and incompressible frames of varied sizes, so compressing them takes varied times.
      byte[] data = i % 3 == 0 ? new byte[500 + random.nextInt(7000)] : TestTrees.randomBytes(random, 500 + random.nextInt(3000));
      data[0] = (byte) i;
      data[1] = (byte) (i >> 8);
      chunks.add(Digest.of(data));
      sink.submit(frameOf(sink, data), data.length, List.of(new ChunkRef(Digest.of(data), data.length)));
    }
    SnapshotIndex.Builder builder = new SnapshotIndex.Builder();
    List<dev.cachemount.core.pack.PackWriter.FinishedPack> packs = sink.finish(builder);
    sink.close();
    assertEquals(200, sink.frameCount());
    assertEquals(packs.stream().map(p -> p.digest()).toList(), heard, "each pack heard once, in order");
    SnapshotIndex index = builder.build();
    assertEquals(packs.size(), index.packs().size());
    assertTrue(packs.size() > 5, "several packs: " + packs.size());
    int lastPack = 0;
    long lastOffset = -1;
    for (int i = 0; i < 200; i++) {
      int c = index.findChunk(chunks.get(i));
      SnapshotIndex.Frame f = index.frames().get(index.chunkFrame(c));
      assertEquals(i, index.chunkFrame(c), "frame " + i + " is the " + i + "th submitted");
      assertTrue(f.pack() > lastPack || (f.pack() == lastPack && f.offset() > lastOffset), "frame " + i + " follows the one before it");
      lastPack = f.pack();
      lastOffset = f.offset();
    }
    for (var pack : packs) {
      assertTrue(pack.size() < 2 * 10_000 + 8192 + 4096, "a pack closes by twice its target: " + pack.size());
      assertEquals(Digest.of(Files.readAllBytes(pack.file())), pack.digest());
    }
  }

  @Test
  void aPackThatCannotBeWrittenFailsTheSinkWithTheStagingDirectoryNamed() throws IOException {
    Path staging = dir.resolve("gone");
    PackSink sink = new PackSink(staging, 1 << 20, 64, 3, 1, pack -> { });
    byte[] data = {4, 5, 6};
    sink.submit(frameOf(sink, data), 3, List.of(new ChunkRef(Digest.of(data), 3)));
    IOException e = assertThrows(IOException.class, () -> sink.finish(new SnapshotIndex.Builder()));
    assertTrue(e.getMessage().contains(staging.toString()) && e.getMessage().contains("free space"), e.getMessage());
    assertThrows(PackSink.WriterFailed.class, () -> sink.submit(frameOf(sink, data), 3, List.of(new ChunkRef(Digest.of(data), 3))));
    sink.close();
  }

  /** Submits {@code count} whole buffers of compressible bytes, slow to encode at level 19. */
  private static void submitSlowFrames(PackSink sink, int count, long seed) throws IOException {
    java.util.Random random = new java.util.Random(seed);
    for (int i = 0; i < count; i++) {
      byte[] b = sink.buffer();
      for (int j = 0; j < b.length; j++) {
        b[j] = (byte) random.nextInt(16);
      }
      sink.submit(b, b.length, List.of(new ChunkRef(Digest.of(new byte[] {(byte) i}), b.length)));
    }
  }

  private static long packWriters() {
    return Thread.getAllStackTraces().keySet().stream().filter(t -> t.getName().equals("cachemount-pack-writer") && t.isAlive()).count();
  }

  @Test
  void anInterruptedFinishStopsTheWriterAndLeavesNoPackBehind() throws Exception {
    long before = packWriters();
    Path staging = Files.createDirectories(dir.resolve("interrupted"));
    // Level 19 on one thread: compressing lags far behind submitting, so frames wait when the interrupt comes.
    PackSink sink = new PackSink(staging, 1L << 40, 1 << 20, 19, 1, pack -> { });
    submitSlowFrames(sink, 8, 1);
    Thread.sleep(300);
    Thread.currentThread().interrupt();
    try {
      assertThrows(java.io.InterruptedIOException.class, () -> sink.finish(new SnapshotIndex.Builder()));
      assertTrue(Thread.interrupted(), "the interrupt is kept for the caller");
      sink.close();
    } finally {
      Thread.interrupted();
    }
    assertEquals(before, packWriters(), "the writer has stopped");
    try (Stream<Path> files = Files.list(staging)) {
      assertEquals(List.of(), files.toList(), "the unfinished pack was deleted");
    }
  }

  @Test
  void aRefusedSinkWritesNoFurtherFrameAndLeavesNoPack() throws Exception {
    Path staging = Files.createDirectories(dir.resolve("refused"));
    PackSink sink = new PackSink(staging, 1L << 40, 1 << 20, 19, 1, pack -> { });
    submitSlowFrames(sink, 12, 2); // level 19 on one thread: most are still being compressed when the first is written
    long deadline = System.nanoTime() + 30_000_000_000L;
    while (!Files.exists(staging.resolve("pack-0"))) { // the first frame is being written: a pack is open
      assertTrue(System.nanoTime() < deadline, "no pack was started");
      Thread.sleep(5);
    }
    sink.refuse(); // as a SIGTERM's hook does, before it deletes the staging directory
    assertThrows(PackSink.Abandoned.class, () -> sink.finish(new SnapshotIndex.Builder()));
    sink.close();
    try (Stream<Path> files = Files.list(staging)) {
      assertEquals(List.of(), files.toList(), "the open pack was deleted and no other was made");
    }
  }

  /** Digests of the chunks of {@code path} in {@code index}, in order. */
  private static List<Digest> chunksOf(SnapshotIndex index, String path) {
    for (Entry e : index.entries()) {
      if (e.path().equals(path)) {
        List<Digest> chunks = new java.util.ArrayList<>();
        for (int c = 0; c < e.chunkCount(); c++) {
          chunks.add(index.chunkDigest(e.chunk(c)));
        }
        return chunks;
      }
    }
    throw new AssertionError(path + " is not in the index");
  }

  private static Entry entryOf(SnapshotIndex index, String path) {
    return index.entries().stream().filter(e -> e.path().equals(path)).findFirst().orElse(null);
  }

  private static OperationListener warningsInto(List<String> warnings) {
    return new OperationListener() {
      @Override
      public void warning(String message) {
        warnings.add(message);
      }
    };
  }

  /** Writes {@code version} of the file: its bytes (random, seeded by the version) and a time of its own. */
  private static byte[] writeVersion(Path file, int version) throws IOException {
    byte[] data = new byte[300_000 + version * 1000];
    new java.util.Random(version).nextBytes(data);
    Files.write(file, data);
    Files.setLastModifiedTime(file, java.nio.file.attribute.FileTime.from(java.time.Instant.parse("2026-01-01T00:00:00Z").plusSeconds(version)));
    return data;
  }

  @Test
  void aFileWrittenWhileItWasReadIsReadAgainAndStoredAsItWasThen() throws IOException {
    Path tree = Files.createDirectories(dir.resolve("busy"));
    writeVersion(tree.resolve("a.bin"), 1);
    Files.writeString(tree.resolve("b.txt"), "still");
    List<String> warnings = new java.util.concurrent.CopyOnWriteArrayList<>();
    OperationListener listener = warningsInto(warnings);
    java.util.concurrent.atomic.AtomicInteger reads = new java.util.concurrent.atomic.AtomicInteger();
    Path staging = Files.createDirectories(dir.resolve("busy-staging"));
    SnapshotIndex index = new Snapshotter(settings(2, 1 << 20), listener, Clock.systemUTC())
        .afterEachRead(path -> {
          if (path.equals("a.bin") && reads.incrementAndGet() == 1) {
            try {
              writeVersion(tree.resolve("a.bin"), 2); // a tool writes the file while the push reads it
            } catch (IOException e) {
              throw new java.io.UncheckedIOException(e);
            }
          }
        })
        .snapshot(tree, staging).index();
    assertEquals(2, reads.get(), "read once more after it changed");
    Path alone = Files.createDirectories(dir.resolve("second-version"));
    writeVersion(alone.resolve("a.bin"), 2);
    SnapshotIndex expected = new Snapshotter(settings(1, 1 << 20), OperationListener.NONE, Clock.systemUTC())
        .snapshot(alone, Files.createDirectories(dir.resolve("second-staging"))).index();
    assertEquals(chunksOf(expected, "a.bin"), chunksOf(index, "a.bin"), "the snapshot holds the version the second read saw");
    Entry a = entryOf(index, "a.bin");
    assertEquals(Files.size(tree.resolve("a.bin")), a.size());
    assertEquals(java.time.Instant.parse("2026-01-01T00:00:02Z").getEpochSecond(), a.mtimeSeconds(), "with that version's time, not the scan's");
    assertEquals(List.of(), warnings, "a consistent read is nothing to warn about");
  }

  /**
   * A merge is the union of the directory and the stored snapshot: a file it could not read whole (a
   * tool kept writing it) lost its stored version too, left out of the merged snapshot (a reviewer's
   * find). It keeps the stored version, as a file the directory lacks does.
   */
  @Test
  void aMergeKeepsTheStoredVersionOfAFileAToolKeptWriting() throws IOException {
    Path tree = Files.createDirectories(dir.resolve("merged"));
    writeVersion(tree.resolve("a.bin"), 1);
    Files.writeString(tree.resolve("b.txt"), "still");
    Path store = dir.resolve("merge-store");
    dev.cachemount.core.Cachemount client = dev.cachemount.core.Cachemount.builder().home(dir.resolve("home")).env(java.util.Map.of()).build();
    String digest = client.push(client.parseSpec("id=m,dir=" + store + ",target=" + tree), OperationListener.NONE).digest();
    LoadedSnapshot parent = SnapshotReader.of(new dev.cachemount.core.store.LayoutStore(store)).load(digest, "m").orElseThrow();
    List<Digest> storedChunks = chunksOf(parent.index(), "a.bin");
    writeVersion(tree.resolve("a.bin"), 2);
    List<String> warnings = new java.util.concurrent.CopyOnWriteArrayList<>();
    java.util.concurrent.atomic.AtomicInteger reads = new java.util.concurrent.atomic.AtomicInteger();
    List<ScannedEntry> scanned = new TreeScanner(OperationListener.NONE).scan(tree);
    SnapshotIndex index = new Snapshotter(settings(2, 1 << 20), warningsInto(warnings), Clock.systemUTC())
        .afterEachRead(path -> {
          if (path.equals("a.bin")) {
            try {
              writeVersion(tree.resolve("a.bin"), 3 + reads.incrementAndGet());
            } catch (IOException e) {
              throw new java.io.UncheckedIOException(e);
            }
          }
        })
        .snapshot(tree, TreePolicies.merge(scanned, parent.index()), java.time.Instant.now(), Files.createDirectories(dir.resolve("merge-staging")),
            java.util.Optional.of(new ReuseSource(parent, java.util.Optional.empty(), "m", true)), List.of())
        .index();
    assertEquals(storedChunks, chunksOf(index, "a.bin"), "the stored version, not a mix of the versions being written");
    assertEquals(java.time.Instant.parse("2026-01-01T00:00:01Z").getEpochSecond(), entryOf(index, "a.bin").mtimeSeconds(), "with its time");
    assertEquals(1, warnings.size(), warnings.toString());
    assertTrue(warnings.get(0).contains("the stored snapshot's version stays (mode=merge)"), warnings.get(0));
  }

  @Test
  void filesOfADirectoryThatVanishedBeforeTheyWereReadAreToldInOneLine() throws IOException {
    Path tree = Files.createDirectories(dir.resolve("vanishing"));
    Files.createDirectories(tree.resolve("gone"));
    for (int i = 0; i < 7; i++) {
      Files.writeString(tree.resolve("gone/f" + i), "file " + i);
    }
    Files.writeString(tree.resolve("alone"), "one");
    Files.writeString(tree.resolve("stays"), "here");
    List<ScannedEntry> scanned = new TreeScanner(OperationListener.NONE).scan(tree);
    for (int i = 0; i < 7; i++) {
      Files.delete(tree.resolve("gone/f" + i)); // a tool's cleanup, between the scan and the reads
    }
    Files.delete(tree.resolve("alone"));
    List<String> warnings = new java.util.concurrent.CopyOnWriteArrayList<>();
    SnapshotIndex index = new Snapshotter(settings(2, 1 << 20), warningsInto(warnings), Clock.systemUTC())
        .snapshot(tree, scanned, java.time.Instant.now(), Files.createDirectories(dir.resolve("vanishing-staging"))).index();
    assertEquals(List.of("alone vanished before it was read; skipped", "7 files of gone vanished before they were read; skipped (f0, f1, f2, ...)"),
        warnings);
    assertEquals(4, entryOf(index, "stays").size());
  }

  @Test
  void aFileWrittenDuringEveryReadIsLeftOutWithAWarningAndTheRestIsStored() throws IOException {
    Path tree = Files.createDirectories(dir.resolve("always-busy"));
    writeVersion(tree.resolve("a.bin"), 1);
    Files.writeString(tree.resolve("b.txt"), "still");
    List<String> warnings = new java.util.concurrent.CopyOnWriteArrayList<>();
    OperationListener listener = warningsInto(warnings);
    java.util.concurrent.atomic.AtomicInteger reads = new java.util.concurrent.atomic.AtomicInteger();
    Path staging = Files.createDirectories(dir.resolve("always-busy-staging"));
    SnapshotIndex index = new Snapshotter(settings(2, 1 << 20), listener, Clock.systemUTC())
        .afterEachRead(path -> {
          if (path.equals("a.bin")) {
            try {
              writeVersion(tree.resolve("a.bin"), 2 + reads.incrementAndGet());
            } catch (IOException e) {
              throw new java.io.UncheckedIOException(e);
            }
          }
        })
        .snapshot(tree, staging).index();
    assertEquals(Snapshotter.READS, reads.get());
    assertEquals(null, entryOf(index, "a.bin"), "no version of a.bin was read whole");
    assertEquals(5, entryOf(index, "b.txt").size());
    assertEquals(1, warnings.size(), warnings.toString());
    assertTrue(warnings.get(0).startsWith("a.bin changed during each of the 3 times it was read") && warnings.get(0).contains("left out"),
        warnings.get(0));
  }
}
