package dev.cachemount.core;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.cachemount.core.blob.Digest;
import dev.cachemount.core.store.BlobPut;
import dev.cachemount.core.store.LayoutStore;
import dev.cachemount.core.testing.ForwardingStore;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Merge pushes of one tag to a store without {@link MergeLock} (a registry) that overlap in time:
 * the one that moves the tag last looks at it first, and merges again with what another push stored
 * meanwhile instead of dropping that push's files. The store here is a directory store seen through
 * a wrapper, so that no merge lock applies; the other push runs while this one stores its blobs.
 */
class MergeRaceTest {
  @TempDir Path dir;
  private Path store;
  private Path projectA;
  private Path projectB;
  /** Pushes project B's merges to the store as a process of its own would (with the store's merge lock, which A does not take). */
  private Cachemount other;
  private final List<String> infos = Collections.synchronizedList(new ArrayList<>());
  private final List<String> warnings = Collections.synchronizedList(new ArrayList<>());
  private final OperationListener listener = new OperationListener() {
    @Override
    public void info(String message) {
      infos.add(message);
    }

    @Override
    public void warning(String message) {
      warnings.add(message);
    }
  };

  @BeforeEach
  void storeWithASharedSnapshot() throws IOException {
    store = dir.resolve("store");
    projectA = Files.createDirectories(dir.resolve("a"));
    projectB = Files.createDirectories(dir.resolve("b"));
    Files.writeString(projectA.resolve("a.jar"), "project A's jar");
    Files.writeString(projectB.resolve("shared.jar"), "the jar both use");
    other = Cachemount.builder().home(dir.resolve("home-b")).env(Map.of()).build();
    other.push(other.parseSpec(spec(projectB)), OperationListener.NONE);
  }

  private String spec(Path target) {
    return "id=deps,dir=" + store + ",target=" + target + ",mode=merge";
  }

  /** What A's pushes wrote to the store, as the store answered: blob and manifest bytes, and blobs written. */
  private final java.util.concurrent.atomic.AtomicLong bytesWrittenByA = new java.util.concurrent.atomic.AtomicLong();
  private final AtomicInteger blobsWrittenByA = new AtomicInteger();

  private BlobPut counted(BlobPut put) {
    bytesWrittenByA.addAndGet(put.bytesWritten());
    if (put.how() == BlobPut.How.WRITTEN) {
      blobsWrittenByA.incrementAndGet();
    }
    return put;
  }

  /** A client for project A whose store lets project B push {@code races} times, once during each of A's publishes. */
  private Cachemount racingClient(AtomicInteger races) {
    AtomicInteger pushed = new AtomicInteger();
    return racingClient(races, () -> Files.writeString(projectB.resolve("b" + pushed.getAndIncrement() + ".jar"), "a jar only project B uses"));
  }

  /** The same, with {@code changeB} done to project B's directory before each of its pushes. */
  private Cachemount racingClient(AtomicInteger races, IoAction changeB) {
    return Cachemount.builder().home(dir.resolve("home-a")).env(Map.of())
        .stores((s, d, l) -> new ForwardingStore(new LayoutStore(store)) {
          @Override
          public BlobPut putBlob(Digest digest, byte[] content) throws IOException {
            // The config of A's snapshot is going up (JSON; the index beside it is not): B's merge moves the tag now.
            if (content.length > 0 && content[0] == '{' && races.getAndDecrement() > 0) {
              changeB.run();
              other.push(other.parseSpec(spec(projectB)), OperationListener.NONE);
            }
            return counted(super.putBlob(digest, content));
          }

          @Override
          public BlobPut putBlob(Digest digest, long size, Path file) throws IOException {
            return counted(super.putBlob(digest, size, file));
          }

          @Override
          public long putManifest(String tag, dev.cachemount.core.store.ManifestBytes manifest) throws IOException {
            long n = super.putManifest(tag, manifest);
            bytesWrittenByA.addAndGet(n);
            return n;
          }
        }).build();
  }

