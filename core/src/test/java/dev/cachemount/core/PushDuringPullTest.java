package dev.cachemount.core;

import static org.junit.jupiter.api.Assertions.assertEquals;
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
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A push of a directory that a pull is still restoring into waits for the pull: it would otherwise
 * store the half-restored tree (the pull's temporary files left out) under its id, in place of a
 * good snapshot.
 */
class PushDuringPullTest {
  @TempDir Path dir;

  @Test
  void aPushOfATargetBeingRestoredWaitsForThePullAndStoresTheWholeTree() throws Exception {
    Path source = dir.resolve("source");
    TestTrees.mixed(source, 11);
    Path store = dir.resolve("store");
    Cachemount client = Cachemount.builder().home(dir).env(Map.of()).packTarget(256 * 1024).build();
    OperationResult pushed = client.push(client.parseSpec("id=m2,dir=" + store + ",target=" + source), OperationListener.NONE);

    Gate reading = new Gate();
    Cachemount slow = Cachemount.builder().home(dir).env(Map.of()).targetLockTimeout(Duration.ofSeconds(30))
        .stores((s, d, l) -> new ForwardingStore(new LayoutStore(store)) {
          @Override
          public InputStream openBlob(Digest digest, long size) throws IOException {
            reading.pass();
            return super.openBlob(digest, size);
          }
        }).build();
    Path target = java.nio.file.Files.createDirectories(dir.resolve("target")); // an empty cache directory, as on a fresh runner
    CompletableFuture<OperationResult> pull =
        CompletableFuture.supplyAsync(() -> slow.pull(slow.parseSpec("id=m2,dir=" + store + ",target=" + target), OperationListener.NONE));
    assertTrue(reading.awaitReached());

    // Another process (here another thread: a thread re-entering a lock it holds gets it) pushes the target meanwhile.
    Path otherStore = dir.resolve("other-store");
    List<String> warnings = Collections.synchronizedList(new ArrayList<>());
    Cachemount pusher = Cachemount.builder().home(dir).env(Map.of()).targetLockTimeout(Duration.ofSeconds(30)).build();
    CompletableFuture<OperationResult> push = CompletableFuture.supplyAsync(() -> pusher.push(
        pusher.parseSpec("id=copy,dir=" + otherStore + ",target=" + target), new OperationListener() {
          @Override
          public void warning(String message) {
            warnings.add(message);
          }
        }));
    try {
      push.get(1500, TimeUnit.MILLISECONDS); // without turns, it is done by now, with what the pull has written so far
    } catch (TimeoutException waiting) {
      // it waits for the pull
    }
    reading.release();
    assertEquals(Outcome.RESTORED, pull.get(30, TimeUnit.SECONDS).result());
    OperationResult copy = push.get(30, TimeUnit.SECONDS);
    assertEquals(pushed.files(), copy.files(), "the push stores the restored tree whole; warnings: " + warnings);
    assertTrue(warnings.stream().noneMatch(w -> w.contains("interrupted pull")), warnings.toString());
    assertTrue(warnings.stream().anyMatch(w -> w.contains("this push waits for it")), warnings.toString());

    Path again = dir.resolve("again");
    client.pull(client.parseSpec("id=copy,dir=" + otherStore + ",target=" + again), OperationListener.NONE);
    assertEquals(TreeListing.of(source), TreeListing.of(again));
  }

  /**
   * The push gives the target's lock up once it has read the tree: a pull into the directory waits
   * for the reading, not for the upload (which, to a slow registry, can take longer than a pull waits).
   */
  @Test
  void aPullIntoThePushedDirectoryDoesNotWaitForThePushsUpload() throws Exception {
    Path source = dir.resolve("source");
    TestTrees.mixed(source, 12);
    Path store = dir.resolve("store");
    Cachemount plain = Cachemount.builder().home(dir).env(Map.of()).targetLockTimeout(Duration.ofSeconds(2)).build();
    plain.push(plain.parseSpec("id=seed,dir=" + store + ",target=" + source), OperationListener.NONE);

    Gate storing = new Gate();
    Cachemount slow = Cachemount.builder().home(dir).env(Map.of())
        .stores((s, d, l) -> new ForwardingStore(new LayoutStore(store)) {
          @Override
          public long putManifest(String tag, dev.cachemount.core.store.ManifestBytes manifest) throws IOException {
            storing.pass();
            return super.putManifest(tag, manifest);
          }
        }).build();
    Files.writeString(source.resolve("changed-since-the-seed"), "new\n");
    CompletableFuture<OperationResult> push =
        CompletableFuture.supplyAsync(() -> slow.push(slow.parseSpec("id=m2,dir=" + store + ",target=" + source), OperationListener.NONE));
    try {
      assertTrue(storing.awaitReached(), "the push reached its manifest");
      // Waits at most 2 s for the lock: without the early release, it fails, the push holding the lock until its manifest is stored.
      OperationResult pulled = plain.pull(plain.parseSpec("id=seed,dir=" + store + ",target=" + source), OperationListener.NONE);
      assertEquals(Outcome.RESTORED, pulled.result());
    } finally {
      storing.release();
    }
    assertEquals(Outcome.PUSHED, push.get(30, TimeUnit.SECONDS).result());
  }
  /**
   * With image=, the push holds the target's lock until the view's layers are written (they are read
   * from the directory), not until they and the view's manifests are stored: a pull waits for the
   * reading, not for the uploads, as without image=.
   */
  @Test
  void aPullIntoThePushedDirectoryDoesNotWaitForTheImageViewsUpload() throws Exception {
    Path source = dir.resolve("source");
    TestTrees.mixed(source, 13);
    Path store = dir.resolve("store");
    Cachemount plain = Cachemount.builder().home(dir).env(Map.of()).targetLockTimeout(Duration.ofSeconds(2)).build();
    plain.push(plain.parseSpec("id=seed,dir=" + store + ",target=" + source), OperationListener.NONE);

    Gate storing = new Gate();
    Cachemount slow = Cachemount.builder().home(dir).env(Map.of())
        .stores((s, d, l) -> new ForwardingStore(new LayoutStore(store)) {
          @Override
          public long putManifest(String tag, dev.cachemount.core.store.ManifestBytes manifest) throws IOException {
            if (tag.equals("m2-image")) {
              storing.pass();
            }
            return super.putManifest(tag, manifest);
          }
        }).build();
    Files.writeString(source.resolve("changed-since-the-seed"), "new\n");
    CompletableFuture<OperationResult> push = CompletableFuture.supplyAsync(
        () -> slow.push(slow.parseSpec("id=m2,dir=" + store + ",target=" + source + ",image=m2-image"), OperationListener.NONE));
    try {
      assertTrue(storing.awaitReached(), "the push reached its image view's index");
      // Waits at most 2 s for the lock: held until the view is stored, it fails.
      OperationResult pulled = plain.pull(plain.parseSpec("id=seed,dir=" + store + ",target=" + source), OperationListener.NONE);
      assertEquals(Outcome.RESTORED, pulled.result());
    } finally {
      storing.release();
    }
    OperationResult pushed = push.get(30, TimeUnit.SECONDS);
    assertEquals(Outcome.PUSHED, pushed.result());
    assertTrue(pushed.image() != null && !pushed.image().unchanged());
  }
}
