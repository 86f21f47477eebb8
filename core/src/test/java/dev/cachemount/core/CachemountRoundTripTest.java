package dev.cachemount.core;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.cachemount.core.blob.Digest;
import dev.cachemount.core.oci.Descriptor;
import dev.cachemount.core.oci.ImageManifest;
import dev.cachemount.core.oci.Json;
import dev.cachemount.core.oci.MediaTypes;
import dev.cachemount.core.store.IndexCache;
import dev.cachemount.core.store.LayoutStore;
import dev.cachemount.core.store.ManifestBytes;
import dev.cachemount.core.testing.ForwardingStore;
import dev.cachemount.core.testing.MutableClock;
import dev.cachemount.core.testing.TestTrees;
import dev.cachemount.core.testing.TreeListing;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Push and pull through the library's entry point, against an OCI layout store on disk. */
class CachemountRoundTripTest {
  @TempDir Path dir;
  Path source;
  Path store;
  Cachemount client;
  final List<String> warnings = Collections.synchronizedList(new ArrayList<>());
  final OperationListener listener = new OperationListener() {
    @Override
    public void warning(String message) {
      warnings.add(message);
    }
  };

  @BeforeEach
  void setUp() throws IOException {
    source = dir.resolve("source");
    store = dir.resolve("store");
    TestTrees.mixed(source, 42);
    // Small packs and several workers, so that a test tree spans many packs and frames.
    client = builder().build();
  }

  private Cachemount.Builder builder() {
    return Cachemount.builder().home(dir).env(Map.of()).workers(3).packTarget(256 * 1024);
  }

  /**
   * The test's client with its clock stopped at {@code now}: whether a file's time lies within the
   * racy window of a push's scan (2 s) then depends on the times the test gives it, not on how long
   * the test's thread is stalled between writing the file and pushing.
   */
  private Cachemount clientStoppedAt(Instant now) {
    return builder().clock(new MutableClock(now)).build();
  }

  private CacheSpec spec(String id, Path target) {
    return CacheSpec.local(id, store, target);
  }

  @Test
  void pullReproducesTheTreeExactly() throws IOException {
    OperationResult pushed = client.push(spec("m2", source), listener);
    assertEquals(Outcome.PUSHED, pushed.result());
    assertTrue(pushed.digest().startsWith("sha256:"));
    assertEquals("oci:" + store + ":m2", pushed.ref());
    assertTrue(pushed.bytesTransferred() > 0);
    assertEquals(storeBlobBytes(), pushed.bytesTransferred(), "a first push writes every blob of the store");

    Path restored = dir.resolve("restored");
    OperationResult pulled = client.pull(spec("m2", restored), listener);
    assertEquals(Outcome.RESTORED, pulled.result());
    assertEquals(pushed.digest(), pulled.digest());
    assertEquals(pushed.files(), pulled.files());
    assertEquals(pushed.bytes(), pulled.bytes());
    assertEquals(TreeListing.of(source), TreeListing.of(restored));
    assertEquals(List.of(), warnings);
    assertEquals(List.of(), leftovers(restored));
  }

  @Test
  void deduplicatesRepeatedContentAndCompresses() throws IOException {
    OperationResult pushed = client.push(spec("m2", source), listener);
    SnapshotSummary summary = client.inspect(spec("m2", null)).orElseThrow();
    // big.bin and copy-of-big.bin are stored once; zeros.bin collapses to a few chunks.
    assertTrue(summary.config().counts().chunkBytes() < pushed.bytes() - 3_000_000, summary.toString());
    assertEquals(3, summary.config().packing().level());
    assertEquals("fastcdc-2020", summary.config().chunker().algorithm());
    assertEquals(pushed.files(), summary.config().counts().files());
  }

  @Test
  void aSecondPushOfTheSameTreeIsUnchangedAndWritesNothing() throws IOException {
    OperationResult first = client.push(spec("m2", source), listener);
    List<String> before = storeListing();
    OperationResult second = client.push(spec("m2", source), listener);
    assertEquals(Outcome.UNCHANGED, second.result());
    assertEquals(first.digest(), second.digest());
    assertEquals(0, second.bytesTransferred());
    assertEquals(before, storeListing(), "no blob, manifest or tag was written, replaced or touched");
  }

  @Test
  void anUnchangedTreeIsRecognisedFromMetadataWithoutReadingFiles() throws IOException {
    Path tree = dir.resolve("old-tree");
    TestTrees.smallFiles(tree, 50, 7);
    setAllTimes(tree, Instant.parse("2024-01-01T00:00:00.123456789Z"));
    client.push(spec("old", tree), listener);
    // Same size, same time, other content: only a read could notice, and none happens.
    changeContentKeepingSizeAndTime(firstFile(tree));
    assertEquals(Outcome.UNCHANGED, client.push(spec("old", tree), listener).result());
  }

  @Test
  void aFileModifiedCloseToTheLastPushIsReadAgain() throws IOException {
    Path tree = dir.resolve("fresh-tree");
    TestTrees.smallFiles(tree, 20, 8);
    Instant now = Instant.now();
    Cachemount stopped = clientStoppedAt(now);
    // Files written a second before the push read its clock are racy: equal metadata does not prove equal content.
    setAllTimes(tree, now.minusSeconds(1));
    stopped.push(spec("fresh", tree), listener);
    changeContentKeepingSizeAndTime(firstFile(tree));
    OperationResult second = stopped.push(spec("fresh", tree), listener);
    assertEquals(Outcome.PUSHED, second.result());
    assertPullsBack(stopped, "fresh", tree, "fresh-restored");
  }

  @Test
  void changesArePushedAndPulledBack() throws IOException {
    client.push(spec("m2", source), listener);
    Files.writeString(source.resolve("org/example/group0/1.0/artifact-1.0.pom"), "changed\n");
    Files.delete(source.resolve("org/example/group1/1.1/artifact-1.1.jar"));
    Files.writeString(source.resolve("new-file.txt"), "new\n");
    Files.createDirectories(source.resolve("new-empty-dir"));
    OperationResult second = client.push(spec("m2", source), listener);
    assertEquals(Outcome.PUSHED, second.result());

    assertPullsBack(client, "m2", source, "restored");
  }

  @Test
  void anEmptyTreeRoundTrips() throws IOException {
    Path empty = Files.createDirectories(dir.resolve("empty"));
    OperationResult pushed = client.push(spec("empty", empty), listener);
    assertEquals(Outcome.PUSHED, pushed.result());
    assertEquals(0, pushed.files());
    Path restored = dir.resolve("empty-restored");
    assertEquals(Outcome.RESTORED, client.pull(spec("empty", restored), listener).result());
    assertEquals(List.of(), TreeListing.of(restored));
    assertEquals(Outcome.UNCHANGED, client.push(spec("empty", empty), listener).result());
  }

  @Test
  void pullingAnUnknownIdIsAMissThatTouchesNothing() throws IOException {
    Path target = dir.resolve("never-created");
    OperationResult miss = client.pull(spec("nothing", target), listener);
    assertEquals(Outcome.MISS, miss.result());
    assertNull(miss.digest());
    assertEquals(0, miss.bytesTransferred());
    assertFalse(Files.exists(target));
    assertFalse(Files.exists(store), "a pull does not create a store");

    client.push(spec("m2", source), listener);
    assertEquals(Outcome.MISS, client.pull(spec("other", target), listener).result());
    assertFalse(Files.exists(target));
  }

  @Test
  void pullingIntoAnExistingDirectoryReplacesWhatConflictsAndKeepsExtras() throws IOException {
    client.push(spec("m2", source), listener);
    Path target = dir.resolve("existing");
    Path outside = Files.createDirectories(dir.resolve("outside"));
    Files.createDirectories(target.resolve("empty-file/was-a-directory"));
    Files.createDirectories(target.resolve("bin"));
    Files.writeString(target.resolve("bin/tool.sh"), "old content, wrong size");
    Files.writeString(target.resolve("empty-dir"), "a file where the snapshot has a directory");
    Files.createSymbolicLink(target.resolve("deep"), outside);
    Files.writeString(target.resolve("extra.txt"), "mine");

    client.pull(spec("m2", target), listener);

    assertEquals(TreeListing.of(source), TreeListing.of(target, p -> p.equals("extra.txt")));
    assertEquals("mine", Files.readString(target.resolve("extra.txt")));
    try (Stream<Path> s = Files.list(outside)) {
      assertEquals(0, s.count(), "nothing was written through the symlink that stood where a directory belongs");
    }
    assertFalse(warnings.isEmpty(), "replacements are reported");
  }

