package dev.cachemount.core;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.cachemount.core.oci.Descriptor;
import dev.cachemount.core.oci.ImageManifest;
import dev.cachemount.core.oci.Json;
import dev.cachemount.core.oci.MediaTypes;
import dev.cachemount.core.snapshot.LoadedSnapshot;
import dev.cachemount.core.snapshot.SnapshotReader;
import dev.cachemount.core.store.LayoutStore;
import dev.cachemount.core.store.ManifestBytes;
import dev.cachemount.core.testing.MutableClock;
import dev.cachemount.core.testing.RecordingListener;
import dev.cachemount.core.testing.TestTrees;
import dev.cachemount.core.testing.TreeListing;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * {@code fallback=}, actions/cache's {@code restore-keys}: an id whose tag holds nothing yet (a new
 * lockfile hash, a new branch) starts from the newest snapshot whose tag starts with the first prefix
 * that matches any; a pull restores it, a push builds on it and still stores the id's own snapshot.
 */
class FallbackTest {
  @TempDir Path dir;
  Path store;
  MutableClock clock;
  Cachemount client;

  @BeforeEach
  void setUp() {
    store = dir.resolve("store");
    // Ahead of the files' times, so that no file is too young for a snapshot to vouch for it.
    clock = new MutableClock(Instant.now().plus(Duration.ofHours(1)));
    client = Cachemount.builder().home(dir).env(Map.of()).workers(2).packTarget(128 * 1024).clock(clock).build();
  }

  private CacheSpec spec(String id, Path target, String... fallbacks) {
    return client.parseSpec("id=" + id + ",dir=" + store + (target == null ? "" : ",target=" + target)).withFallback(List.of(fallbacks));
  }

  /** A tree of its own for each seed, pushed under {@code tag} at the clock's time, then the clock moves on. */
  private Path pushTree(String tag, long seed, Duration later) throws IOException {
    Path tree = dir.resolve("tree-" + tag + "-" + seed);
    TestTrees.mixed(tree, seed);
    clock.now = clock.now.plus(later);
    assertEquals(Outcome.PUSHED, client.push(spec(tag, tree), OperationListener.NONE).result());
    return tree;
  }

  private String describe(String tag) {
    try (LayoutStore s = new LayoutStore(store)) {
      return s.describe(tag);
    }
  }

  private LoadedSnapshot load(String tag) throws IOException {
    try (LayoutStore s = new LayoutStore(store)) {
      return new SnapshotReader(s, s).load(tag, tag).orElseThrow();
    }
  }

  /**
   * Newest by the time each snapshot was made, not by tag: the newest here is the lexically least of
   * the matching tags, and a newer tag with another prefix is not a candidate.
   */
  @Test
  void aPullOfATagThatHoldsNothingRestoresTheNewestSnapshotThePrefixMatches() throws IOException {
    pushTree("m2-zzz", 1, Duration.ofMinutes(1));
    Path newest = pushTree("m2-aaa", 2, Duration.ofMinutes(1));
    pushTree("m2-mmm", 3, Duration.ofSeconds(-30)); // pushed last, but its clock says it was made before m2-aaa
    pushTree("gradle-1", 4, Duration.ofMinutes(5));

    Path out = dir.resolve("out");
    RecordingListener listener = new RecordingListener();
    OperationResult r = client.pull(spec("m2-new", out, "m2-"), listener);
    assertEquals(Outcome.RESTORED, r.result());
    assertEquals(describe("m2-aaa"), r.fallback());
    assertEquals(describe("m2-new"), r.ref(), "the result names the id's own ref; fallback says where the snapshot came from");
    assertEquals(load("m2-aaa").manifestBytes().digest().toString(), r.digest());
    assertEquals(TreeListing.of(newest), TreeListing.of(out));
    assertTrue(ResultText.describe(r, spec("m2-new", out)).contains("from fallback " + describe("m2-aaa")), ResultText.describe(r, spec("m2-new", out)));
    assertTrue(listener.infos().stream().anyMatch(m -> m.contains("newest of 3 matching tags")), String.join("\n", listener.infos()));
  }

