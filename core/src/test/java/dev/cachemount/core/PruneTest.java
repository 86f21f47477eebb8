package dev.cachemount.core;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.cachemount.core.blob.Digest;
import dev.cachemount.core.oci.Descriptor;
import dev.cachemount.core.oci.ImageManifest;
import dev.cachemount.core.oci.Json;
import dev.cachemount.core.oci.MediaTypes;
import dev.cachemount.core.store.LayoutStore;
import dev.cachemount.core.store.ManifestBytes;
import dev.cachemount.core.store.TagRemoval;
import dev.cachemount.core.testing.ForwardingStore;
import dev.cachemount.core.testing.MutableClock;
import dev.cachemount.core.testing.TestTrees;
import dev.cachemount.core.testing.TreeListing;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.Set;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code prune}: the older keys of a keyed cache (the snapshots its {@code fallback=} prefixes match)
 * are removed but for those the options keep; the keys in use, and tags that hold no snapshot, never are;
 * a local store then deletes the blobs only removed snapshots needed, once its grace period is over.
 */
class PruneTest {
  private static final Duration GRACE = Duration.ofHours(1);

  @TempDir Path dir;
  Path store;
  MutableClock clock;
  Cachemount client;

  @BeforeEach
  void setUp() {
    store = dir.resolve("store");
    // Ahead of the files' times, so that no file is too young for a snapshot to vouch for it.
    clock = new MutableClock(Instant.now().plus(Duration.ofHours(1)));
    client = Cachemount.builder().home(dir).env(Map.of()).workers(2).packTarget(128 * 1024).clock(clock).layoutGrace(GRACE).build();
  }

  private CacheSpec spec(String id, Path target) {
    return client.parseSpec("id=" + id + ",dir=" + store + (target == null ? "" : ",target=" + target)).withFallback(List.of("m2-"));
  }

  /** A tree of its own for each seed, pushed under {@code tag} once the clock moved on by {@code later}. */
  private Path pushTree(String tag, long seed, Duration later) throws IOException {
    Path tree = dir.resolve("tree-" + tag);
    TestTrees.mixed(tree, seed);
    clock.now = clock.now.plus(later);
    assertEquals(Outcome.PUSHED, client.push(spec(tag, tree), OperationListener.NONE).result());
    return tree;
  }

  /** m2-old pushed, and its packs now past the grace period; returns a tree like it with one file more, for m2-new. */
  private Path treeBuildingOnAnOldKey() throws IOException {
    pushTree("m2-old", 1, Duration.ofMinutes(1));
    clock.now = clock.now.plus(GRACE.multipliedBy(2));
    Path next = dir.resolve("tree-m2-new");
    TestTrees.mixed(next, 1);
    Files.writeString(next.resolve("one-more.txt"), "a file m2-old lacks");
    return next;
  }

  /** A client like {@link #client} whose layout store {@code wrap} wraps (to run another job's prune at a given moment). */
  private Cachemount withStore(java.util.function.Function<LayoutStore, dev.cachemount.core.store.SnapshotStore> wrap) {
    return Cachemount.builder().home(dir).env(Map.of()).workers(2).packTarget(128 * 1024).clock(clock).layoutGrace(GRACE)
        .stores((s, defaultDir, listener) -> wrap.apply(new LayoutStore(s.storeDir().orElseThrow(), GRACE, clock, listener::warning))).build();
  }

  private static PruneOptions keepLast(int n) {
    return new PruneOptions(OptionalInt.of(n), Optional.empty(), false);
  }

  private PruneResult prune(String id, PruneOptions options) {
    return client.prune(spec(id, null), List.of(spec(id, null)), options, OperationListener.NONE);
  }

  private Set<String> tags() throws IOException {
    try (LayoutStore s = new LayoutStore(store)) {
      return Set.copyOf(s.listTags());
    }
  }

  private Set<String> blobs() throws IOException {
    try (Stream<Path> files = Files.list(store.resolve("blobs").resolve("sha256"))) {
      return files.map(p -> p.getFileName().toString()).collect(Collectors.toSet());
    }
  }

  private static Map<String, PruneResult.Fate> fates(PruneResult r) {
    return r.tags().stream().collect(Collectors.toMap(PruneResult.Tag::tag, PruneResult.Tag::fate));
  }

  private void assertRestores(String tag, Path tree) throws IOException {
    Path out = dir.resolve("out-" + tag);
    assertEquals(Outcome.RESTORED, client.pull(spec(tag, out), OperationListener.NONE).result());
    assertEquals(TreeListing.of(tree), TreeListing.of(out), tag);
  }