  @Test
  void aCorruptPackFailsTheRestoreAndNoWrongContentIsWritten() throws IOException {
    client.push(spec("m2", source), listener);
    Path pack = largestBlob();
    byte[] bytes = Files.readAllBytes(pack);
    bytes[bytes.length / 3] ^= 0x20;
    Files.write(pack, bytes);

    Path target = dir.resolve("target");
    CachemountException e = assertThrows(CachemountException.class, () -> client.pull(spec("m2", target), listener));
    assertEquals(FailureKind.INTEGRITY, e.kind(), e.getMessage());
    assertTrue(e.getMessage().contains("does not match") || e.getMessage().contains("decompress"), e.getMessage());
    // named in full: a registry's operator deletes that very blob (the message says so), found by its digest
    assertTrue(e.getMessage().contains("sha256:" + pack.getFileName()), e.getMessage());
    assertEquals(List.of(), leftovers(target));
    // Every file that made it into the target is complete and correct.
    Map<String, String> expected = new java.util.HashMap<>();
    for (String line : TreeListing.of(source)) {
      expected.put(line.substring(0, line.indexOf(" | ")), line);
    }
    for (String line : TreeListing.of(target)) {
      String path = line.substring(0, line.indexOf(" | "));
      if (line.contains(" | f | ")) {
        assertEquals(expected.get(path), line);
      }
    }
  }

  @Test
  void aFailedPullPutsBackTheFileAndSymlinkThatTheSnapshotsDirectoriesWouldReplace() throws IOException {
    Path tree = dir.resolve("tree");
    Files.createDirectories(tree.resolve("d"));
    Files.createDirectories(tree.resolve("l/sub"));
    Files.write(tree.resolve("d/f.bin"), TestTrees.randomBytes(new java.util.Random(7), 200_000));
    client.push(spec("t", tree), listener);
    Path target = Files.createDirectories(dir.resolve("target"));
    Files.writeString(target.resolve("d"), "mine");
    Path outside = Files.createDirectories(dir.resolve("outside"));
    Files.createSymbolicLink(target.resolve("l"), outside);

    Path pack = largestBlob();
    byte[] bytes = Files.readAllBytes(pack);
    Files.write(pack, new byte[bytes.length]); // every frame fails to decode
    CachemountException e = assertThrows(CachemountException.class, () -> client.pull(spec("t", target), listener));
    assertEquals(FailureKind.INTEGRITY, e.kind(), e.getMessage());
    assertEquals("mine", Files.readString(target.resolve("d")), "the file is back");
    assertTrue(Files.isSymbolicLink(target.resolve("l")), "the symlink is back");
    assertEquals(outside, Files.readSymbolicLink(target.resolve("l")));
    assertEquals(List.of(), leftovers(target));
    assertEquals(List.of(), leftovers(outside));

    Files.write(pack, bytes);
    client.pull(spec("t", target), listener);
    assertEquals(TreeListing.of(tree), TreeListing.of(target));
    assertEquals(List.of(), leftovers(target), "what was moved aside is gone once the pull completes");
  }

  @Test
  void aMissingOrCorruptIndexIsAnIntegrityFailure() throws IOException {
    OperationResult pushed = client.push(spec("m2", source), listener);
    ImageManifest m = Json.read(Files.readAllBytes(store.resolve("blobs/sha256/" + Digest.parse(pushed.digest()).hex())), ImageManifest.class, "m");
    Path index = store.resolve("blobs/sha256/" + Digest.parse(m.layers().get(0).digest()).hex());
    byte[] bytes = Files.readAllBytes(index);
    bytes[bytes.length / 2] ^= 1;
    Files.write(index, bytes);
    CachemountException e = assertThrows(CachemountException.class, () -> client.pull(spec("m2", dir.resolve("t")), listener));
    assertEquals(FailureKind.INTEGRITY, e.kind());
    assertTrue(e.getMessage().contains("push --force"), "every integrity failure says how to repair: " + e.getMessage());
    assertFalse(Files.exists(dir.resolve("t")), "nothing is created before the index is verified");

    Files.delete(index);
    assertEquals(FailureKind.INTEGRITY, assertThrows(CachemountException.class, () -> client.pull(spec("m2", dir.resolve("t")), listener)).kind());
    // A push over an unreadable snapshot replaces it and says so.
    assertEquals(Outcome.PUSHED, client.push(spec("m2", source), listener).result());
    assertTrue(warnings.stream().anyMatch(w -> w.contains("unreadable")), warnings.toString());
    client.pull(spec("m2", dir.resolve("t2")), listener);
    assertEquals(TreeListing.of(source), TreeListing.of(dir.resolve("t2")));
  }

  /**
   * target=$CACHE_DIR/ with the variable unset is target=/: a mode=mirror pull there would remove
   * everything the snapshot lacks from the whole machine. The root is refused before anything runs
   * (an id with nothing stored here, so that the check is what stops it), and so is a mirror pull
   * into the home directory; the home keeps its files.
   */
  @Test
  void theFileSystemRootAndForAMirrorPullTheHomeDirectoryAreRefusedAsTargets() throws IOException {
    for (String mode : List.of("", ",mode=mirror")) {
      CachemountException root = assertThrows(CachemountException.class,
          () -> client.pull(client.parseSpec("id=nothing-here,dir=" + store + ",target=/" + mode), listener));
      assertEquals(FailureKind.USAGE, root.kind());
      assertTrue(root.getMessage().contains("file system root"), root.getMessage());
    }
    assertEquals(FailureKind.USAGE,
        assertThrows(CachemountException.class, () -> client.push(client.parseSpec("id=nothing-here,dir=" + store + ",target=/"), listener)).kind());

    client.push(spec("m2", source), listener);
    Path mine = Files.writeString(dir.resolve("my-notes.txt"), "the user's own file");
    CachemountException home = assertThrows(CachemountException.class,
        () -> client.pull(client.parseSpec("id=m2,dir=" + store + ",target=~,mode=mirror"), listener));
    assertEquals(FailureKind.USAGE, home.kind());
    assertTrue(home.getMessage().contains("home directory"), home.getMessage());
    assertEquals("the user's own file", Files.readString(mine));
    assertTrue(Files.isDirectory(source));

    // The account's home too, where HOME names another directory (a container's HOME=/github/home);
    // an id with nothing stored, so that a failure of this check is a miss that removes nothing.
    Path account = Path.of(System.getProperty("user.home"));
    CachemountException accountHome = assertThrows(CachemountException.class,
        () -> client.pull(client.parseSpec("id=nothing-here,dir=" + store + ",target=" + account + ",mode=mirror"), listener));
    assertEquals(FailureKind.USAGE, accountHome.kind());
    assertTrue(accountHome.getMessage().contains("home directory " + account.toRealPath()), accountHome.getMessage());
  }

  /** A sparse file (mostly a hole) is restored with its holes: its zeros are not written out block by block. */
  @Test
  void aSparseFileIsRestoredSparse() throws IOException, InterruptedException {
    Path tree = Files.createDirectories(dir.resolve("sparse"));
    Path file = tree.resolve("disk.img");
    try (var ch = java.nio.channels.FileChannel.open(file, java.nio.file.StandardOpenOption.CREATE_NEW, java.nio.file.StandardOpenOption.WRITE)) {
      ch.write(java.nio.ByteBuffer.wrap("head".getBytes(StandardCharsets.UTF_8)), 0);
      ch.write(java.nio.ByteBuffer.wrap("tail".getBytes(StandardCharsets.UTF_8)), (64L << 20) - 4);
    }
    client.push(spec("sparse", tree), listener);
    Path restored = dir.resolve("restored");
    client.pull(spec("sparse", restored), listener);
    assertEquals(TreeListing.of(tree), TreeListing.of(restored));
    assertArrayEquals(Files.readAllBytes(file), Files.readAllBytes(restored.resolve("disk.img")));
    Process stat = new ProcessBuilder("stat", "-c", "%b %B", restored.resolve("disk.img").toString()).start();
    String[] blocks = new String(stat.getInputStream().readAllBytes(), StandardCharsets.UTF_8).trim().split(" ");
    assertEquals(0, stat.waitFor());
    long allocated = Long.parseLong(blocks[0]) * Long.parseLong(blocks[1]);
    assertTrue(allocated < (4L << 20), "64 MiB of which 8 bytes are not zero take " + allocated + " bytes on disk");
  }

  @Test
  void aTargetThatIsNotADirectoryIsAUsageError() throws IOException {
    Path file = Files.writeString(dir.resolve("a-file"), "x");
    assertEquals(FailureKind.USAGE, assertThrows(CachemountException.class, () -> client.push(spec("m2", file), listener)).kind());
    CachemountException missing = assertThrows(CachemountException.class, () -> client.push(spec("m2", dir.resolve("missing")), listener));
    assertEquals(FailureKind.USAGE, missing.kind());
    assertTrue(missing.getMessage().contains("does not exist"), missing.getMessage());

    client.push(spec("m2", source), listener);
    CachemountException pull = assertThrows(CachemountException.class, () -> client.pull(spec("m2", file), listener));
    assertEquals(FailureKind.USAGE, pull.kind());
    assertTrue(pull.getMessage().contains("not a directory"), pull.getMessage());
    assertEquals("x", Files.readString(file));

    // A symlink to nothing (a cache directory moved elsewhere and not made yet) is said to be one.
    Path dangling = Files.createSymbolicLink(dir.resolve("dangling"), dir.resolve("mnt/cache/m2"));
    CachemountException intoLink = assertThrows(CachemountException.class, () -> client.pull(spec("m2", dangling), listener));
    assertEquals(FailureKind.USAGE, intoLink.kind());
    assertTrue(intoLink.getMessage().contains("is a symlink to " + dir.resolve("mnt/cache/m2") + ", which names nothing"), intoLink.getMessage());
    assertFalse(Files.exists(dir.resolve("mnt")), "nothing made through the link");
    CachemountException pushLink = assertThrows(CachemountException.class, () -> client.push(spec("m2", dangling), listener));
    assertEquals(FailureKind.USAGE, pushLink.kind());
    assertTrue(pushLink.getMessage().contains("is a symlink that names nothing"), pushLink.getMessage());
  }

