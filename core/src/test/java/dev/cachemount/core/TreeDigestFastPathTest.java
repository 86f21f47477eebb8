package dev.cachemount.core;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.cachemount.core.blob.Digest;
import dev.cachemount.core.oci.ImageManifest;
import dev.cachemount.core.oci.Json;
import dev.cachemount.core.oci.SnapshotConfig;
import dev.cachemount.core.store.LayoutStore;
import dev.cachemount.core.store.ManifestBytes;
import dev.cachemount.core.testing.ForwardingStore;
import dev.cachemount.core.testing.MutableClock;
import dev.cachemount.core.testing.TestTrees;
import dev.cachemount.core.testing.TreeListing;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributeView;
import java.nio.file.attribute.FileTime;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A snapshot's config carries a digest of its tree's metadata: a pull into a target that already
 * holds the snapshot, and a push of a tree that has not changed, decide from a scan without fetching
 * the index; any difference (a time, a mode, a link, an extra entry) takes the full path.
 */
class TreeDigestFastPathTest {
  @TempDir Path dir;
  Path store;
  Set<Digest> opened = ConcurrentHashMap.newKeySet();
  Cachemount client;

  @BeforeEach
  void setUp() {
    store = dir.resolve("store");
    client = builder().build();
  }

  /** A client on {@link #store} that notes every blob it opens in {@link #opened}. */
  private Cachemount.Builder builder() {
    return Cachemount.builder().home(dir).env(Map.of())
        .stores((s, d, l) -> new ForwardingStore(new LayoutStore(store)) {
          @Override
          public InputStream openBlob(Digest digest, long size) throws IOException {
            opened.add(digest);
            return super.openBlob(digest, size);
          }
        });
  }

  private CacheSpec spec(Path target, String extra) {
    return client.parseSpec("id=m2,dir=" + store + ",target=" + target + extra);
  }

  private ImageManifest manifest() throws IOException {
    try (LayoutStore layout = new LayoutStore(store)) {
      ManifestBytes bytes = layout.fetchManifest("m2").orElseThrow();
      return Json.readManifest(bytes.bytes(), "manifest");
    }
  }

  private Digest indexDigest() throws IOException {
    return Digest.parse(manifest().layers().get(0).digest());
  }

  private SnapshotConfig config() throws IOException {
    try (InputStream in = Files.newInputStream(store.resolve("blobs/sha256").resolve(Digest.parse(manifest().config().digest()).hex()))) {
      return Json.readConfig(in.readAllBytes(), "config");
    }
  }

  private static void setTime(Path p, long seconds) throws IOException {
    Files.getFileAttributeView(p, BasicFileAttributeView.class, LinkOption.NOFOLLOW_LINKS)
        .setTimes(FileTime.from(Instant.ofEpochSecond(seconds, 123_456_789)), null, null);
  }

  /** Pushes a mixed tree (seeded) from {@code source} and pulls it into {@code target}, which it returns. */
  private Path pushedAndPulled(int seed) throws IOException {
    Path source = dir.resolve("source");
    TestTrees.mixed(source, seed);
    client.push(spec(source, ""), OperationListener.NONE);
    Path target = dir.resolve("target");
    client.pull(spec(target, ""), OperationListener.NONE);
    return target;
  }

  @Test
  void anIdenticalTargetIsRecognisedWithoutTheIndex() throws IOException {
    Path target = pushedAndPulled(5);
    Path source = dir.resolve("source");
    assertTrue(config().treeDigest().startsWith("sha256:"), "the config records the tree digest");

    opened.clear();
    OperationResult identical = client.pull(spec(target, ""), OperationListener.NONE);
    assertEquals(Outcome.RESTORED, identical.result());
    assertEquals(identical.files(), identical.filesUnchanged());
    assertFalse(opened.contains(indexDigest()), "the index was not fetched");
    assertEquals(1, opened.size(), "only the config: " + opened);
    assertEquals(TreeListing.of(source), TreeListing.of(target));

    OperationResult mirror = client.pull(spec(target, ",mode=mirror"), OperationListener.NONE);
    assertEquals(0L, mirror.removed());
    assertFalse(opened.contains(indexDigest()));
  }

  @Test
  void anyDifferenceTakesTheFullRestore() throws IOException {
    Path target = pushedAndPulled(6);
    Path source = dir.resolve("source");
    List<Runnable> changes = List.of(
        () -> run(() -> setTime(target.resolve("empty-file"), 1_600_000_000L)),
        () -> run(() -> setTime(target.resolve("deep/a/b"), 1_600_000_000L)),
        () -> run(() -> Files.setPosixFilePermissions(target.resolve("bin/tool.sh"), java.nio.file.attribute.PosixFilePermissions.fromString("rw-r--r--"))),
        () -> run(() -> {
          Files.delete(target.resolve("bin/tool"));
          Files.createSymbolicLink(target.resolve("bin/tool"), Path.of("elsewhere.sh"));
        }),
        () -> run(() -> Files.writeString(target.resolve("extra.txt"), "not in the snapshot")));
    for (int i = 0; i < changes.size(); i++) {
      changes.get(i).run();
      opened.clear();
      OperationResult pulled = client.pull(spec(target, ",mode=mirror"), OperationListener.NONE);
      assertTrue(opened.contains(indexDigest()), "change " + i + ": the index was fetched");
      assertEquals(TreeListing.of(source), TreeListing.of(target), "change " + i + " was undone");
      opened.clear();
      client.pull(spec(target, ""), OperationListener.NONE);
      assertFalse(opened.contains(indexDigest()), "change " + i + ": once restored, the target matches again");
    }
  }