  /** As restore-keys: the prefixes are tried in order, and the first that matches wins even over a newer match of a later one. */
  @Test
  void theFirstPrefixThatMatchesWinsOverANewerSnapshotOfALaterOne() throws IOException {
    Path feature = pushTree("m2-feature-1", 1, Duration.ofMinutes(1));
    pushTree("m2-main-1", 2, Duration.ofMinutes(1));
    Path out = dir.resolve("out");
    OperationResult r = client.pull(spec("m2-feature-2", out, "m2-feature-", "m2-main-"), OperationListener.NONE);
    assertEquals(describe("m2-feature-1"), r.fallback());
    assertEquals(TreeListing.of(feature), TreeListing.of(out));

    Path other = dir.resolve("other");
    OperationResult r2 = client.pull(spec("m2-fix-1", other, "m2-fix-", "m2-main-"), OperationListener.NONE);
    assertEquals(describe("m2-main-1"), r2.fallback(), "a prefix that matches nothing passes to the next");
  }

  @Test
  void theIdsOwnSnapshotComesFirst() throws IOException {
    Path own = pushTree("m2-1", 1, Duration.ofMinutes(1));
    pushTree("m2-2", 2, Duration.ofMinutes(1));
    Path out = dir.resolve("out");
    OperationResult r = client.pull(spec("m2-1", out, "m2-"), OperationListener.NONE);
    assertEquals(Outcome.RESTORED, r.result());
    assertNull(r.fallback());
    assertEquals(TreeListing.of(own), TreeListing.of(out));
  }

  @Test
  void noMatchIsAMissThatLeavesTheTargetAlone() throws IOException {
    pushTree("gradle-1", 1, Duration.ofMinutes(1));
    Path out = dir.resolve("out");
    RecordingListener listener = new RecordingListener();
    OperationResult r = client.pull(spec("m2-1", out, "m2-", "maven-"), listener);
    assertEquals(Outcome.MISS, r.result());
    assertNull(r.fallback());
    assertFalse(Files.exists(out), "a miss makes no target");
    assertTrue(listener.infos().stream().anyMatch(m -> m.contains("no fallback matched")), String.join("\n", listener.infos()));
    assertEquals(Outcome.MISS, client.pull(spec("m2-1", out, "m2-").withTarget(dir.resolve("x")), OperationListener.NONE).result());
    assertEquals(Outcome.MISS, client.pull(client.parseSpec("id=m2-1,dir=" + dir.resolve("no-store") + ",target=" + out + ",fallback=m2-"),
        OperationListener.NONE).result(), "no store at all is a miss too");
  }

  /**
   * A tag in the store that is not a cachemount snapshot (another tool's image beside the caches) is
   * passed over however new it says it is.
   */
  @Test
  void aTagThatIsNotASnapshotIsPassedOver() throws IOException {
    Path snapshot = pushTree("m2-1", 1, Duration.ofMinutes(1));
    byte[] config = "{}".getBytes(StandardCharsets.UTF_8);
    ImageManifest foreign = new ImageManifest(2, MediaTypes.OCI_MANIFEST, "application/vnd.example.other",
        Descriptor.of("application/vnd.oci.image.config.v1+json", dev.cachemount.core.blob.Digest.of(config), config.length), List.of(),
        Map.of(MediaTypes.CREATED, "2099-01-01T00:00:00Z"));
    try (LayoutStore s = new LayoutStore(store)) {
      s.putBlob(dev.cachemount.core.blob.Digest.of(config), config);
      s.putManifest("m2-2", ManifestBytes.of(MediaTypes.OCI_MANIFEST, Json.write(foreign)));
    }
    Path out = dir.resolve("out");
    RecordingListener listener = new RecordingListener();
    OperationResult r = client.pull(spec("m2-3", out, "m2-"), listener);
    assertEquals(describe("m2-1"), r.fallback());
    assertEquals(TreeListing.of(snapshot), TreeListing.of(out));
    assertTrue(listener.infos().stream().anyMatch(m -> m.contains("passed over " + describe("m2-2") + ", which is not a cachemount snapshot")),
        String.join("\n", listener.infos()));
  }