  @Test
  void aForeignArtifactUnderTheTagIsNeitherPulledNorOverwritten() throws IOException {
    LayoutStore layout = new LayoutStore(store);
    byte[] config = "{\"architecture\":\"amd64\"}".getBytes(StandardCharsets.UTF_8);
    layout.putBlob(Digest.of(config), config);
    ImageManifest image = new ImageManifest(2, MediaTypes.OCI_MANIFEST, null,
        Descriptor.of("application/vnd.oci.image.config.v1+json", Digest.of(config), config.length), List.of(), null);
    ManifestBytes foreign = ManifestBytes.of(MediaTypes.OCI_MANIFEST, Json.write(image));
    layout.putManifest("app", foreign);

    CachemountException pull = assertThrows(CachemountException.class, () -> client.pull(spec("app", dir.resolve("t")), listener));
    assertEquals(FailureKind.OPERATIONAL, pull.kind());
    assertTrue(pull.getMessage().contains("not a cachemount snapshot"), pull.getMessage());
    assertTrue(pull.getMessage().contains("application/vnd.oci.image.config.v1+json"), pull.getMessage());
    CachemountException push = assertThrows(CachemountException.class, () -> client.push(spec("app", source), listener));
    assertEquals(FailureKind.OPERATIONAL, push.kind());
    // No command deletes a tag of a layout directory: the message offers what the user can do.
    assertTrue(push.getMessage().endsWith("choose another id, or another store (dir= or ref=)"), push.getMessage());
    CachemountException forced = assertThrows(CachemountException.class, () -> client.push(spec("app", source), new PushOptions(true), listener));
    assertEquals(FailureKind.OPERATIONAL, forced.kind(), "--force repairs our snapshots; it does not overwrite someone else's");
    assertEquals(foreign.digest(), layout.fetchManifest("app").orElseThrow().digest());
    // Named by from=, the tag is the problem of the from=, not of the push's own id.
    CachemountException from = assertThrows(CachemountException.class,
        () -> client.push(client.parseSpec("id=mine,dir=" + store + ",target=" + source + ",from=app"), listener));
    assertTrue(from.getMessage().startsWith("from=") && from.getMessage().contains("point it at a cachemount snapshot, or leave it out")
        && !from.getMessage().contains("choose another id"), from.getMessage());
  }

  @Test
  void specialFilesAreSkippedWithAWarning() throws Exception {
    Path fifo = source.resolve("a-fifo");
    Process p = new ProcessBuilder("mkfifo", fifo.toString()).inheritIO().start();
    assertEquals(0, p.waitFor());
    client.push(spec("m2", source), listener);
    assertTrue(warnings.stream().anyMatch(w -> w.contains("a-fifo") && w.contains("skipped")), warnings.toString());
    Path restored = dir.resolve("restored");
    client.pull(spec("m2", restored), listener);
    assertEquals(TreeListing.of(source, path -> path.equals("a-fifo")), TreeListing.of(restored));
  }

  @Test
  void theCompressionLevelIsRecordedAndChangesTheStoredSize() throws IOException {
    Path tree = dir.resolve("text");
    TestTrees.smallFiles(tree, 200, 9);
    client.push(new CacheSpec("fast", StoreType.LOCAL, java.util.Optional.of(store), java.util.Optional.of(tree), 1, java.util.Optional.empty(), false), listener);
    client.push(new CacheSpec("slow", StoreType.LOCAL, java.util.Optional.of(store), java.util.Optional.of(tree), 19, java.util.Optional.empty(), false), listener);
    SnapshotSummary fast = client.inspect(spec("fast", null)).orElseThrow();
    SnapshotSummary slow = client.inspect(spec("slow", null)).orElseThrow();
    assertEquals(1, fast.config().packing().level());
    assertEquals(19, slow.config().packing().level());
    assertNotEquals(fast.storedBytes(), slow.storedBytes());
    assertTrue(slow.config().counts().packBytes() < slow.config().counts().chunkBytes() / 2, "text compresses: " + slow);
  }

  @Test
  void oneStoreHoldsManyIdsThatShareNothingButBlobs() throws IOException {
    OperationResult a = client.push(spec("a", source), listener);
    OperationResult b = client.push(spec("b", source), listener);
    assertEquals(Outcome.PUSHED, b.result());
    Path ra = dir.resolve("ra");
    Path rb = dir.resolve("rb");
    client.pull(spec("a", ra), listener);
    client.pull(spec("b", rb), listener);
    assertEquals(TreeListing.of(ra), TreeListing.of(rb));
    assertTrue(a.bytesTransferred() > 0);
  }

  @Test
  void aStoreInsideTheTargetIsLeftOutOfTheSnapshot() throws IOException {
    Path cacheHome = dir.resolve("home-cache");
    TestTrees.smallFiles(cacheHome.resolve("pip"), 30, 3);
    Path inside = cacheHome.resolve("cachemount/store");
    CacheSpec spec = CacheSpec.local("home", inside, cacheHome);
    assertEquals(Outcome.PUSHED, client.push(spec, listener).result());
    assertTrue(warnings.stream().anyMatch(w -> w.contains("lies inside the target")), warnings.toString());
    Path restored = dir.resolve("home-restored");
    client.pull(spec.withTarget(restored), listener);
    assertFalse(Files.exists(restored.resolve("cachemount/store")), "the store is not in its own snapshot");
    assertEquals(TreeListing.of(cacheHome, p -> p.startsWith("cachemount")), TreeListing.of(restored, p -> p.startsWith("cachemount")));
    // The store changed while being pushed to, yet the next push finds the tree unchanged.
    assertEquals(Outcome.UNCHANGED, client.push(spec, listener).result());

    CachemountException same = assertThrows(CachemountException.class, () -> client.push(CacheSpec.local("x", cacheHome, cacheHome), listener));
    assertEquals(FailureKind.USAGE, same.kind());
  }

  @Test
  void cachemountsOwnDirectoryInsideTheTargetIsNeitherSnapshottedNorRemoved() throws IOException {
    // target=~/.cache with a store elsewhere: ~/.cache/cachemount holds the locks, index cache and staging files.
    Path cacheHome = dir.resolve("user-home/.cache");
    TestTrees.smallFiles(cacheHome.resolve("pip"), 20, 5);
    Cachemount user = Cachemount.builder().home(dir.resolve("user-home")).env(Map.of()).build();
    Path own = cacheHome.resolve("cachemount");
    Files.createDirectories(own.resolve("indexes"));
    Files.writeString(own.resolve("indexes/sha256-abc"), "an index cached by an earlier pull");
    Path store = dir.resolve("elsewhere-store");
    CacheSpec spec = user.parseSpec("id=home,dir=" + store + ",target=" + cacheHome);
    assertEquals(Outcome.PUSHED, user.push(spec, listener).result());
    Path restored = dir.resolve("home-restored");
    user.pull(user.parseSpec("id=home,dir=" + store + ",target=" + restored), listener);
    assertFalse(Files.exists(restored.resolve("cachemount")), "cachemount's own files are not in the snapshot");
    assertEquals(TreeListing.of(cacheHome, p -> p.startsWith("cachemount")), TreeListing.of(restored));
    // Its files change between pushes (a new cached index): the tree is still unchanged.
    Files.writeString(own.resolve("indexes/sha256-def"), "another");
    assertEquals(Outcome.UNCHANGED, user.push(spec, listener).result());
    // A mirror pull into ~/.cache keeps ~/.cache/cachemount, the running pull's own lock among it.
    Files.writeString(cacheHome.resolve("extra"), "not in the snapshot");
    OperationResult mirrored = user.pull(user.parseSpec("id=home,dir=" + store + ",target=" + cacheHome + ",mode=mirror"), listener);
    assertEquals(1L, mirrored.removed(), "only the extra file went");
    assertFalse(Files.exists(cacheHome.resolve("extra")));
    assertTrue(Files.exists(own.resolve("indexes/sha256-abc")) && Files.isDirectory(own.resolve("locks")), "cachemount's directory stays");
  }

