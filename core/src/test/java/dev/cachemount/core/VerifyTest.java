package dev.cachemount.core;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.cachemount.core.testing.TestTrees;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code verify}: every pack of a stored snapshot read as a pull would, every chunk checked, nothing
 * written; a damaged or missing pack is an integrity failure that names each such pack and the files
 * that need it, and says what to do. The store here is a directory store, whose blobs a test can damage.
 */
class VerifyTest {
  @TempDir Path dir;
  private Path tree;
  private Path store;
  private Cachemount client;
  private SnapshotSummary stored;

  @BeforeEach
  void aSnapshotOfSeveralPacks() throws IOException {
    tree = dir.resolve("tree");
    TestTrees.mixed(tree, 6);
    store = dir.resolve("store");
    // Small packs, so that the tree makes several and one damaged pack leaves others whole.
    client = Cachemount.builder().home(dir).env(Map.of()).packTarget(64 * 1024).build();
    client.push(spec(tree), OperationListener.NONE);
    stored = client.inspect(spec(null)).orElseThrow();
    assertTrue(stored.packs().size() >= 3, "packs: " + stored.packs().size());
  }

  private CacheSpec spec(Path target) {
    return CacheSpec.local("c", store, target);
  }

  private Path blob(String digest) {
    return store.resolve("blobs/sha256").resolve(digest.substring("sha256:".length()));
  }

  @Test
  void aWholeSnapshotIsVerifiedChunkByChunkAndNothingIsWritten() throws IOException {
    Verification v = client.verify(spec(null), OperationListener.NONE).orElseThrow();
    assertEquals(stored.digest(), v.digest());
    assertEquals(stored.packs().size(), v.packs());
    assertEquals(stored.config().counts().files(), v.files());
    assertTrue(v.chunks() > 0 && v.frames() > 0, v.toString());
    long packBytes = stored.packs().stream().mapToLong(SnapshotSummary.Pack::size).sum();
    assertTrue(v.bytesRead() >= stored.indexBytes() + packBytes * 9 / 10, "read " + v.bytesRead() + " of " + packBytes + " pack bytes");
    assertTrue(v.describe("c").startsWith("c: verified " + stored.digest() + " at oci:" + store + ":c ("), v.describe("c"));
  }

  @Test
  void nothingStoredIsAMiss() {
    assertEquals(Optional.empty(), client.verify(CacheSpec.local("other", store, null), OperationListener.NONE));
  }

  @Test
  void aDamagedPackAndAMissingOneAreEachNamedWithTheFilesThatNeedThem() throws IOException {
    List<SnapshotSummary.Pack> packs = stored.packs();
    Path flipped = blob(packs.get(0).digest());
    byte[] bytes = Files.readAllBytes(flipped);
    bytes[bytes.length / 3] ^= 0x40;
    Files.write(flipped, bytes);
    Files.delete(blob(packs.get(1).digest()));

    CachemountException e = assertThrows(CachemountException.class, () -> client.verify(spec(null), OperationListener.NONE));
    assertEquals(FailureKind.INTEGRITY, e.kind());
    String m = e.getMessage();
    assertTrue(m.startsWith("the snapshot oci:" + store + ":c is damaged: 2 of " + packs.size() + " packs cannot be used; pack "), m);
    assertTrue(m.contains("pack " + packs.get(0).digest() + " (") && m.contains("pack " + packs.get(1).digest() + " ("), m);
    assertTrue(m.contains("lacks blob " + packs.get(1).digest()), m);
    assertTrue(m.matches("(?s).*\\(\\d+ files? needs? it: [^)]+\\).*\\(\\d+ files? needs? it: [^)]+\\).*"), m);
    assertTrue(m.endsWith("To replace the stored snapshot, run `cachemount push --force` for id 'c' from a good copy of the tree."), m);
    // The packs left whole were read too: the check went on past the damaged ones.
    for (SnapshotSummary.Pack p : packs.subList(2, packs.size())) {
      assertTrue(!m.contains(p.digest()), "a whole pack named damaged: " + p.digest());
    }
  }

