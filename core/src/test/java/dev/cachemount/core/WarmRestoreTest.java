package dev.cachemount.core;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.cachemount.core.blob.Digest;
import dev.cachemount.core.store.LayoutStore;
import dev.cachemount.core.testing.ForwardingStore;
import dev.cachemount.core.testing.Gate;
import dev.cachemount.core.testing.TestTrees;
import dev.cachemount.core.testing.TreeListing;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Pulls into a target that already holds files: what matches is left alone and not fetched; with
 * {@code mode=mirror} what the snapshot lacks goes; one pull per target at a time; links that point
 * out of the target are not made.
 */
class WarmRestoreTest {
  @TempDir Path dir;
  Path source;
  Path store;
  Cachemount client;
  OperationResult pushed;

  @BeforeEach
  void setUp() throws IOException {
    source = dir.resolve("source");
    TestTrees.mixed(source, 11);
    store = dir.resolve("store");
    client = Cachemount.builder().home(dir).env(Map.of()).packTarget(256 * 1024).build();
    pushed = client.push(spec(source, ""), OperationListener.NONE);
  }

  private static OperationListener warningsInto(java.util.List<String> warnings) {
    return new OperationListener() {
      @Override
      public void warning(String message) {
        warnings.add(message);
      }
    };
  }

  private CacheSpec spec(Path target, String extra) {
    return client.parseSpec("id=m2,dir=" + store + ",target=" + target + extra);
  }

  @Test
  void aTargetThatEqualsTheSnapshotCostsTheManifestAndIndexOnly() throws IOException {
    Path target = dir.resolve("target");
    OperationResult cold = client.pull(spec(target, ""), OperationListener.NONE);
    assertEquals(0L, cold.filesUnchanged());
    OperationResult warm = client.pull(spec(target, ""), OperationListener.NONE);
    assertEquals(warm.files(), warm.filesUnchanged());
    assertTrue(warm.bytesTransferred() < 200_000, "only the manifest, config and index: " + warm.bytesTransferred());
    assertTrue(cold.bytesTransferred() > 10 * warm.bytesTransferred(), cold.bytesTransferred() + " vs " + warm.bytesTransferred());
    assertEquals(TreeListing.of(source), TreeListing.of(target));
  }

  @Test
  void onlyMissingOrDifferentFilesAreWritten() throws IOException {
    Path target = dir.resolve("target");
    client.pull(spec(target, ""), OperationListener.NONE);
    Files.delete(target.resolve("org/example/group1/1.0/artifact-1.0.jar"));
    Path touched = target.resolve("org/example/group2/1.1/artifact-1.1.pom");
    Files.writeString(touched, "local edit");
    Path sneaky = target.resolve("org/example/group3/1.2/artifact-1.2.jar");
    FileTime time = Files.getLastModifiedTime(sneaky);
    byte[] bytes = Files.readAllBytes(sneaky);
    bytes[10] ^= 1;
    Files.write(sneaky, bytes);
    Files.setLastModifiedTime(sneaky, time);

    OperationResult warm = client.pull(spec(target, ""), OperationListener.NONE);
    assertEquals(warm.files() - 2, warm.filesUnchanged(), "the deleted and the edited file are written");
    assertTrue(warm.bytesTransferred() < pushed.bytesTransferred() / 2, "a few packs are read, not all: " + warm.bytesTransferred());
    assertFalse(TreeListing.sha256(source.resolve("org/example/group3/1.2/artifact-1.2.jar")).equals(TreeListing.sha256(sneaky)),
        "same size and time: left alone by default");

    OperationResult verified = client.pull(spec(target, ",verify=content"), OperationListener.NONE);
    assertEquals(verified.files() - 1, verified.filesUnchanged(), "verify=content finds the file whose bytes differ");
    assertEquals(TreeListing.of(source), TreeListing.of(target));
  }