  @Test
  void aFileWhoseOnlyDifferenceIsItsExecutableBitIsWrittenAnewWhenItHasOtherHardLinks() throws IOException {
    Path tree = dir.resolve("exec-tree");
    Files.createDirectories(tree);
    Path script = Files.writeString(tree.resolve("run.sh"), "#!/bin/sh\n");
    Files.setPosixFilePermissions(script, java.nio.file.attribute.PosixFilePermissions.fromString("rwxr-xr-x"));
    client.push(spec("exec", tree), listener);
    // The target holds the same bytes and time without the x bit, hard-linked to a file outside it.
    Path target = Files.createDirectories(dir.resolve("exec-target"));
    Path outside = Files.writeString(dir.resolve("outside.sh"), "#!/bin/sh\n");
    Files.setPosixFilePermissions(outside, java.nio.file.attribute.PosixFilePermissions.fromString("rw-r--r--"));
    Files.setLastModifiedTime(outside, Files.getLastModifiedTime(script));
    Files.createLink(target.resolve("run.sh"), outside);
    client.pull(spec("exec", target), listener);
    assertTrue(Files.isExecutable(target.resolve("run.sh")), "the snapshot's executable bit");
    assertEquals("rw-r--r--", java.nio.file.attribute.PosixFilePermissions.toString(Files.getPosixFilePermissions(outside)),
        "the file outside the target keeps its mode");
    assertEquals(1, ((Number) Files.getAttribute(target.resolve("run.sh"), "unix:nlink")).intValue(), "the target's file is its own now");
  }

  @Test
  void anExecutableBitPutBackByAPullGivesTheModeAFileWrittenAnewGets() throws IOException {
    Path tree = Files.createDirectories(dir.resolve("exec-mode-tree"));
    Path script = Files.writeString(tree.resolve("run.sh"), "#!/bin/sh\n");
    Files.setPosixFilePermissions(script, java.nio.file.attribute.PosixFilePermissions.fromString("rwxr-xr-x"));
    client.push(spec("exec-mode", tree), listener);
    Path fresh = dir.resolve("exec-mode-fresh");
    client.pull(spec("exec-mode", fresh), listener);
    Set<java.nio.file.attribute.PosixFilePermission> written = Files.getPosixFilePermissions(fresh.resolve("run.sh"));
    Path target = dir.resolve("exec-mode-target");
    client.pull(spec("exec-mode", target), listener);
    Path restored = target.resolve("run.sh");
    Files.setPosixFilePermissions(restored, java.nio.file.attribute.PosixFilePermissions.fromString("rw-r--r--")); // chmod a-x
    OperationResult again = client.pull(spec("exec-mode", target), listener);
    assertEquals(1L, again.filesUnchanged(), "the file stays; only its mode changes: " + again);
    assertEquals(java.nio.file.attribute.PosixFilePermissions.toString(written),
        java.nio.file.attribute.PosixFilePermissions.toString(Files.getPosixFilePermissions(restored)));
    assertEquals(written.contains(java.nio.file.attribute.PosixFilePermission.GROUP_READ),
        written.contains(java.nio.file.attribute.PosixFilePermission.GROUP_EXECUTE), "who may read may execute: " + written);
  }

  @Test
  void aPullWhoseLockCannotBeMadeGoesOnWithAWarning() throws IOException {
    // XDG_CACHE_HOME below a file (or an unwritable HOME): the lock directory cannot be made.
    Path blocking = Files.writeString(dir.resolve("a-file"), "x");
    Cachemount noLocks = Cachemount.builder().home(dir).env(Map.of("XDG_CACHE_HOME", blocking.resolve("cache").toString())).build();
    client.push(spec("m2", source), listener);
    Path restored = dir.resolve("restored-without-lock");
    assertEquals(Outcome.RESTORED, noLocks.pull(spec("m2", restored), listener).result());
    assertEquals(TreeListing.of(source), TreeListing.of(restored));
    assertTrue(warnings.stream().anyMatch(w -> w.contains("does not take turns") && w.contains("XDG_CACHE_HOME")), warnings.toString());
  }

  @Test
  void aNameThatCannotBeDecodedIsNeitherStoredNorRemovedByAMirrorPull() throws IOException {
    // U+FFFD is what the JVM gives for bytes it cannot decode (not UTF-8, or any non-ASCII byte in a
    // JVM without a UTF-8 locale): such a name can be neither stored nor told apart, so it is left alone.
    Path tree = Files.createDirectories(dir.resolve("odd-tree"));
    Files.writeString(tree.resolve("plain"), "p");
    Files.writeString(tree.resolve("odd-\uFFFD"), "o");
    client.push(spec("odd", tree), listener);
    assertTrue(warnings.stream().anyMatch(w -> w.contains("odd-\uFFFD cannot be stored")), warnings.toString());
    Path target = Files.createDirectories(dir.resolve("odd-target"));
    Files.writeString(target.resolve("odd-\uFFFD"), "the user's");
    Files.createDirectories(target.resolve("dir-\uFFFD"));
    Files.writeString(target.resolve("extra"), "goes");
    OperationResult mirrored = client.pull(client.parseSpec("id=odd,dir=" + store + ",target=" + target + ",mode=mirror"), listener);
    assertEquals(1L, mirrored.removed());
    assertEquals("the user's", Files.readString(target.resolve("odd-\uFFFD")));
    assertTrue(Files.isDirectory(target.resolve("dir-\uFFFD")));
    assertTrue(warnings.stream().anyMatch(w -> w.contains("mode=mirror leaves it alone")), warnings.toString());
  }

  @Test
  void aMirrorPullKeepsWhatAKilledPullMovedAsideAndDropsWhatItMovedAsideItself() throws IOException {
    Path tree = Files.createDirectories(dir.resolve("aside-tree/d"));
    Files.writeString(tree.resolve("f"), "f");
    client.push(spec("aside", tree.getParent()), listener);
    Path target = Files.createDirectories(dir.resolve("aside-target"));
    Files.writeString(target.resolve(".cachemount-tmp-aside-1f2e"), "the user's file a killed pull moved aside");
    Files.writeString(target.resolve("d"), "a file where the snapshot has a directory: this pull moves it aside");
    warnings.clear();
    client.pull(client.parseSpec("id=aside,dir=" + store + ",target=" + target + ",mode=mirror"), listener);
    assertEquals("f", Files.readString(target.resolve("d/f")));
    assertEquals("the user's file a killed pull moved aside", Files.readString(target.resolve(".cachemount-tmp-aside-1f2e")));
    try (Stream<Path> left = Files.list(target)) {
      assertEquals(List.of(".cachemount-tmp-aside-1f2e", "d"), left.map(p -> p.getFileName().toString()).sorted().toList(),
          "this pull's own aside is gone once it completed");
    }
    assertEquals(1, warnings.stream().filter(w -> w.contains("killed pull moved aside")).count(), warnings.toString());
  }

  @Test
  void aPullRemovesTheTemporaryFilesAKilledPullLeftOnceTheyAreAnHourOld() throws IOException {
    Path target = pulledWithALeftover("left-target");
    Path leftover = target.resolve(LEFTOVER);
    Path aside = Files.writeString(target.resolve(".cachemount-tmp-aside-99"), "the user's");
    Files.createDirectories(target.resolve(".cachemount-tmp-5e6f/half-copied")); // never removed, so never promised
    // Just written: it may be another process's work in progress, so it stays, and the pull says so
    // (it was silent: a SIGKILLed pull's files stayed unnoticed); a miss says nothing of it.
    warnings.clear();
    client.pull(spec("none", target), listener);
    assertEquals(List.of(), warnings);
    client.pull(spec("m2", target), listener);
    assertTrue(Files.exists(leftover));
    assertTrue(warnings.stream().anyMatch(w -> w.contains("1 temporary file of an interrupted pull (.cachemount-tmp-*) stays in " + target) && w.contains("an hour")),
        warnings.toString());
    // Two hours later, by the clock the pull goes by: a leftover, removed; the aside is the user's.
    Cachemount later = Cachemount.builder().home(dir).env(Map.of())
        .clock(java.time.Clock.offset(java.time.Clock.systemUTC(), java.time.Duration.ofHours(2))).build();
    warnings.clear();
    assertEquals(Outcome.RESTORED, later.pull(spec("m2", target), listener).result());
    assertFalse(Files.exists(leftover), "a killed pull's temporary file went");
    assertTrue(Files.exists(aside));
    assertTrue(warnings.stream().noneMatch(w -> w.contains("temporary file")), warnings.toString());
  }

  /**
   * A mode=mirror pull removed a young temporary file as an extra of the target, while it told that the
   * file stays (it may be another process's pull in progress): found by CrashConsistencyIT, SIGKILLing
   * pulls. The pull's rule for leftovers decides alone, in mirror mode too.
   */
  @Test
  void aMirrorPullKeepsTheYoungTemporaryFilesItSaysStay() throws IOException {
    Path target = pulledWithALeftover("mirror-left-target");
    Path leftover = target.resolve(LEFTOVER);
    Path extra = Files.writeString(target.resolve("org/extra"), "not in the snapshot");
    try (Stream<Path> files = Files.walk(target)) {
      Files.delete(files.filter(p -> Files.isRegularFile(p) && !p.equals(leftover) && !p.equals(extra)).findFirst().orElseThrow());
    }
    warnings.clear();
    OperationResult mirrored = client.pull(client.parseSpec("id=m2,dir=" + store + ",target=" + target + ",mode=mirror"), listener);
    assertEquals(Outcome.RESTORED, mirrored.result());
    assertFalse(Files.exists(extra), "an extra of the target went");
    assertTrue(warnings.stream().anyMatch(w -> w.contains("1 temporary file of an interrupted pull (.cachemount-tmp-*) stays in " + target)), warnings.toString());
    assertTrue(Files.exists(leftover), "the temporary file the pull said stays is there");
  }