  /**
   * The own tag is the oldest snapshot here, and still kept: it is the key in use. Of the others, the
   * newest is kept; tags of another prefix are not looked at. What is kept restores exactly afterwards.
   */
  @Test
  void keepLastKeepsTheNewestOlderKeysAndNeverTheKeyInUse() throws IOException {
    Path own = pushTree("m2-own", 1, Duration.ofMinutes(1));
    pushTree("m2-a", 2, Duration.ofMinutes(1));
    pushTree("m2-b", 3, Duration.ofMinutes(1));
    Path newest = pushTree("m2-c", 4, Duration.ofMinutes(1));
    pushTree("gradle-1", 5, Duration.ofMinutes(1));

    PruneResult r = prune("m2-own", keepLast(1));

    assertEquals(Map.of("m2-c", PruneResult.Fate.KEPT, "m2-b", PruneResult.Fate.REMOVED, "m2-a", PruneResult.Fate.REMOVED), fates(r));
    assertEquals(List.of("m2-c", "m2-b", "m2-a"), r.tags().stream().map(PruneResult.Tag::tag).toList(), "newest first");
    assertEquals(Set.of("m2-own", "m2-c", "gradle-1"), tags());
    assertRestores("m2-own", own);
    assertRestores("m2-c", newest);
    assertTrue(r.describe().contains("removed 2 of 3 snapshots, kept 1"), r.describe());
  }

  /**
   * The blobs only removed snapshots needed go once the store's grace period is over; until then they
   * are counted as kept for it. Every snapshot kept still verifies whole.
   */
  @Test
  void blobsOnlyTheRemovedKeysNeededAreDeletedOnceTheirGraceIsOver() throws IOException {
    pushTree("m2-own", 1, Duration.ofMinutes(1));
    pushTree("m2-a", 2, Duration.ofMinutes(1));
    Set<String> withA = blobs();
    pushTree("m2-b", 3, Duration.ofMinutes(1));
    Set<String> before = blobs();

    PruneResult soon = prune("m2-own", keepLast(1));
    assertEquals(PruneResult.Fate.REMOVED, fates(soon).get("m2-a"));
    assertNotNull(soon.collected());
    assertEquals(0, soon.collected().blobsDeleted(), "within the grace period nothing goes");
    assertTrue(soon.collected().blobsKeptForGrace() > 0, "m2-a's own blobs wait out the grace period");
    assertEquals(before, blobs());

    clock.now = clock.now.plus(GRACE.plusMinutes(1));
    PruneResult later = prune("m2-own", keepLast(1));
    assertEquals(Map.of("m2-b", PruneResult.Fate.KEPT), fates(later));
    TagRemoval.Collected c = later.collected();
    assertEquals(soon.collected().blobsKeptForGrace(), c.blobsDeleted(), "what waited is deleted now");
    assertEquals(soon.collected().bytesKeptForGrace(), c.bytesDeleted());
    Set<String> after = blobs();
    assertEquals(before.size() - c.blobsDeleted(), after.size());
    assertTrue(withA.stream().anyMatch(b -> !after.contains(b)), "some blob only m2-a needed is gone");
    for (String tag : List.of("m2-own", "m2-b")) {
      assertTrue(client.verify(spec(tag, null), OperationListener.NONE).isPresent(), tag + " verifies whole");
    }
  }

  /** --keep-within keeps those whose push began within the age; with --keep-last too, either rule keeps. */
  @Test
  void keepWithinKeepsThoseMadeWithinTheAgeAndEitherRuleKeeps() throws IOException {
    pushTree("m2-own", 1, Duration.ZERO);
    pushTree("m2-10d", 2, Duration.ofDays(1));
    pushTree("m2-5d", 3, Duration.ofDays(5));
    pushTree("m2-1d", 4, Duration.ofDays(4));
    clock.now = clock.now.plus(Duration.ofDays(1));

    PruneResult dry = client.prune(spec("m2-own", null), List.of(), new PruneOptions(OptionalInt.empty(), Optional.of(Duration.ofDays(2)), true),
        OperationListener.NONE);
    assertEquals(Map.of("m2-1d", PruneResult.Fate.KEPT, "m2-5d", PruneResult.Fate.REMOVED, "m2-10d", PruneResult.Fate.REMOVED), fates(dry));

    PruneResult both = client.prune(spec("m2-own", null), List.of(), new PruneOptions(OptionalInt.of(2), Optional.of(Duration.ofDays(7)), true),
        OperationListener.NONE);
    assertEquals(Map.of("m2-1d", PruneResult.Fate.KEPT, "m2-5d", PruneResult.Fate.KEPT, "m2-10d", PruneResult.Fate.REMOVED), fates(both));

    PruneResult r = client.prune(spec("m2-own", null), List.of(), new PruneOptions(OptionalInt.of(0), Optional.of(Duration.ofDays(6)), false),
        OperationListener.NONE);
    assertEquals(Map.of("m2-1d", PruneResult.Fate.KEPT, "m2-5d", PruneResult.Fate.KEPT, "m2-10d", PruneResult.Fate.REMOVED), fates(r));
    assertTrue(r.tags().stream().filter(t -> t.tag().equals("m2-5d")).findFirst().orElseThrow().why().contains("made within 6"),
        r.describe());
    assertEquals(Set.of("m2-own", "m2-1d", "m2-5d"), tags());
  }