  @Test
  void mirrorRemovesWhatTheSnapshotLacksAndTheDefaultKeepsIt() throws IOException {
    Path target = dir.resolve("target");
    Files.createDirectories(target.resolve("local-only/sub"));
    Files.writeString(target.resolve("local-only/sub/file"), "mine");
    Files.writeString(target.resolve("stray.txt"), "mine");
    OperationResult kept = client.pull(spec(target, ""), OperationListener.NONE);
    assertNull(kept.removed());
    assertTrue(Files.exists(target.resolve("stray.txt")));

    OperationResult mirrored = client.pull(spec(target, ",mode=mirror"), OperationListener.NONE);
    assertEquals(2L, mirrored.removed(), "the stray file and the local directory");
    assertFalse(Files.exists(target.resolve("stray.txt")));
    assertFalse(Files.exists(target.resolve("local-only")));
    assertEquals(TreeListing.of(source), TreeListing.of(target));
  }

  @Test
  void linksThatPointOutOfTheTargetAreNotMade() throws IOException {
    Path tree = dir.resolve("links");
    Files.createDirectories(tree.resolve("d"));
    Files.writeString(tree.resolve("d/file"), "x");
    Files.createSymbolicLink(tree.resolve("d/inside"), Path.of("file"));
    Files.createSymbolicLink(tree.resolve("d/up-and-out"), Path.of("../../etc"));
    Files.createSymbolicLink(tree.resolve("absolute"), Path.of("/etc/passwd"));
    client.push(client.parseSpec("id=links,dir=" + store + ",target=" + tree), OperationListener.NONE);
    Path out = dir.resolve("out");
    java.util.List<String> warnings = new java.util.ArrayList<>();
    OperationResult r = client.pull(client.parseSpec("id=links,dir=" + store + ",target=" + out), warningsInto(warnings));
    assertEquals(1, r.symlinks(), "only the link that stays inside");
    assertTrue(Files.isSymbolicLink(out.resolve("d/inside")));
    assertFalse(Files.exists(out.resolve("d/up-and-out"), java.nio.file.LinkOption.NOFOLLOW_LINKS));
    assertFalse(Files.exists(out.resolve("absolute"), java.nio.file.LinkOption.NOFOLLOW_LINKS));
    assertEquals(2, warnings.stream().filter(w -> w.contains("points outside the target")).count(), warnings.toString());
  }

  @Test
  void absoluteLinksThatNameTheTargetAreMadeWhenPulledBackWhereTheyWere() throws IOException {
    Path tree = Files.createDirectories(dir.resolve("absolute")).toRealPath();
    Files.createDirectories(tree.resolve("d"));
    Files.writeString(tree.resolve("d/file"), "x");
    Files.createSymbolicLink(tree.resolve("to-file"), tree.resolve("d/file"));
    Files.createSymbolicLink(tree.resolve("d/to-dir"), Path.of(tree + "//./d"));
    Files.createSymbolicLink(tree.resolve("out-by-name"), Path.of(tree + "/../elsewhere"));
    Files.createSymbolicLink(tree.resolve("s"), Path.of("."));
    // Inside by name, but out when followed: through s (the root), then .. above it.
    Files.createSymbolicLink(tree.resolve("out-through-s"), Path.of(tree + "/s/.."));
    CacheSpec spec = client.parseSpec("id=absolute,dir=" + store + ",target=" + tree);
    client.push(spec, OperationListener.NONE);
    Files.move(tree, dir.resolve("absolute.orig"));
    java.util.List<String> warnings = new java.util.ArrayList<>();
    OperationResult r = client.pull(spec, warningsInto(warnings));
    assertEquals(3, r.symlinks(), "to-file, d/to-dir and s: " + warnings);
    assertEquals(tree.resolve("d/file"), Files.readSymbolicLink(tree.resolve("to-file")));
    assertEquals("x", Files.readString(tree.resolve("to-file")));
    assertTrue(Files.isDirectory(tree.resolve("d/to-dir")));
    assertFalse(Files.exists(tree.resolve("out-by-name"), java.nio.file.LinkOption.NOFOLLOW_LINKS));
    assertFalse(Files.exists(tree.resolve("out-through-s"), java.nio.file.LinkOption.NOFOLLOW_LINKS));
    assertEquals(1, warnings.stream().filter(w -> w.contains("out-by-name") && w.contains("points outside the target")).count(), warnings.toString());
    assertEquals(1, warnings.stream().filter(w -> w.contains("out-through-s") && w.contains("leads outside the target")).count(), warnings.toString());
    // Pulled elsewhere, the same links point out of that target.
    Path elsewhere = dir.resolve("elsewhere-target");
    OperationResult moved = client.pull(client.parseSpec("id=absolute,dir=" + store + ",target=" + elsewhere), OperationListener.NONE);
    assertEquals(1, moved.symlinks(), "only s");
    assertFalse(Files.exists(elsewhere.resolve("to-file"), java.nio.file.LinkOption.NOFOLLOW_LINKS));
  }