  /**
   * A mode=mirror pull that does not scan the target first (verify=content reads every file instead)
   * left an hour-old temporary file of a killed pull in place for good, and said nothing of it: the
   * mirror step left it to the scan's rule for leftovers, which did not run. It removed such files
   * before c574ded, as extras of the target.
   */
  @Test
  void aMirrorPullThatDoesNotScanTheTargetStillRemovesTheTemporaryFilesOfAKilledPullOnceTheyAreAnHourOld() throws IOException {
    Path target = pulledWithALeftover("mirror-verify-target");
    Path leftover = target.resolve(LEFTOVER);
    Cachemount later = Cachemount.builder().home(dir).env(Map.of())
        .clock(java.time.Clock.offset(java.time.Clock.systemUTC(), java.time.Duration.ofHours(2))).build();
    warnings.clear();
    OperationResult mirrored = later.pull(later.parseSpec("id=m2,dir=" + store + ",target=" + target + ",mode=mirror,verify=content"), listener);
    assertEquals(Outcome.RESTORED, mirrored.result());
    assertFalse(Files.exists(leftover), "a killed pull's temporary file, two hours old, went");
    assertTrue(warnings.stream().noneMatch(w -> w.contains("temporary file")), warnings.toString());
    // "removed" counts the snapshot's extras, as a pull that scans first does: there were none.
    assertEquals(0L, mirrored.removed(), "the leftover is not an extra of the target");
  }

  /**
   * The same pull, the temporary file just written: it stays (it may be another process's pull in
   * progress), and the pull says so, as a pull that scans the target does.
   */
  @Test
  void aMirrorPullThatDoesNotScanTheTargetKeepsAndTellsOfTheYoungTemporaryFiles() throws IOException {
    Path target = pulledWithALeftover("mirror-verify-young-target");
    Path leftover = target.resolve(LEFTOVER);
    warnings.clear();
    OperationResult mirrored = client.pull(client.parseSpec("id=m2,dir=" + store + ",target=" + target + ",mode=mirror,verify=content"), listener);
    assertEquals(Outcome.RESTORED, mirrored.result());
    assertTrue(Files.exists(leftover));
    assertEquals(1, warnings.stream().filter(w -> w.contains("1 temporary file of an interrupted pull (.cachemount-tmp-*) stays in " + target)).count(),
        warnings.toString());
    // One that scans first finds it twice (its scan, its mirror step), and tells of it once.
    warnings.clear();
    client.pull(client.parseSpec("id=m2,dir=" + store + ",target=" + target + ",mode=mirror"), listener);
    assertTrue(Files.exists(leftover));
    assertEquals(1, warnings.stream().filter(w -> w.contains("temporary file")).count(), warnings.toString());
  }

  /**
   * A SIGKILLed pull's temporary files stayed, told of as "may be another process's pull in progress",
   * for an hour after the kill, and every push warned of each of them meanwhile. A pull's files carry
   * the token of its marker in the target's root, which it holds locked while it runs: a marker no
   * process holds (or none at all) says the files' writer was killed, and they go at once. Files
   * without a token (an older version's) keep the rule of age.
   */
  @Test
  void theTemporaryFilesOfAPullWhoseMarkerNoProcessHoldsGoAtOnce() throws IOException {
    Path target = pulledWithALeftover("killed-marker-target");
    Path marker = Files.writeString(target.resolve(".cachemount-tmp-0badcafe.pull"), ""); // what SIGKILL leaves: not locked
    Path temp = Files.writeString(target.resolve("org/.cachemount-tmp-0badcafe-0000001"), "half a file");
    // No marker above it: maybe one above a mount this path came through, so its age decides.
    Path orphan = Files.writeString(target.resolve(".cachemount-tmp-0badbeef-00000a2"), "its marker is not to be found");
    warnings.clear();
    assertEquals(Outcome.RESTORED, client.pull(spec("m2", target), listener).result());
    assertFalse(Files.exists(temp), "the killed pull's temporary file went at once");
    assertFalse(Files.exists(marker), "and its marker, after it");
    assertTrue(Files.exists(orphan));
    assertTrue(Files.exists(target.resolve(LEFTOVER)), "one without a token is judged by its age");
    assertEquals(1, warnings.stream().filter(w -> w.contains("2 temporary files of an interrupted pull")).count(), warnings.toString());
  }

  @Test
  void theTemporaryFilesOfAPullWhoseMarkerAnotherProcessHoldsStayAndAreToldOf() throws IOException {
    client.push(spec("m2", source), listener);
    Path target = dir.resolve("live-marker-target");
    client.pull(spec("m2", target), listener);
    Path marker = target.resolve(".cachemount-tmp-0ddba115.pull");
    Path temp = Files.writeString(target.resolve("org/.cachemount-tmp-0ddba115-0000003"), "being written");
    try (dev.cachemount.core.testing.LockHoldingProcess running = dev.cachemount.core.testing.LockHoldingProcess.holding(marker)) {
      warnings.clear();
      client.pull(spec("m2", target), listener);
      assertTrue(Files.exists(temp), "another process's pull in progress keeps its file");
      assertTrue(Files.exists(marker));
      assertEquals(1, warnings.stream().filter(w -> w.contains("1 temporary file of an interrupted pull")).count(), "its marker not counted: "
          + warnings);
      Cachemount later = Cachemount.builder().home(dir).env(Map.of())
          .clock(java.time.Clock.offset(java.time.Clock.systemUTC(), java.time.Duration.ofHours(2))).build();
      later.pull(spec("m2", target), listener);
      assertTrue(Files.exists(temp), "however old: a locked marker says its writer runs");
    }
    warnings.clear();
    client.pull(spec("m2", target), listener);
    assertFalse(Files.exists(temp), "once that process ended, its files go");
    assertFalse(Files.exists(marker));
    assertTrue(warnings.stream().noneMatch(w -> w.contains("temporary file")), warnings.toString());
  }

  @Test
  void aPushRemovesTheTemporaryFilesOfAKilledPullAndWarnsOfNone() throws IOException {
    Path target = pulledWithALeftover("push-killed-marker-target");
    Files.delete(target.resolve(LEFTOVER));
    Path marker = Files.writeString(target.resolve(".cachemount-tmp-5ca1ab1e.pull"), "");
    Path temp = Files.writeString(target.resolve("org/.cachemount-tmp-5ca1ab1e-1234567"), "half a file");
    warnings.clear();
    client.push(spec("again", target), listener);
    assertFalse(Files.exists(temp));
    assertFalse(Files.exists(marker));
    assertTrue(warnings.stream().noneMatch(w -> w.contains("temporary file")), warnings.toString());
    Path back = dir.resolve("push-killed-marker-back");
    client.pull(spec("again", back), listener);
    // org's time is the one the test's writes gave it
    assertEquals(TreeListing.of(source, "org"::equals), TreeListing.of(back, "org"::equals), "the snapshot holds the tree, not the leftovers");
  }

  /**
   * A push of a directory that a pull (of another lock directory) was still writing into called the
   * pull's temporary files, and its marker, those "of an interrupted pull" and "safe to delete": whoever
   * deleted them broke the running pull. They are told as a running pull's, and the push says to wait.
   */
  @Test
  void aPushTellsOfTheTemporaryFilesOfAPullStillWritingIntoTheDirectoryAndDoesNotCallThemSafeToDelete() throws IOException {
    Path target = pulledWithALeftover("push-live-marker-target");
    Files.delete(target.resolve(LEFTOVER));
    Path marker = target.resolve(".cachemount-tmp-0ddba116.pull");
    Path temp = Files.writeString(target.resolve("org/.cachemount-tmp-0ddba116-0000004"), "being written");
    try (dev.cachemount.core.testing.LockHoldingProcess running = dev.cachemount.core.testing.LockHoldingProcess.holding(marker)) {
      warnings.clear();
      assertEquals(Outcome.PUSHED, client.push(spec("while-pulled", target), listener).result());
      assertTrue(Files.exists(temp), "a running pull's file stays");
      assertTrue(Files.exists(marker));
      assertTrue(warnings.stream().noneMatch(w -> w.contains("safe to delete")), warnings.toString());
      assertEquals(2, warnings.stream().filter(w -> w.contains("is a temporary file of a pull that is still writing into this directory")
          && w.contains("push once the pull is done")).count(), "the file and the marker: " + warnings);
    }
    warnings.clear();
    client.push(spec("while-pulled", target), listener);
    assertFalse(Files.exists(temp), "once that pull ended (killed: its marker is not held), the next push removes its file");
    assertTrue(warnings.stream().noneMatch(w -> w.contains("temporary file")), warnings.toString());
  }