  /** The files a damaged pack names are the ones a pull then fails on: the same pack, seen from the other side. */
  @Test
  void whatVerifyFindsIsWhatAPullFailsOn() throws IOException {
    Path damaged = blob(stored.packs().get(0).digest());
    byte[] bytes = Files.readAllBytes(damaged);
    bytes[bytes.length / 2] ^= 0x01;
    Files.write(damaged, bytes);
    CachemountException verify = assertThrows(CachemountException.class, () -> client.verify(spec(null), OperationListener.NONE));
    CachemountException pull = assertThrows(CachemountException.class, () -> client.pull(spec(dir.resolve("out")), OperationListener.NONE));
    assertEquals(FailureKind.INTEGRITY, verify.kind());
    assertEquals(FailureKind.INTEGRITY, pull.kind());
    assertTrue(pull.getMessage().contains(stored.packs().get(0).digest()) && verify.getMessage().contains(stored.packs().get(0).digest()),
        verify.getMessage() + "\n" + pull.getMessage());
  }

  /**
   * A push moved the tag while verify read, and the old snapshot's pack (or index) was gone (a
   * registry's garbage collection): not damage of the snapshot the tag names, and not reported as such.
   */
  @org.junit.jupiter.params.ParameterizedTest
  @org.junit.jupiter.params.provider.ValueSource(strings = {"pack", "index"})
  void aBlobGoneBecauseAPushMovedTheTagMeanwhileIsNotCalledDamage(String which) throws IOException {
    String first = which.equals("pack") ? stored.packs().get(0).digest() : indexDigest();
    java.util.concurrent.atomic.AtomicBoolean moved = new java.util.concurrent.atomic.AtomicBoolean();
    Cachemount racing = Cachemount.builder().home(dir).env(Map.of()).packTarget(64 * 1024)
        .stores((s, d, l) -> new dev.cachemount.core.testing.ForwardingStore(new dev.cachemount.core.store.LayoutStore(store)) {
          @Override
          public java.io.InputStream openBlob(dev.cachemount.core.blob.Digest digest, long size) throws IOException {
            if (digest.toString().equals(first) && !moved.getAndSet(true)) {
              Files.writeString(tree.resolve("new.txt"), "a file of the next build");
              client.push(spec(tree), OperationListener.NONE);
              throw new dev.cachemount.core.store.BlobNotFoundException(digest, "blob " + digest + " is gone");
            }
            return super.openBlob(digest, size);
          }
        }).build();
    CachemountException e = assertThrows(CachemountException.class, () -> racing.verify(spec(null), OperationListener.NONE));
    assertEquals(FailureKind.OPERATIONAL, e.kind(), e.getMessage());
    assertTrue(e.getMessage().contains("was replaced by a push while verify read it") && e.getMessage().endsWith("run verify again"), e.getMessage());
    assertEquals(0, client.verify(spec(null), OperationListener.NONE).map(v -> 0).orElse(1), "the new snapshot verifies");
  }

  /**
   * A prune of another job removed the tag while verify read, and collected the snapshot's blobs: not
   * damage, and not a push either (verify said "replaced by a push").
   */
  @Test
  void aBlobGoneBecauseAPruneRemovedTheTagMeanwhileIsToldAsThat() throws IOException {
    String first = stored.packs().get(0).digest();
    java.util.concurrent.atomic.AtomicBoolean pruned = new java.util.concurrent.atomic.AtomicBoolean();
    Cachemount racing = Cachemount.builder().home(dir).env(Map.of()).packTarget(64 * 1024)
        .stores((s, d, l) -> new dev.cachemount.core.testing.ForwardingStore(new dev.cachemount.core.store.LayoutStore(store)) {
          @Override
          public java.io.InputStream openBlob(dev.cachemount.core.blob.Digest digest, long size) throws IOException {
            if (digest.toString().equals(first) && !pruned.getAndSet(true)) {
              // The prune's store, two hours on: the snapshot's blobs are past their grace period.
              new dev.cachemount.core.store.LayoutStore(store, dev.cachemount.core.store.LayoutStore.DEFAULT_GRACE,
                  java.time.Clock.offset(java.time.Clock.systemUTC(), java.time.Duration.ofHours(2)), w -> { })
                  .removeTags(Map.of("c", dev.cachemount.core.blob.Digest.parse(stored.digest())));
            }
            return super.openBlob(digest, size);
          }
        }).build();
    CachemountException e = assertThrows(CachemountException.class, () -> racing.verify(spec(null), OperationListener.NONE));
    assertTrue(pruned.get(), "the prune ran");
    assertEquals(FailureKind.OPERATIONAL, e.kind(), e.getMessage());
    assertTrue(e.getMessage().contains("was removed (a prune deleted its tag) while verify read it") && e.getMessage().endsWith("run verify again"),
        e.getMessage());
  }