  @Test
  void linksThatLeadOutThroughOtherLinksAreRemoved() throws IOException {
    Path tree = dir.resolve("chains");
    Files.createDirectories(tree.resolve("a/b"));
    Files.writeString(tree.resolve("a/file"), "x");
    Files.createSymbolicLink(tree.resolve("s"), Path.of("."));
    Files.createSymbolicLink(tree.resolve("up"), Path.of("s/.."));
    Files.createSymbolicLink(tree.resolve("run"), Path.of("s/../elsewhere/run"));
    Files.createSymbolicLink(tree.resolve("a/b/two-up"), Path.of("../.."));
    Files.createSymbolicLink(tree.resolve("t"), Path.of("a/b/two-up/.."));
    Files.createSymbolicLink(tree.resolve("through"), Path.of("s/a/file"));
    Files.createSymbolicLink(tree.resolve("loop1"), Path.of("loop2"));
    Files.createSymbolicLink(tree.resolve("loop2"), Path.of("loop1"));
    client.push(client.parseSpec("id=chains,dir=" + store + ",target=" + tree), OperationListener.NONE);
    Path out = dir.resolve("chains-out");
    java.util.List<String> warnings = new java.util.ArrayList<>();
    OperationResult r = client.pull(client.parseSpec("id=chains,dir=" + store + ",target=" + out), warningsInto(warnings));
    // Each stays inside on its own (s/.. is the target), but up, run and t lead out through s and two-up.
    for (String gone : java.util.List.of("up", "run", "t")) {
      assertFalse(Files.exists(out.resolve(gone), java.nio.file.LinkOption.NOFOLLOW_LINKS), gone);
    }
    for (String kept : java.util.List.of("s", "a/b/two-up", "through", "loop1", "loop2")) {
      assertTrue(Files.isSymbolicLink(out.resolve(kept)), kept);
    }
    assertEquals("x", Files.readString(out.resolve("through")));
    assertEquals(5, r.symlinks());
    assertEquals(3, warnings.stream().filter(w -> w.contains("leads outside the target through other links")).count(), warnings.toString());
  }

  @Test
  void aUsersDirectoryWhereTheSnapshotHasALinkLeadingOutThroughOtherLinksStays() throws IOException {
    Path tree = dir.resolve("chains");
    Files.createDirectories(tree);
    Files.createSymbolicLink(tree.resolve("s"), Path.of("."));
    Files.createSymbolicLink(tree.resolve("up"), Path.of("s/.."));
    client.push(client.parseSpec("id=chains,dir=" + store + ",target=" + tree), OperationListener.NONE);
    Path out = dir.resolve("chains-out");
    Files.createDirectories(out.resolve("up/work"));
    Files.writeString(out.resolve("up/work/notes.txt"), "the user's");
    java.util.List<String> warnings = new java.util.ArrayList<>();
    OperationResult r = client.pull(client.parseSpec("id=chains,dir=" + store + ",target=" + out), warningsInto(warnings));
    // The link that would have replaced it is not made, so what stood there stays, whole.
    assertEquals("the user's", Files.readString(out.resolve("up/work/notes.txt")));
    assertFalse(Files.isSymbolicLink(out.resolve("up")));
    assertTrue(Files.isSymbolicLink(out.resolve("s")));
    assertEquals(1, r.symlinks());
    assertTrue(warnings.stream().anyMatch(w -> w.contains("up -> s/..") && w.contains("leads outside the target through other links")),
        warnings.toString());
    try (var names = Files.list(out)) {
      assertEquals(java.util.Set.of("s", "up"), names.map(p -> p.getFileName().toString()).collect(java.util.stream.Collectors.toSet()),
          "nothing moved aside is left behind");
    }
    client.pull(client.parseSpec("id=chains,dir=" + store + ",target=" + out + ",mode=mirror"), OperationListener.NONE);
    assertEquals("the user's", Files.readString(out.resolve("up/work/notes.txt")), "mode=mirror does not walk into it either");
  }