  /**
   * The push that removes a killed pull's temporary file from a directory records that directory's
   * time as its scan saw it, before the deletion changed it: the next push, of a tree nobody
   * touched, finds the directory changed and stores a new snapshot.
   */
  @Test
  void aPushAfterThePushThatRemovedAKilledPullsFilesIsUnchanged() throws IOException {
    Path target = pulledWithALeftover("push-killed-then-unchanged");
    Files.delete(target.resolve(LEFTOVER));
    Files.writeString(target.resolve(".cachemount-tmp-5ca1ab1f.pull"), "");
    Path temp = Files.writeString(target.resolve("org/.cachemount-tmp-5ca1ab1f-1234567"), "half a file");
    assertEquals(Outcome.PUSHED, client.push(spec("again2", target), listener).result());
    assertFalse(Files.exists(temp));
    assertEquals(Outcome.UNCHANGED, client.push(spec("again2", target), listener).result(),
        "nothing changed in the tree since the push before");
  }

  /** A pull that writes leaves no marker and no temporary file behind, in the root or below it. */
  @Test
  void aPullThatWroteLeavesNoMarker() throws IOException {
    client.push(spec("m2", source), listener);
    Path target = dir.resolve("no-marker-target");
    client.pull(spec("m2", target), listener);
    try (Stream<Path> all = Files.walk(target)) {
      assertEquals(List.of(), all.filter(p -> p.getFileName().toString().startsWith(".cachemount-tmp-")).toList());
    }
  }

  /** Where {@link #pulledWithALeftover} puts the temporary file, in the target. */
  private static final String LEFTOVER = "org/.cachemount-tmp-3c1d";

  /** The source pushed and pulled into {@code name}, with half a file a killed pull left there just now. */
  private Path pulledWithALeftover(String name) throws IOException {
    client.push(spec("m2", source), listener);
    Path target = dir.resolve(name);
    client.pull(spec("m2", target), listener);
    Files.writeString(target.resolve(LEFTOVER), "half a file");
    return target;
  }

  @Test
  void pushForceRepairsADamagedPackThatAnUnchangedTreeWouldKeep() throws IOException {
    // One worker packs deterministically: the repair writes a pack with the very digest of the damaged one.
    Cachemount single = Cachemount.builder().home(dir).env(Map.of()).workers(1).packTarget(256 * 1024).build();
    single.push(spec("m2", source), listener);
    Path pack = largestBlob();
    byte[] bytes = Files.readAllBytes(pack);
    bytes[bytes.length / 2] ^= 0x08;
    Files.write(pack, bytes);
    CachemountException broken = assertThrows(CachemountException.class, () -> single.pull(spec("m2", dir.resolve("r1")), listener));
    assertEquals(FailureKind.INTEGRITY, broken.kind());
    assertTrue(broken.getMessage().contains("push --force"), broken.getMessage());

    assertEquals(Outcome.UNCHANGED, single.push(spec("m2", source), listener).result(), "without --force the tree is unchanged");
    OperationResult forced = single.push(spec("m2", source), new PushOptions(true), listener);
    assertEquals(Outcome.PUSHED, forced.result());
    assertTrue(warnings.stream().anyMatch(w -> w.contains("is damaged")), warnings.toString());
    assertPullsBack(single, "m2", source, "r2");
  }

  @Test
  void aSnapshotWhosePackIsGoneIsReplacedByTheNextPush() throws IOException {
    client.push(spec("m2", source), listener);
    Files.delete(largestBlob());
    OperationResult second = client.push(spec("m2", source), listener);
    assertEquals(Outcome.PUSHED, second.result());
    assertTrue(warnings.stream().anyMatch(w -> w.contains("lacks pack")), warnings.toString());
    assertPullsBack(client, "m2", source, "restored");
  }

  @Test
  void aSnapshotWhosePackWasCutShortIsReplacedByTheNextPushWithoutForce() throws IOException {
    client.push(spec("m2", source), listener);
    Path pack = largestBlob();
    long size = Files.size(pack);
    try (java.nio.channels.FileChannel channel = java.nio.channels.FileChannel.open(pack, java.nio.file.StandardOpenOption.WRITE)) {
      channel.truncate(size / 2); // a disk that filled up under a copy of the store, say
    }
    OperationResult second = client.push(spec("m2", source), listener);
    assertEquals(Outcome.PUSHED, second.result(), "not unchanged: the stored snapshot's pack is cut short");
    assertTrue(warnings.stream().anyMatch(w -> w.contains("or holds it cut short")), warnings.toString());
    assertEquals(size, Files.size(pack), "the damaged copy was replaced by a whole one");
    assertPullsBack(client, "m2", source, "restored");
  }

  /** A client whose store keeps the indexes it reads and writes in {@code copies}, as a registry store does. */
  private Cachemount keepingIndexesIn(IndexCache copies) {
    return Cachemount.builder().home(dir).env(Map.of())
        .stores((spec, defaultDir, l) -> new ForwardingStore(new LayoutStore(store)) {
          @Override
          public IndexCache indexCache() {
            return copies;
          }
        }).build();
  }

  /** The index layer of the snapshot the store's tag {@code tag} names. */
  private Descriptor indexLayerOf(String tag) throws IOException {
    try (LayoutStore layout = new LayoutStore(store)) {
      return Json.readManifest(layout.fetchManifest(tag).orElseThrow().bytes(), "manifest").layers().get(0);
    }
  }

  @Test
  void aSnapshotWhoseIndexIsGoneIsReplacedEvenWhenThisMachineKeepsACopyOfIt() throws IOException {
    IndexCache copies = IndexCache.at(dir.resolve("indexes"));
    Cachemount keeping = keepingIndexesIn(copies);
    keeping.push(spec("m2", source), listener);
    Descriptor indexLayer = indexLayerOf("m2");
    Digest index = Digest.parse(indexLayer.digest());
    assertTrue(copies.get(index, indexLayer.size()).isPresent(), "the push kept a copy of its index");
    Files.delete(store.resolve("blobs/sha256").resolve(index.hex()));

    OperationResult second = keeping.push(spec("m2", source), listener);
    assertEquals(Outcome.PUSHED, second.result(), "not unchanged: the stored snapshot lacks its index");
    assertTrue(warnings.stream().anyMatch(w -> w.contains("lacks its index")), warnings.toString());
    assertPullsBack(client, "m2", source, "restored");
  }

  @Test
  void aKeptIndexCopyThatNoLongerMatchesItsDigestIsNeitherUsedNorKept() throws IOException {
    Cachemount keeping = keepingIndexesIn(IndexCache.at(dir.resolve("indexes")));
    keeping.push(spec("m2", source), listener);
    Digest index = Digest.parse(indexLayerOf("m2").digest());
    Path copy = dir.resolve("indexes").resolve(index.hex());
    byte[] bytes = Files.readAllBytes(copy);
    bytes[bytes.length / 2] ^= 1; // the same size: only its digest tells
    Files.write(copy, bytes);

    assertPullsBack(keeping, "m2", source, "restored");
    assertArrayEquals(Files.readAllBytes(store.resolve("blobs/sha256").resolve(index.hex())), Files.readAllBytes(copy),
        "the copy that did not match was replaced by the index fetched");
  }

  @Test
  void anIndexThatDoesNotMatchItsDigestIsReportedAsSuchEvenWhenItAlsoDoesNotDecode() throws IOException {
    OperationResult pushed = client.push(spec("m2", source), listener);
    ImageManifest m = Json.read(Files.readAllBytes(store.resolve("blobs/sha256/" + Digest.parse(pushed.digest()).hex())), ImageManifest.class, "m");
    Path index = store.resolve("blobs/sha256/" + Digest.parse(m.layers().get(0).digest()).hex());
    Files.write(index, new byte[(int) Files.size(index)]); // not even a zstd frame
    CachemountException e = assertThrows(CachemountException.class, () -> client.pull(spec("m2", dir.resolve("t")), listener));
    assertEquals(FailureKind.INTEGRITY, e.kind());
    assertTrue(e.getMessage().contains("does not match its digest"), e.getMessage());
  }

  @Test
  void aConfigWithoutItsFieldsIsCorruptNotACrash() throws IOException {
    LayoutStore layout = new LayoutStore(store);
    byte[] config = "{\"formatVersion\":1}".getBytes(StandardCharsets.UTF_8);
    byte[] index = dev.cachemount.core.index.IndexCodec.encode(new dev.cachemount.core.index.SnapshotIndex.Builder().build(), 3);
    layout.putBlob(Digest.of(config), config);
    layout.putBlob(Digest.of(index), index);
    ImageManifest m = new ImageManifest(2, MediaTypes.OCI_MANIFEST, MediaTypes.SNAPSHOT_ARTIFACT,
        Descriptor.of(MediaTypes.SNAPSHOT_CONFIG, Digest.of(config), config.length),
        List.of(Descriptor.of(MediaTypes.SNAPSHOT_INDEX, Digest.of(index), index.length)), null);
    layout.putManifest("m2", ManifestBytes.of(MediaTypes.OCI_MANIFEST, Json.write(m)));

    CachemountException e = assertThrows(CachemountException.class, () -> client.pull(spec("m2", dir.resolve("t")), listener));
    assertEquals(FailureKind.INTEGRITY, e.kind());
    assertTrue(e.getMessage().contains("lacks its 'created' field"), e.getMessage());
    assertEquals(Outcome.PUSHED, client.push(spec("m2", source), listener).result(), "a push replaces the corrupt snapshot");
  }

