package dev.cachemount.core;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.cachemount.core.blob.Digest;
import dev.cachemount.core.image.ImageView;
import dev.cachemount.core.image.ImageViews;
import dev.cachemount.core.store.BlobRange;
import dev.cachemount.core.store.LayoutStore;
import dev.cachemount.core.store.ManifestBytes;
import dev.cachemount.core.testing.ForwardingStore;
import dev.cachemount.core.testing.MutableClock;
import dev.cachemount.core.testing.RecordingListener;
import dev.cachemount.core.testing.TestTrees;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * image= with mode=merge: the view shows the merged snapshot (files the merge took from the stored
 * snapshot read from its packs, or from the directory where its bytes are the snapshot's), without a
 * warning of its own, fetching each frame once; and a slower push's view does not replace the view
 * of a snapshot built on its own.
 */
class MergeImageViewTest {
  @TempDir Path dir;
  Path store;
  Path a;
  Path b;
  Cachemount client;

  @BeforeEach
  void setUp() throws IOException {
    store = dir.resolve("store");
    a = Files.createDirectories(dir.resolve("a"));
    b = Files.createDirectories(dir.resolve("b"));
    client = builder("home").build();
  }

  private Cachemount.Builder builder(String home) {
    return Cachemount.builder().home(dir.resolve(home)).env(Map.of()).workers(2).packTarget(128 * 1024)
        .clock(new MutableClock(Instant.now().plus(Duration.ofHours(1))));
  }

  private String spec(Path target, String extra) {
    return "id=deps,dir=" + store + ",target=" + target + ",mode=merge" + extra;
  }

  /** The view under deps-image, extracted, equals a pull of deps; and it shows the snapshot deps names. */
  private void assertViewIsTheSnapshot(String name) throws IOException {
    Path pulled = dir.resolve("pulled-" + name);
    client.pull(client.parseSpec("id=deps,dir=" + store + ",target=" + pulled), OperationListener.NONE);
    Path extracted = dir.resolve("extracted-" + name);
    ImageViews.extract(store, "deps-image", extracted);
    try (LayoutStore s = new LayoutStore(store)) {
      String tagged = s.fetchManifest("deps").orElseThrow().digest().toString();
      assertEquals(tagged, ImageViews.read(store, "deps-image").index().path("annotations").path(ImageView.SNAPSHOT).asText(),
          "the view shows the snapshot the tag names");
    }
    assertEquals(ImageViews.listing(pulled), ImageViews.listing(extracted));
  }

  /**
   * Two merges of one cache, each with image=deps-image, in a store without a merge lock (a registry):
   * B's whole push (its snapshot built on A's, and its view) falls while A stores its view. A must
   * not then point deps-image at the view of its own, older snapshot, which lacks B's files (it did,
   * and it stayed so until the next push that changed something, without a warning).
   */
  @Test
  void aSlowerMergesViewIsPutOverTheViewOfTheSnapshotBuiltOnIt() throws IOException {
    Files.writeString(b.resolve("shared.jar"), "both");
    client.push(client.parseSpec(spec(b, "")), OperationListener.NONE);
    Files.writeString(a.resolve("a.jar"), "only A");
    Files.writeString(b.resolve("b.jar"), "only B");
    Cachemount other = builder("home-b").build();
    AtomicInteger races = new AtomicInteger(1);
    Cachemount racing = builder("home-a").stores((s, d, l) -> new ForwardingStore(new LayoutStore(store)) {
      @Override
      public long putChildManifest(ManifestBytes manifest) throws IOException {
        // A's view is being stored (its layers are up, its platforms' manifests going): B's whole push now.
        if (races.getAndDecrement() > 0) {
          OperationResult bPushed = other.push(other.parseSpec(spec(b, ",image=deps-image")), OperationListener.NONE);
          assertEquals(Outcome.PUSHED, bPushed.result());
        }
        return super.putChildManifest(manifest);
      }
    }).build();
    RecordingListener listener = new RecordingListener();
    OperationResult aPushed = racing.push(racing.parseSpec(spec(a, ",image=deps-image")), listener);
    assertEquals(Outcome.PUSHED, aPushed.result());
    assertEquals(List.of(), listener.warnings());
    assertViewIsTheSnapshot("race");
  }

  /**
   * A shared jar both projects hold with the same bytes, the stored one newer: the merge takes the
   * stored entry, and the view reads the file from the directory, whose bytes are the snapshot's, not
   * from the packs (it fetched all of it).
   */
  @Test
  void aFileTheDirectoryHoldsWithTheStoredBytesButOlderIsFetchedFromThePacks() throws IOException {
    byte[] jar = TestTrees.randomBytes(new Random(1), 3 << 20);
    Files.write(b.resolve("shared.jar"), jar);
    Files.write(a.resolve("shared.jar"), jar);
    Files.setLastModifiedTime(a.resolve("shared.jar"), FileTime.from(Instant.parse("2020-01-01T00:00:00Z")));
    Files.writeString(a.resolve("a.jar"), "only A");
    client.push(client.parseSpec(spec(b, "")), OperationListener.NONE);
    AtomicLong fetched = new AtomicLong();
    Cachemount counted = builder("home-a").stores((s, d, l) -> counting(fetched)).build();
    RecordingListener listener = new RecordingListener();
    counted.push(counted.parseSpec(spec(a, ",image=deps-image")), listener);
    assertEquals(List.of(), listener.warnings());
    assertViewIsTheSnapshot("older");
    assertEquals(0, fetched.get(), "bytes fetched from the packs for the view, though the directory holds every file's bytes");
  }

  /**
   * image= added to a merged cache of many small files (a Maven repository's poms and checksums):
   * each file taken from the store is one request, and each fetches its whole frame (16 KiB target),
   * so a frame of k small files is fetched k times.
   */
  @Test
  void smallFilesTakenFromTheStoreFetchTheirFramesOncePerFile() throws IOException {
    Random random = new Random(2);
    long total = 0;
    for (int i = 0; i < 600; i++) {
      byte[] bytes = TestTrees.randomBytes(random, 500 + random.nextInt(1500));
      total += bytes.length;
      Files.write(Files.createDirectories(b.resolve("g" + i % 20)).resolve("f" + i + ".pom"), bytes);
    }
    client.push(client.parseSpec(spec(b, "")), OperationListener.NONE);
    Files.writeString(a.resolve("a.jar"), "only A");
    AtomicLong fetched = new AtomicLong();
    AtomicInteger requests = new AtomicInteger();
    Cachemount counted = builder("home-a").stores((s, d, l) -> counting(fetched, requests)).build();
    counted.push(counted.parseSpec(spec(a, ",image=deps-image")), OperationListener.NONE);
    assertViewIsTheSnapshot("small");
    assertTrue(fetched.get() <= 2 * total, "fetched " + fetched.get() + " bytes in " + requests.get() + " requests for " + total + " bytes of files");
    assertTrue(requests.get() < 100, "a frame shared by small files is fetched once, not once per file: " + requests.get() + " requests for 600 files");
  }

  /**
   * A file a tool keeps writing through the whole push: the merge keeps its stored version and says
   * so once; the view shows that version too, from the packs, without a second warning (it counted
   * the file as "changed in the directory after the snapshot was made" as well).
   */
  @Test
  @org.junit.jupiter.api.Timeout(120)
  void aFileAToolKeepsWritingIsToldOnceAndTheViewShowsTheStoredVersion() throws Exception {
    Path log = b.resolve("build.log");
    Files.write(log, TestTrees.randomBytes(new Random(3), 48 << 20));
    Files.setLastModifiedTime(log, FileTime.from(Instant.parse("2026-01-01T00:00:00Z")));
    client.push(client.parseSpec(spec(b, "")), OperationListener.NONE);
    java.util.concurrent.atomic.AtomicBoolean writing = new java.util.concurrent.atomic.AtomicBoolean(true);
    Thread writer = new Thread(() -> {
      try (var out = Files.newOutputStream(log, java.nio.file.StandardOpenOption.APPEND)) {
        while (writing.get()) {
          out.write('x'); // the size changes under every read of the file
          out.flush();
        }
      } catch (IOException e) {
        throw new java.io.UncheckedIOException(e);
      }
    });
    writer.start();
    RecordingListener listener = new RecordingListener();
    OperationResult pushed;
    try {
      Thread.sleep(50);
      pushed = client.push(client.parseSpec(spec(b, ",image=deps-image")), listener);
    } finally {
      writing.set(false);
      writer.join();
    }
    assertEquals(1, listener.warnings().size(), listener.warnings().toString());
    assertTrue(listener.warnings().get(0).contains("build.log") && listener.warnings().get(0).contains("mode=merge"), listener.warnings().toString());
    assertEquals(1L, pushed.warnings());
    assertViewIsTheSnapshot("kept-writing");
    Path extracted = dir.resolve("extracted-kept-writing");
    assertEquals(48 << 20, Files.size(extracted.resolve("build.log")), "the stored version, not the one being written");
  }

  /** The merge's final try (another merge moved the tag during the first) is what the view shows; no warning. */
  @Test
  void aMergeThatTriesAgainShowsItsLastTreeInTheView() throws IOException {
    Files.writeString(b.resolve("shared.jar"), "both");
    Cachemount other = builder("home-b").build();
    other.push(other.parseSpec(spec(b, "")), OperationListener.NONE);
    Files.writeString(a.resolve("a.jar"), "only A");
    AtomicInteger races = new AtomicInteger(1);
    Cachemount racing = builder("home-a").stores((s, d, l) -> new ForwardingStore(new LayoutStore(store)) {
      @Override
      public dev.cachemount.core.store.BlobPut putBlob(Digest digest, byte[] content) throws IOException {
        if (content.length > 0 && content[0] == '{' && races.getAndDecrement() > 0) {
          Files.writeString(b.resolve("b0.jar"), "only B");
          other.push(other.parseSpec(spec(b, "")), OperationListener.NONE);
        }
        return super.putBlob(digest, content);
      }
    }).build();
    RecordingListener listener = new RecordingListener();
    assertEquals(Outcome.PUSHED, racing.push(racing.parseSpec(spec(a, ",image=deps-image")), listener).result());
    assertEquals(List.of(), listener.warnings());
    assertViewIsTheSnapshot("retry");
  }

  /** A stored file newer than the directory's (other bytes), max-size eviction, then an unchanged merge that adds image=. */
  @Test
  void olderDirectoryFilesEvictionAndAnUnchangedMergeShowTheSnapshot() throws IOException {
    Random random = new Random(3);
    for (int i = 0; i < 10; i++) {
      Files.write(b.resolve("b" + i + ".jar"), TestTrees.randomBytes(random, 50_000));
      Files.setLastModifiedTime(b.resolve("b" + i + ".jar"), FileTime.from(Instant.parse("2024-01-01T00:00:00Z").plusSeconds(i * 3600)));
    }
    Files.write(b.resolve("x.jar"), TestTrees.randomBytes(random, 50_000));
    Files.write(a.resolve("x.jar"), TestTrees.randomBytes(random, 60_000));
    Files.setLastModifiedTime(a.resolve("x.jar"), FileTime.from(Instant.parse("2021-01-01T00:00:00Z")));
    Files.write(a.resolve("a.jar"), TestTrees.randomBytes(random, 50_000));
    b.resolve("b3.jar").toFile().setExecutable(true);
    client.push(client.parseSpec(spec(b, "")), OperationListener.NONE);
    RecordingListener listener = new RecordingListener();
    OperationResult r = client.push(client.parseSpec(spec(a, ",max-size=400000,image=deps-image")), listener);
    assertEquals(Outcome.PUSHED, r.result());
    assertTrue(r.evictedFiles() != null && r.evictedFiles() > 0, String.valueOf(r.evictedFiles()));
    assertEquals(1, listener.warnings().size(), listener.warnings().toString()); // the eviction's
    assertViewIsTheSnapshot("evicted");
  }

  private ForwardingStore counting(AtomicLong fetched) {
    return counting(fetched, new AtomicInteger());
  }

  /** Counts the pack bytes the image view's threads fetch. */
  private ForwardingStore counting(AtomicLong fetched, AtomicInteger requests) {
    return new ForwardingStore(new LayoutStore(store)) {
      @Override
      public InputStream openRanges(Digest digest, long size, List<BlobRange> ranges) throws IOException {
        if (Thread.currentThread().getName().startsWith("cachemount-image")) {
          requests.incrementAndGet();
          ranges.forEach(r -> fetched.addAndGet(r.length()));
        }
        return delegate.openRanges(digest, size, ranges);
      }
    };
  }
}