  /**
   * The newest match was written by a newer cachemount (runners of two versions share the store) with
   * a marker its manifest does not show (docs/format.md, "Compatibility rules"): it is passed over
   * with a warning, as a from= of that kind is, and the newest snapshot this version reads is used.
   * Chosen all the same, it failed the pull and the push of every new key ("upgrade cachemount").
   */
  @ParameterizedTest
  @ValueSource(strings = {"formatVersion", "chunkerAlgorithm", "payloadVersion"})
  void aSnapshotOfANewerFormatIsPassedOverForTheNewestThisVersionReads(String marker) throws IOException {
    Path readable = pushTree("m2-1", 1, Duration.ofMinutes(1));
    pushTree("m2-2", 2, Duration.ofMinutes(1));
    NewerFormatTest.storeNewer(store, "m2-2", marker);

    Path out = dir.resolve("out");
    RecordingListener listener = new RecordingListener();
    if (!marker.equals("payloadVersion")) { // a marker of the index itself is met only once the index is read
      OperationResult pulled = client.pull(spec("m2-3", out, "m2-"), listener);
      assertEquals(describe("m2-1"), pulled.fallback());
      assertEquals(TreeListing.of(readable), TreeListing.of(out));
      assertTrue(listener.warned("passed over " + describe("m2-2") + ", written by a newer cachemount"), listener.warnings().toString());
      assertEquals(describe("m2-1"), client.inspect(spec("m2-3", null, "m2-")).orElseThrow().fallback());
    }

    RecordingListener pushing = new RecordingListener();
    OperationResult pushed = client.push(spec("m2-3", readable, "m2-"), pushing);
    assertEquals(Outcome.PUSHED, pushed.result());
    assertTrue(pushing.warned("written by a newer cachemount"), pushing.warnings().toString());
    if (!marker.equals("payloadVersion")) {
      assertEquals(describe("m2-1"), pushed.fallback());
      assertEquals(load("m2-1").manifestBytes().digest().toString(), load("m2-3").config().lineage().parent());
    }
  }

  /**
   * The CI flow: restore the fallback, build (one file changes), push the new key. The push takes the
   * fallback as its parent: its packs are referenced, not stored again, and files it holds with the
   * same size and time are not read (a file changed without either changing proves it: its stored
   * content is the fallback's).
   */
  @Test
  void aPushToATagThatHoldsNothingBuildsOnTheFallbackAndReadsOnlyWhatChanged() throws IOException {
    Path tree = dir.resolve("tree");
    TestTrees.mixed(tree, 7);
    OperationResult first = client.push(spec("m2-1", tree), OperationListener.NONE);
    clock.now = clock.now.plus(Duration.ofMinutes(1));

    Path work = dir.resolve("work");
    assertEquals(describe("m2-1"), client.pull(spec("m2-2", work, "m2-"), OperationListener.NONE).fallback());
    Path changed = work.resolve("org/example/group2/1.1/artifact-1.1.pom");
    Files.writeString(changed, "<!-- changed by the build -->\n", java.nio.file.StandardOpenOption.APPEND);
    Files.setLastModifiedTime(changed, FileTime.fromMillis(1_600_000_000_000L));
    Path unread = work.resolve("org/example/group0/1.0/artifact-1.0.jar");
    FileTime time = Files.getLastModifiedTime(unread);
    byte[] original = Files.readAllBytes(unread);
    byte[] other = original.clone();
    other[other.length / 2] ^= 1;
    Files.write(unread, other);
    Files.setLastModifiedTime(unread, time);

    OperationResult second = client.push(spec("m2-2", work, "m2-"), OperationListener.NONE);
    assertEquals(Outcome.PUSHED, second.result());
    assertEquals(describe("m2-1"), second.fallback());
    assertTrue(second.bytesTransferred() < first.bytesTransferred() / 5,
        "the push stores what changed: " + second.bytesTransferred() + " of " + first.bytesTransferred());
    assertEquals(first.digest(), load("m2-2").config().lineage().parent(), "the config names the snapshot it built on");
    assertTrue(ResultText.describe(second, spec("m2-2", work)).contains("built on " + describe("m2-1")), ResultText.describe(second, spec("m2-2", work)));

    Path out = dir.resolve("out");
    assertNull(client.pull(spec("m2-2", out, "m2-"), OperationListener.NONE).fallback(), "m2-2 now holds its own snapshot");
    assertEquals(Files.readString(changed), Files.readString(out.resolve("org/example/group2/1.1/artifact-1.1.pom")));
    assertTrue(java.util.Arrays.equals(original, Files.readAllBytes(out.resolve("org/example/group0/1.0/artifact-1.0.jar"))),
        "the file whose size and time the fallback vouched for was not read");
  }