  /** A dry run says what it would remove and removes nothing: no tag, no blob. */
  @Test
  void aDryRunRemovesNothing() throws IOException {
    pushTree("m2-own", 1, Duration.ofMinutes(1));
    pushTree("m2-a", 2, Duration.ofMinutes(1));
    clock.now = clock.now.plus(GRACE.multipliedBy(3));
    Set<String> tags = tags();
    Set<String> blobs = blobs();
    PruneResult r = prune("m2-own", new PruneOptions(OptionalInt.of(0), Optional.empty(), true));
    assertEquals(Map.of("m2-a", PruneResult.Fate.REMOVED), fates(r));
    assertTrue(r.dryRun());
    assertTrue(r.describe().contains("would remove 1 of 1 snapshot"), r.describe());
    assertEquals(tags, tags());
    assertEquals(blobs, blobs());
  }

  /**
   * A tag the prefix matches that holds no snapshot (an image view, another tool's artifact) is never
   * removed, even with --keep-last 0; nor is the own tag of another spec of the same command.
   */
  @Test
  void tagsThatHoldNoSnapshotAndTheOtherSpecsKeysAreNeverRemoved() throws IOException {
    pushTree("m2-own", 1, Duration.ofMinutes(1));
    Path viewed = dir.resolve("tree-viewed");
    TestTrees.mixed(viewed, 2);
    clock.now = clock.now.plus(Duration.ofMinutes(1));
    client.push(spec("m2-a", viewed).withImage("m2-view"), OperationListener.NONE);
    pushTree("m2-other-spec", 3, Duration.ofMinutes(1));
    try (LayoutStore s = new LayoutStore(store)) {
      byte[] config = "{}".getBytes(StandardCharsets.UTF_8);
      s.putBlob(Digest.of(config), config);
      ImageManifest foreign = new ImageManifest(2, MediaTypes.OCI_MANIFEST, "application/vnd.example.thing",
          Descriptor.of("application/vnd.example.config", Digest.of(config), config.length), List.of(), Map.of());
      s.putManifest("m2-foreign", ManifestBytes.of(MediaTypes.OCI_MANIFEST, Json.write(foreign)));
    }

    PruneResult r = client.prune(spec("m2-own", null), List.of(spec("m2-own", null), spec("m2-other-spec", null)), keepLast(0),
        OperationListener.NONE);

    assertEquals(Map.of("m2-a", PruneResult.Fate.REMOVED), fates(r));
    assertEquals(2, r.passedOver(), "the view and the foreign artifact");
    assertEquals(Set.of("m2-own", "m2-view", "m2-foreign", "m2-other-spec"), tags());
    assertTrue(r.describe().contains("2 matching tags are not a snapshot and left alone"), r.describe());
  }

  /** A tag a push moved between the prune's read and its removal names a newer snapshot: it is left, and says why. */
  @Test
  void aTagAPushMovedMeanwhileIsLeft() throws IOException {
    pushTree("m2-own", 1, Duration.ofMinutes(1));
    pushTree("m2-a", 2, Duration.ofMinutes(1));
    pushTree("m2-b", 3, Duration.ofMinutes(1));
    Cachemount racing = withStore(layout -> new ForwardingStore(layout) {
      @Override
      public TagRemoval removeTags(Map<String, Digest> tags) throws IOException {
        delegate.putManifest("m2-a", delegate.fetchManifest("m2-b").orElseThrow()); // another push moves m2-a
        return delegate.removeTags(tags);
      }
    });

    PruneResult r = racing.prune(spec("m2-own", null), List.of(), keepLast(0), OperationListener.NONE);

    PruneResult.Tag a = r.tags().stream().filter(t -> t.tag().equals("m2-a")).findFirst().orElseThrow();
    assertEquals(PruneResult.Fate.LEFT, a.fate());
    assertTrue(a.why().contains("a push moved it"), a.why());
    assertEquals(PruneResult.Fate.REMOVED, fates(r).get("m2-b"));
    assertEquals(Set.of("m2-own", "m2-a"), tags());
  }