  @Test
  void theSnapshotATagNamedUntilNowSurvivesTheGracePeriod() throws IOException {
    MutableClock clock = new MutableClock(Instant.parse("2030-01-01T00:00:00Z"));
    Cachemount timed = Cachemount.builder().home(dir).env(Map.of()).clock(clock).build();
    OperationResult first = timed.push(spec("m2", source), listener);
    Set<Path> firstBlobs = blobs();
    clock.now = clock.now.plus(java.time.Duration.ofHours(5));
    Files.writeString(source.resolve("org/example/group0/1.0/artifact-1.0.pom"), "changed\n");
    timed.push(spec("m2", source), listener);
    assertTrue(blobs().containsAll(firstBlobs), "a pull that began before the tag moved can still read the old snapshot");
    assertTrue(Files.exists(store.resolve("blobs/sha256/" + Digest.parse(first.digest()).hex())));

    clock.now = clock.now.plus(java.time.Duration.ofHours(5));
    Files.writeString(source.resolve("org/example/group0/1.0/artifact-1.0.pom"), "changed again\n");
    timed.push(spec("m2", source), listener);
    assertFalse(Files.exists(store.resolve("blobs/sha256/" + Digest.parse(first.digest()).hex())), "collected after the grace period");
  }

  @Test
  void aPullWhoseSnapshotIsReplacedAndCollectedMidwayPullsTheNewOne() throws IOException {
    client.push(spec("m2", source), listener);
    Path changedTree = dir.resolve("changed");
    TestTrees.smallFiles(changedTree, 10, 77);
    // A store whose big packs vanish as soon as a pull starts reading them, after another push moved the tag.
    Cachemount racing = Cachemount.builder().home(dir).env(Map.of()).stores((s, d, l) -> new ForwardingStore(new LayoutStore(store)) {
      @Override
      public java.io.InputStream openBlob(Digest digest, long size) throws IOException {
        if (size > 100_000) {
          client.push(spec("m2", changedTree), listener);
          Files.deleteIfExists(store.resolve("blobs/sha256/" + digest.hex()));
        }
        return super.openBlob(digest, size);
      }
    }).build();
    Path target = dir.resolve("t");
    OperationResult pulled = racing.pull(spec("m2", target), listener);
    assertEquals(Outcome.RESTORED, pulled.result());
    assertEquals(new LayoutStore(store).fetchManifest("m2").orElseThrow().digest().toString(), pulled.digest());
    assertTrue(warnings.stream().anyMatch(w -> w.contains("was replaced by a push while this pull read it")), warnings.toString());
    assertTrue(TreeListing.of(target).containsAll(TreeListing.of(changedTree)), "the new snapshot is restored in full");
  }

  @Test
  void aPullWhoseSnapshotIsReplacedTwiceGivesUpWithAnOperationalError() throws IOException {
    client.push(spec("m2", source), listener);
    Path other = dir.resolve("other");
    TestTrees.mixed(other, 43);
    int[] pushes = {0};
    Cachemount racing = Cachemount.builder().home(dir).env(Map.of()).stores((s, d, l) -> new ForwardingStore(new LayoutStore(store)) {
      @Override
      public java.io.InputStream openBlob(Digest digest, long size) throws IOException {
        if (size > 100_000) {
          client.push(spec("m2", pushes[0]++ % 2 == 0 ? other : source), new PushOptions(true), listener);
          Files.deleteIfExists(store.resolve("blobs/sha256/" + digest.hex()));
        }
        return super.openBlob(digest, size);
      }
    }).build();
    CachemountException e = assertThrows(CachemountException.class, () -> racing.pull(spec("m2", dir.resolve("t")), listener));
    assertEquals(FailureKind.OPERATIONAL, e.kind(), e.getMessage());
    assertTrue(e.getMessage().contains("replaced by pushes twice"), e.getMessage());
  }

  @Test
  void aPullWhoseSnapshotIsDeletedMidwayFailsSayingSoNotAsAMiss() throws IOException {
    client.push(spec("m2", source), listener);
    boolean[] deleted = {false};
    Cachemount racing = Cachemount.builder().home(dir).env(Map.of()).stores((s, d, l) -> new ForwardingStore(new LayoutStore(store)) {
      @Override
      public java.util.Optional<ManifestBytes> fetchManifest(String reference) throws IOException {
        return deleted[0] ? java.util.Optional.empty() : super.fetchManifest(reference);
      }

      @Override
      public java.io.InputStream openBlob(Digest digest, long size) throws IOException {
        if (size > 100_000) {
          deleted[0] = true; // the tag is gone, and the pack with it
          Files.deleteIfExists(store.resolve("blobs/sha256/" + digest.hex()));
        }
        return super.openBlob(digest, size);
      }
    }).build();
    CachemountException e = assertThrows(CachemountException.class, () -> racing.pull(spec("m2", dir.resolve("t")), listener));
    assertEquals(FailureKind.OPERATIONAL, e.kind(), e.getMessage());
    assertTrue(e.getMessage().contains("was deleted while this pull read it"), e.getMessage());
  }

  /**
   * A prune of another job removes the tag a pull is reading, and collects its blobs: the pull said
   * "replaced by a push ...; pulling the new one" before it failed, though no push had stored anything.
   */
  @Test
  void aPullWhoseTagAPruneRemovesMidwaySaysSoWithoutClaimingAPushReplacedIt() throws IOException {
    OperationResult pushed = client.push(spec("m2", source), listener);
    boolean[] pruned = {false};
    Cachemount racing = Cachemount.builder().home(dir).env(Map.of()).stores((s, d, l) -> new ForwardingStore(new LayoutStore(store)) {
      @Override
      public java.io.InputStream openBlob(Digest digest, long size) throws IOException {
        if (size > 100_000 && !pruned[0]) {
          pruned[0] = true;
          // The prune's store, two hours on: the snapshot's blobs are past their grace period.
          new LayoutStore(store, LayoutStore.DEFAULT_GRACE, java.time.Clock.offset(java.time.Clock.systemUTC(), java.time.Duration.ofHours(2)),
              w -> { }).removeTags(Map.of("m2", Digest.parse(pushed.digest())));
        }
        return super.openBlob(digest, size);
      }
    }).build();
    CachemountException e = assertThrows(CachemountException.class, () -> racing.pull(spec("m2", dir.resolve("t")), listener));
    assertTrue(pruned[0], "the prune ran");
    assertEquals(FailureKind.OPERATIONAL, e.kind(), e.getMessage());
    assertTrue(warnings.stream().noneMatch(w -> w.contains("replaced by a push")), warnings.toString());
    assertTrue(e.getMessage().contains("was deleted while this pull read it (its tag is gone: a prune removed it"), e.getMessage());
  }

  @Test
  void concurrentFirstPushesToOneNewStoreAllSucceed() throws Exception {
    java.util.concurrent.ExecutorService pool = java.util.concurrent.Executors.newFixedThreadPool(6);
    try {
      List<java.util.concurrent.Future<OperationResult>> futures = new ArrayList<>();
      for (int i = 0; i < 6; i++) {
        String id = "id" + i;
        futures.add(pool.submit(() -> client.push(spec(id, source), listener)));
      }
      for (java.util.concurrent.Future<OperationResult> f : futures) {
        assertEquals(Outcome.PUSHED, f.get().result());
      }
    } finally {
      pool.shutdownNow();
    }
    for (int i = 0; i < 6; i++) {
      Path restored = dir.resolve("r" + i);
      client.pull(spec("id" + i, restored), listener);
      assertEquals(TreeListing.of(source), TreeListing.of(restored));
    }
  }

  @Test
  void leftoversOfAnInterruptedPullAreNotSnapshotted() throws IOException {
    Files.writeString(source.resolve(".cachemount-tmp-1234abcd"), "half a file");
    client.push(spec("m2", source), listener);
    assertTrue(warnings.stream().anyMatch(w -> w.contains(".cachemount-tmp-1234abcd")), warnings.toString());
    Path restored = dir.resolve("restored");
    client.pull(spec("m2", restored), listener);
    assertEquals(TreeListing.of(source, p -> p.startsWith(".cachemount-tmp-")), TreeListing.of(restored));
  }