  /**
   * Whether the store still holds the fallback's packs is asked as for the id's own snapshot, many at
   * once (PushOperation.PACK_CHECKS): in a registry each is a round trip, and asked one by one, a
   * large cache's hundreds of packs made the first push of every new key seconds slower.
   */
  @Test
  void theFallbacksPacksAreCheckedManyAtOnce() throws IOException {
    pushTree("m2-1", 1, Duration.ofMinutes(1));
    int packs = load("m2-1").index().packs().size();
    assertTrue(packs >= 4, "packs: " + packs);
    java.util.concurrent.atomic.AtomicInteger running = new java.util.concurrent.atomic.AtomicInteger();
    java.util.concurrent.atomic.AtomicInteger most = new java.util.concurrent.atomic.AtomicInteger();
    Cachemount slow = Cachemount.builder().home(dir).env(Map.of()).workers(2).packTarget(128 * 1024).clock(clock)
        .stores((s, d, l) -> new dev.cachemount.core.testing.ForwardingStore(new LayoutStore(store)) {
          @Override
          public boolean hasBlob(dev.cachemount.core.blob.Digest digest, long size) throws IOException {
            most.accumulateAndGet(running.incrementAndGet(), Math::max);
            try {
              Thread.sleep(20); // a registry's round trip
              return super.hasBlob(digest, size);
            } catch (InterruptedException e) {
              Thread.currentThread().interrupt();
              throw new java.io.InterruptedIOException();
            } finally {
              running.decrementAndGet();
            }
          }
        }).build();
    Path tree = dir.resolve("tree");
    TestTrees.mixed(tree, 1);
    OperationResult r = slow.push(slow.parseSpec("id=m2-2,dir=" + store + ",target=" + tree).withFallback(List.of("m2-")), OperationListener.NONE);
    assertEquals(describe("m2-1"), r.fallback());
    assertTrue(most.get() > 1, "at most " + most.get() + " existence check at once");
  }

  /**
   * The fallback's manifest and config are read once, by the choice, and the pull and the push start
   * from them: each a registry round trip, they were fetched again (the push: the manifest too).
   */
  @Test
  void theFallbacksManifestAndConfigAreReadOnce() throws IOException {
    pushTree("m2-1", 1, Duration.ofMinutes(1));
    LoadedSnapshot fallback = load("m2-1");
    dev.cachemount.core.blob.Digest config = dev.cachemount.core.blob.Digest.parse(fallback.manifest().config().digest());
    java.util.concurrent.atomic.AtomicInteger manifestReads = new java.util.concurrent.atomic.AtomicInteger();
    java.util.concurrent.atomic.AtomicInteger configReads = new java.util.concurrent.atomic.AtomicInteger();
    Cachemount counting = Cachemount.builder().home(dir).env(Map.of()).workers(2).packTarget(128 * 1024).clock(clock)
        .stores((s, d, l) -> new dev.cachemount.core.testing.ForwardingStore(new LayoutStore(store)) {
          @Override
          public java.util.Optional<ManifestBytes> fetchManifest(String reference) throws IOException {
            if (reference.equals("m2-1")) {
              manifestReads.incrementAndGet();
            }
            return super.fetchManifest(reference);
          }

          @Override
          public java.io.InputStream openBlob(dev.cachemount.core.blob.Digest digest, long size) throws IOException {
            if (digest.equals(config)) {
              configReads.incrementAndGet();
            }
            return super.openBlob(digest, size);
          }
        }).build();
    Path out = dir.resolve("out");
    assertEquals(describe("m2-1"), counting.pull(counting.parseSpec("id=m2-2,dir=" + store + ",target=" + out).withFallback(List.of("m2-")),
        OperationListener.NONE).fallback());
    assertEquals(1, manifestReads.get(), "the pull's reads of the fallback's manifest");
    assertEquals(1, configReads.get(), "the pull's reads of the fallback's config");
    manifestReads.set(0);
    configReads.set(0);
    assertEquals(describe("m2-1"), counting.push(counting.parseSpec("id=m2-2,dir=" + store + ",target=" + out).withFallback(List.of("m2-")),
        OperationListener.NONE).fallback());
    assertEquals(1, manifestReads.get(), "the push's reads of the fallback's manifest");
    assertEquals(1, configReads.get(), "the push's reads of the fallback's config");
  }