  /**
   * A push of a new key that builds on an older key (fallback=) reuses that key's packs without
   * writing them. When another job's prune removes the older key meanwhile, its packs, written longer
   * ago than the grace period, must not be collected under the push: the new key would name blobs the
   * store no longer has.
   */
  @Test
  void aPushBuildingOnAnOlderKeyThatAPruneRemovesMeanwhileStaysWhole() throws IOException {
    Path next = treeBuildingOnAnOldKey();
    Cachemount pushing = withStore(layout -> new ForwardingStore(layout) {
      @Override
      public long putManifest(String tag, ManifestBytes manifest) throws IOException {
        // Another job, whose key is m2-other, prunes every older key just before this push commits.
        client.prune(spec("m2-other", null), List.of(), keepLast(0), OperationListener.NONE);
        return delegate.putManifest(tag, manifest);
      }
    });

    assertEquals(Outcome.PUSHED, pushing.push(spec("m2-new", next), OperationListener.NONE).result());

    assertEquals(Set.of("m2-new"), tags());
    assertRestores("m2-new", next);
  }

  /**
   * The same while the push is still chunking the tree (the long part of it, minutes for a large
   * cache), not only just before it commits: the packs it reuses are claimed before the tree is
   * chunked, so that a prune then spares them. Claimed only at the end, a prune meanwhile collected
   * them, and the push failed as an integrity failure (exit 4) that told to push with --force.
   */
  @Test
  void aPushBuildingOnAnOlderKeyThatAPruneRemovesWhileItChunksStaysWhole() throws IOException {
    Path next = treeBuildingOnAnOldKey();
    java.util.concurrent.atomic.AtomicBoolean pruned = new java.util.concurrent.atomic.AtomicBoolean();
    Cachemount pushing = withStore(layout -> new ForwardingStore(layout) {
      @Override
      public dev.cachemount.core.store.BlobPut putBlob(Digest digest, long size, Path file) throws IOException {
        // The first new pack is stored while the tree is still being chunked: another job prunes then.
        if (!pruned.getAndSet(true)) {
          client.prune(spec("m2-other", null), List.of(), keepLast(0), OperationListener.NONE);
        }
        return delegate.putBlob(digest, size, file);
      }
    });

    assertEquals(Outcome.PUSHED, pushing.push(spec("m2-new", next), OperationListener.NONE).result());

    assertTrue(pruned.get());
    assertEquals(Set.of("m2-new"), tags());
    assertRestores("m2-new", next);
  }

  /**
   * The one window left: a prune that collects the packs between the push's choice of the snapshot it
   * builds on and its first claim. The push then fails (INTEGRITY) with a message that names the
   * likely cause and says to push again, and stores nothing: the store's tags are as the prune left them.
   */
  @Test
  void aPackCollectedBeforeThePushClaimedItFailsThePushWithWhatToDo() throws IOException {
    Path next = treeBuildingOnAnOldKey();
    java.util.concurrent.atomic.AtomicBoolean pruned = new java.util.concurrent.atomic.AtomicBoolean();
    Cachemount pushing = withStore(layout -> new ForwardingStore(layout) {
      @Override
      public dev.cachemount.core.store.BlobPut claimBlob(Digest digest, long size, Optional<String> from) throws IOException {
        if (!pruned.getAndSet(true)) {
          client.prune(spec("m2-other", null), List.of(), keepLast(0), OperationListener.NONE); // just before the first claim
        }
        return delegate.claimBlob(digest, size, from);
      }
    });

    CachemountException e = assertThrows(CachemountException.class, () -> pushing.push(spec("m2-new", next), OperationListener.NONE));

    assertEquals(FailureKind.INTEGRITY, e.kind());
    assertTrue(e.getMessage().contains("a prune of that snapshot's tag may have removed it meanwhile") && e.getMessage().contains("push again"),
        e.getMessage());
    assertEquals(Set.of(), tags());
  }