  /** B's snapshot built on no snapshot of A's: pushed under a tag of its own, for a test to put under A's tag. */
  private dev.cachemount.core.store.ManifestBytes lateB() throws IOException {
    Files.writeString(projectB.resolve("b-late.jar"), "a jar only project B uses");
    other.push(other.parseSpec("id=deps-b,dir=" + store + ",target=" + projectB + ",mode=merge"), OperationListener.NONE);
    return new LayoutStore(store).fetchManifest("deps-b").orElseThrow();
  }

  /** A's store, in which B's snapshot {@code b} moves the tag over A's first snapshot a moment after A's upload; counts what A writes. */
  private class MovedOverAfterA extends ForwardingStore {
    private final dev.cachemount.core.store.ManifestBytes b;
    private final AtomicInteger overwrites = new AtomicInteger(1);

    MovedOverAfterA(dev.cachemount.core.store.ManifestBytes b) {
      super(new LayoutStore(store));
      this.b = b;
    }

    @Override
    public long putManifest(String tag, dev.cachemount.core.store.ManifestBytes manifest) throws IOException {
      long n = super.putManifest(tag, manifest);
      bytesWrittenByA.addAndGet(n);
      if (tag.equals("deps") && overwrites.getAndDecrement() > 0) {
        delegate.putManifest("deps", b); // B's upload, a moment after A's
      }
      return n;
    }

    @Override
    public BlobPut putBlob(Digest digest, byte[] content) throws IOException {
      return counted(super.putBlob(digest, content));
    }

    @Override
    public BlobPut putBlob(Digest digest, long size, Path file) throws IOException {
      return counted(super.putBlob(digest, size, file));
    }
  }

  private List<String> pulled() throws IOException {
    Path into = dir.resolve("pulled");
    other.pull(other.parseSpec("id=deps,dir=" + store + ",target=" + into), OperationListener.NONE);
    try (Stream<Path> files = Files.list(into)) {
      return files.map(p -> p.getFileName().toString()).sorted().toList();
    }
  }

  @Test
  void aMergeWhoseTagMovedMeanwhileMergesWithWhatTheOtherPushStored() throws IOException {
    Cachemount a = racingClient(new AtomicInteger(1));
    OperationResult result = a.push(a.parseSpec(spec(projectA)), listener);
    assertEquals(Outcome.PUSHED, result.result());
    // Without the look at the tag, A's snapshot (built on the first one: shared.jar) replaced B's,
    // and b0.jar was gone from the tag.
    assertEquals(List.of("a.jar", "b0.jar", "shared.jar"), pulled());
    assertTrue(infos.stream().anyMatch(i -> i.startsWith("another push moved oci:" + store + ":deps to sha256:")
        && i.endsWith("; merging with that one instead (try 2 of 5)")), infos.toString());
    assertEquals(List.of(), warnings);
  }

  @Test
  void aTagThatMovesDuringEveryTryIsMovedAnywayAtTheLastWithAWarning() throws IOException {
    Cachemount a = racingClient(new AtomicInteger(Integer.MAX_VALUE));
    OperationResult result = a.push(a.parseSpec(spec(projectA)), listener);
    assertEquals(Outcome.PUSHED, result.result());
    // Tries 1 to 4 saw B's pushes of b0 to b3 and merged with them; during try 5 B pushed b4, which
    // A's last try then moved the tag over.
    assertEquals(List.of("a.jar", "b0.jar", "b1.jar", "b2.jar", "b3.jar", "shared.jar"), pulled());
    assertEquals(1, warnings.size(), warnings.toString());
    assertTrue(warnings.get(0).contains("on each of this merge's 5 tries; it moves the tag anyway, so files that only the other push stored"
        + " are left out of the tag until their directory is pushed again"), warnings.get(0));
  }