  /**
   * A target with a few local extras (a build's new files; what mode=mirror removes) is still
   * compared from the scan the pull makes of it; one that is mostly something else is not scanned
   * whole, and the restore looks at the snapshot's files one by one.
   */
  @Test
  void aTargetWithAFewExtrasIsComparedFromItsScanAndAMuchLargerOneFileByFile() throws IOException {
    Path target = dir.resolve("target");
    client.pull(spec(target, ""), OperationListener.NONE);
    for (int i = 0; i < 20; i++) {
      Files.writeString(target.resolve("extra-" + i), "local\n");
    }
    java.util.List<String> infos = new java.util.ArrayList<>();
    OperationListener recording = new OperationListener() {
      @Override
      public void info(String message) {
        infos.add(message);
      }
    };
    OperationResult mirrored = client.pull(spec(target, ",mode=mirror"), recording);
    assertEquals(20L, mirrored.removed());
    assertTrue(infos.stream().anyMatch(m -> m.contains("a scan saw")), infos.toString());

    Path many = Files.createDirectories(target.resolve("unrelated"));
    for (int i = 0; i < PullOperation.scanLimit(pushed.files() + pushed.directories() + pushed.symlinks()) + 10; i++) {
      Files.writeString(many.resolve("f" + i), "");
    }
    infos.clear();
    client.pull(spec(target, ""), recording);
    assertTrue(infos.stream().anyMatch(m -> m.contains("the restore looks at each file of the target")), infos.toString());
  }

  @Test
  void aSecondPullIntoTheSameTargetWaitsForTheFirst() throws Exception {
    Gate reading = new Gate();
    Cachemount slow = Cachemount.builder().home(dir).env(Map.of()).targetLockTimeout(Duration.ofMillis(300))
        .stores((s, d, l) -> new ForwardingStore(new LayoutStore(store)) {
          @Override
          public InputStream openBlob(Digest digest, long size) throws IOException {
            reading.pass();
            return super.openBlob(digest, size);
          }
        }).build();
    Path target = dir.resolve("target");
    CompletableFuture<OperationResult> first = CompletableFuture.supplyAsync(() -> slow.pull(spec(target, ""), OperationListener.NONE));
    assertTrue(reading.awaitReached());
    Cachemount impatient = Cachemount.builder().home(dir).env(Map.of()).targetLockTimeout(Duration.ofMillis(300)).build();
    CachemountException e = assertThrows(CachemountException.class, () -> impatient.pull(spec(target, ""), OperationListener.NONE));
    assertEquals(FailureKind.OPERATIONAL, e.kind());
    assertTrue(e.getMessage().contains("another cachemount operation of this process kept restoring into")
        && e.getMessage().contains(" for 300 ms"), e.getMessage());

    Cachemount patient = Cachemount.builder().home(dir).env(Map.of()).targetLockTimeout(Duration.ofSeconds(30)).build();
    CompletableFuture<OperationResult> second = CompletableFuture.supplyAsync(() -> patient.pull(spec(target, ""), OperationListener.NONE));
    Thread.sleep(300);
    assertFalse(second.isDone(), "the second pull waits");
    reading.release();
    assertEquals(Outcome.RESTORED, first.get(30, TimeUnit.SECONDS).result());
    assertEquals(Outcome.RESTORED, second.get(30, TimeUnit.SECONDS).result());
    assertEquals(TreeListing.of(source), TreeListing.of(target));
  }
}