  /**
   * A spec's from= names snapshots of the same store it builds on (the default branch's cache, say):
   * they are in use as its own tag is, even where the fallback= prefix matches them too.
   */
  @Test
  void theSnapshotsASpecsFromNamesAreNeverRemoved() throws IOException {
    pushTree("m2-main", 1, Duration.ofMinutes(1));
    pushTree("m2-a", 2, Duration.ofMinutes(1));
    pushTree("m2-own", 3, Duration.ofMinutes(1));
    CacheSpec own = spec("m2-own", null).withFrom(List.of("m2-main"));

    PruneResult r = client.prune(own, List.of(own), keepLast(0), OperationListener.NONE);

    assertEquals(Map.of("m2-a", PruneResult.Fate.REMOVED), fates(r));
    assertEquals(Set.of("m2-own", "m2-main"), tags());
  }

  /**
   * A from= that pins a digest (a registry's ref@sha256:...) keeps the tag that names that manifest,
   * and that snapshot takes none of --keep-last's places.
   */
  @Test
  void aSnapshotWhoseDigestAFromPinsIsKept() throws IOException {
    pushTree("m2-a", 1, Duration.ofMinutes(1));
    pushTree("m2-b", 2, Duration.ofMinutes(1));
    pushTree("m2-own", 3, Duration.ofMinutes(1));
    String pinned;
    try (LayoutStore s = new LayoutStore(store)) {
      pinned = s.fetchManifest("m2-a").orElseThrow().digest().toString();
      // Kept by the from=, the newest takes none of --keep-last's places.
      String newest = s.fetchManifest("m2-b").orElseThrow().digest().toString();
      PruneResult counted = new PruneOperation(s, clock, OperationListener.NONE).prune(spec("m2-own", null), Set.of("m2-own", newest),
          new PruneOptions(OptionalInt.of(1), Optional.empty(), true));
      assertEquals(Map.of("m2-a", PruneResult.Fate.KEPT, "m2-b", PruneResult.Fate.KEPT), fates(counted), counted.describe());
      PruneResult r = new PruneOperation(s, clock, OperationListener.NONE).prune(spec("m2-own", null), Set.of("m2-own", pinned), keepLast(0));
      assertEquals(Map.of("m2-a", PruneResult.Fate.KEPT, "m2-b", PruneResult.Fate.REMOVED), fates(r));
      assertTrue(r.describe().contains("a from= of this command names its manifest"), r.describe());
    }
    assertEquals(Set.of("m2-own", "m2-a"), tags());
  }

  /** Nothing says which tags are a spec's older keys without fallback=: a usage error, and nothing removed. */
  @Test
  void aSpecWithoutFallbackIsAUsageError() throws IOException {
    pushTree("m2-own", 1, Duration.ofMinutes(1));
    pushTree("m2-a", 2, Duration.ofMinutes(1));
    CacheSpec plain = client.parseSpec("id=m2-own,dir=" + store);
    CachemountException e = assertThrows(CachemountException.class, () -> client.prune(plain, List.of(plain), keepLast(0), OperationListener.NONE));
    assertEquals(FailureKind.USAGE, e.kind());
    assertTrue(e.getMessage().contains("fallback=m2-"), e.getMessage());
    assertEquals(Set.of("m2-own", "m2-a"), tags());
  }

  @Test
  void optionsSayWhatIsWrongWithThem() {
    assertEquals(Duration.ofHours(36), PruneOptions.parseAge("36h"));
    assertEquals(Duration.ofDays(14), PruneOptions.parseAge("14d"));
    assertEquals(Duration.ofDays(14), PruneOptions.parseAge("2W"));
    for (String bad : new String[] {"0d", "14", "1m", "-1d", "1.5d", "", "d"}) {
      CachemountException e = assertThrows(CachemountException.class, () -> PruneOptions.parseAge(bad), bad);
      assertEquals(FailureKind.USAGE, e.kind());
      assertTrue(e.getMessage().contains("as 36h, 14d or 2w"), e.getMessage());
    }
    CachemountException none = assertThrows(CachemountException.class, () -> new PruneOptions(OptionalInt.empty(), Optional.empty(), false));
    assertTrue(none.getMessage().contains("--keep-last N") && none.getMessage().contains("--keep-within AGE"), none.getMessage());
    assertThrows(CachemountException.class, () -> new PruneOptions(OptionalInt.of(-1), Optional.empty(), false));
    assertFalse(new PruneOptions(OptionalInt.of(0), Optional.empty(), false).dryRun());
  }
}