  /**
   * Another merge that looked at the tag before this one moved it, and moved it right after (both
   * looks fell before both uploads): the tag then names a snapshot not built on this one's, and this
   * merge, looking again once the tag had time to settle, merges with it and moves the tag once more,
   * instead of leaving its own files out of the tag without a word.
   */
  @Test
  void aMergeWhoseTagAnotherPushMovedJustAfterItMergesAgain() throws IOException {
    dev.cachemount.core.store.ManifestBytes bSnapshot = lateB();
    Cachemount a = Cachemount.builder().home(dir.resolve("home-a")).env(Map.of()).stores((s, d, l) -> new MovedOverAfterA(bSnapshot)).build();
    OperationResult result = a.push(a.parseSpec(spec(projectA)), listener);
    assertEquals(Outcome.PUSHED, result.result());
    assertEquals(List.of("a.jar", "b-late.jar", "shared.jar"), pulled());
    assertTrue(infos.stream().anyMatch(i -> i.contains("after this merge moved it to sha256:")
        && i.endsWith("; merging with that one instead (try 2 of 5)")), infos.toString());
    assertEquals(List.of(), warnings);
  }

  /**
   * The look after the upload follows the tag's snapshot back by digest: a registry (or a proxy in
   * front of one) that refuses a manifest by digest, or a read that fails there, failed the push
   * after it had stored its snapshot and moved the tag (exit 1, "push of cache 'deps' failed"), where
   * before the look it succeeded. Not knowing what the other snapshot built on, the merge merges again
   * with it, read by its tag as every try's is.
   */
  @Test
  void aMergeThatCannotReadTheOtherSnapshotByDigestMergesAgainInsteadOfFailing() throws IOException {
    dev.cachemount.core.store.ManifestBytes bSnapshot = lateB();
    Cachemount a = Cachemount.builder().home(dir.resolve("home-a")).env(Map.of())
        .stores((s, d, l) -> new MovedOverAfterA(bSnapshot) {
          @Override
          public java.util.Optional<dev.cachemount.core.store.ManifestBytes> fetchManifest(String reference) throws IOException {
            if (reference.startsWith("sha256:")) {
              throw new IOException("GET manifests/" + reference + ": 403 Forbidden");
            }
            return super.fetchManifest(reference);
          }
        }).build();
    OperationResult result = a.push(a.parseSpec(spec(projectA)), listener);
    assertEquals(Outcome.PUSHED, result.result());
    assertEquals(List.of("a.jar", "b-late.jar", "shared.jar"), pulled());
    assertTrue(infos.stream().anyMatch(i -> i.endsWith("; merging with that one instead (try 2 of 5)")), infos.toString());
    // Both tries' writes counted, the first's found moved over after its upload among them.
    assertEquals(bytesWrittenByA.get(), result.bytesTransferred(), "bytesTransferred: blob and manifest bytes written to the store");
    assertEquals(blobsWrittenByA.get(), result.blobsUploaded(), "blobsUploaded");
  }

  /**
   * The tag cannot be read a second time at all (the registry went away after the upload): the push
   * stored its snapshot and moved the tag, and says that it could not look, instead of failing.
   */
  @Test
  void aMergeWhoseLookAfterTheUploadFailsKeepsItsResultAndWarns() throws IOException {
    boolean[] moved = {false};
    Cachemount a = Cachemount.builder().home(dir.resolve("home-a")).env(Map.of())
        .stores((s, d, l) -> new ForwardingStore(new LayoutStore(store)) {
          @Override
          public long putManifest(String tag, dev.cachemount.core.store.ManifestBytes manifest) throws IOException {
            long n = super.putManifest(tag, manifest);
            moved[0] = true;
            return n;
          }

          @Override
          public java.util.Optional<dev.cachemount.core.store.ManifestBytes> fetchManifest(String reference) throws IOException {
            if (moved[0]) {
              throw new IOException("GET manifests/" + reference + ": connection reset");
            }
            return super.fetchManifest(reference);
          }
        }).build();
    OperationResult result = a.push(a.parseSpec(spec(projectA)), listener);
    assertEquals(Outcome.PUSHED, result.result());
    assertEquals(List.of("a.jar", "shared.jar"), pulled());
    assertEquals(1, warnings.size(), warnings.toString());
    assertTrue(warnings.get(0).contains("could not look at the tag again"), warnings.get(0));
  }