  /**
   * A registry's store keeps the indexes this machine pushed or pulled (IndexCache): verify took the
   * index from there, never read the stored one, and called a snapshot whose stored index was
   * damaged or gone whole, where a cold pull on another machine fails on it. Verify reads it from the
   * store, as a cold pull does.
   */
  @org.junit.jupiter.params.ParameterizedTest
  @org.junit.jupiter.params.provider.ValueSource(booleans = {false, true})
  void theStoredIndexIsReadEvenWhenThisMachineKeepsACopy(boolean gone) throws IOException {
    Path indexes = dir.resolve("indexes");
    Cachemount caching = Cachemount.builder().home(dir).env(Map.of()).packTarget(64 * 1024)
        .stores((s, d, l) -> new dev.cachemount.core.testing.ForwardingStore(new dev.cachemount.core.store.LayoutStore(store)) {
          @Override
          public dev.cachemount.core.store.IndexCache indexCache() {
            return dev.cachemount.core.store.IndexCache.at(indexes);
          }
        }).build();
    Files.writeString(tree.resolve("new.txt"), "a file of the next build");
    caching.push(spec(tree), OperationListener.NONE); // this machine keeps the index it pushed
    SnapshotSummary now = caching.inspect(spec(null)).orElseThrow();
    String index = indexDigest(now.digest());
    Path indexBlob = blob(index);
    if (gone) {
      Files.delete(indexBlob);
    } else {
      byte[] bytes = Files.readAllBytes(indexBlob);
      bytes[bytes.length / 2] ^= 0x01;
      Files.write(indexBlob, bytes);
    }
    CachemountException pull = assertThrows(CachemountException.class, () -> client.pull(spec(dir.resolve("cold")), OperationListener.NONE));
    assertEquals(FailureKind.INTEGRITY, pull.kind(), "a cold pull fails on it: " + pull.getMessage());
    CachemountException e = assertThrows(CachemountException.class, () -> caching.verify(spec(null), OperationListener.NONE));
    assertEquals(FailureKind.INTEGRITY, e.kind(), e.getMessage());
    assertTrue(e.getMessage().contains(index) || e.getMessage().contains("index of"), e.getMessage());
  }

  /** The digest of the index of the snapshot stored at first: its manifest's first layer. */
  private String indexDigest() throws IOException {
    return indexDigest(stored.digest());
  }

  private String indexDigest(String manifestDigest) throws IOException {
    String manifest = Files.readString(blob(manifestDigest));
    java.util.regex.Matcher layer = java.util.regex.Pattern.compile("\"layers\"\\s*:\\s*\\[\\s*\\{[^}]*\"digest\"\\s*:\\s*\"(sha256:[0-9a-f]{64})\"").matcher(manifest);
    assertTrue(layer.find(), manifest);
    return layer.group(1);
  }

  @Test
  void aDamagedIndexIsAnIntegrityFailureWithTheRemedy() throws IOException {
    Path indexBlob = blob(indexDigest());
    byte[] bytes = Files.readAllBytes(indexBlob);
    bytes[bytes.length / 2] ^= 0x01;
    Files.write(indexBlob, bytes);
    CachemountException e = assertThrows(CachemountException.class, () -> client.verify(spec(null), OperationListener.NONE));
    assertEquals(FailureKind.INTEGRITY, e.kind());
    assertTrue(e.getMessage().contains("run `cachemount push --force` for id 'c'"), e.getMessage());
  }
}