  @Test
  void aPushRightAfterTheLastReadsOnlyTheRacyFilesAndPacksNothing() throws IOException {
    Path tree = dir.resolve("racy-tree");
    TestTrees.smallFiles(tree, 40, 5);
    Instant now = Instant.now();
    Cachemount stopped = clientStoppedAt(now);
    setAllTimes(tree, now.minusSeconds(1)); // racy, but for those of 00:
    Path old = tree.resolve("00");
    try (Stream<Path> files = Files.list(old)) {
      for (Path f : (Iterable<Path>) files::iterator) {
        Files.setLastModifiedTime(f, FileTime.from(Instant.parse("2020-01-01T00:00:00Z")));
      }
    }
    List<String> info = Collections.synchronizedList(new ArrayList<>());
    OperationListener verbose = new OperationListener() {
      @Override
      public void info(String message) {
        info.add(message);
      }
    };
    stopped.push(spec("racy", tree), verbose);
    info.clear();
    OperationResult again = stopped.push(spec("racy", tree), verbose);
    assertEquals(Outcome.UNCHANGED, again.result());
    long racy;
    try (Stream<Path> all = Files.walk(tree)) {
      racy = all.filter(Files::isRegularFile).filter(f -> !f.startsWith(old)).count();
    }
    assertTrue(racy > 0 && racy < 40);
    assertTrue(info.stream().anyMatch(m -> m.contains("read " + racy + " files modified close to")), info.toString());
    assertFalse(info.stream().anyMatch(m -> m.contains("packed")), "nothing was packed: " + info);
  }

  @Test
  void aPullNeverWritesIntoTheStoreItReadsFrom() throws IOException {
    Path target = dir.resolve("home-cache");
    Path inside = target.resolve("cachemount/store");
    // A snapshot (pushed from elsewhere) that holds entries where the store lies in the pull's target.
    Path elsewhere = dir.resolve("elsewhere");
    Files.createDirectories(elsewhere.resolve("cachemount/store"));
    Files.writeString(elsewhere.resolve("cachemount/store/index.json"), "not an index");
    Files.writeString(elsewhere.resolve("kept.txt"), "kept");
    client.push(CacheSpec.local("home", inside, elsewhere), listener);

    client.pull(CacheSpec.local("home", inside, target), listener);
    String kept = inside.toRealPath().toString();
    assertTrue(warnings.stream().anyMatch(w -> w.contains("entries of the snapshot lie inside " + kept)), warnings.toString());
    assertEquals("kept", Files.readString(target.resolve("kept.txt")));
    assertEquals(Outcome.RESTORED, client.pull(CacheSpec.local("home", inside, dir.resolve("again")), listener).result(), "the store is intact");

    CachemountException same = assertThrows(CachemountException.class, () -> client.pull(CacheSpec.local("home", inside, inside), listener));
    assertEquals(FailureKind.USAGE, same.kind());
    CachemountException below = assertThrows(CachemountException.class,
        () -> client.pull(CacheSpec.local("home", inside, inside.resolve("blobs")), listener));
    assertEquals(FailureKind.USAGE, below.kind());
  }

  @Test
  void noPullRemovesTheStoreThatLiesInsideItsTarget() throws IOException {
    // mode=mirror: the directories above the store are not in the snapshot, and are kept.
    Path target = dir.resolve("mirror-target");
    Path inside = target.resolve(".cache/store");
    Path tree = dir.resolve("mirror-tree");
    Files.createDirectories(tree);
    Files.writeString(tree.resolve("a"), "a");
    client.push(CacheSpec.local("m", inside, tree), listener);
    Files.writeString(target.resolve("extra"), "extra");
    client.pull(client.parseSpec("id=m,dir=" + inside + ",target=" + target + ",mode=mirror"), listener);
    assertFalse(Files.exists(target.resolve("extra")), "mirror removes what the snapshot lacks");
    assertEquals(Outcome.RESTORED, client.pull(CacheSpec.local("m", inside, dir.resolve("mirror-again")), listener).result(), "the store is intact");

    // A file in the snapshot where a directory above the store is: left out, not put in the store's place.
    Path target2 = dir.resolve("file-target");
    Path inside2 = target2.resolve("cache/store");
    Path tree2 = dir.resolve("file-tree");
    Files.createDirectories(tree2);
    Files.writeString(tree2.resolve("cache"), "a file named like the store's parent");
    client.push(CacheSpec.local("f", inside2, tree2), listener);
    warnings.clear();
    client.pull(CacheSpec.local("f", inside2, target2), listener);
    assertTrue(Files.isDirectory(target2.resolve("cache")), "the store's parent stays a directory");
    String kept = inside2.toRealPath().toString();
    assertTrue(warnings.stream().anyMatch(w -> w.contains("entries of the snapshot lie inside " + kept)), warnings.toString());
    assertEquals(Outcome.RESTORED, client.pull(CacheSpec.local("f", inside2, dir.resolve("file-again")), listener).result(), "the store is intact");

    // A target inside the store is refused whether or not it exists yet.
    CachemountException notYet = assertThrows(CachemountException.class,
        () -> client.pull(CacheSpec.local("f", inside2, inside2.resolve("blobs/sha256/new")), listener));
    assertEquals(FailureKind.USAGE, notYet.kind());
    assertFalse(Files.exists(inside2.resolve("blobs/sha256/new")));
  }

  // ------------------------------------------------------------------ helpers

  private List<String> storeListing() throws IOException {
    List<String> lines = new ArrayList<>();
    try (Stream<Path> walk = Files.walk(store)) {
      for (Path p : (Iterable<Path>) walk::iterator) {
        if (Files.isRegularFile(p)) {
          lines.add(store.relativize(p) + " " + Files.getLastModifiedTime(p) + " " + Files.size(p));
        }
      }
    }
    lines.sort(null);
    return lines;
  }

  private long storeBlobBytes() throws IOException {
    try (Stream<Path> walk = Files.walk(store.resolve("blobs"))) {
      return walk.filter(Files::isRegularFile).mapToLong(p -> p.toFile().length()).sum();
    }
  }

  /** Pulls {@code id} with {@code via} into a new directory and checks it holds exactly {@code expected}. */
  private void assertPullsBack(Cachemount via, String id, Path expected, String name) throws IOException {
    Path restored = dir.resolve(name);
    assertEquals(Outcome.RESTORED, via.pull(spec(id, restored), listener).result());
    assertEquals(TreeListing.of(expected), TreeListing.of(restored));
  }

  private Set<Path> blobs() throws IOException {
    try (Stream<Path> list = Files.list(store.resolve("blobs/sha256"))) {
      return list.collect(java.util.stream.Collectors.toSet());
    }
  }

  private Path largestBlob() throws IOException {
    try (Stream<Path> walk = Files.list(store.resolve("blobs/sha256"))) {
      return walk.max(java.util.Comparator.comparingLong(p -> p.toFile().length())).orElseThrow();
    }
  }

  private static List<Path> leftovers(Path target) throws IOException {
    if (!Files.exists(target)) {
      return List.of();
    }
    try (Stream<Path> walk = Files.walk(target)) {
      return walk.filter(p -> p.getFileName().toString().startsWith(".cachemount")).toList();
    }
  }

  private static void changeContentKeepingSizeAndTime(Path file) throws IOException {
    byte[] content = Files.readAllBytes(file);
    content[0] ^= 1;
    FileTime time = Files.getLastModifiedTime(file);
    Files.write(file, content);
    Files.setLastModifiedTime(file, time);
  }

  private static Path firstFile(Path tree) throws IOException {
    try (Stream<Path> walk = Files.walk(tree)) {
      return walk.filter(Files::isRegularFile).sorted().findFirst().orElseThrow();
    }
  }

  private static void setAllTimes(Path tree, Instant t) throws IOException {
    try (Stream<Path> walk = Files.walk(tree)) {
      for (Path p : (Iterable<Path>) walk::iterator) {
        Files.setLastModifiedTime(p, FileTime.from(t));
      }
    }
  }

  @Test
  void storedManifestIsTheOneSkopeoWouldRead() throws IOException {
    OperationResult pushed = client.push(spec("m2", source), listener);
    byte[] manifest = Files.readAllBytes(store.resolve("blobs/sha256/" + Digest.parse(pushed.digest()).hex()));
    ImageManifest m = Json.read(manifest, ImageManifest.class, "manifest");
    assertEquals(2, m.schemaVersion());
    assertEquals(MediaTypes.OCI_MANIFEST, m.mediaType());
    assertEquals(MediaTypes.SNAPSHOT_ARTIFACT, m.artifactType());
    assertEquals(MediaTypes.SNAPSHOT_CONFIG, m.config().mediaType());
    assertEquals(MediaTypes.SNAPSHOT_INDEX, m.layers().get(0).mediaType());
    assertTrue(m.layers().size() > 2, "several packs");
    m.layers().subList(1, m.layers().size()).forEach(l -> assertEquals(MediaTypes.SNAPSHOT_PACK, l.mediaType()));
    assertTrue(m.annotations().containsKey(MediaTypes.CREATED));
    for (Descriptor d : m.layers()) {
      byte[] blob = Files.readAllBytes(store.resolve("blobs/sha256/" + Digest.parse(d.digest()).hex()));
      assertEquals(d.size(), blob.length);
      assertArrayEquals(Digest.parse(d.digest()).toRaw(), Digest.of(blob).toRaw());
    }
  }
}