  /**
   * A registry whose reads of a tag lag behind its writes still names, a moment after the upload, the
   * snapshot the merge built on: no push puts an older manifest back, so the merge looks again rather
   * than merge again (which would upload the same tree up to 5 times and end with a warning that
   * another push moved the tag); it warns only when the lag outlasts its looks.
   */
  @Test
  void aRegistryThatShowsTheOldTagForAMomentIsLookedAtAgainNotMergedAgain() throws IOException {
    for (int staleReads : new int[] {1, Integer.MAX_VALUE}) {
      infos.clear();
      warnings.clear();
      LayoutStore layout = new LayoutStore(store);
      dev.cachemount.core.store.ManifestBytes before = layout.fetchManifest("deps").orElseThrow();
      AtomicInteger stale = new AtomicInteger(0);
      Cachemount a = Cachemount.builder().home(dir.resolve("home-a-" + staleReads)).env(Map.of())
          .stores((st, d, l) -> new ForwardingStore(new LayoutStore(store)) {
            @Override
            public long putManifest(String tag, dev.cachemount.core.store.ManifestBytes manifest) throws IOException {
              long n = super.putManifest(tag, manifest);
              stale.set(staleReads); // the next reads of the tag still see what it named before
              return n;
            }

            @Override
            public java.util.Optional<dev.cachemount.core.store.ManifestBytes> fetchManifest(String reference) throws IOException {
              if (reference.equals("deps") && stale.getAndDecrement() > 0) {
                return java.util.Optional.of(before);
              }
              return super.fetchManifest(reference);
            }
          }).build();
      Files.writeString(projectA.resolve("a" + staleReads + ".jar"), "another of project A's jars");
      OperationResult result = a.push(a.parseSpec(spec(projectA)), listener);
      assertEquals(Outcome.PUSHED, result.result());
      assertTrue(infos.stream().noneMatch(i -> i.contains("merging with that one instead")), infos.toString());
      assertEquals(new LayoutStore(store).fetchManifest("deps").orElseThrow().digest().toString(), result.digest());
      if (staleReads == 1) {
        assertEquals(List.of(), warnings);
      } else {
        assertEquals(1, warnings.size(), warnings.toString());
        assertTrue(warnings.get(0).startsWith("the registry still names the snapshot this merge built on under oci:" + store + ":deps, 3 s after"),
            warnings.get(0));
      }
    }
  }

  @Test
  void aMirrorPushDoesNotLook() throws IOException {
    Cachemount a = racingClient(new AtomicInteger(1));
    a.push(a.parseSpec("id=deps,dir=" + store + ",target=" + projectA), listener);
    // A mirror stores exactly its directory: the last push's tree is the tag's, as documented.
    assertEquals(List.of("a.jar"), pulled());
    assertTrue(infos.stream().noneMatch(i -> i.contains("another push moved")), infos.toString());
  }

  /**
   * A merge that tried again reports what it wrote to the store, its earlier tries included: their
   * blobs (A's packs among them) were written, and the last try finds them stored.
   */
  @Test
  void aMergeThatTriedAgainCountsWhatEveryTryWrote() throws IOException {
    Cachemount a = racingClient(new AtomicInteger(1));
    OperationResult result = a.push(a.parseSpec(spec(projectA)), listener);
    assertEquals(Outcome.PUSHED, result.result());
    assertEquals(bytesWrittenByA.get(), result.bytesTransferred(), "bytesTransferred: blob and manifest bytes written to the store");
    assertEquals(blobsWrittenByA.get(), result.blobsUploaded(), "blobsUploaded");
  }