  /**
   * A fallback's snapshot found damaged while it is read: the failure names that snapshot, and the
   * repair is of its id. It named neither: "the snapshot references" a blob, "push --force for id
   * 'm2-2'", the id that holds nothing and whose push replaces nothing that is damaged.
   */
  @Test
  void damageInAFallbacksSnapshotNamesItAndItsId() throws IOException {
    pushTree("m2-1", 1, Duration.ofMinutes(1));
    LoadedSnapshot damaged = load("m2-1");
    Files.delete(store.resolve("blobs/sha256").resolve(damaged.index().packs().get(0).digest().hex()));
    String advice = "run `cachemount push --force` for id 'm2-1'";

    CachemountException pull = org.junit.jupiter.api.Assertions.assertThrows(CachemountException.class,
        () -> client.pull(spec("m2-2", dir.resolve("out"), "m2-"), OperationListener.NONE));
    assertEquals(FailureKind.INTEGRITY, pull.kind());
    assertTrue(pull.getMessage().contains(describe("m2-1") + ", which a fallback= chose for id 'm2-2'") && pull.getMessage().contains(advice),
        pull.getMessage());
    CachemountException verify = org.junit.jupiter.api.Assertions.assertThrows(CachemountException.class,
        () -> client.verify(spec("m2-2", null, "m2-"), OperationListener.NONE));
    assertTrue(verify.getMessage().contains(describe("m2-1")) && verify.getMessage().contains(advice), verify.getMessage());

    Files.delete(store.resolve("blobs/sha256").resolve(dev.cachemount.core.blob.Digest.parse(damaged.manifest().layers().get(0).digest()).hex()));
    CachemountException inspect = org.junit.jupiter.api.Assertions.assertThrows(CachemountException.class,
        () -> client.inspect(spec("m2-2", null, "m2-")));
    assertTrue(inspect.getMessage().contains(describe("m2-1")) && inspect.getMessage().contains(advice), inspect.getMessage());
  }

  /** A tree equal to the fallback's is still pushed under the id: the next pull of the id must find it. Only the new documents are written. */
  @Test
  void aTreeEqualToTheFallbacksIsPushedNotCalledUnchanged() throws IOException {
    Path tree = pushTree("m2-1", 1, Duration.ofMinutes(1));
    LoadedSnapshot fallback = load("m2-1");
    OperationResult r = client.push(spec("m2-2", tree, "m2-"), OperationListener.NONE);
    assertEquals(Outcome.PUSHED, r.result());
    assertEquals(describe("m2-1"), r.fallback());
    LoadedSnapshot pushed = load("m2-2");
    assertEquals(fallback.index().packs(), pushed.index().packs(), "the same packs, referenced");
    assertTrue(r.blobsUploaded() <= 2, "a config and a manifest at most: " + r);
    Path out = dir.resolve("out");
    assertNull(client.pull(spec("m2-2", out), OperationListener.NONE).fallback());
    assertEquals(TreeListing.of(tree), TreeListing.of(out));
  }

  /** A merge is with the id's own snapshot: files only the fallback holds are not merged into the new one. */
  @Test
  void aMergeDoesNotMergeTheFallbacksFiles() throws IOException {
    Path a = dir.resolve("a");
    Files.createDirectories(a);
    Files.writeString(a.resolve("only-in-fallback"), "a");
    Files.writeString(a.resolve("both"), "a");
    client.push(spec("m2-1", a), OperationListener.NONE);
    clock.now = clock.now.plus(Duration.ofMinutes(1));
    Path b = dir.resolve("b");
    Files.createDirectories(b);
    Files.writeString(b.resolve("both"), "b");
    OperationResult r = client.push(spec("m2-2", b, "m2-").withMode(CacheSpec.Mode.MERGE), OperationListener.NONE);
    assertEquals(describe("m2-1"), r.fallback());
    Path out = dir.resolve("out");
    client.pull(spec("m2-2", out), OperationListener.NONE);
    assertEquals(TreeListing.of(b), TreeListing.of(out));
  }