  @Test
  void aPullIntoALargerDirectoryScansNoFurtherThanTheSnapshotsSize() throws IOException {
    Path tree = dir.resolve("small");
    Files.createDirectories(tree.resolve("a/b"));
    Files.writeString(tree.resolve("a/b/one"), "1");
    Files.writeString(tree.resolve("a/two"), "2");
    Files.writeString(tree.resolve("three"), "3");
    var scanner = new dev.cachemount.core.snapshot.TreeScanner(OperationListener.NONE);
    assertEquals(5, scanner.scan(tree, Set.of(), 5).size());
    assertEquals(null, scanner.scan(tree, Set.of(), 4), "more entries than the limit: the scan gives up");
    java.util.concurrent.atomic.AtomicLong limit = new java.util.concurrent.atomic.AtomicLong(Long.MAX_VALUE);
    assertEquals(5, scanner.scan(tree, Set.of(), limit::get).size(), "a limit set later (a pull's early scan)");
    limit.set(4);
    assertEquals(null, scanner.scan(tree, Set.of(), limit::get));

    client.push(spec(tree, ""), OperationListener.NONE);
    Path target = dir.resolve("target");
    Files.createDirectories(target);
    for (int i = 0; i < 50; i++) {
      Files.writeString(target.resolve("local-" + i), "the user's own file " + i);
    }
    OperationResult pulled = client.pull(spec(target, ""), OperationListener.NONE);
    assertEquals(3, pulled.files());
    assertEquals("1", Files.readString(target.resolve("a/b/one")));
    assertTrue(Files.exists(target.resolve("local-49")), "without mode=mirror the target's own files stay");
  }

  @Test
  void verifyContentAlwaysReadsTheIndex() throws IOException {
    Path target = pushedAndPulled(7);
    opened.clear();
    client.pull(spec(target, ",verify=content"), OperationListener.NONE);
    assertTrue(opened.contains(indexDigest()));
  }

  @Test
  void anUnchangedPushDecidesWithoutTheIndexUnlessAFileIsRacy() throws IOException {
    // The pushes' clock stopped: whether a file lies within 2 s of a push's scan depends on the
    // times given here, not on how long this thread is stalled between setting them and pushing.
    long now = Instant.now().getEpochSecond();
    client = builder().clock(new MutableClock(Instant.ofEpochSecond(now))).build();
    Path source = dir.resolve("source");
    TestTrees.smallFiles(source, 200, 8);
    try (var walk = Files.walk(source)) {
      for (Path p : walk.toList()) {
        setTime(p, now - 3600);
      }
    }
    client.push(spec(source, ""), OperationListener.NONE);
    opened.clear();
    OperationResult again = client.push(spec(source, ""), OperationListener.NONE);
    assertEquals(Outcome.UNCHANGED, again.result());
    assertEquals(0, again.bytesTransferred());
    assertEquals(200, again.files());
    assertFalse(opened.contains(indexDigest()), "the index was not fetched");

    Path one = TreeListingFiles.first(source);
    setTime(one, now - 60);
    opened.clear();
    OperationResult changed = client.push(spec(source, ""), OperationListener.NONE);
    assertEquals(Outcome.PUSHED, changed.result(), "a file's new time is a change");

    // A file modified within 2 s of the parent's scan: its metadata cannot vouch for it.
    Files.writeString(one, "new content, written now");
    setTime(one, now - 1); // 0.88 s before the scan (setTime adds 0.123456789 s)
    client.push(spec(source, ""), OperationListener.NONE);
    opened.clear();
    OperationResult racy = client.push(spec(source, ""), OperationListener.NONE);
    assertEquals(Outcome.UNCHANGED, racy.result());
    assertTrue(opened.contains(indexDigest()), "a racy file sends the push to the full comparison");
  }

  private interface IoAction {
    void run() throws IOException;
  }

  private static void run(IoAction action) {
    try {
      action.run();
    } catch (IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
  }

  /** The first regular file of a tree, in path order. */
  private static final class TreeListingFiles {
    static Path first(Path root) throws IOException {
      try (var walk = Files.walk(root)) {
        return walk.filter(Files::isRegularFile).sorted().findFirst().orElseThrow();
      }
    }
  }
}