  /**
   * The other push stored the very tree this merge was about to (project B's directory got A's jar,
   * the same file): the merge's next try finds nothing to change and ends {@code unchanged}, but its
   * first try's blobs were written, and the result says so instead of 0 bytes.
   */
  @Test
  void aMergeWhoseLastTryFindsNothingToChangeCountsWhatItsEarlierTriesWrote() throws IOException {
    Cachemount a = racingClient(new AtomicInteger(1), () -> {
      Files.copy(projectA.resolve("a.jar"), projectB.resolve("a.jar"));
      // To the nanosecond (a copy's attributes may be cut to microseconds): the same file.
      Files.setLastModifiedTime(projectB.resolve("a.jar"), Files.getLastModifiedTime(projectA.resolve("a.jar")));
    });
    OperationResult result = a.push(a.parseSpec(spec(projectA)), listener);
    assertEquals(Outcome.UNCHANGED, result.result(), infos.toString());
    assertEquals(List.of("a.jar", "shared.jar"), pulled());
    assertTrue(bytesWrittenByA.get() > 0, "A's first try wrote its blobs");
    assertEquals(bytesWrittenByA.get(), result.bytesTransferred(), "bytesTransferred: blob and manifest bytes written to the store");
    assertEquals(blobsWrittenByA.get(), result.blobsUploaded(), "blobsUploaded");
  }

  /**
   * The line printed for that result (CLI, Maven plugin) said "wrote nothing" while the result counted
   * the blobs the earlier try wrote: it now says what the earlier tries wrote.
   */
  @Test
  void theLineOfAMergeThatEndsUnchangedAfterAnEarlierTrySaysWhatThatTryWrote() throws IOException {
    Cachemount a = racingClient(new AtomicInteger(1), () -> {
      Files.copy(projectA.resolve("a.jar"), projectB.resolve("a.jar"));
      Files.setLastModifiedTime(projectB.resolve("a.jar"), Files.getLastModifiedTime(projectA.resolve("a.jar")));
    });
    CacheSpec spec = a.parseSpec(spec(projectA));
    OperationResult result = a.push(spec, listener);
    assertEquals(Outcome.UNCHANGED, result.result(), infos.toString());
    assertTrue(result.bytesTransferred() > 0, result.toString());
    String line = ResultText.describe(result, spec);
    assertTrue(!line.contains("wrote nothing") && line.contains("wrote " + ResultText.bytes(result.bytesTransferred()) + " in earlier tries"), line);
    // One that wrote nothing still says so.
    OperationResult again = other.push(other.parseSpec(spec(projectA)), OperationListener.NONE);
    assertEquals(Outcome.UNCHANGED, again.result());
    assertTrue(ResultText.describe(again, spec).contains("; wrote nothing, "), ResultText.describe(again, spec));
  }

  /**
   * A merge's next try scans again: its progress says so (not the earlier try's storing), and counts
   * the entries of this scan alone.
   */
  @Test
  void aMergesNextTryShowsItsScanAsScanning() throws IOException {
    List<String> atScans = Collections.synchronizedList(new ArrayList<>());
    Progress[] progress = {null};
    OperationListener watching = new OperationListener() {
      @Override
      public void started(Progress p) {
        progress[0] = p;
      }

      @Override
      public void info(String message) {
        java.util.regex.Matcher scanned = java.util.regex.Pattern.compile("scanned (\\d+) entries in .*").matcher(message);
        if (scanned.matches()) {
          Progress.Now now = progress[0].now();
          atScans.add(now.step() + " " + now.filesDone() + " of " + scanned.group(1));
        }
      }
    };
    Cachemount a = racingClient(new AtomicInteger(1));
    assertEquals(Outcome.PUSHED, a.push(a.parseSpec(spec(projectA)), watching).result());
    assertEquals(2, atScans.size(), atScans.toString());
    for (String at : atScans) {
      String[] words = at.split(" ");
      assertEquals(Progress.Step.SCANNING.name(), words[0], atScans.toString());
      assertEquals(words[3], words[1], "the entries of this scan: " + atScans);
    }
  }

  private interface IoAction {
    void run() throws IOException;
  }
}