  /**
   * The id's own tag holds a snapshot the push cannot build on (a pack of it is gone): the push builds
   * on the fallback instead, and a merge still checks its own tag against what that tag named when it
   * was read. Checked against "no snapshot", the tag seemed moved by another push on every try: three
   * pushes, and a warning that another push's files were left out.
   */
  @Test
  void aMergeOverAnUnusableSnapshotOfItsOwnTagBuildsOnTheFallbackInOneTry() throws IOException {
    pushTree("m2-1", 1, Duration.ofMinutes(1));
    pushTree("m2-2", 2, Duration.ofMinutes(1));
    java.util.Set<dev.cachemount.core.blob.Digest> shared = new java.util.HashSet<>();
    load("m2-1").index().packs().forEach(p -> shared.add(p.digest()));
    dev.cachemount.core.blob.Digest gone = load("m2-2").index().packs().stream().map(p -> p.digest()).filter(d -> !shared.contains(d))
        .findFirst().orElseThrow();
    Files.delete(store.resolve("blobs/sha256").resolve(gone.hex()));

    Path tree = dir.resolve("tree");
    TestTrees.mixed(tree, 3);
    RecordingListener listener = new RecordingListener();
    OperationResult r = client.push(spec("m2-2", tree, "m2-").withMode(CacheSpec.Mode.MERGE), listener);
    assertEquals(Outcome.PUSHED, r.result());
    assertEquals(describe("m2-1"), r.fallback());
    assertFalse(listener.warned("another push moved"), listener.warnings().toString());
    assertTrue(listener.infos().stream().noneMatch(m -> m.contains("merging with that one instead")), String.join("\n", listener.infos()));
    assertTrue(listener.infos().stream().anyMatch(m -> m.contains(describe("m2-2") + " holds no snapshot this push can build on; building on "
        + describe("m2-1"))), String.join("\n", listener.infos()));
    Path out = dir.resolve("out");
    client.pull(spec("m2-2", out), OperationListener.NONE);
    assertEquals(TreeListing.of(tree), TreeListing.of(out));
  }

  /** --force stores the directory alone: it takes nothing from a fallback either. */
  @Test
  void forceIgnoresTheFallback() throws IOException {
    Path tree = pushTree("m2-1", 1, Duration.ofMinutes(1));
    OperationResult r = client.push(spec("m2-2", tree, "m2-"), new PushOptions(true), OperationListener.NONE);
    assertEquals(Outcome.PUSHED, r.result());
    assertNull(r.fallback());
    assertNull(load("m2-2").config().lineage(), "nothing taken from another snapshot");
  }

  /** What the fallback chooses among: each tag once, a moved one too; no store, no tags. */
  @Test
  void theStoreListsItsTags() throws IOException {
    pushTree("m2-1", 1, Duration.ofMinutes(1));
    pushTree("m2-2", 2, Duration.ofMinutes(1));
    pushTree("m2-2", 3, Duration.ofMinutes(1));
    try (LayoutStore s = new LayoutStore(store)) {
      assertEquals(List.of("m2-1", "m2-2"), s.listTags().stream().sorted().toList());
    }
    try (LayoutStore s = new LayoutStore(dir.resolve("none"))) {
      assertEquals(List.of(), s.listTags());
    }
  }

  /** inspect and verify look at what a pull would restore: the id's own snapshot, else the fallback's, and say which. */
  @Test
  void inspectAndVerifyFollowTheFallbackAsAPullDoes() throws IOException {
    pushTree("m2-1", 1, Duration.ofMinutes(1));
    String digest = load("m2-1").manifestBytes().digest().toString();
    SnapshotSummary summary = client.inspect(spec("m2-2", null, "m2-")).orElseThrow();
    assertEquals(describe("m2-1"), summary.ref());
    assertEquals(describe("m2-1"), summary.fallback());
    assertEquals(digest, summary.digest());
    Verification verified = client.verify(spec("m2-2", null, "m2-"), OperationListener.NONE).orElseThrow();
    assertEquals(digest, verified.digest());
    assertEquals(describe("m2-1"), verified.fallback());
    assertTrue(verified.describe("m2-2").contains("at " + describe("m2-1") + " (its fallback)"), verified.describe("m2-2"));

    assertTrue(client.inspect(spec("m2-2", null)).isEmpty(), "without fallback=, the id's own tag only");
    assertNull(client.inspect(spec("m2-1", null, "m2-")).orElseThrow().fallback(), "an id with its own snapshot");
    assertTrue(client.verify(spec("go-1", null, "go-"), OperationListener.NONE).isEmpty(), "no match: a miss");
  }
}
